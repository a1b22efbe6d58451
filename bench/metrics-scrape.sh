#!/bin/sh
# Scrape time of the daemon's Prometheus endpoint with N real runc busybox containers (default 200).
#   bench/metrics-scrape.sh [N] [SCRAPES]          (root; run after `swift build`)
#   SONDE=.build/release/sonde bench/metrics-scrape.sh     (another build of sonde)
# Starts N containers (`sleep 3600`, each its own cgroup), a daemon of its own (own socket, pins,
# state; recording every container with 64K rings per CPU; metrics on a free port), waits until
# the endpoint shows every container, then times SCRAPES scrapes with curl and prints the figures.
# Everything it made is removed at the end (containers, daemon by pid, pins, directories).
set -eu
n=${1:-200}
scrapes=${2:-20}
root=$(cd "$(dirname "$0")/.." && pwd)
sonde=${SONDE:-"$root/.build/debug/sonde"}
[ -x "$sonde" ] || { echo "build first: swift build" >&2; exit 1; }
tag="sonde-scrape-$$"
work=$(mktemp -d "/tmp/$tag.XXXXXX")
daemon_pid=""
cleanup() {
    [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null || true
    i=0
    while [ $i -lt "$n" ]; do runc delete -f "$tag-$i" >/dev/null 2>&1 || true; i=$((i + 1)); done
    "$sonde" record stop --pin-directory "/sys/fs/bpf/$tag" --state-directory "$work/recorder" >/dev/null 2>&1 || true
    rm -rf "/sys/fs/bpf/$tag" "$work"
}
trap cleanup EXIT INT TERM

sh "$root/scripts/make-rootfs.sh" "$work/rootfs"
runc spec --bundle "$work"
python3 - "$work/config.json" <<'PY'
import json, sys
path = sys.argv[1]
config = json.load(open(path))
config["process"]["terminal"] = False
config["process"]["args"] = ["sleep", "3600"]
config["root"] = {"path": "rootfs", "readonly": True}
json.dump(config, open(path, "w"))
PY

start=$(date +%s.%N)
i=0
while [ $i -lt "$n" ]; do
    runc run -d --bundle "$work" "$tag-$i" >/dev/null 2>&1 </dev/null
    i=$((i + 1))
done
echo "started $n containers in $(echo "$(date +%s.%N) - $start" | bc) s"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$work/daemon.json" <<JSON
{"record": {"bufferSize": "64K", "crashDirectory": null, "pool": 8}, "metrics": {"address": "127.0.0.1:$port", "syscallLatency": true}}
JSON
"$sonde" daemon --socket "$work/sonde.sock" --config "$work/daemon.json" --pin-directory "/sys/fs/bpf/$tag" \
    --state-directory "$work/recorder" --daemon-state-directory "$work/state" >"$work/daemon.log" 2>&1 &
daemon_pid=$!

# Ready once every container has a series of syscalls (counted from their next call: sleep makes
# none, so the daemon's view of runc state and the recorder are what show first).
deadline=$(( $(date +%s) + 300 ))
while :; do
    seen=$(curl -s --max-time 30 "http://127.0.0.1:$port/metrics" | grep '^sonde_recorder_buffer_bytes{' | grep -c "$tag" || true)
    [ "$seen" -ge "$n" ] && break
    [ "$(date +%s)" -lt $deadline ] || { echo "only $seen of $n containers in the metrics after 300 s" >&2; tail "$work/daemon.log" >&2; exit 1; }
    sleep 1
done
# Make every container run a few calls so that each has syscall series too.
i=0
while [ $i -lt "$n" ]; do runc exec "$tag-$i" true >/dev/null 2>&1; i=$((i + 1)); done
curl -s "http://127.0.0.1:$port/metrics" > "$work/scrape.txt"
lines=$(wc -l < "$work/scrape.txt")
bytes=$(wc -c < "$work/scrape.txt")
series=$(grep -c '^sonde_syscalls_total{' "$work/scrape.txt" || true)
echo "one scrape: $lines lines, $bytes bytes, $series syscall counters (container x syscall)"
times=""
i=0
while [ $i -lt "$scrapes" ]; do
    t=$(curl -s -o /dev/null -w '%{time_total}' "http://127.0.0.1:$port/metrics")
    times="$times $t"
    i=$((i + 1))
done
echo "$times" | tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {printf "scrape time over %d scrapes: min %.1f ms, median %.1f ms, max %.1f ms\n", NR, a[1]*1000, a[int((NR+1)/2)]*1000, a[NR]*1000}'
grep -E '^sonde_syscalls_total\{.*'"$tag"'-0".*syscall="execve"' "$work/scrape.txt" | head -1
