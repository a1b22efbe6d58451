#!/bin/sh
# Generates the Swift of the daemon's API (proto/sonde.proto) and of the part of containerd's events
# API the daemon subscribes to (proto/containerd/events.proto) into Sources/DaemonAPI, committed.
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

protos="proto/sonde.proto proto/containerd/events.proto"
generated="sonde.pb.swift sonde.grpc.swift containerd_events.pb.swift containerd_events.grpc.swift sonde.proto.sha256"

proto_hash() { cat $protos | sha256sum | cut -d' ' -f1; }

generate() { # $1: output directory
    tmp_gen=$(mktemp -d)
    # sonde's own API: server and client.
    protoc --proto_path=proto \
        --plugin=protoc-gen-swift="$bin/protoc-gen-swift" \
        --plugin=protoc-gen-grpc-swift-2="$bin/protoc-gen-grpc-swift-2" \
        --swift_opt=Visibility=Public --swift_out="$1" \
        --grpc-swift-2_opt=Visibility=Public,Server=true,Client=true --grpc-swift-2_out="$1" \
        sonde.proto
    # containerd's events (the runtime watcher subscribes): client only.
    protoc --proto_path=proto \
        --plugin=protoc-gen-swift="$bin/protoc-gen-swift" \
        --plugin=protoc-gen-grpc-swift-2="$bin/protoc-gen-grpc-swift-2" \
        --swift_opt=Visibility=Public --swift_out="$tmp_gen" \
        --grpc-swift-2_opt=Visibility=Public,Server=false,Client=true --grpc-swift-2_out="$tmp_gen" \
        containerd/events.proto
    mv "$tmp_gen/containerd/events.pb.swift" "$1/containerd_events.pb.swift"
    mv "$tmp_gen/containerd/events.grpc.swift" "$1/containerd_events.grpc.swift"
    rm -rf "$tmp_gen"
    proto_hash > "$1/sonde.proto.sha256"
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
        for f in $generated; do
            if ! cmp -s "$tmp/$f" "$out/$f"; then
                echo "gen-proto: $out/$f is not what $protos generate; run scripts/gen-proto.sh" >&2
                diff -u "$out/$f" "$tmp/$f" | head -40 >&2 || true
                exit 1
            fi
        done
        echo "gen-proto: generated code matches $protos"
    else
        if [ "$(proto_hash)" != "$(cat "$stamp")" ]; then
            echo "gen-proto: $protos changed since $out was generated; run scripts/gen-proto.sh" >&2
            exit 1
        fi
        echo "gen-proto: $protos unchanged since generation (generators not built: hash check only)"
    fi
    ;;
*)
    echo "usage: scripts/gen-proto.sh [--check]" >&2
    exit 2
    ;;
esac
