# syntax=docker/dockerfile:1
#
# Corkboard's server image: a static Go binary (no cgo) on distroless/static,
# which holds CA certificates and tzdata and nothing else (no shell), run as
# the non-root user 65532. `docker build -t corkboard/server .`
# See docs/operations.md; compose.yaml runs the whole topology.

# The Go version of go.mod (a test keeps them in step).
ARG GO_VERSION=1.26

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ENV CGO_ENABLED=0
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -ldflags="-s -w" -o /out/server ./cmd/server

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/server /server
USER 65532:65532
# In a container the admin endpoint (/metrics, pprof) listens on the
# container's network, for Prometheus; publish only the HTTP port.
ENV ADDR=:8080 ADMIN_ADDR=:9090 LOG_FORMAT=json
EXPOSE 8080 9090
# The image has no shell or curl: the server checks itself.
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 CMD ["/server", "healthcheck"]
ENTRYPOINT ["/server"]
CMD ["serve"]
