# Corkboard: `make run` starts the server on http://localhost:8080 with a
# private PostgreSQL under ./.data (unless DATABASE_URL is set); `make test`
# runs the whole suite.

GO       ?= go
BIN      := bin/server

.PHONY: run build test vet bench load clean cluster

build:
	$(GO) build -o $(BIN) ./cmd/server

run: build
	./$(BIN) -local-postgres .data/pg

# PostgreSQL, a 3-node NATS cluster, 3 instances and a load balancer on
# http://127.0.0.1:8080, as processes (docs/operations.md).
cluster: build
	$(GO) run ./cmd/cluster -server $(BIN)

test:
	./scripts/test.sh

vet:
	$(GO) vet ./...

bench:
	./scripts/bench.sh

# The load generator's scenarios (docs/load.md): fan-out, idle connections,
# cross-instance latency. Bounded in time; loopback only.
load:
	for s in fanout idle cross; do $(GO) run ./cmd/loadgen -scenario $$s $(LOADGEN_FLAGS) || exit 1; done

clean:
	rm -rf bin test-artifacts
