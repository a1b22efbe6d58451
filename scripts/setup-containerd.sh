#!/usr/bin/env bash
# Installs containerd (Debian's 1.6) and starts a private instance for sonde's tests: its own root,
# state and socket, so it never meets a containerd the machine may run for itself. Idempotent: a
# second run finds the recorded pid alive and starts nothing.
#
#   scripts/setup-containerd.sh          install, configure, start (in the background)
#   scripts/setup-containerd.sh stop     stop the instance this script started
#
# The CRI plugin runs with restrict_oom_score_adj (no CAP_SYS_RESOURCE here) and a local sandbox
# image, so pods run without network access. Tests reach it through SONDE_CONTAINERD_SOCKET.
set -euo pipefail

PREFIX=${SONDE_CONTAINERD_PREFIX:-sonde-containerd}
ROOT=/var/lib/$PREFIX
STATE=/run/$PREFIX
SOCKET=$STATE/containerd.sock
CONFIG=$ROOT/config.toml
PIDFILE=/run/sonde-test-containerd.pid
LOG=/var/log/sonde-test-containerd.log
# The sandbox ("pause") image CRI starts for every pod; made from busybox below, never pulled.
PAUSE_IMAGE=localhost/sonde-pause:latest

say() { echo "setup-containerd: $*"; }

running() {
    [[ -f $PIDFILE ]] || return 1
    local pid
    pid=$(cat "$PIDFILE")
    [[ -n $pid && -d /proc/$pid ]] && grep -q containerd "/proc/$pid/comm" 2>/dev/null
}

if [[ ${1:-} == stop ]]; then
    if running; then
        pid=$(cat "$PIDFILE")
        say "stopping containerd (pid $pid)"
        kill "$pid"
        for _ in $(seq 50); do [[ -d /proc/$pid ]] || break; sleep 0.1; done
    else
        say "no containerd of ours is running"
    fi
    rm -f "$PIDFILE"
    # Its runtime state (sockets, task dirs) is this private instance's alone; the images stay in $ROOT.
    [[ -d /proc/${pid:-0} ]] || rm -rf "$STATE"
    exit 0
fi

if [[ $(id -u) != 0 ]]; then
    say "must run as root" >&2
    exit 1
fi

