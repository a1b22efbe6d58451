#!/bin/sh
# Generates the Swift of the daemon's API (proto/sonde.proto) into Sources/DaemonAPI, committed.
#
#   scripts/gen-proto.sh           regenerate (builds protoc-gen-swift and protoc-gen-grpc-swift-2 from
#                                  the package's checkouts the first time: several minutes)
#   scripts/gen-proto.sh --check   fail when the committed code differs from what the .proto gives.
#                                  With the generators built, it regenerates and diffs; without them
#                                  (CI, to spare the 10-minute generator build) it compares the
#                                  .proto's sha256 with the one recorded at generation time, which
#                                  catches a .proto edited without regenerating.
# Needs protoc (Debian: protobuf-compiler, installed by scripts/setup.sh).
set -eu
cd "$(dirname "$0")/.."
out=Sources/DaemonAPI
stamp=$out/sonde.proto.sha256
bin=.build/debug
mode=${1:-generate}

have_generators() { [ -x "$bin/protoc-gen-swift" ] && [ -x "$bin/protoc-gen-grpc-swift-2" ]; }

generate() { # $1: output directory
    protoc --proto_path=proto \
        --plugin=protoc-gen-swift="$bin/protoc-gen-swift" \
        --plugin=protoc-gen-grpc-swift-2="$bin/protoc-gen-grpc-swift-2" \
        --swift_opt=Visibility=Public --swift_out="$1" \
        --grpc-swift-2_opt=Visibility=Public,Server=true,Client=true --grpc-swift-2_out="$1" \
        sonde.proto
    sha256sum proto/sonde.proto | cut -d' ' -f1 > "$1/sonde.proto.sha256"
}

case "$mode" in
generate)
    command -v protoc >/dev/null || { echo "gen-proto: protoc missing (apt-get install protobuf-compiler)" >&2; exit 1; }
    if ! have_generators; then
        swift build --product protoc-gen-swift
        swift build --product protoc-gen-grpc-swift-2
    fi
    mkdir -p "$out"
    generate "$out"
    echo "gen-proto: wrote $out"
    ;;
--check)
    if have_generators && command -v protoc >/dev/null; then
        tmp=$(mktemp -d)
        trap 'rm -rf "$tmp"' EXIT
        generate "$tmp"
        for f in sonde.pb.swift sonde.grpc.swift sonde.proto.sha256; do
            if ! cmp -s "$tmp/$f" "$out/$f"; then
                echo "gen-proto: $out/$f is not what proto/sonde.proto generates; run scripts/gen-proto.sh" >&2
                diff -u "$out/$f" "$tmp/$f" | head -40 >&2 || true
                exit 1
            fi
        done
        echo "gen-proto: generated code matches proto/sonde.proto"
    else
        if [ "$(sha256sum proto/sonde.proto | cut -d' ' -f1)" != "$(cat "$stamp")" ]; then
            echo "gen-proto: proto/sonde.proto changed since $out was generated; run scripts/gen-proto.sh" >&2
            exit 1
        fi
        echo "gen-proto: proto/sonde.proto unchanged since generation (generators not built: hash check only)"
    fi
    ;;
*)
    echo "usage: scripts/gen-proto.sh [--check]" >&2
    exit 2
    ;;
esac
