#!/usr/bin/env python3
"""Generates Sources/Syscalls/TraceClasses.swift: strace's syscall classes (the `%file`, `%desc`...
of `-e trace=`) for every x86_64 syscall, and the names and numbers strace accepts in its other two
x86_64 personalities (i386 and x32), read from a strace source tree's syscall tables:

    python3 scripts/gen-trace-classes.py STRACE_SOURCE_DIR

STRACE_SOURCE_DIR is a strace source tree (a release tarball or a checkout of a release tag, e.g.
`git -C strace worktree add /tmp/strace-6.1 v6.1`): the script reads its NEWS (for the version) and
src/linux/x86_64/syscallent{,1,2}.h with the headers they include. Only the tables are read (as
text); nothing of strace is compiled. `--check` compares instead of writing (exits 1 when the
committed file differs).

The classes are keyed by syscall name. Names are compared with this project's x86_64 table
(Sources/Syscalls/SyscallTable+x86_64.swift); differences are listed at the top of the output.
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUTPUT = os.path.join(ROOT, "Sources", "Syscalls", "TraceClasses.swift")
PROJECT_TABLE = os.path.join(ROOT, "Sources", "Syscalls", "SyscallTable+x86_64.swift")
COMMAND = "python3 scripts/gen-trace-classes.py STRACE_SOURCE_DIR"

# strace's shorthand (src/sysent_shorthand_defs.h) -> the Swift TraceClass member. Shorthands
# that are not classes (NF never fails, SI/SE/CC/CST/TSD bookkeeping) are dropped.
CLASS_MEMBERS = {
    "TF": "file", "TP": "process", "TN": "network", "TS": "signal", "TI": "ipc", "TD": "desc",
    "TM": "memory", "TC": "creds", "TST": "stat", "TLST": "lstat", "TFST": "fstat",
    "TSTA": "statLike", "TSF": "statfs", "TFSF": "fstatfs", "TSFA": "statfsLike", "PU": "pure",
    "TCL": "clock",
}
NOT_CLASSES = {"NF", "MA", "SI", "SE", "CST", "TSD", "CC"}
# Entries flagged IS (TRACE_INDIRECT_SUBCALL: i386's socketcall/ipc subcalls) have names strace
# accepts but numbers it rejects.
SUBCALL = "IS"

ENTRY = re.compile(r'^\[(?P<index>[^\]]+)\]\s*=\s*\{\s*(?P<nargs>\d+)\s*,\s*(?P<flags>[^,]+?)\s*,\s*'
                   r'SEN\(\s*(?P<sen>\w+)\s*\)\s*,\s*"(?P<name>[^"]+)"\s*\}\s*,')
HOLE = re.compile(r'^\[[^\]]+\]\s*=\s*\{\s*\}\s*,$')
DIRECTIVE = re.compile(r'^\s*#\s*(?P<what>\w+)\s*(?P<rest>.*?)\s*$')
IDENT = re.compile(r'[A-Za-z_]\w*')


def fail(message):
    sys.exit(f"gen-trace-classes: {message}")


class Table:
    """One personality's sysent table as the C compiler would lay it out."""

    def __init__(self, linux_dir):
        self.linux_dir = linux_dir
        self.defines = {}
        self.entries = {}  # number -> (name, set of shorthand flags)

    def resolve(self, including_dir, name):
        # Quoted includes: the including file's directory first, then strace's -I directories.
        for directory in (including_dir, os.path.join(self.linux_dir, "generic"), self.linux_dir):
            path = os.path.normpath(os.path.join(directory, name))
            if os.path.isfile(path):
                return path
        fail(f"cannot find included header {name!r} (from {including_dir})")

    def evaluate(self, expression, depth=0):
        if depth > 20:
            fail(f"macro recursion in {expression!r}")

        def expand(match):
            word = match.group(0)
            if word not in self.defines:
                fail(f"undefined macro {word!r} in {expression!r}")
            return "(" + str(self.evaluate(self.defines[word], depth + 1)) + ")"

        text = IDENT.sub(expand, expression)
        if not re.fullmatch(r'[0-9+\-*() \t]+', text):
            fail(f"cannot evaluate {expression!r}")
        return eval(text, {"__builtins__": {}})  # digits, + - * and parentheses only

    def read(self, path):
        skipping = []  # stack of booleans: whether each open conditional skips its lines
        directory = os.path.dirname(path)
        with open(path, encoding="utf-8") as f:
            in_comment = False
            for number, raw in enumerate(f, 1):
                line = raw
                if in_comment:
                    if "*/" not in line:
                        continue
                    line = line.split("*/", 1)[1]
                    in_comment = False
                line = re.sub(r'/\*.*?\*/', ' ', line)
                if "/*" in line:
                    line, in_comment = line.split("/*", 1)[0], True
                if not line.strip():
                    continue
                directive = DIRECTIVE.match(line)
                if directive:
                    what, rest = directive.group("what"), directive.group("rest")
                    if what in ("ifdef", "ifndef"):
                        defined = rest.split()[0] in self.defines
                        skipping.append(defined if what == "ifndef" else not defined)
                    elif what == "else":
                        skipping[-1] = not skipping[-1]
                    elif what == "endif":
                        skipping.pop()
                    elif any(skipping):
                        continue
                    elif what == "include":
                        self.read(self.resolve(directory, rest.strip('"')))
                    elif what == "define":
                        parts = rest.split(None, 1)
                        self.defines[parts[0]] = parts[1] if len(parts) > 1 else ""
                    elif what == "undef":
                        self.defines.pop(rest.split()[0], None)
                    elif what == "error":
                        fail(f"{path}:{number}: #error {rest}")
                    else:
                        fail(f"{path}:{number}: unsupported directive #{what}")
                    continue
                if any(skipping):
                    continue
                if HOLE.match(line.strip()):
                    continue  # `[N] = { },` or `[A ... B] = { },`: no syscall there
                entry = ENTRY.match(line.strip())
                if not entry:
                    fail(f"{path}:{number}: cannot parse {line.strip()!r}")
                index = self.evaluate(entry.group("index"))
                flags = set()
                for flag in entry.group("flags").split("|"):
                    flag = flag.strip()
                    if flag == "0":
                        continue
                    # IS is defined as TRACE_INDIRECT_SUBCALL by subcallent.h itself.
                    if flag == SUBCALL or self.defines.get(flag) == "TRACE_INDIRECT_SUBCALL":
                        flags.add(SUBCALL)
                    elif flag in CLASS_MEMBERS or flag in NOT_CLASSES:
                        flags.add(flag)
                    else:
                        fail(f"{path}:{number}: unknown flag {flag!r}")
                if index in self.entries:
                    fail(f"{path}:{number}: entry {index} defined twice")
                self.entries[index] = (entry.group("name"), flags)
        if skipping:
            fail(f"{path}: unterminated conditional")


