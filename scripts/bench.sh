#!/usr/bin/env bash
# Benchmarks against a durable PostgreSQL (fsync and synchronous_commit on):
# the card PATCH path (HTTP -> commit) with 1 and 16 writers, on one board
# and on 16, next to pgbench running the same SQL on the same server, card
# moves through the store, and the snapshot of a board with 10,000 cards. Prints the go test lines, then a
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

source scripts/apt.sh
need_postgres
install_needed

mkdir -p test-artifacts
out=test-artifacts/bench.txt
# shellcheck disable=SC2086 # BENCH_FLAGS is a list of flags
go test -run '^$' -bench "${BENCH:-.}" -benchtime "${BENCHTIME:-2s}" -count "${COUNT:-3}" \
	-timeout 10m ${BENCH_FLAGS:-} ./devtools/benchmarks/ 2>&1 | tee "$out"
echo "(also in $out)"
