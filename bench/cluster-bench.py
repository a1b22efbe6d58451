#!/usr/bin/env python3
"""Cluster mode's benchmark (bench/RESULTS-cluster.md): events per second that `kubectl sonde`
merges from 3 nodes at once, and the time from the command to the first event of each node.

Each node is a network namespace with its own address and its own `sonde daemon` (TCP, mutual
TLS, recording off), as in Tests/ClusterTests; each runs one runc container whose openstorm
(bench/openstorm.c) calls openat at a set rate. `kubectl-sonde trace open -o json` runs against
the three, its pods placed by a fixture (--cluster-file); this script reads its output as it
comes and notes when each line arrives.

    swift build && bench/cluster-bench.py [--rate 20000] [--seconds 8] [--runs 3]

Root; needs runc, busybox-static, gcc with a static libc, openssl, iproute2. Everything it makes
is removed at the end (namespaces, veths, daemons, containers, files), also on failure.
"""
import argparse, json, os, random, shutil, signal, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, ".build", "debug")


def sh(*args, **kw):
    return subprocess.run(args, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw).stdout


class Bench:
    def __init__(self, nodes):
        self.tag = "%08x" % random.getrandbits(32)
        self.subnet = "10.%d.%d" % (random.randint(100, 250), random.randint(0, 250))
        self.dir = tempfile.mkdtemp(prefix="sonde-cluster-bench-")
        self.count = nodes
        self.namespaces, self.veths, self.processes, self.containers = [], [], [], []

    def node_address(self, i):
        return "%s.%d" % (self.subnet, i * 4 + 2)

    def setup(self, rate, seconds):
        d = self.dir
        sh("/bin/sh", "-c", f"""set -e; cd {d}
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 1 -subj /CN=bench-ca 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout daemon.key -out daemon.csr -subj /CN=sonde-daemon 2>/dev/null
printf 'subjectAltName=DNS:sonde-daemon\\n' > daemon.ext
openssl x509 -req -in daemon.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out daemon.pem -days 1 -extfile daemon.ext 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj /CN=bench 2>/dev/null
openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 1 2>/dev/null
gcc -O2 -static -o openstorm {ROOT}/bench/openstorm.c""")
        pods, nodes = [], []
        for i in range(self.count):
            ns, hv, nv = f"sonde-b{self.tag}-{i}", f"bh{self.tag}{i}", f"bn{self.tag}{i}"
            host, addr = "%s.%d" % (self.subnet, i * 4 + 1), self.node_address(i)
            sh("ip", "netns", "add", ns); self.namespaces.append(ns)
            sh("ip", "link", "add", hv, "type", "veth", "peer", "name", nv); self.veths.append(hv)
            sh("ip", "link", "set", nv, "netns", ns)
            sh("ip", "addr", "add", host + "/30", "dev", hv)
            sh("ip", "link", "set", hv, "up")
            sh("ip", "-n", ns, "addr", "add", addr + "/30", "dev", nv)
            sh("ip", "-n", ns, "link", "set", nv, "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            nd = os.path.join(d, f"node-{i}")
            os.makedirs(nd)
            config = {"socket": nd + "/sonde.sock", "stateDirectory": nd + "/state", "record": {"enabled": False},
                      "runtimes": {"containerdAddress": nd + "/none.sock"},
                      "tcp": {"address": addr + ":7443", "certificate": d + "/daemon.pem", "key": d + "/daemon.key", "clientCA": d + "/ca.pem",
                              "clients": [{"user": "bench", "wholeNode": True}]}}
            json.dump(config, open(nd + "/daemon.json", "w"))
            log = open(nd + "/daemon.log", "w")
            # nsenter joins the network namespace only (ip netns exec would remount /sys).
            self.processes.append(subprocess.Popen(["nsenter", f"--net=/run/netns/{ns}", BIN + "/sonde", "daemon", "--config", nd + "/daemon.json"],
                                                   stdout=log, stderr=log, stdin=subprocess.DEVNULL))
            # The container: openstorm at `rate` opens/s, storms of `seconds`, again and again.
            name = f"sonde-bench-{self.tag}-{i}"
            bundle = os.path.join(d, name)
            sh("/bin/sh", os.path.join(ROOT, "scripts/make-rootfs.sh"), bundle + "/rootfs", d + "/openstorm")
            sh("runc", "spec", "--bundle", bundle)
            spec = json.load(open(bundle + "/config.json"))
            spec["process"]["terminal"] = False
            spec["process"]["args"] = ["/bin/sh", "-c", f"while true; do printf g | /bin/openstorm {rate} {seconds} >/dev/null; done"]
            json.dump(spec, open(bundle + "/config.json", "w"))
            # The container keeps runc's stdio: no pipes, or reading them would never end.
            subprocess.run(["runc", "run", "-d", "--bundle", bundle, name], check=True, stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.containers.append(name)
            pods.append({"metadata": {"name": f"storm-{i}", "namespace": "bench", "labels": {"app": "storm"}},
                         "spec": {"nodeName": f"node-{i}", "containers": [{"name": "storm"}]},
                         "status": {"phase": "Running", "hostIP": addr,
                                    "containerStatuses": [{"name": "storm", "ready": True, "containerID": "containerd://" + name}]}})
            nodes.append({"metadata": {"name": f"node-{i}"}, "status": {"addresses": [{"type": "InternalIP", "address": addr}]}})
        json.dump({"pods": {"kind": "PodList", "items": pods}, "nodes": {"kind": "NodeList", "items": nodes}}, open(d + "/cluster.json", "w"))
        for i in range(self.count):
            sock = os.path.join(d, f"node-{i}", "sonde.sock")
            deadline = time.time() + 60
            while not os.path.exists(sock):
                if time.time() > deadline:
                    raise RuntimeError(open(os.path.join(d, f"node-{i}", "daemon.log")).read())
                time.sleep(0.1)
        time.sleep(1)

    def run(self, seconds):
        d = self.dir
        command = [BIN + "/kubectl-sonde", "trace", "open", "-n", "bench", "-l", "app=storm", "-o", "json", "--timeout", str(seconds),
                   "--cluster-file", d + "/cluster.json", "--tls-cert", d + "/client.pem", "--tls-key", d + "/client.key", "--tls-ca", d + "/ca.pem"]
        daemons_before = self.daemon_cpu()
        started = time.monotonic()
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        first, last, counts, bad, failures = {}, {}, {}, 0, {}
        for line in process.stdout:
            now = time.monotonic()
            try:
                record = json.loads(line)
                node = record["node"]
            except (ValueError, KeyError):
                bad += 1
                continue
            if "error" in record:  # a node failure record, not an event
                failures[node] = record.get("reason", "")
                continue
            counts[node] = counts.get(node, 0) + 1
            first.setdefault(node, now - started)
            last[node] = now - started
        # The plugin's own CPU time (rusage of the child), beside the daemons' (from /proc).
        _, _, usage = os.wait4(process.pid, 0)
        process.returncode = 0
        total = time.monotonic() - started
        plugin_cpu = usage.ru_utime + usage.ru_stime
        daemons_cpu = self.daemon_cpu() - daemons_before
        stderr = process.stderr.read().decode()
        # The rate while events flowed: from the first event of any node to the last one.
        window = (max(last.values()) - min(first.values())) if first else 0
        return {"failures": failures, "first": first, "counts": counts, "total": total, "bad": bad, "stderr": stderr, "window": window,
                "plugin_cpu": plugin_cpu, "daemons_cpu": daemons_cpu}

    def daemon_cpu(self):
        """CPU seconds the daemons used so far (utime + stime)."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for p in self.processes:
            try:
                fields = open(f"/proc/{p.pid}/stat").read().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / ticks
            except OSError:
                pass
        return total

    def cleanup(self):
        for name in self.containers:
            subprocess.run(["runc", "delete", "--force", name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for p in self.processes:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
        for v in self.veths:
            subprocess.run(["ip", "link", "del", v], stderr=subprocess.DEVNULL)
        for ns in self.namespaces:
            subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)
        shutil.rmtree(self.dir, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=int, default=20000, help="opens per second per container (0: as fast as it can)")
    parser.add_argument("--seconds", type=int, default=8, help="length of each run")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    bench = Bench(3)
    # SIGTERM (timeout, kill) ends the run through the cleanup below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    try:
        bench.setup(args.rate, 3600)
        print(f"offered: {args.rate} opens/s in each of 3 containers; runs of {args.seconds} s")
        print(f"| run | events | events/s merged | per node (events) | first event node-0 / node-1 / node-2 (s) | CPU s: plugin / 3 daemons | losses and failures |")
        print(f"| --- | ---: | ---: | --- | --- | --- | --- |")
        for index in range(args.runs):
            r = bench.run(args.seconds)
            nodes = sorted(r["counts"])
            total = sum(r["counts"].values())
            rate = total / r["window"] if r["window"] > 0 else 0
            notes = [l.replace("kubectl-sonde: ", "") for l in r["stderr"].splitlines() if "lost" in l or "missing" in l or "unavailable" in l]
            # Loss counts grow during a run: keep each node's last report.
            last_loss = {}
            for note in notes:
                if "events lost" in note:
                    last_loss[note.split(":")[0]] = note
            notes = [n for n in notes if "events lost" not in n] + sorted(last_loss.values())
            notes += [f"{node} failed: {reason[:160]}" for node, reason in sorted(r["failures"].items())]
            losses = "; ".join(notes) or "none"
            print(f"| {index + 1} | {total} | {rate:,.0f} | " + ", ".join(f"{n} {r['counts'][n]}" for n in nodes)
                  + " | " + " / ".join(f"{r['first'].get(f'node-{i}', float('nan')):.2f}" for i in range(3))
                  + f" | {r['plugin_cpu']:.1f} / {r['daemons_cpu']:.1f} | {losses} |", flush=True)
            if r["bad"]:
                print(f"warning: {r['bad']} lines were not JSON events", file=sys.stderr)
    finally:
        bench.cleanup()


if __name__ == "__main__":
    main()