def load(linux_dir, header):
    table = Table(linux_dir)
    table.read(os.path.join(linux_dir, "x86_64", header))
    return table


def strace_version(source):
    with open(os.path.join(source, "NEWS"), encoding="utf-8") as f:
        match = re.match(r'Noteworthy changes in release (\S+) \(([^)]+)\)', f.readline())
    if not match:
        fail("cannot read the release from NEWS")
    return match.group(1), match.group(2)


def project_names():
    names = {}
    with open(PROJECT_TABLE, encoding="utf-8") as f:
        for match in re.finditer(r'SyscallDefinition\((\d+), "([^"]+)"', f.read()):
            names[match.group(2)] = int(match.group(1))
    return names


def ranges(numbers):
    result = []
    for n in sorted(numbers):
        if result and result[-1][1] == n - 1:
            result[-1][1] = n
        else:
            result.append([n, n])
    return ", ".join(f"{a}...{b}" for a, b in result)


def wrapped(items, indent, width=116):
    lines, line = [], indent
    for item in items:
        piece = item + ","
        if len(line) + len(piece) + 1 > width and line.strip():
            lines.append(line.rstrip())
            line = indent
        line += piece + " "
    if line.strip():
        lines.append(line.rstrip())
    return "\n".join(lines)


def generate(source):
    version, date = strace_version(source)
    linux_dir = os.path.join(source, "src", "linux")
    native, i386, x32 = (load(linux_dir, h) for h in ("syscallent.h", "syscallent1.h", "syscallent2.h"))
    project = project_names()

    native_names = {name: number for number, (name, _) in native.entries.items()}
    absent = sorted(set(native_names) - set(project), key=native_names.get)
    unknown = sorted(set(project) - set(native_names), key=project.get)
    renumbered = sorted(n for n in set(native_names) & set(project) if native_names[n] != project[n])

    out = []
    out.append(f"// Generated by `{COMMAND}` from strace {version} ({date}): do not edit.")
    out.append("// Source: src/linux/x86_64/syscallent.h (64-bit), syscallent1.h (i386), syscallent2.h (x32) and")
    out.append("// the headers they include; class shorthands as in src/sysent_shorthand_defs.h.")
    out.append("// strace names absent from SyscallTable.x86_64: " + (", ".join(absent) or "none") + ".")
    out.append("// SyscallTable.x86_64 names strace does not know: " + (", ".join(unknown) or "none") + ".")
    out.append("// Numbered differently: " + (", ".join(renumbered) or "none") + ".")
    out.append("")
    out.append("extension TraceClass {")
    out.append(f"    /// The strace release these tables come from.")
    out.append(f"    public static let straceVersion = \"{version}\"")
    out.append("")
    out.append("    /// strace's 64-bit x86_64 table: every syscall it names, with its number and classes.")
    out.append("    static let x86_64Entries: [TraceClassEntry] = [")
    for number in sorted(native.entries):
        name, flags = native.entries[number]
        if SUBCALL in flags:
            fail(f"subcall {name} in the 64-bit table")
        members = [CLASS_MEMBERS[s] for s in CLASS_MEMBERS if s in flags]
        classes = "[" + ", ".join("." + m for m in members) + "]"
        out.append(f"        TraceClassEntry({number}, \"{name}\", {classes}),")
    out.append("    ]")
    for label, table, doc in (("i386", i386, "32-bit (i386)"), ("x32", x32, "x32")):
        names = sorted({name for name, _ in table.entries.values()})
        numbers = [n for n, (_, flags) in table.entries.items() if SUBCALL not in flags]
        out.append("")
        out.append(f"    /// Names strace accepts for its {doc} personality (`NAME@{'32' if label == 'i386' else 'x32'}`).")
        out.append(f"    static let {label}Names: [String] = [")
        out.append(wrapped([f'"{n}"' for n in names], "        "))
        out.append("    ]")
        out.append("")
        out.append(f"    /// Syscall numbers strace accepts for its {doc} personality.")
        out.append(f"    static let {label}Numbers: [ClosedRange<Int>] = [{ranges(numbers)}]")
    out.append("}")
    return "\n".join(out) + "\n", absent, unknown, renumbered


def main():
    args = [a for a in sys.argv[1:] if a != "--check"]
    if len(args) != 1:
        sys.exit(__doc__)
    text, absent, unknown, renumbered = generate(args[0])
    if "--check" in sys.argv:
        with open(OUTPUT, encoding="utf-8") as f:
            if f.read() != text:
                sys.exit(f"{os.path.relpath(OUTPUT, ROOT)} is out of date: run {COMMAND}")
        return
    with open(OUTPUT, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {os.path.relpath(OUTPUT, ROOT)}; strace names absent from the project table: "
          f"{absent or 'none'}; project names unknown to strace: {unknown or 'none'}; "
          f"renumbered: {renumbered or 'none'}")


if __name__ == "__main__":
    main()
