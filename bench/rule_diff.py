"""How far memline's default RSS rule is from reading RSS at every line.

python rule_diff.py [--quick] [WORKLOAD ...]

Runs each workload once under --backend rss (RSS read when the heap moved
16 KiB or 50 ms passed) and once under rss-exact (RSS read at every event),
in fresh processes, and prints per workload the largest difference of a
line's Mem usage and of a line's Increment between the two reports, with
the line.  On pure-Python workloads both stay under 0.1 MiB (a test asserts
this); on numpy (pages touched without Python allocating) and threads (RSS
is the process's, moved by the other threads) they can differ, and this is
where the bench shows by how much.
"""

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys

import config

HERE = os.path.dirname(os.path.abspath(__file__))
ROW = re.compile(r"^ *(\d+) +(-?\d+\.\d+) MiB +(-?\d+\.\d+) MiB +(\d+) +"
                 r"(-?\d+\.\d+) MiB +(-?\d+\.\d+) MiB   (.*)$")

DRIVER = """
import builtins, importlib.util, io, json, sys
from memline import LineProfiler, show_results
prof = LineProfiler(backend=sys.argv[1])
builtins.profile = lambda f: (prof.add_function(f), prof.wrap_function(f))[1]
sys.path.insert(0, sys.argv[2].rsplit("/", 1)[0])
spec = importlib.util.spec_from_file_location("workload", sys.argv[2])
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
mod.run(int(sys.argv[3]))
out = io.StringIO()
show_results(prof, stream=out, precision=4)
print(json.dumps(out.getvalue()))
"""


def rows(report):
    """{(lineno, source): (mem usage, increment)} of the lines that ran."""
    found = {}
    for line in report.splitlines():
        m = ROW.match(line)
        if m:
            found[(int(m.group(1)), m.group(7).strip())] = (float(m.group(2)), float(m.group(3)))
    return found


def no_aslr_prefix():
    """Both runs repeat exactly with address randomisation off and a fixed
    hash seed, so what differs is the rule, not where memory landed."""
    if not shutil.which("setarch"):
        return []
    prefix = ["setarch", platform.machine(), "-R"]
    return prefix if subprocess.run(prefix + ["true"]).returncode == 0 else []


def report_of(backend, workload, n):
    path = os.path.join(HERE, "workloads", workload + ".py")
    env = dict(os.environ, PYTHONHASHSEED="0")  # memline: the bench venv's installed package
    out = subprocess.run(no_aslr_prefix() + [sys.executable, "-c", DRIVER, backend, path, str(n)],
                         env=env,
                         capture_output=True, text=True, timeout=config.RUN_TIMEOUT)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip().splitlines()[-1] if out.stderr else "failed")
    return rows(json.loads(out.stdout.strip().splitlines()[-1]))


def compare(workload, n):
    """(max Mem usage difference, its line, max Increment difference, its line)."""
    default, exact = report_of("rss", workload, n), report_of("rss-exact", workload, n)
    worst_mem = worst_inc = (0.0, "")
    for key in default.keys() & exact.keys():
        (dm, di), (em, ei) = default[key], exact[key]
        where = "%d: %s" % key
        worst_mem = max(worst_mem, (abs(dm - em), where))
        worst_inc = max(worst_inc, (abs(di - ei), where))
    return worst_mem + worst_inc


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("workloads", nargs="*")
    args = ap.parse_args()
    sizes = {name: medium for name, _unit, _fast, medium, _slow in config.WORKLOADS}
    names = args.workloads or [name for name, *_ in config.WORKLOADS]
    print("| workload | max Mem usage difference | line | max Increment difference | line |")
    print("|---|---|---|---|---|")
    for name in names:
        if name in config.REQUIRES:
            try:
                __import__(config.REQUIRES[name])
            except ImportError:
                print("| %s | n/a (%s not installed) | | | |" % (name, config.REQUIRES[name]))
                continue
        n = max(1, sizes[name] // (config.QUICK_DIVISOR if args.quick else 1))
        try:
            dm, wm, di, wi = compare(name, n)
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            print("| %s | n/a (%s) | | | |" % (name, e))
            continue
        print("| %s | %.4f MiB | %s | %.4f MiB | %s |" % (name, dm, wm[:40], di, wi[:40]))


if __name__ == "__main__":
    main()
