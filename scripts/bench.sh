#!/usr/bin/env bash
# Benchmarks against a durable PostgreSQL (fsync and synchronous_commit on):
# the card PATCH path (HTTP -> commit) with 1 and 16 writers, on one board
# and on 16, next to pgbench running the same SQL on the same server, and the
# snapshot of a board with 10,000 cards. Prints the go test lines, then a
# table of Go against pgbench. See docs/benchmarks.md.
#
# Sized for a 2-core machine: about 2-3 minutes, at most about 4.5 (see
# BENCH_BUDGET). Knobs (environment):
#   BENCHTIME           -benchtime of each benchmark (default 2s)
#   COUNT               rounds; the table shows medians (default 3)
#   BENCH               which benchmarks, e.g. 'CardPatch/boards=16' (default .)
#   BENCH_BUDGET        benchmarks that would start later are skipped, so that
#                       a busy machine cannot stretch the run (default 4m)
#   BENCH_DIR           where the data directory goes (must be a real disk)
#   BENCH_DB_MAX_CONNS  pool size (default: as the server, max(4, CPUs))
#   BENCH_DATABASE_URL  use this scratch database instead of starting one
#   BENCH_FLAGS         more go test flags, e.g. '-cpu 1,2' or '-cpuprofile cpu.out'
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
pg_bin=""
for d in "${PG_BINDIR:-}" /usr/lib/postgresql/*/bin; do
	if [ -n "$d" ] && [ -x "$d/initdb" ]; then pg_bin=$d; fi
done
[ -n "$pg_bin" ] || need_apt+=(postgresql)
command -v pgbench >/dev/null || [ -x "${pg_bin:-/nonexistent}/pgbench" ] || need_apt+=(postgresql-contrib)
if [ ${#need_apt[@]} -gt 0 ]; then
	echo "installing ${need_apt[*]} with apt-get"
	if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}"
fi

mkdir -p test-artifacts
out=test-artifacts/bench.txt
# shellcheck disable=SC2086 # BENCH_FLAGS is a list of flags
go test -run '^$' -bench "${BENCH:-.}" -benchtime "${BENCHTIME:-2s}" -count "${COUNT:-3}" \
	-timeout 10m ${BENCH_FLAGS:-} ./internal/benchmarks/ 2>&1 | tee "$out"
echo "(also in $out)"
