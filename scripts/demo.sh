#!/bin/sh
# The demo: builds sonde, records a real runc container with the flight recorder, lets it run and
# exit, then shows its last syscalls as strace would have printed them. Also traces its execs live.
#   scripts/demo.sh   (as root)
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh
echo "demo: building sonde (release)..."
swift build -c release --product sonde 2>&1 | grep -E "error|Compiling sonde|Build complete" || true
sonde=$(swift build -c release --show-bin-path)/sonde

work=$(mktemp -d /tmp/sonde-demo.XXXXXX)
name="sonde-demo-$$"
pins=/sys/fs/bpf/sonde-demo-$$
state=/run/sonde-demo-$$
cleanup() {
    for pid in ${recorder:-} ${tracer:-}; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; done
    runc delete --force "$name" >/dev/null 2>&1 || true
    "$sonde" record stop --pin-directory "$pins" --state-directory "$state" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

sh scripts/make-rootfs.sh "$work/rootfs"
(cd "$work" && runc spec)
# The container's job: a little shell session that reads a file, fails a command, and exits 3.
script='echo hello from the container; cat /etc/passwd; /bin/missing-tool --help; sleep 1; exit 3'
sed -i 's/"terminal": true/"terminal": false/' "$work/config.json"
python3 - "$work/config.json" "$script" <<'PY'
import json, sys
path, script = sys.argv[1], sys.argv[2]
config = json.load(open(path))
config["process"]["args"] = ["sh", "-c", script]
json.dump(config, open(path, "w"), indent=1)
PY

echo "demo: starting the flight recorder for runc containers, and a live exec trace"
"$sonde" record start --runtime runc --pin-directory "$pins" --state-directory "$state" \
    --crash-dir "$work/crash" --timeout 12 &
recorder=$!
"$sonde" trace exec --runtime runc --timeout 8 &
tracer=$!
sleep 2
echo "demo: running container $name (nobody watches it: it is recorded)"
runc run --bundle "$work" "$name" </dev/null >"$work/container.log" 2>&1 || echo "demo: the container exited with status $?"
wait "$tracer" || true
tracer=""
echo "demo: what the container printed:"
sed 's/^/    /' "$work/container.log"
echo "demo: its last 40 syscalls, from the flight recorder, after it exited:"
"$sonde" record dump -c "$name" --last 40 --pin-directory "$pins" --state-directory "$state"
