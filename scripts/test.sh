#!/usr/bin/env bash
# The whole suite: installs what the tests need when it is missing, then runs
# every Go test with the race detector. Tests start their own PostgreSQL
# (from the installed server binaries) and NATS servers.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
pg_bin=""
for d in "${PG_BINDIR:-}" /usr/lib/postgresql/*/bin; do
	if [ -n "$d" ] && [ -x "$d/initdb" ]; then pg_bin=$d; fi
done
[ -n "$pg_bin" ] || need_apt+=(postgresql)
command -v pgbench >/dev/null || [ -x "$pg_bin/pgbench" ] || need_apt+=(postgresql-contrib)
if [ ${#need_apt[@]} -gt 0 ]; then
	echo "installing ${need_apt[*]} with apt-get"
	if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}"
fi

go vet ./...
go test -race -count=1 -timeout 20m ./...