missing=()
command -v containerd >/dev/null || missing+=(containerd)
command -v runc >/dev/null || missing+=(runc)
# The tests drive CRI with a small gRPC client (Tests/ContainersTests/Fixtures/cri-pod.py): no crictl in Debian.
/usr/bin/python3 -c 'import grpc' 2>/dev/null || missing+=(python3-grpcio)
if ((${#missing[@]})); then
    say "installing ${missing[*]} with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
say "$(containerd --version)"

mkdir -p "$ROOT" "$STATE"
cat >"$CONFIG.new" <<EOF
# Written by scripts/setup-containerd.sh: a private containerd for sonde's tests.
version = 2
root = "$ROOT"
state = "$STATE"

[grpc]
  address = "$SOCKET"

[plugins."io.containerd.internal.v1.opt"]
  path = "$ROOT/opt"

[plugins."io.containerd.grpc.v1.cri"]
  # No CAP_SYS_RESOURCE on the test machines: never raise a container's oom_score_adj.
  restrict_oom_score_adj = true
  sandbox_image = "$PAUSE_IMAGE"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$ROOT/cni"
EOF
mkdir -p "$ROOT/cni"
if ! cmp -s "$CONFIG.new" "$CONFIG" 2>/dev/null; then
    say "writing $CONFIG"
    mv "$CONFIG.new" "$CONFIG"
    if running; then
        say "config changed: restart with '$0 stop' then '$0' to apply it"
    fi
else
    rm -f "$CONFIG.new"
fi

if running; then
    say "containerd already running (pid $(cat "$PIDFILE")), socket $SOCKET"
elif [[ -S $SOCKET ]] && ctr --address "$SOCKET" version >/dev/null 2>&1; then
    # Started by hand or by an older run that lost its pid file: a second one could not start anyway.
    say "a containerd this script did not record answers on $SOCKET: using it"
else
    say "starting containerd in the background, log $LOG"
    # setsid: the daemon must outlive this script and the test run's process group.
    setsid containerd --config "$CONFIG" </dev/null >>"$LOG" 2>&1 &
    echo $! >"$PIDFILE"
    for _ in $(seq 100); do
        [[ -S $SOCKET ]] && ctr --address "$SOCKET" version >/dev/null 2>&1 && break
        if ! running; then
            say "containerd exited; the end of $LOG:" >&2
            tail -20 "$LOG" >&2
            rm -f "$PIDFILE"
            exit 1
        fi
        sleep 0.1
    done
    if ! ctr --address "$SOCKET" version >/dev/null 2>&1; then
        say "containerd did not answer on $SOCKET within 10 s" >&2
        exit 1
    fi
    say "containerd running (pid $(cat "$PIDFILE")), socket $SOCKET"
fi

# Images: a busybox rootfs as an OCI archive holding two images that share its one layer, the test
# image and the sandbox image. Built by hand since no registry is reachable; byte-identical every
# run (sorted tar, fixed mtimes), so importing again changes nothing.
ROOTFS=/var/lib/sonde-test/rootfs
TEST_IMAGE=localhost/sonde-busybox:latest

if [[ ! -x $ROOTFS/bin/busybox ]]; then
    if [[ ! -x /usr/bin/busybox ]] || ! /usr/bin/busybox --list >/dev/null 2>&1; then
        say "installing busybox-static with apt-get"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >/dev/null
    fi
    say "making a busybox rootfs in $ROOTFS"
    mkdir -p "$ROOTFS"/{bin,dev,etc,proc,sys,tmp,root}
    cp /usr/bin/busybox "$ROOTFS/bin/busybox"
    for applet in $("$ROOTFS/bin/busybox" --list); do
        [[ -e $ROOTFS/bin/$applet ]] || ln -s busybox "$ROOTFS/bin/$applet"
    done
fi

blob() { # FILE -> prints "sha256:HEX SIZE" after storing FILE as a blob of the layout
    local hex size
    hex=$(sha256sum "$1" | cut -d' ' -f1)
    size=$(stat -c %s "$1")
    mv "$1" "$LAYOUT/blobs/sha256/$hex"
    echo "sha256:$hex $size"
}

make_archive() { # OUT
    LAYOUT=$(mktemp -d)
    mkdir -p "$LAYOUT/blobs/sha256"
    tar -C "$ROOTFS" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf "$LAYOUT/layer" .
    read -r layer layer_size < <(blob "$LAYOUT/layer")
    local manifests="" name cmd config config_size manifest manifest_size
    for spec in "$TEST_IMAGE|\"/bin/sh\"" "$PAUSE_IMAGE|\"/bin/sleep\",\"2147483647\""; do
        name=${spec%%|*}
        cmd=${spec#*|}
        printf '{"architecture":"amd64","os":"linux","config":{"Cmd":[%s],"Env":["PATH=/bin"]},"rootfs":{"type":"layers","diff_ids":["%s"]}}' \
            "$cmd" "$layer" >"$LAYOUT/config"
        read -r config config_size < <(blob "$LAYOUT/config")
        printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"%s","size":%s}]}' \
            "$config" "$config_size" "$layer" "$layer_size" >"$LAYOUT/manifest"
        read -r manifest manifest_size < <(blob "$LAYOUT/manifest")
        manifests+="${manifests:+,}{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"$manifest\",\"size\":$manifest_size,\"annotations\":{\"io.containerd.image.name\":\"$name\",\"org.opencontainers.image.ref.name\":\"${name##*:}\"}}"
    done
    echo '{"imageLayoutVersion":"1.0.0"}' >"$LAYOUT/oci-layout"
    echo "{\"schemaVersion\":2,\"manifests\":[$manifests]}" >"$LAYOUT/index.json"
    tar -C "$LAYOUT" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf "$1" oci-layout index.json blobs
    rm -rf "$LAYOUT"
}

ARCHIVE=$ROOT/sonde-busybox.oci.tar
for ns in default k8s.io; do
    for image in "$TEST_IMAGE" "$PAUSE_IMAGE"; do
        if ! ctr --address "$SOCKET" -n "$ns" images ls -q | grep -qxF "$image"; then
            [[ -f $ARCHIVE ]] || { say "building $ARCHIVE from $ROOTFS"; make_archive "$ARCHIVE"; }
            say "importing $ARCHIVE into namespace $ns"
            ctr --address "$SOCKET" -n "$ns" images import "$ARCHIVE" >/dev/null
            break
        fi
    done
done
say "images in k8s.io: $(ctr --address "$SOCKET" -n k8s.io images ls -q | tr '\n' ' ')"
say "ready: export SONDE_CONTAINERD_SOCKET=$SOCKET"
