#!/usr/bin/env python3
"""Regenerates the marked blocks of README.md and docs/**/*.md, or checks them.

A block is the text between `<!-- gen:NAME -->` and `<!-- /gen:NAME -->`. Kinds of NAME:

  help:WORDS        a command's usage, its own options and its fields, from `sonde WORDS --help`
                    (WORDS joined by '/': help:trace/open, help:kubectl-sonde/trace)
  fields-common     the fields every gadget's events have
  gadgets           the table of gadgets, from the subcommands of trace, top, snapshot and advise
  deps              the module graph, from `swift package dump-package`
  live:NAME         a real run against real runc containers this script starts (see LIVE below)

Run through scripts/gen-docs.sh, which sets SONDE and KUBECTL_SONDE.
  gen-docs.py                 regenerate every block in place (live ones too)
  gen-docs.py --no-live       regenerate the deterministic blocks only
  gen-docs.py --check         exit 1 when a deterministic block differs from the committed one, a
                              relative link does not resolve, or a live run's shape (column
                              header, JSON keys) no longer matches its committed example
  gen-docs.py --check --no-live   the same without the live runs
"""
import difflib
import json
import os
import re
import shlex
import shutil
import select
import signal
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
SONDE = os.path.abspath(os.environ.get("SONDE", os.path.join(ROOT, ".build/debug/sonde")))
KUBECTL_SONDE = os.path.abspath(os.environ.get("KUBECTL_SONDE", os.path.join(ROOT, ".build/debug/kubectl-sonde")))
BLOCK = re.compile(r"(<!-- gen:(\S+) -->\n)(.*?)(<!-- /gen:\2 -->)", re.S)


def doc_files():
    files = [os.path.join(ROOT, "README.md")]
    for base, _, names in os.walk(os.path.join(ROOT, "docs")):
        files += [os.path.join(base, n) for n in sorted(names) if n.endswith(".md")]
    return sorted(files)


def rel(path):
    return os.path.relpath(path, ROOT)


# ---------------------------------------------------------------- help text


_help_cache = {}


def help_text(words):
    if words and words[0] == "kubectl-sonde":
        argv = [KUBECTL_SONDE] + words[1:]
    else:
        argv = [SONDE] + words
    key = tuple(argv)
    if key not in _help_cache:
        env = dict(os.environ, COLUMNS="80")
        out = subprocess.run(argv + ["--help"], capture_output=True, text=True, env=env, timeout=60)
        if out.returncode != 0 or "USAGE:" not in out.stdout:
            sys.exit(f"gen-docs: `{' '.join(words)} --help` failed ({out.returncode}): {out.stderr.strip()}")
        _help_cache[key] = out.stdout
    return _help_cache[key]


def parse_help(text):
    """Sections of swift-argument-parser help: overview, fields, default columns, usage, options."""
    lines = text.splitlines()
    result = {"overview": [], "fields": [], "default": None, "usage": "", "options": [], "subcommands": []}
    section = "overview"
    for line in lines:
        if line.startswith("OVERVIEW: "):
            result["overview"].append(line[len("OVERVIEW: "):])
            continue
        if line.startswith("Fields ("):
            section = "fields"
            continue
        if line.startswith("Default columns:"):
            section = "default"
            rest = line[len("Default columns:"):].strip()
            result["default"] = rest
            continue
        if line.startswith("USAGE: "):
            result["usage"] = line[len("USAGE: "):]
            section = "usage"
            continue
        if line in ("OPTIONS:", "ARGUMENTS:"):
            section = "options"
            result["options"].append(line)
            continue
        if line == "SUBCOMMANDS:":
            section = "subcommands"
            continue
        if section == "overview":
            if not line.strip():
                section = "discussion"
            else:
                result["overview"].append(line)
        elif section == "fields":
            m = re.match(r"^  (\w+) \(([^)]*)\): (.*)$", line)
            if m:
                result["fields"].append([m.group(1), m.group(2), m.group(3)])
            elif line.strip() and result["fields"]:
                result["fields"][-1][2] += " " + line.strip()
        elif section == "default":
            if line.strip() and not result["default"]:
                result["default"] = line.strip()
        elif section == "options":
            result["options"].append(line)
        elif section == "subcommands":
            m = re.match(r"^  (\S+)\s+(.*)$", line)
            if line.strip().startswith("See '"):
                continue
            if m and not line.startswith("   "):
                result["subcommands"].append([m.group(1), m.group(2)])
            elif line.strip() and result["subcommands"] and not line.strip().startswith("See '"):
                result["subcommands"][-1][1] += " " + line.strip()
    result["overview"] = " ".join(result["overview"])
    return result


