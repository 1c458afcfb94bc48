"""Scale check of the .dat readers (make bench-scale, part of make bench):
memline against mprof on large timelines, in one run, so the ratios
compare like with like on the same machine and load.

Files (written once, into a temporary directory):
- names:  200,000 distinct FUNC names, one call each, and a MEM line per
  call (the shape of issue 13's report: peak took 96 s, plot over 120 s,
  against 0.83 s for mprof peak);
- calls:  2,000,000 FUNC lines over those 200,000 names (ten calls each)
  and 200,000 MEM lines.

For each: `memline peak` and `mprof peak` (both read the whole file and
print its maximum), `memline peak --func` on one of the names, and
`memline plot` to SVG (mprof's matplotlib plot of 200,000 functions is
not a fair race and is left out).  Each figure is the best of --repeat
runs.  The reader is linear, so memline should need about mprof's time or
less; the check fails when memline peak takes more than twice mprof's.
"""

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

NAMES = 200000


def write_names(path, calls_per_name):
    rng = random.Random(13)
    t = 1700000000.0
    with open(path, "w") as f:
        f.write("CMDLINE python3 big.py\n")
        step = 0
        for rep in range(calls_per_name):
            for i in range(NAMES):
                t0 = t + step * 0.001
                if rep == 0 or calls_per_name == 1:
                    f.write("MEM %.6f %.4f\n" % (10 + rng.random() * 50, t0))
                f.write("FUNC pkg.mod%d.func_%d %.4f %.4f %.4f %.4f %d\n"
                        % (i % 97, i, 12.0, t0, 13.0, t0 + 0.0005, rep % 3))
                step += 1


def best_of(n, argv, cwd, timeout):
    """The least wall time of n runs of argv (None: over timeout)."""
    best = None
    for _ in range(n):
        start = time.perf_counter()
        try:
            r = subprocess.run(argv, cwd=cwd, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        took = time.perf_counter() - start
        if r.returncode != 0:
            raise SystemExit("failed: %s\n%s" % (" ".join(argv), r.stderr.decode()))
        best = took if best is None else min(best, took)
    return best


def fmt(s):
    return "  >timeout" if s is None else "%9.2fs" % s


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--memline", required=True, help="the memline binary")
    ap.add_argument("--mprof", default=shutil.which("mprof"),
                    help="memory_profiler's mprof (default: the one in PATH)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=600)
    args = ap.parse_args()
    memline = os.path.abspath(args.memline)
    if args.mprof:
        args.mprof = os.path.abspath(args.mprof)
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        files = [("names", 1), ("calls", 10)]
        print("%-6s %8s %10s | %10s %10s %7s | %10s %10s"
              % ("file", "MB", "FUNC lines", "memline", "mprof", "ratio", "--func", "plot"))
        for name, per in files:
            path = os.path.join(tmp, name + ".dat")
            write_names(path, per)
            mb = os.path.getsize(path) / 1e6
            ours = best_of(args.repeat, [memline, "peak", path], tmp, args.timeout)
            theirs = (best_of(args.repeat, [args.mprof, "peak", path], tmp, args.timeout)
                      if args.mprof else None)
            func = best_of(args.repeat, [memline, "peak", "--func", "pkg.mod3.func_3", path],
                           tmp, args.timeout)
            plot = best_of(1, [memline, "plot", "-o", os.path.join(tmp, name + ".svg"), path],
                           tmp, args.timeout)
            ratio = "%6.2fx" % (ours / theirs) if ours and theirs else "      -"
            print("%-6s %8.1f %10d | %s %s %s | %s %s"
                  % (name, mb, NAMES * per, fmt(ours), fmt(theirs), ratio, fmt(func),
                     fmt(plot)))
            sys.stdout.flush()
            if ours is None or (theirs is not None and ours > 2 * theirs):
                ok = False
            os.unlink(path)
    print("scale check: %s (memline peak within 2x of mprof peak; ratio = memline / mprof)"
          % ("met" if ok else "NOT met"))
    if not args.mprof:
        print("(mprof not found: pass --mprof)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
