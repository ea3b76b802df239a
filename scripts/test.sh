#!/usr/bin/env bash
# The whole suite: installs what the tests need when it is missing
# (PostgreSQL, HAProxy, Chromium, Node and the browser tests' npm packages), then runs
# every Go test with the race detector. Tests start their own PostgreSQL
# (from the installed server binaries), NATS servers and headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/apt.sh
need_postgres
need_haproxy
need_browser
install_needed

# Browser tests (web/e2e): playwright-core and axe-core, pinned in web/package-lock.json.
if [ ! -f web/node_modules/playwright-core/package.json ] || [ ! -f web/node_modules/axe-core/axe.min.js ] ||
	[ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then
	echo "installing the browser tests' packages with npm ci"
	(cd web && npm ci --no-audit --no-fund --loglevel=error)
fi

# The attachment tests' S3 server (SeaweedFS), built once into the cache.
scripts/seaweedfs.sh

go vet ./...
go test -race -count=1 -timeout 20m ./...