# The selection and runtime flags every gadget shares: docs/gadgets/README.md describes them once.
SHARED_OPTIONS = {"-c, --containername", "--runtime", "--cgroup", "--all-containers", "--host", "--runc-root",
                  "--containerd-address", "--containerd-runc-root", "-h, --help"}


def own_options(options):
    """The OPTIONS lines minus the shared selection flags (each option with its continuation lines)."""
    kept, keep = [], True
    for line in options:
        if line in ("OPTIONS:", "ARGUMENTS:"):
            if kept and kept[-1] != "":
                kept.append("")
            kept.append(line)
            continue
        m = re.match(r"^  (-\w(?:, --[\w-]+)?|--[\w-]+|<\S+>)", line)
        if m:
            keep = m.group(1) not in SHARED_OPTIONS
        if keep and line.strip():
            kept.append(line)
    while kept and kept[-1] in ("", "OPTIONS:", "ARGUMENTS:"):
        kept.pop()
    return kept


def md_cell(text):
    return text.replace("|", "\\|")


def all_gadget_helps():
    helps = {}
    for verb in ("trace", "top", "snapshot", "advise"):
        for name, _ in parse_help(help_text([verb]))["subcommands"]:
            helps[(verb, name)] = parse_help(help_text([verb, name]))
    return helps


def common_fields():
    helps = [h for h in all_gadget_helps().values() if h["fields"]]
    names = [f[0] for f in helps[0]["fields"]]
    common = [n for n in names if all(any(f[0] == n for f in h["fields"]) for h in helps)]
    return [f for f in helps[0]["fields"] if f[0] in common]


def gen_help(arg):
    words = arg.split("/")
    h = parse_help(help_text(words))
    prog = "kubectl sonde" if words[0] == "kubectl-sonde" else "sonde"
    out = ["Usage (from `%s --help`):" % " ".join([prog] + words[1:] if words[0] == "kubectl-sonde" else [prog] + words), "",
           "```text", h["usage"]]
    opts = own_options(h["options"])
    if opts:
        out += [""] + opts
    out.append("```")
    if h["fields"]:
        common = {f[0] for f in common_fields()}
        own = [f for f in h["fields"] if f[0] not in common]
        out += ["", "Fields (`--fields`, `--filter`; `-o json` carries them all), beside the "
                "[common fields](README.md#common-fields):", "",
                "| field | type | meaning |", "| --- | --- | --- |"]
        out += ["| `%s` | %s | %s |" % (n, md_cell(t), md_cell(d)) for n, t, d in own]
    if h["default"]:
        out += ["", "Default columns: `%s`." % h["default"]]
    return "\n".join(out) + "\n"


def gen_fields_common(_):
    out = ["| field | type | meaning |", "| --- | --- | --- |"]
    out += ["| `%s` | %s | %s |" % (n, md_cell(t), md_cell(d)) for n, t, d in common_fields()]
    return "\n".join(out) + "\n"


def gen_gadgets(_):
    out = ["| command | what it shows | page |", "| --- | --- | --- |"]
    for (verb, name), h in all_gadget_helps().items():
        page = "%s-%s.md" % (verb, name)
        out.append("| `sonde %s %s` | %s | [%s](%s) |" % (verb, name, md_cell(h["overview"]), page, page))
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- module graph


