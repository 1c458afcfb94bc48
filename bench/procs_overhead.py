"""Profiling child processes: python bench/procs_overhead.py [--quick]

What it costs to get line tables back from every process
(docs/processes.md).  One program runs each workload two ways, side by
side, each run a fresh process, the two alternating (in the reverse order
every other round):

  plain     python prog.py WORKLOAD        (@profile is a no-op)
  memline   python -m memline prog.py WORKLOAD

The workloads call one profiled function (it allocates and fills a small
buffer) the same number of times:

  serial          in this process only: the in-process cost, for comparison
  pool-fork       a Pool(4) of each start method mapping the calls; the
  pool-spawn      workers profile them and send their tables at exit
  pool-forkserver
  churn           a fork Pool(4, maxtasksperchild=1) over 100 tasks: 100
                  short-lived workers, each connecting and sending a table

The figure is the wall time of the whole run, from start to the last byte
of the report (the children's tables travel at their exit, and the parent
merges them before it prints).  The table gives the medians of the rounds,
memline over plain (the median of each round's ratio), and for churn the
cost per child process: (memline - plain) / 100.

Prints the table and writes it to bench/procs_results.md.
"""

import argparse
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
CHURN_TASKS = 100

PROGRAM = '''\
import builtins
import multiprocessing as mp
import sys

profile = getattr(builtins, "profile", lambda f: f)


@profile
def work(x):
    buf = bytearray(20_000)
    for i in range(0, len(buf), 64):
        buf[i] = x & 0xFF
    return len(buf)


if __name__ == "__main__":
    kind, calls = sys.argv[1], int(sys.argv[2])
    if kind == "serial":
        total = sum(work(i) for i in range(calls))
    elif kind == "churn":
        with mp.get_context("fork").Pool(4, maxtasksperchild=1) as pool:
            total = sum(pool.map(work, range(%d), chunksize=1))
    else:
        with mp.get_context(kind.split("-")[1]).Pool(4) as pool:
            total = sum(pool.map(work, range(calls)))
    print(total)
''' % CHURN_TASKS

WORKLOADS = ("serial", "pool-fork", "pool-spawn", "pool-forkserver", "churn")
CONFIGS = (("plain", []), ("memline", ["-m", "memline"]))


def run_one(launcher, prog, workload, calls, env):
    cmd = [sys.executable] + launcher + [str(prog), workload, str(calls)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=str(prog.parent))
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit("bench: %s failed:\n%s" % (" ".join(cmd), proc.stderr[-2000:]))
    if launcher and ("Processes lost" in proc.stdout or "still running" in proc.stdout):
        raise SystemExit("bench: %s lost a table:\n%s" % (" ".join(cmd), proc.stdout[-2000:]))
    return wall


def table(results, reps, calls):
    lines = ["| workload | plain | memline | memline / plain | per child |",
             "|---|---:|---:|---:|---:|"]
    for w in WORKLOADS:
        plain, prof = results[(w, "plain")], results[(w, "memline")]
        ratio = statistics.median(m / p for m, p in zip(prof, plain))
        per_child = ""
        if w == "churn":
            per_child = "%.1f ms" % (statistics.median(
                (m - p) / CHURN_TASKS for m, p in zip(prof, plain)) * 1e3)
        lines.append("| %s | %.0f ms | %.0f ms | **%.2fx** | %s |" % (
            w, statistics.median(plain) * 1e3, statistics.median(prof) * 1e3, ratio, per_child))
    lines.append("")
    lines.append("Wall time of the whole run, the median of %d rounds; the ratios are the "
                 "medians of each round's ratio (the two runs next to each other in time).  "
                 "%d calls of the profiled function (churn: %d tasks, one worker each).  "
                 "Python %s; load average %.1f (%d cores) at the end." % (
                     reps, calls, CHURN_TASKS, sys.version.split()[0], os.getloadavg()[0],
                     os.cpu_count() or 0))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="3 rounds, fewer calls")
    ap.add_argument("--reps", type=int)
    ap.add_argument("--out", default=str(HERE / "procs_results.md"))
    args = ap.parse_args()
    reps = args.reps or (3 if args.quick else 7)
    calls = 4_000 if args.quick else 20_000
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env.pop("MEMLINE_CHILD", None)
    results = {(w, c): [] for w in WORKLOADS for c, _ in CONFIGS}
    with tempfile.TemporaryDirectory(prefix="memline-bench-procs-") as tmpname:
        prog = pathlib.Path(tmpname) / "prog.py"
        prog.write_text(PROGRAM)
        for rep in range(reps):
            print("round %d/%d" % (rep + 1, reps), file=sys.stderr, flush=True)
            for w in WORKLOADS:
                order = CONFIGS if rep % 2 == 0 else CONFIGS[::-1]
                for c, launcher in order:
                    results[(w, c)].append(run_one(launcher, prog, w, calls, env))
    text = table(results, reps, calls)
    print(text)
    pathlib.Path(args.out).write_text(
        "# Profiling child processes (bench/procs_overhead.py)\n\n" + text + "\n")
    print("written to %s" % os.path.relpath(args.out), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
