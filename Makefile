# Corkboard: `make run` starts the server on http://localhost:8080 with a
# private PostgreSQL under ./.data (unless DATABASE_URL is set); `make test`
# runs the whole suite.

GO       ?= go
BIN      := bin/server

.PHONY: run build test vet bench bench-compare load peer-bench clean cluster

build:
	$(GO) build -o $(BIN) ./cmd/server

# Ports and settings: RUN_FLAGS (see `bin/server -h`), e.g.
# make run RUN_FLAGS="-addr 127.0.0.1:8090 -local-postgres-port 54339".
RUN_FLAGS ?=

run: build
	./$(BIN) -local-postgres .data/pg $(RUN_FLAGS)

# PostgreSQL, a 3-node NATS cluster, 3 instances and HAProxy (with
# deploy/haproxy.cfg) on http://127.0.0.1:8080, as processes; installs
# PostgreSQL and HAProxy when missing. Ports and sizes: CLUSTER_FLAGS (see
# `go run ./devtools/cmd/cluster -h` and docs/operations.md).
CLUSTER_FLAGS ?=

cluster: build
	bash -c 'source scripts/apt.sh && need_postgres && need_haproxy && install_needed'
	$(GO) run ./devtools/cmd/cluster -server $(BIN) $(CLUSTER_FLAGS)

test:
	./scripts/test.sh

vet:
	$(GO) vet ./...

bench:
	./scripts/bench.sh

# The load generator's scenarios (docs/load.md): fan-out, idle connections,
# cross-instance latency. Bounded in time; loopback only.
load:
	for s in fanout idle cross; do $(GO) run ./devtools/cmd/loadgen -scenario $$s $(LOADGEN_FLAGS) || exit 1; done

# The working tree against BASE (default main) through the same loadgen
# scenarios, alternating, with each figure's ratio (docs/load.md), e.g.
# make bench-compare BASE=HEAD~1 BENCH_COMPARE_FLAGS="-scenarios fanout -rounds 5".
BASE ?= main
BENCH_COMPARE_FLAGS ?=

bench-compare:
	bash -c 'source scripts/apt.sh && need_postgres && install_needed'
	$(GO) run ./devtools/cmd/benchcompare -base $(BASE) $(BENCH_COMPARE_FLAGS)

# Corkboard against Centrifugo, the same fan-out through the same client
# (docs/load.md, "Against Centrifugo"): builds Centrifugo into the user's
# cache once (scripts/centrifugo.sh), then alternates the two servers at
# each rate. Loopback only, bounded in time, e.g.
# make peer-bench PEER_BENCH_FLAGS="-rates 8,16 -duration 10s".
PEER_BENCH_FLAGS ?=

peer-bench:
	bash -c 'source scripts/apt.sh && need_postgres && install_needed'
	./scripts/centrifugo.sh
	$(GO) run ./devtools/cmd/peerbench $(PEER_BENCH_FLAGS)

clean:
	rm -rf bin test-artifacts
