#!/usr/bin/env bash
# The whole suite: installs what the tests need when it is missing
# (PostgreSQL, Chromium, Node and the browser tests' npm packages), then runs
# every Go test with the race detector. Tests start their own PostgreSQL
# (from the installed server binaries), NATS servers and headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
pg_bin=""
for d in "${PG_BINDIR:-}" /usr/lib/postgresql/*/bin; do
	if [ -n "$d" ] && [ -x "$d/initdb" ]; then pg_bin=$d; fi
done
[ -n "$pg_bin" ] || need_apt+=(postgresql)
command -v pgbench >/dev/null || [ -x "$pg_bin/pgbench" ] || need_apt+=(postgresql-contrib)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
command -v node >/dev/null || need_apt+=(nodejs)
command -v npm >/dev/null || need_apt+=(npm)
if [ ${#need_apt[@]} -gt 0 ]; then
	echo "installing ${need_apt[*]} with apt-get"
	if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}"
fi

# Browser tests (web/e2e): playwright-core, pinned in web/package-lock.json.
if [ ! -f web/node_modules/playwright-core/package.json ] || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then
	echo "installing the browser tests' packages with npm ci"
	(cd web && npm ci --no-audit --no-fund --loglevel=error)
fi

go vet ./...
go test -race -count=1 -timeout 20m ./...
