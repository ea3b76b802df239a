#!/usr/bin/env bash
# Builds Centrifugo, the real-time server devtools/cmd/peerbench measures
# Corkboard against (docs/load.md, "Against Centrifugo"), from its source on
# the Go module proxy into the user's cache; does nothing when it is there
# already. The version is devtools/cmd/peerbench.Version. Centrifugo is no
# dependency of the corkboard module: it is built outside it.
# CORKBOARD_CENTRIFUGO, when set, names a centrifugo binary to use instead
# (and this builds nothing).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "${CORKBOARD_CENTRIFUGO:-}" ]; then
	exit 0
fi
V=$(sed -n 's/^const Version = "\(.*\)"$/\1/p' devtools/cmd/peerbench/centrifugo.go)
if [ -z "$V" ]; then
	echo "centrifugo.sh: no Version in devtools/cmd/peerbench/centrifugo.go" >&2
	exit 1
fi
OUT=${XDG_CACHE_HOME:-$HOME/.cache}/corkboard/centrifugo-$V
if [ -x "$OUT/centrifugo" ]; then
	exit 0
fi
echo "building Centrifugo $V into $OUT (about 3 minutes, once)"
mkdir -p "$OUT"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# Outside this module (it is no dependency of ours), with its own go.mod.
# The version its `centrifugo version` prints is set as its release builds set it.
(cd "$TMP" && GOFLAGS=-mod=mod GOBIN="$TMP/bin" go install \
	-ldflags "-X github.com/centrifugal/centrifugo/v6/internal/build.Version=${V#v}" \
	"github.com/centrifugal/centrifugo/v6@$V")
mv "$TMP/bin/centrifugo" "$OUT/centrifugo"
echo "built $OUT/centrifugo"
