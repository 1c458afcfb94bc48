"""Many selected functions: python bench/select_overhead.py [--quick]

The cost of -p for the code it does not select.  One program runs three
ways, side by side, each run a fresh process, the configurations
alternating (in the reverse order every other round):

  plain       python prog.py
  memline     python -m memline prog.py                 (no selector)
  one         python -m memline -p json:dumps prog.py   (one function)
  selected    python -m memline -p json -p email -p psutil -p _pytest
                                -p pluggy prog.py      (some 2,400 functions)

The program imports those packages (after memline started: the selection
registers their code as they are imported), calls a few selected functions
once (so the profiler is on for the whole run, as it is with -p), then
times code that is not selected: a loop calling helpers (`calls`, what the
3.11 frame gate sees most of) and a walk over an AST with the stdlib's
ast.walk (`stdlib`).  The table gives each one's CPU time per unit (the
median over the rounds), the selected run over the memline run without
selectors (the figure that matters), the selected run over the run with
one function selected (what the number of selected functions costs: the
profiler is on in both), and the import of the selected packages, where
the selection reads every function's source block.

Prints the table and writes it to bench/select_results.md.
"""

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
SELECTORS = ["json", "email", "psutil", "_pytest", "pluggy"]

PROGRAM = '''\
import sys
import time

out, n_calls, n_walks = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
start = time.process_time()
import ast, email.parser, json, psutil, pytest  # noqa: E401,F401
imported = time.process_time() - start

# Selected code runs (under -p): the profiler is on from here to the end.
json.loads(json.dumps({"a": [1, 2, 3]}))
email.parser.Parser().parsestr("Subject: hi\\n\\nbody\\n")
psutil.Process().memory_info()


def scale(x):
    y = x * 3
    return y + 1


def bucket(x):
    z = scale(x)
    return z % 7


def calls(n):
    total = 0
    for i in range(n):
        total += bucket(i)
    return total


t = time.process_time()
calls(n_calls)
t_calls = time.process_time() - t

import textwrap  # noqa: E402
tree = ast.parse(open(textwrap.__file__, encoding="utf-8").read())
t = time.process_time()
nodes = 0
for _ in range(n_walks):
    nodes += sum(1 for _ in ast.walk(tree))
t_walk = time.process_time() - t

with open(out, "w") as f:
    json.dump({"import": imported, "calls": t_calls / n_calls,
               "walk": t_walk / nodes}, f)
'''

# Counts what the selection registers, through the API the command uses.
COUNT = '''\
import memline
from memline._select import Selection
n = [0]
class Counting(memline.LineProfiler):
    def _add_code(self, *args, **kw):
        n[0] += 1
        return memline.LineProfiler._add_code(self, *args, **kw)
prof = Counting()
Selection(%r).attach(prof)
import ast, email.parser, json, psutil, pytest  # noqa: E401,F401
print(n[0])
'''


def configs():
    sel = [a for s in SELECTORS for a in ("-p", s)]
    return [("plain", []), ("memline", ["-m", "memline"]),
            ("one", ["-m", "memline", "-p", "json:dumps"]),
            ("selected", ["-m", "memline"] + sel)]


def run_one(launcher, prog, out, sizes, env):
    if out.exists():
        out.unlink()
    cmd = [sys.executable] + launcher + [str(prog), str(out)] + [str(s) for s in sizes]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=str(prog.parent))
    if proc.returncode != 0 or not out.exists():
        raise SystemExit("bench: %s failed:\n%s" % (" ".join(cmd), proc.stderr[-2000:]))
    if "matched nothing" in proc.stderr:
        raise SystemExit("bench: a selector matched nothing:\n" + proc.stderr)
    return json.loads(out.read_text())


def _ratio(results, a, b, k):
    """The median over rounds of a's time over b's (runs of one round)."""
    return statistics.median(x[k] / y[k] for x, y in zip(results[a], results[b]))


def table(results, reps, count):
    med = {(c, k): statistics.median(r[k] for r in rs)
           for c, rs in results.items() for k in ("import", "calls", "walk")}
    lines = ["| configuration | import of the packages | calls (per call) | "
             "stdlib ast.walk (per node) |", "|---|---:|---:|---:|"]
    for c, _ in configs():
        lines.append("| %s | %.0f ms | %.1f ns | %.1f ns |" % (
            c, med[(c, "import")] * 1e3, med[(c, "calls")] * 1e9, med[(c, "walk")] * 1e9))
    for a, b in (("selected", "memline"), ("selected", "one"), ("memline", "plain")):
        lines.append("| **%s / %s** | %.2fx | **%.3fx** | **%.3fx** |" % (
            a, b, _ratio(results, a, b, "import"), _ratio(results, a, b, "calls"),
            _ratio(results, a, b, "walk")))
    lines.append("")
    lines.append("CPU time, the median of %d rounds; the ratios are the medians of each "
                 "round's ratio (runs next to each other in time).  `selected` is `-p %s`: "
                 "%d functions registered.  Python %s; load average %.1f (%d cores) at the "
                 "end." % (reps, " -p ".join(SELECTORS), count, sys.version.split()[0],
                           os.getloadavg()[0], os.cpu_count() or 0))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="3 rounds, smaller sizes")
    ap.add_argument("--reps", type=int)
    ap.add_argument("--out", default=str(HERE / "select_results.md"))
    args = ap.parse_args()
    reps = args.reps or (3 if args.quick else 9)
    sizes = (300_000, 5) if args.quick else (1_500_000, 25)
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    results = {c: [] for c, _ in configs()}
    with tempfile.TemporaryDirectory(prefix="memline-bench-select-") as tmpname:
        tmp = pathlib.Path(tmpname)
        prog = tmp / "prog.py"
        prog.write_text(PROGRAM)
        out = tmp / "result.json"
        count = int(subprocess.run([sys.executable, "-c", COUNT % (SELECTORS,)], env=env,
                                   capture_output=True, text=True, check=True, cwd=tmpname)
                    .stdout)
        for rep in range(reps):
            print("round %d/%d" % (rep + 1, reps), file=sys.stderr, flush=True)
            order = configs() if rep % 2 == 0 else configs()[::-1]
            for c, launcher in order:
                results[c].append(run_one(launcher, prog, out, sizes, env))
    text = table(results, reps, count)
    print(text)
    pathlib.Path(args.out).write_text(
        "# Many selected functions (bench/select_overhead.py)\n\n" + text + "\n")
    print("written to %s" % os.path.relpath(args.out), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
