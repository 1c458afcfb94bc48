"""memline's benchmark: python bench/run.py [--quick] [--floor-dir DIR] ...

Runs every workload of config.WORKLOADS under every configuration (plain,
the floor, memline with each backend, memory_profiler, Memray twice,
Scalene), each run in a fresh subprocess (bench/child.py), round-robin over
the configurations, config.REPS rounds.  Then it measures memline's import
time, prints the table (report.py) and writes it to bench/results.md.
A configuration that cannot run here is reported in the table, not fatal.
"""

import argparse
import importlib.util
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

import config
import report

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
CHILD = HERE / "child.py"


class Setup:
    """One way of running a workload: a launcher around child.py, the mode
    child.py runs in, the size class, and the package it needs (or None)."""

    def __init__(self, key, label, mode, size, launcher=(), needs=None, sep=None):
        self.key, self.label, self.mode, self.size = key, label, mode, size
        self.launcher, self.needs, self.sep = list(launcher), needs, sep


def setups(tmp):
    """Every configuration, in the order of the table's columns."""
    out = [Setup("plain", "plain", "plain", "fast"),
           Setup("floor", "floor", "floor", "fast")]
    for backend, size in config.BACKENDS:
        out.append(Setup("memline:" + backend, "memline " + backend,
                         "memline:" + backend, size))
    if config.NATIVE_OFF:
        out.append(Setup("memline:rss:no-native", "memline no-native", "memline:rss:no-native",
                         "fast"))
    out.append(Setup("memory_profiler", "memory_profiler", "memory_profiler",
                     "slow", needs="memory_profiler"))
    memray = ["-m", "memray", "run", "-q", "-f", "-o", str(tmp / "memray.bin")]
    out.append(Setup("memray", "memray", "plain", "fast", memray, needs="memray"))
    out.append(Setup("memray-py", "memray +py", "plain", "fast",
                     memray[:4] + ["--trace-python-allocators"] + memray[4:],
                     needs="memray"))
    out.append(Setup("memray-native", "memray --native", "plain", "fast",
                     memray[:4] + ["--native"] + memray[4:], needs="memray"))
    scalene = ["-m", "scalene", "run", "--memory", "-o", str(tmp / "scalene.json"),
               "--program-path", str(ROOT)]
    out.append(Setup("scalene", "scalene", "plain", "fast", scalene,
                     needs="scalene", sep="---"))
    return out


