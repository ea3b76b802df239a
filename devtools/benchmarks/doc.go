// Package benchmarks measures Corkboard against a durable PostgreSQL
// (fsync and synchronous_commit on) and compares the mutation path with
// pgbench running the same SQL on the same server in the same run.
//
// Everything is in the package's tests; nothing runs under a plain
// `go test`. `make bench` (scripts/bench.sh) runs
//
//	go test -run '^$' -bench . ./devtools/benchmarks/
//
// which starts one PostgreSQL in a temporary directory, seeds it, runs the
// benchmarks and prints a table of Go against pgbench at the end. See
// docs/benchmarks.md for what is measured and the figures of a run.
package benchmarks
