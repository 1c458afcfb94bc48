"""The pytest plugin's cost when it is loaded but unused: python bench/pytest_overhead.py [--quick]

The same test suites run with the plugin kept out (-p no:memline: not even
imported, as if memline were not installed) and loaded but unused (no
memline option, no marker), side by side: the runs alternate, each in a
fresh `python -m pytest` process, and the table gives the CPU time of each
configuration (the fastest run, start-up and exit included) and the
ratios: the median of each round's ratio, and the fastest runs'.  CPU time
rather than wall time, paired runs and the fastest run, because the machine
may be running other work.  The tiny suite
(many near-empty tests, where a per-test hook would show most) also runs
with --memline, the plugin measuring every test, for scale.

Prints the table and writes it to bench/pytest_results.md.
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
ROOT = HERE.parent

TINY_FILES = 60
TINY_PER_FILE = 50  # 3,000 tests

TINY_TEMPLATE = '''import pytest


@pytest.fixture
def numbers():
    return list(range(10))


def test_plain_{i}_0():
    assert sum(range(10)) == 45


@pytest.mark.parametrize("n", range({params}))
def test_param_{i}(n):
    assert n * 2 == n + n


def test_fixture_{i}(numbers):
    assert len(numbers) == 10


class TestClass{i}:
    def test_method(self):
        assert "a" + "b" == "ab"
'''


def write_tiny(folder):
    """The tiny suite: TINY_FILES files of TINY_PER_FILE tests each."""
    params = TINY_PER_FILE - 3
    for i in range(TINY_FILES):
        (folder / ("test_tiny_%02d.py" % i)).write_text(TINY_TEMPLATE.format(i=i, params=params))
    return TINY_FILES * TINY_PER_FILE


def run_suite(args, cwd, env):
    """(wall seconds, CPU seconds: user + system) of one pytest run; it must
    pass (exit 0)."""
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"] + args
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=str(cwd), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.stdout.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit("bench: %s failed in %s:\n%s" % (" ".join(cmd), cwd, out[-2000:]))
    return wall, usage.ru_utime + usage.ru_stime


def measure(suites, reps, env):
    """{(suite, config): [(wall, cpu)]}.  A suite's configs alternate, in
    the reverse order every other round, so that a drift of the machine's
    speed during a round weighs on each of them alike."""
    times = {}
    started = time.perf_counter()
    for rep in range(reps):
        print("round %d/%d (%.0f s)" % (rep + 1, reps, time.perf_counter() - started),
              file=sys.stderr, flush=True)
        for name, cwd, args, configs, _n in suites:
            for label, extra in (configs if rep % 2 == 0 else configs[::-1]):
                times.setdefault((name, label), []).append(run_suite(extra + args, cwd, env))
    return times


def _cpu(times, key, how):
    return how(t[1] for t in times[key])


def _paired(times, name, label):
    """The median over rounds of label's CPU time over the not-loaded run's
    of the same round: runs next to each other in time, so a change of the
    machine's load between rounds cancels out."""
    return statistics.median(b[1] / a[1] for a, b in zip(times[(name, "off")],
                                                         times[(name, label)]))


def table(suites, times, reps, load):
    """The markdown table: CPU time of the pytest process (user + system),
    the fastest run of each configuration; the ratios are the median of
    each round's ratio (paired runs) and the ratio of the fastest runs."""
    lines = ["| suite | tests | -p no:memline (not loaded) | loaded, unused | ratio "
             "(paired / fastest) | per test | --memline (measuring) | ratio |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, _cwd, _args, configs, n in suites:
        off = _cpu(times, (name, "off"), min)
        unused = _cpu(times, (name, "unused"), min)
        cells = [name, "%d" % n, "%.3f s" % off, "%.3f s" % unused,
                 "%.3fx / %.3fx" % (_paired(times, name, "unused"), unused / off),
                 "%+.1f us" % ((unused - off) / n * 1e6)]
        if (name, "on") in times:
            on = _cpu(times, (name, "on"), min)
            cells += ["%.3f s" % on, "%.2fx / %.2fx" % (_paired(times, name, "on"), on / off)]
        else:
            cells += ["-", "-"]
        lines.append("| " + " | ".join(cells) + " |")
    spread = statistics.median(max(t[1] for t in v) / min(t[1] for t in v)
                               for v in times.values())
    lines.append("")
    lines.append("CPU time (user + system) of `python -m pytest -q`, start-up included, the "
                 "fastest of %d runs of each configuration; the runs alternate, in the "
                 "reverse order every other round.  A configuration's slowest run took %.0f%% "
                 "longer than its fastest (median over the configurations); the machine's load "
                 "average (%d cores) was %.1f when the bench began and %.1f when it ended."
                 % (reps, (spread - 1) * 100, os.cpu_count() or 0, load[0], load[1]))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="3 rounds instead of 15")
    ap.add_argument("--reps", type=int)
    ap.add_argument("--out", default=str(HERE / "pytest_results.md"))
    args = ap.parse_args()
    reps = args.reps or (3 if args.quick else 15)
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env.pop("PYTEST_ADDOPTS", None)
    off = ("off", ["-p", "no:memline"])
    unused = ("unused", [])
    with tempfile.TemporaryDirectory(prefix="memline-bench-pytest-") as tmpname:
        tiny = pathlib.Path(tmpname)
        n_tiny = write_tiny(tiny)
        suites = [
            ("tiny (generated)", tiny, [], [off, unused, ("on", ["--memline"])], n_tiny),
            # memline's own API tests: a real suite, with its conftest.
            ("memline tests/integration/api", ROOT / "tests", ["integration/api"],
             [off, unused], count_tests(ROOT / "tests", ["integration/api"], env)),
        ]
        load = [os.getloadavg()[0]]
        times = measure(suites, reps, env)
        load.append(os.getloadavg()[0])
    text = table(suites, times, reps, load)
    print(text)
    pathlib.Path(args.out).write_text(
        "# The pytest plugin loaded but unused (bench/pytest_overhead.py)\n\n" + text + "\n")
    print("written to %s" % os.path.relpath(args.out), file=sys.stderr)
    return 0


def count_tests(cwd, args, env):
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "--collect-only",
                           "-p", "no:cacheprovider"] + args, cwd=str(cwd), env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in reversed(proc.stdout.splitlines()):
        words = line.split()
        if words and words[0].isdigit() and "test" in line:
            return int(words[0])
    raise SystemExit("bench: cannot count the tests of %s:\n%s" % (args, proc.stdout[-2000:]))


if __name__ == "__main__":
    sys.exit(main())
