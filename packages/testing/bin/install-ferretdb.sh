#!/usr/bin/env bash
# Builds FerretDB v1.24.2 (the MongoDB-protocol server used where no MongoDB exists) once and prints
# the binary's path. `go install …/cmd/ferretdb@v1.24.2` alone gives a binary that panics at start
# ("Invalid build/version/version.txt"): the module ships without that generated file, so we build
# from a copy of the module source with the file written, as FerretDB's own `task gen-version` does.
set -euo pipefail
VERSION=v1.24.2
OUT_DIR="${FERRETDB_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/linkojob/ferretdb-$VERSION}"
BIN="$OUT_DIR/ferretdb"
if [ -x "$BIN" ] && "$BIN" --version >/dev/null 2>&1; then echo "$BIN"; exit 0; fi
command -v go >/dev/null || { echo "go is required to build FerretDB" >&2; exit 1; }
mkdir -p "$OUT_DIR"
SRC_DIR=$(go mod download -json "github.com/FerretDB/FerretDB@$VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$SRC_DIR" ] || { echo "could not download FerretDB $VERSION" >&2; exit 1; }
WORK=$(mktemp -d)
trap 'chmod -R u+w "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT
cp -r "$SRC_DIR/." "$WORK/"
chmod -R u+w "$WORK"
echo "$VERSION" > "$WORK/build/version/version.txt"
echo "main" > "$WORK/build/version/branch.txt"
echo "linkojob" > "$WORK/build/version/package.txt"
echo "building FerretDB $VERSION into $OUT_DIR (a few minutes the first time)" >&2
(cd "$WORK" && CGO_ENABLED=0 go build -trimpath -o "$BIN.tmp" ./cmd/ferretdb)
mv "$BIN.tmp" "$BIN"
"$BIN" --version >/dev/null
echo "$BIN"