def size_of(workload, size, quick):
    n = dict(zip(config.SIZE_CLASSES, workload[2:]))[size]
    return max(1, n // config.QUICK_DIVISOR) if quick else n


def missing(package):
    if package and importlib.util.find_spec(package) is None:
        return package + " is not installed in the bench environment"
    return None


def run_once(setup, name, n, floor_dir, tmp, env):
    """One child run: its result dict, or a string saying why it failed."""
    out = tmp / "result.json"
    if out.exists():
        out.unlink()
    cmd = [sys.executable] + setup.launcher + [str(CHILD)]
    cmd += [setup.sep] if setup.sep else []
    cmd += [setup.mode, name, str(n), str(out), floor_dir]
    try:
        proc = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True,
                              timeout=config.RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        return "timed out after %d s" % config.RUN_TIMEOUT
    if proc.returncode != 0 or not out.exists():
        lines = (proc.stderr or proc.stdout).strip().splitlines() or ["no output"]
        return "exit %d: %s" % (proc.returncode, lines[-1][:160])
    result = json.loads(out.read_text())
    if result.get("report_rows") == 0:
        return "the profiler reported no line"
    return result


def time_of(cmd, env):
    """The config.CLOCK time a command takes, start-up and exit included."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise subprocess.CalledProcessError(proc.returncode, cmd)
    if config.CLOCK == "wall":
        return time.perf_counter() - start
    return usage.ru_utime + usage.ru_stime


def import_time(env, runs):
    """Median time of `python -c "import memline"` minus that of
    `python -c pass` (runs alternate between the two), and the median
    cumulative figure -X importtime gives memline, in seconds; None for
    both when memline cannot be imported."""
    bare, loaded, cumulative = [], [], []
    try:
        for _ in range(runs):
            bare.append(time_of([sys.executable, "-c", "pass"], env))
            loaded.append(time_of([sys.executable, "-c", "import memline"], env))
    except subprocess.CalledProcessError:
        return None, None
    for _ in range(max(5, runs // 4)):
        err = subprocess.run([sys.executable, "-X", "importtime", "-c", "import memline"],
                             env=env, capture_output=True, text=True).stderr
        for line in err.splitlines():
            fields = [f.strip() for f in line.split("|")]
            if len(fields) == 3 and fields[2] == "memline":
                cumulative.append(int(fields[1]) / 1e6)
    return (statistics.median(loaded) - statistics.median(bare),
            statistics.median(cumulative) if cumulative else None)


def unavailable(workloads, all_setups, floor_dir):
    """{(workload, setup key): why it cannot run here} for what is missing."""
    failed = {}
    floor_found = floor_dir and any(pathlib.Path(floor_dir).glob("_floor*"))
    for w in workloads:
        why_w = missing(config.REQUIRES.get(w[0]))
        for s in all_setups:
            why = why_w or missing(s.needs)
            if s.key == "floor" and not floor_found:
                why = "the _floor extension is not built (make bench builds it)"
            if why:
                failed[(w[0], s.key)] = why
    return failed


def measure(workloads, all_setups, reps, args, floor_dir, tmp, env, failed):
    """Runs round after round; returns {(workload, setup key): [results]}
    and adds the configurations whose run failed to failed."""
    results = {}
    started = time.perf_counter()
    for rep in range(reps):
        for w in workloads:
            print("round %d/%d: %s (%.0f s)" % (rep + 1, reps, w[0],
                  time.perf_counter() - started), file=sys.stderr, flush=True)
            for s in all_setups:
                key = (w[0], s.key)
                if key in failed:
                    continue
                r = run_once(s, w[0], size_of(w, s.size, args.quick), floor_dir, tmp, env)
                if isinstance(r, str):
                    failed[key] = r
                else:
                    results.setdefault(key, []).append(r)
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer rounds, smaller sizes")
    ap.add_argument("--reps", type=int, help="rounds (default: config.REPS)")
    ap.add_argument("--floor-dir", default="", help="directory holding the _floor extension")
    ap.add_argument("--only", help="comma-separated workloads to run")
    ap.add_argument("--out", default=str(HERE / "results.md"), help="markdown file to write")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a target fails")
    args = ap.parse_args()
    floor_dir = os.path.abspath(args.floor_dir) if args.floor_dir else ""
    reps = args.reps or (config.QUICK_REPS if args.quick else config.REPS)
    workloads = [w for w in config.WORKLOADS
                 if not args.only or w[0] in args.only.split(",")]
    env = dict(os.environ)  # memline: the bench venv's installed package
    env.pop("PYTHONPATH", None)

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="memline-bench-") as tmpname:
        tmp = pathlib.Path(tmpname)
        all_setups = setups(tmp)
        failed = unavailable(workloads, all_setups, floor_dir)
        results = measure(workloads, all_setups, reps, args, floor_dir, tmp, env, failed)
        imp = import_time(env, config.QUICK_IMPORT_RUNS if args.quick else config.IMPORT_RUNS)

    table = report.Table(workloads, all_setups, results, failed, imp, reps, args.quick)
    text = table.render()
    print(text)
    pathlib.Path(args.out).write_text(table.markdown(text))
    print("written to %s (%.0f s)" % (os.path.relpath(args.out),
          time.perf_counter() - started), file=sys.stderr)
    return 1 if args.strict and table.failures else 0


if __name__ == "__main__":
    sys.exit(main())