def gen_deps(_):
    dump = subprocess.run(["swift", "package", "dump-package"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    if dump.returncode != 0:
        sys.exit("gen-docs: swift package dump-package failed: " + dump.stderr.strip())
    package = json.loads(dump.stdout)
    targets = package["targets"]
    kinds = {t["name"]: t["type"] for t in targets}

    def deps_of(t):
        internal, external = [], []
        for dep in t["dependencies"]:
            kind, value = next(iter(dep.items()))
            if kind == "product":
                external.append("%s (%s)" % (value[0], value[1]))
            else:
                internal.append(value[0])
        for usage in t.get("pluginUsages") or []:
            internal.append(usage["plugin"][0] + " (plugin)")
        return internal, external

    product_of = {}
    for p in package["products"]:
        for t in p["targets"]:
            product_of.setdefault(t, []).append(p["name"])
    order = {"system": 0, "regular": 1, "plugin": 1, "executable": 2, "test": 3}
    rows = sorted((t for t in targets if t["type"] != "test"), key=lambda t: (order.get(t["type"], 9), t["name"]))
    out = ["```mermaid", "graph LR"]
    for t in rows:
        internal, _ = deps_of(t)
        for d in sorted(internal):
            d = d.replace(" (plugin)", "")
            out.append("  %s --> %s" % (t["name"].replace("-", "_"), d.replace("-", "_")))
    out += ["```", "", "| target | kind | depends on | external products |", "| --- | --- | --- | --- |"]
    for t in rows:
        internal, external = deps_of(t)
        kind = t["type"] + (" (product `%s`)" % "`, `".join(product_of[t["name"]]) if t["name"] in product_of else "")
        out.append("| `%s` | %s | %s | %s |" % (t["name"], kind, ", ".join(sorted(internal)) or "-",
                                              ", ".join(sorted(external)) or "-"))
    tests = sorted(t["name"] for t in targets if t["type"] == "test")
    out += ["", "Test targets: " + ", ".join("`%s`" % n for n in tests) + "."]
    externals = sorted({d["sourceControl"][0]["identity"] for d in package["dependencies"] if "sourceControl" in d})
    out += ["", "External packages: " + ", ".join("`%s`" % n for n in externals) + "."]
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- link check


def slug(heading):
    s = heading.strip().lower()
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")


def anchors(path):
    found, fence = set(), False
    for line in open(path, encoding="utf-8"):
        if line.startswith("```"):
            fence = not fence
        if not fence and line.startswith("#"):
            found.add(slug(line.lstrip("#")))
    return found


def check_links(files):
    problems = []
    link = re.compile(r"\]\(([^)\s]+)\)")
    for path in files:
        fence = False
        for number, line in enumerate(open(path, encoding="utf-8"), 1):
            if line.startswith("```"):
                fence = not fence
                continue
            if fence:
                continue
            for target in link.findall(line):
                if re.match(r"^[a-z]+:", target):
                    continue
                file_part, _, anchor = target.partition("#")
                dest = os.path.normpath(os.path.join(os.path.dirname(path), file_part)) if file_part else path
                if not os.path.exists(dest):
                    problems.append("%s:%d: link to %s: no such file" % (rel(path), number, target))
                elif anchor and dest.endswith(".md") and anchor not in anchors(dest):
                    problems.append("%s:%d: link to %s: no heading #%s in %s" % (rel(path), number, target, anchor, rel(dest)))
    return problems


# ---------------------------------------------------------------- live runs

TRACER_C = r"""
/* Attaches to its child, peeks at an unmapped address (EIO), detaches: one ptrace example. */
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void) {
    pid_t child = fork();
    if (child == 0) { for (;;) pause(); }
    usleep(20000);
    ptrace(PTRACE_ATTACH, child, 0, 0);
    waitpid(child, 0, 0);
    ptrace(PTRACE_PEEKDATA, child, (void *)8, 0);
    ptrace(PTRACE_DETACH, child, 0, 0);
    kill(child, SIGKILL);
    waitpid(child, 0, 0);
    return 0;
}
"""

# The workload of the main example container: one round of everything the gadgets show.
APP_SCRIPT = r"""ip link set lo up
mkdir -p /tmp/m
nc -l -p 9090 > /dev/null &
while true; do
  cat /etc/passwd > /dev/null
  cat /etc/shadow 2>/dev/null
  /bin/missing-tool --help 2>/dev/null
  dd if=/dev/zero of=/tmp/log bs=4096 count=25 2>/dev/null
  dd if=/dev/zero bs=1000 count=200 2>/dev/null | nc -l -p 8080 > /dev/null &
  listener=$!
  sleep 0.2
  nc -w 1 127.0.0.1 8080 > /tmp/got
  nc -l -p 80 2>/dev/null &
  sleep 0.1
  kill $! $listener 2>/dev/null
  nc -w 1 ::1 8081 2>/dev/null
  chown 1 /tmp/log 2>/dev/null
  mount -t tmpfs -o size=1m none /tmp/m 2>/dev/null
  [ -x /bin/tracer ] && /bin/tracer
  sleep 0.5
done
"""

WEB_SCRIPT = "ip link set lo up; nc -l -p 18080 > /dev/null & sleep 0.3; echo hi | nc 127.0.0.1 18080; sleep 3"
JOB_SCRIPT = "cat /etc/passwd > /dev/null; ls / > /dev/null; sleep 1"
OOM_SCRIPT = "sleep 3; x=aaaaaaaaaaaaaaaa; while true; do x=$x$x; done"


class Lab:
    """Real runc containers and sonde processes; everything it starts it ends."""

    def __init__(self):
        self.tag = str(os.getpid())
        # Digits only, so that the shape check (numbers masked) sees the same paths on every run.
        self.work = "/tmp/sonde-docs-" + self.tag
        shutil.rmtree(self.work, ignore_errors=True)
        os.makedirs(self.work)
        self.containers, self.procs = [], []
        self.pins = "/sys/fs/bpf/sonde-docs-" + self.tag
        self.state = "/run/sonde-docs-" + self.tag
        self.recording = False
        self.rootfs = os.path.join(self.work, "rootfs")
        extra = []
        if shutil.which("gcc"):
            src = os.path.join(self.work, "tracer.c")
            open(src, "w").write(TRACER_C)
            binary = os.path.join(self.work, "tracer")
            if subprocess.run(["gcc", "-O1", "-static", "-o", binary, src], capture_output=True).returncode == 0:
                extra.append(binary)
        subprocess.run(["sh", os.path.join(ROOT, "scripts/make-rootfs.sh"), self.rootfs] + extra, check=True,
                       stdout=subprocess.DEVNULL)

    def name(self, short):
        return "docs-%s-%s" % (short, self.tag)

    def bundle(self, short, script, memory=None):
        bundle = os.path.join(self.work, short)
        os.makedirs(bundle)
        subprocess.run(["runc", "spec"], cwd=bundle, check=True)
        path = os.path.join(bundle, "config.json")
        config = json.load(open(path))
        config["root"] = {"path": self.rootfs, "readonly": True}
        config["process"]["terminal"] = False
        script_path = "/bin/%s.sh" % short
        open(self.rootfs + script_path, "w").write(script + "\n")
        config["process"]["args"] = ["sh", script_path]
        caps = config["process"]["capabilities"]
        for key in ("bounding", "effective", "permitted"):
            caps[key] = sorted(set(caps.get(key, [])) | {"CAP_NET_ADMIN"})
        config["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                                 "options": ["nosuid", "nodev", "size=16m"]})
        if memory:
            config["linux"].setdefault("resources", {})["memory"] = {"limit": memory, "swap": memory}
        json.dump(config, open(path, "w"), indent=1)
        return bundle

    def run(self, short, script, detach=True, memory=None):
        name = self.name(short)
        bundle = self.bundle(short, script, memory)
        self.containers.append(name)
        argv = ["runc", "run"] + (["-d"] if detach else []) + ["--bundle", bundle, name]
        if detach:
            subprocess.run(argv, check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            return name
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(proc)
        return name

    def start(self, argv):
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                stdin=subprocess.DEVNULL)
        self.procs.append(proc)
        return proc

    def close(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        for name in self.containers:
            subprocess.run(["runc", "delete", "--force", name], capture_output=True)
        if self.recording:
            subprocess.run([SONDE, "record", "stop", "--pin-directory", self.pins, "--state-directory", self.state],
                           capture_output=True)
        shutil.rmtree(self.work, ignore_errors=True)


def shown(argv):
    """The command line as a reader types it: `sonde ...`."""
    words = ["sonde" if a == SONDE else "kubectl sonde" if a == KUBECTL_SONDE else a for a in argv]
    return "# " + " ".join(shlex.quote(w) if w != "kubectl sonde" else w for w in words)


def masked(line):
    return re.sub(r"\d+", "N", re.sub(r"\s+", " ", line)).strip()


def pick_rows(lines, rows, key=masked):
    """The header and up to `rows` lines that differ in more than their numbers."""
    if not lines:
        return []
    seen, kept = set(), [lines[0]]
    for line in lines[1:]:
        k = key(line)
        if line.strip() and k not in seen:
            seen.add(k)
            kept.append(line)
        if len(kept) > rows:
            break
    return kept


def last_top_block(text, rows):
    blocks = [b.strip("\n").splitlines() for b in re.split(r"\n\s*\n", text) if b.strip()]
    if not blocks:
        return []
    # The fullest interval (the last one is often cut short by --timeout); the later on a tie.
    block = max(reversed(blocks), key=len)
    return block[:2 + rows]


def first_json(text, count=1):
    return [line for line in text.splitlines() if line.startswith("{")][:count]


class Example:
    """One command of a live block: argv, how to cut its output, and its process once started.
    With `until`, the command runs without a --timeout and is stopped (SIGINT, as Ctrl-C) once its
    output holds what the example shows: an example that needs an event waits for it, not for luck."""

    def __init__(self, argv, cut, stderr=False, until=None):
        self.argv, self.cut, self.stderr, self.until, self.proc = argv, cut, stderr, until, None

    def start(self, lab):
        self.proc = lab.start(self.argv)

    def result(self):
        if self.until is None:
            out, err = self.proc.communicate(timeout=120)
            return [shown(self.argv)] + self.cut(err if self.stderr else out)
        seen, deadline, fd = b"", time.time() + 120, self.proc.stdout.fileno()
        while not self.until(seen.decode(errors="replace")) and time.time() < deadline:
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.time()))
            chunk = os.read(fd, 65536) if ready else b""
            if not chunk:
                break
            seen += chunk
        self.proc.send_signal(signal.SIGINT)
        out, _ = self.proc.communicate(timeout=60)
        return [shown(self.argv)] + self.cut(seen.decode(errors="replace") + out)


def eventually(argv, holds, timeout=60):
    """Runs argv until its output satisfies `holds` (or the deadline passes); returns the last output."""
    deadline = time.time() + timeout
    while True:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=60).stdout
        if holds(out) or time.time() >= deadline:
            return out
        time.sleep(0.2)


def columns(rows):
    return lambda text: pick_rows(text.splitlines(), rows)


def top(rows):
    return lambda text: last_top_block(text, rows)


def jsonl(count=1):
    return lambda text: first_json(text, count)


def text_lines(count, pattern=None):
    return lambda text: [l for l in text.splitlines() if pattern is None or re.search(pattern, l)][:count]


def live_plan(lab, app, oom):
    """Every live block: the commands started together while the containers run."""
    S = SONDE
    T = "4"
    web, job = lab.name("web"), lab.name("job")
    plan = {
        "trace-exec": [Example([S, "trace", "exec", "-c", app, "--timeout", T], columns(6))],
        "trace-open": [Example([S, "trace", "open", "-c", app, "--timeout", T], columns(4)),
                       Example([S, "trace", "open", "-c", app, "-o", "json", "--filter", "fd=ENOENT"],
                               jsonl(), until=lambda text: bool(first_json(text)))],
        "trace-bind": [Example([S, "trace", "bind", "-c", app, "--fields",
                                "container,pid,comm,fd,family,proto,address,port,ret", "--timeout", T], columns(3))],
        "trace-signal": [Example([S, "trace", "signal", "-c", app, "--filter", "signal!=SIGCHLD", "--fields",
                                  "container,pid,comm,signal,target_pid,target_comm,code,result", "--timeout", T],
                                 columns(4))],
        "trace-capabilities": [Example([S, "trace", "capabilities", "-c", app, "--filter", "cap!=CAP_SYS_ADMIN",
                                        "--fields", "container,pid,comm,syscall,cap,verdict,ret", "--timeout", T],
                                       columns(3))],
        "trace-mount": [Example([S, "trace", "mount", "-c", app, "--fields",
                                 "container,comm,syscall,source,target,fstype,flags,data,ret", "--timeout", T],
                                columns(1))],
        "trace-oomkill": [Example([S, "trace", "oomkill", "-c", oom, "--fields",
                                   "container,pid,comm,victim_pid,victim_comm,pages,anon_pages,total_vm_pages",
                                   "--timeout", "8"], columns(1))],
        "trace-tcp": [Example([S, "trace", "tcp", "-c", app, "--fields", "container,pid,comm,type,src,dst,ret,state",
                               "--timeout", T], columns(5))],
        "trace-startup": [Example([S, "trace", "startup", "--runtime", "runc", "--filter", "container=" + web,
                                   "--timeout", "7"], columns(6))],
        "top-file": [Example([S, "top", "file", "-c", app, "--max-rows", "4", "--timeout", T], top(4))],
        "top-tcp": [Example([S, "top", "tcp", "-c", app, "--max-rows", "4", "--timeout", T], top(4))],
        "top-syscalls": [Example([S, "top", "syscalls", "-c", app, "--max-rows", "8", "--timeout", T], top(8))],
        "top-containers": [Example([S, "top", "containers", "-c", app, "--timeout", T], top(2))],
        "audit": [Example([S, "audit", "-c", app, "--no-daemon", "-o", "columns", "--timeout", T], columns(4))],
    }
    if os.path.exists(os.path.join(lab.rootfs, "bin/tracer")):
        plan["trace-ptrace"] = [Example([S, "trace", "ptrace", "-c", app, "--timeout", T], columns(3))]
    return plan


def run_live(names):
    """Runs the live examples named in the docs; returns {name: [lines]}."""
    lab = Lab()
    results = {}
    try:
        app = lab.run("app", APP_SCRIPT)
        oom = lab.run("oom", OOM_SCRIPT, memory=32 * 1024 * 1024)
        profiles = os.path.join(lab.work, "profiles")
        os.makedirs(profiles)
        plan = live_plan(lab, app, oom)
        advise = Example([SONDE, "advise", "seccomp-profile", "--runtime", "runc", "--output-dir", profiles, "--timeout", "7"],
                         text_lines(2, lab.name("job")), stderr=True)
        record = [SONDE, "record", "start", "-c", app, "--pin-directory", lab.pins, "--state-directory", lab.state,
                  "--timeout", "30"]
        wanted = {n: plan[n] for n in names if n in plan}
        for examples in wanted.values():
            for e in examples:
                e.start(lab)
        if "advise-seccomp-profile" in names:
            advise.start(lab)
        if "record" in names:
            lab.recording = True
            lab.start(record)
        time.sleep(2.5)
        if "trace-startup" in names:
            lab.run("web", WEB_SCRIPT)
        if "advise-seccomp-profile" in names:
            subprocess.run(["runc", "run", "--bundle", lab.bundle("job", JOB_SCRIPT), lab.name("job")],
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
        for name, examples in wanted.items():
            results[name] = [line for e in examples for line in e.result()]
        if "snapshot" in names:
            lines = []
            for argv, rows in (([SONDE, "snapshot", "process", "-c", app], 4),
                               ([SONDE, "snapshot", "socket", "-c", app], 3)):
                out = subprocess.run(argv, capture_output=True, text=True, timeout=60).stdout
                lines += [shown(argv)] + pick_rows(out.splitlines(), rows)
            results["snapshot"] = lines
        if "advise-seccomp-profile" in names:
            lines = advise.result()
            profile = os.path.join(profiles, lab.name("job") + ".json")
            query = [".defaultAction, .defaultErrnoRet, .architectures, (.syscalls[0].names | length), .syscalls[0].names[:8]"]
            out = subprocess.run(["jq", "-c"] + query + [profile], capture_output=True, text=True, timeout=30).stdout
            lines += [shown(["jq", "-c"] + query + [profile])] + out.splitlines()
            results["advise-seccomp-profile"] = lines
        if "record" in names:
            lines = [shown(record) + " &"]
            for argv, cut, wanted_lines in (([SONDE, "record", "dump", "-c", app, "--last", "6"], text_lines(6), 6),
                                            ([SONDE, "record", "dump", "-c", app, "--last", "3", "-o", "json"], jsonl(), 1)):
                argv += ["--pin-directory", lab.pins, "--state-directory", lab.state]
                # The recorder attaches while the other examples run; wait for the records themselves.
                out = eventually(argv, lambda text: len(cut(text)) >= wanted_lines)
                lines += [shown(argv)] + cut(out)
            results["record"] = lines
    finally:
        lab.close()
    for name in names:
        if name not in results:
            results[name] = None
    return results


def live_block(lines):
    return "```console\n" + "\n".join(lines) + "\n```\n"


# Keys a recorded call has or lacks depending on how it ended (returned, still running, entry
# overwritten): the shape of a dump's JSON does not include them.
OUTCOME_KEYS = {"ret", "error", "duration_ns", "unfinished", "no_return", "entry_lost"}


def shape(block_text):
    """What a live block must keep from run to run: its commands (numbers masked) and, per command,
    its column header or the keys of its first JSON object (less those that vary per call)."""
    commands, current = [], None
    for line in block_text.splitlines():
        if line.startswith("```"):
            continue
        if line.startswith("# "):
            current = [masked(line), None]
            commands.append(current)
            continue
        if current is None or current[1] is not None:
            continue
        if line.startswith("{"):
            try:
                current[1] = "json keys: " + ",".join(sorted(set(json.loads(line)) - OUTCOME_KEYS))
            except ValueError:
                pass
            continue
        tokens = line.split()
        if len(tokens) >= 2 and all(re.match(r"^[A-Z][A-Z0-9_()%/]*$", t) for t in tokens):
            current[1] = "columns: " + " ".join(tokens)
    return [tuple(c) for c in commands]


# ---------------------------------------------------------------- main

GENERATORS = {"help": gen_help, "fields-common": gen_fields_common, "gadgets": gen_gadgets, "deps": gen_deps}


def deterministic(name):
    kind, _, arg = name.partition(":")
    return GENERATORS[kind](arg)


def main(argv):
    check = "--check" in argv
    live = "--no-live" not in argv
    unknown = [a for a in argv if a not in ("--check", "--no-live")]
    if unknown:
        sys.exit("usage: scripts/gen-docs.sh [--check] [--no-live]")
    started = time.time()
    files = doc_files()
    texts = {f: open(f, encoding="utf-8").read() for f in files}
    names = sorted({m.group(2) for t in texts.values() for m in BLOCK.finditer(t)})
    for n in names:
        kind = n.partition(":")[0]
        if kind not in GENERATORS and kind != "live":
            sys.exit("gen-docs: unknown block kind in <!-- gen:%s -->" % n)
    generated = {n: deterministic(n) for n in names if not n.startswith("live:")}
    live_names = [n[len("live:"):] for n in names if n.startswith("live:")]
    live_results = run_live(live_names) if live and live_names else {}

    failures = []
    for path in files:
        text = texts[path]

        def replace(m):
            name = m.group(2)
            if name.startswith("live:"):
                lines = live_results.get(name[len("live:"):])
                if lines is None:
                    if live:
                        failures.append("%s: live block %s produced nothing" % (rel(path), name))
                    return m.group(0)
                new = live_block(lines)
                if check:
                    old_shape, new_shape = shape(m.group(3)), shape(new)
                    if old_shape != new_shape:
                        failures.append("%s: live block %s changed shape:\n  committed: %s\n  now:       %s\n%s" % (
                            rel(path), name, old_shape, new_shape, new))
                    return m.group(0)
                return m.group(1) + new + m.group(4)
            return m.group(1) + generated[name] + m.group(4)

        new_text = BLOCK.sub(replace, text)
        if check:
            if new_text != text:
                diff = difflib.unified_diff(text.splitlines(True), new_text.splitlines(True),
                                            "a/" + rel(path), "b/" + rel(path))
                failures.append("%s: generated blocks differ from the committed ones (run scripts/gen-docs.sh):\n%s"
                                % (rel(path), "".join(diff)))
        elif new_text != text:
            open(path, "w", encoding="utf-8").write(new_text)
            print("gen-docs: wrote " + rel(path))
    failures += check_links(files)
    for f in failures:
        print("gen-docs: " + f, file=sys.stderr)
    print("gen-docs: %s %d blocks in %d files%s (%.0f s)" % (
        "checked" if check else "generated", len(names), len(files), "" if live else ", live blocks skipped",
        time.time() - started), file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
