"""The pytest plugin's cost when it is loaded but unused: python bench/pytest_overhead.py [--quick]

The same test suites run with the plugin kept out (-p no:memline: not even
imported, as if memline were not installed) and loaded but unused (no
memline option, no marker), side by side: the runs alternate, each in a
fresh `python -m pytest` process, and the table gives the medians of the
wall times, start-up and exit included, and their ratio.  The tiny suite
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

TINY_FILES = 40
TINY_PER_FILE = 50  # 2,000 tests

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
    """Wall seconds of one pytest run; it must pass (exit 0)."""
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"] + args
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=str(cwd), env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit("bench: %s failed in %s:\n%s" % (" ".join(cmd), cwd,
                                                           proc.stdout[-2000:]))
    return wall


def measure(suites, reps, env):
    """{(suite, config): [wall seconds]}, the configs of a suite alternating."""
    times = {}
    started = time.perf_counter()
    for rep in range(reps):
        print("round %d/%d (%.0f s)" % (rep + 1, reps, time.perf_counter() - started),
              file=sys.stderr, flush=True)
        for name, cwd, args, configs, _n in suites:
            for label, extra in configs:
                times.setdefault((name, label), []).append(run_suite(extra + args, cwd, env))
    return times


def table(suites, times, reps):
    lines = ["| suite | tests | -p no:memline (not loaded) | loaded, unused | ratio "
             "| per test | --memline (measuring) | ratio |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, _cwd, _args, configs, n in suites:
        base = statistics.median(times[(name, "off")])
        unused = statistics.median(times[(name, "unused")])
        cells = ["%s" % name, "%d" % n, "%.3f s" % base, "%.3f s" % unused,
                 "%.3fx" % (unused / base), "%+.1f us" % ((unused - base) / n * 1e6)]
        if (name, "on") in times:
            on = statistics.median(times[(name, "on")])
            cells += ["%.3f s" % on, "%.2fx" % (on / base)]
        else:
            cells += ["-", "-"]
        lines.append("| " + " | ".join(cells) + " |")
    spread = max(max(v) / min(v) for v in times.values())
    lines.append("")
    lines.append("Medians of %d alternating runs each (wall time of `python -m pytest -q`, "
                 "start-up included); the widest spread of one configuration's runs was "
                 "%.1f%%." % (reps, (spread - 1) * 100))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="3 rounds instead of 7")
    ap.add_argument("--reps", type=int)
    ap.add_argument("--out", default=str(HERE / "pytest_results.md"))
    args = ap.parse_args()
    reps = args.reps or (3 if args.quick else 7)
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
        times = measure(suites, reps, env)
    text = table(suites, times, reps)
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
