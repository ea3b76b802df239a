#!/usr/bin/env bash
# Builds SeaweedFS, the S3-compatible server the attachment tests start on
# loopback (devtools/s3test), from its source on the Go module proxy into
# the user's cache; does nothing when it is there already. The version is
# devtools/s3test.Version. CORKBOARD_WEED, when set, names a weed binary to
# use instead (and this builds nothing).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "${CORKBOARD_WEED:-}" ]; then
	exit 0
fi
V=$(sed -n 's/^const Version = "\(.*\)"$/\1/p' devtools/s3test/s3test.go)
OUT=${XDG_CACHE_HOME:-$HOME/.cache}/corkboard/seaweedfs-$V
if [ -x "$OUT/weed" ]; then
	exit 0
fi
echo "building SeaweedFS $V into $OUT (a few minutes, once)"
mkdir -p "$OUT"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# Download the module outside this one (it is no dependency of ours).
DIR=$(cd "$TMP" && GOFLAGS=-mod=mod go mod download -json "github.com/seaweedfs/seaweedfs@$V" |
	sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
rm -rf "$OUT/src"
cp -r "$DIR" "$OUT/src"
chmod -R u+w "$OUT/src"
(cd "$OUT/src" && GOFLAGS= go build -o "$OUT/weed.tmp" ./weed)
mv "$OUT/weed.tmp" "$OUT/weed"
rm -rf "$OUT/src"
echo "built $OUT/weed"
