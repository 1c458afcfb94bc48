"""Overhead of `memline run` (make bench-timeline, part of make bench).

Two figures, measured side by side:
- the sampler's own CPU use, as a share of one core: memline's CPU time in
  nanoseconds (/proc/PID/schedstat, memline's own thread only, read until
  it has exited, before it is reaped) over the wall time of its run;
- the slowdown of the target.  One long-running target repeats a fixed
  piece of CPU-bound work in short chunks and times each one; the bench
  attaches memline for 0.4 s, leaves it off for 0.4 s, and so on, and
  compares the chunks that ran while sampled with those that ran while
  not.  Interleaving this finely keeps the load of a shared machine out of
  the comparison.  A second figure compares the chunks' CPU time, which
  only the sampler's interference (not other load) can change.

The budget is 2% for each at a 10 ms interval.  Other intervals and modes
are shown for information.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

TARGET = r"""
import json, sys, time
data = [bytearray(1 << 20) for _ in range(40)]   # some memory to read
end = time.time() + float(sys.argv[1])
chunks = []
while time.time() < end:
    t0, c0 = time.time(), time.process_time()
    acc = 0
    for i in range(60000):
        acc = (acc * 31 + i) & 0xffffffff
    chunks.append((t0, time.time(), time.process_time() - c0))
print(json.dumps(chunks))
"""


def schedstat_ns(pid):
    with open("/proc/%d/schedstat" % pid) as f:
        return int(f.read().split()[0])


def run_sampler(cmd):
    """Runs memline cmd; returns (its CPU seconds, wall start, wall end)."""
    start = time.time()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    cpu = 0
    while True:
        done = os.waitid(os.P_PID, p.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        cpu = schedstat_ns(p.pid)  # still readable while a zombie: the final figure
        if done is not None:
            break
        time.sleep(0.01)
    end = time.time()
    if p.wait() != 0:
        raise SystemExit("failed: %s" % " ".join(cmd))
    return cpu / 1e9, start, end


def measure(memline, python, interval, flags, windows, tmp):
    window = 0.4
    target = subprocess.Popen([python, "-c", TARGET, str(2 * windows * window + 1.0)],
                              stdout=subprocess.PIPE, text=True)
    time.sleep(0.5)
    on, off, shares = [], [], []
    for k in range(windows):
        dat = os.path.join(tmp, "w%d.dat" % k)
        cpu, a, b = run_sampler([memline, "attach", "-T", str(interval), *flags,
                                 "-t", str(window), "-o", dat, str(target.pid)])
        on.append((a, b))
        shares.append(cpu / (b - a))
        a = time.time()
        time.sleep(window)
        off.append((a, time.time()))
    chunks = json.loads(target.communicate()[0])

    def inside(spans):
        return [c for c in chunks if any(a <= c[0] and c[1] <= b for a, b in spans)]

    son, soff = inside(on), inside(off)
    wall = statistics.median(c[1] - c[0] for c in son) / \
        statistics.median(c[1] - c[0] for c in soff) - 1
    cpu = statistics.median(c[2] for c in son) / statistics.median(c[2] for c in soff) - 1
    return statistics.median(shares), wall, cpu, len(son), len(soff)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--memline", required=True, help="the memline binary")
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--windows", type=int, default=20,
                    help="sampled windows of 0.4 s (as many unsampled between)")
    ap.add_argument("--pin", action="store_true",
                    help="run sampler and target on one core (the sampler then takes its "
                         "time from the target's)")
    args = ap.parse_args()
    if args.pin:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    memline = os.path.abspath(args.memline)
    cases = [(0.01, [], True), (0.01, ["-C"], True), (0.01, ["-M", "-C"], True),
             (0.001, [], False), (0.1, [], False)]
    print("%-9s %-6s %12s %18s %18s %10s" % ("interval", "flags", "sampler CPU",
                                             "slowdown (wall)", "slowdown (CPU)", "chunks"))
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for interval, flags, budgeted in cases:
            cpu, slow, slow_cpu, non, noff = measure(memline, args.python, interval, flags,
                                                     args.windows, tmp)
            verdict = ""
            if budgeted:
                within = cpu <= 0.02 and slow <= 0.02
                ok &= within
                verdict = "  within 2%" if within else "  OVER the 2% budget"
            print("%-9s %-6s %11.2f%% %17.2f%% %17.2f%% %4d/%-4d%s"
                  % ("%g s" % interval, " ".join(flags) or "-", 100 * cpu, 100 * slow,
                     100 * slow_cpu, non, noff, verdict))
    print("budget at 10 ms: %s (load average now %.1f on %d cores)"
          % ("met" if ok else "NOT met", os.getloadavg()[0], os.cpu_count()))


if __name__ == "__main__":
    main()
