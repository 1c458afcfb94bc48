"""Profiled code in child processes under ``python -m memline``
(docs/processes.md): multiprocessing's three start methods,
ProcessPoolExecutor, a nested pool, a worker killed with SIGKILL, a
``sys.executable`` subprocess; the merged figures, the Processes: line,
--per-process, the lost and still-running lines, and no files left behind.

Every program runs from an empty temporary folder (its TMPDIR too), as a
user runs it, under run()'s timeout: nothing may hang."""

import json
import os
import re
import sys

import pytest

from helpers import MIB, child_env, parse_report, run_memline, write

# A profiled function whose body allocates the same bytes at every call:
# its heap figures per call are the same in every process.
WORK = '''\
import os
import sys

@profile
def work(x):
    buf = bytearray(100_000)
    return len(buf) + x
'''

PROCESSES = re.compile(r"Processes: (\d+) of (\d+)")
LOST = "Processes lost: 1 (ended before sending their tables; killed by a signal?)"


@pytest.fixture
def folder(tmp_path):
    """An empty folder for the program and its TMPDIR; checked empty of
    anything but the program's files afterwards."""
    (tmp_path / "tmp").mkdir()
    yield tmp_path
    assert os.listdir(tmp_path / "tmp") == []


def memline(folder, *args, **kw):
    env = child_env({"TMPDIR": str(folder / "tmp")})
    p = run_memline(list(args), cwd=folder, env=env, timeout=kw.pop("timeout", 120), **kw)
    return p


def block_of(text, name):
    """The one block of the report whose first rows hold def name."""
    hits = [b for b in parse_report(text) if any(r.source.strip().startswith("def %s(" % name)
                                                 for r in b.rows)]
    assert len(hits) == 1, "%d blocks of %s in\n%s" % (len(hits), name, text)
    return hits[0]


def single_call(folder):
    """The body line's figures for one call, in this process."""
    write(folder / "one.py", WORK + "work(0)\n")
    p = memline(folder, "one.py")
    assert p.returncode == 0, p.stderr
    b = block_of(p.stdout, "work")
    assert b.note is None  # one process: memory_profiler's layout, unchanged
    return b.row("buf = bytearray")


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_pool_of_4_mapping_1000_calls(folder, method):
    one = single_call(folder)
    write(folder / "pool.py", WORK + '''
if __name__ == "__main__":
    import multiprocessing as mp
    with mp.get_context(sys.argv[1]).Pool(4) as pool:
        assert sum(pool.map(work, range(1000))) == 1000 * 100_000 + 499500
''')
    p = memline(folder, "pool.py", method)
    assert p.returncode == 0, p.stderr
    b = block_of(p.stdout, "work")
    # The workers that ran work, of the processes that ran profiled code
    # (only they did).  Under spawn one worker may take every task before
    # the others are up: one process, then no line.
    if b.note is not None:
        m = PROCESSES.fullmatch(b.note)
        assert m and 2 <= int(m.group(1)) == int(m.group(2)) <= 4, b.note
    body = b.row("buf = bytearray")
    assert body.occurrences == 1000
    assert b.row("return len(buf)").occurrences == 1000
    assert b.row("def work").occurrences is None  # the def line never runs
    assert b.row("@profile").occurrences == 1000
    # Heap incr adds up over processes: 1000 times one call's
    assert abs(body.bytes("heap_incr") - 1000 * one.bytes("heap_incr")) <= \
        0.01 * 1000 * one.bytes("heap_incr")
    # Heap peak is one execution's, the largest of any process
    assert abs(body.bytes("heap_peak") - one.bytes("heap_peak")) <= 0.01 * one.bytes("heap_peak")
    assert "Processes lost" not in p.stdout and "still running" not in p.stdout


def test_process_pool_executor(folder):
    write(folder / "ex.py", WORK + '''
if __name__ == "__main__":
    from concurrent.futures import ProcessPoolExecutor
    with ProcessPoolExecutor(max_workers=2) as ex:
        assert len(list(ex.map(work, range(200)))) == 200
    work(0)
''')
    p = memline(folder, "ex.py")
    assert p.returncode == 0, p.stderr
    b = block_of(p.stdout, "work")
    assert b.row("buf = bytearray").occurrences == 201
    n, total = map(int, PROCESSES.fullmatch(b.note).groups())
    assert 2 <= n == total <= 3  # this process and the workers that ran work


def test_nested_pool(folder):
    """A worker of a ProcessPoolExecutor (not daemonic) starts its own Pool:
    the grandchildren's tables come back too."""
    write(folder / "nested.py", WORK + '''
@profile
def outer(i):
    import multiprocessing as mp
    with mp.get_context("fork").Pool(2) as pool:
        return sum(pool.map(work, range(10)))

if __name__ == "__main__":
    from concurrent.futures import ProcessPoolExecutor
    with ProcessPoolExecutor(max_workers=2) as ex:
        assert len(list(ex.map(outer, range(2)))) == 2
''')
    p = memline(folder, "nested.py")
    assert p.returncode == 0, p.stderr
    assert block_of(p.stdout, "work").row("buf = bytearray").occurrences == 20
    assert block_of(p.stdout, "outer").row("return sum(").occurrences == 2
    assert "Processes lost" not in p.stdout


def test_sigterm_while_children_start(folder):
    """A SIGTERM that comes while a fork child is still being set up (what
    Pool.terminate sends to a worker still starting) is held until the
    child's own handlers are in: it never runs memline's report handler in
    the child, never reaches the parent, and never loses a table.  Half the
    children are killed at once, half once work(1) has run in them."""
    write(folder / "forkkill.py", WORK + '''
import signal
import time
import warnings

warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: "multi-threaded"
if __name__ == "__main__":
    work(0)
    killed = 0
    for i in range(40):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            work(1)
            os.write(w, b"x")
            time.sleep(60)
            os._exit(0)
        os.close(w)
        if i % 2:
            os.read(r, 1)
        os.close(r)
        os.kill(pid, signal.SIGTERM)
        _, status = os.waitpid(pid, 0)
        killed += os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGTERM
    print("killed", killed)
''')
    p = memline(folder, "forkkill.py")
    assert p.returncode == 0, p.stderr
    assert "killed 40\n" in p.stdout
    assert "Traceback" not in p.stderr and "_Stopped" not in p.stderr, p.stderr
    assert "Processes lost" not in p.stdout and "still running" not in p.stdout
    ran = block_of(p.stdout, "work").row("buf = bytearray").occurrences
    assert 1 + 20 <= ran <= 1 + 40


def test_worker_killed_with_sigkill(folder):
    """The killed worker loses its own table, and only that: the report
    says one process was lost, and the other pool's figures are whole."""
    write(folder / "kill.py", WORK + '''
import signal

@profile
def doomed(x):
    if x == 5:
        os.kill(os.getpid(), signal.SIGKILL)
    return x

if __name__ == "__main__":
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool
    try:
        with ProcessPoolExecutor(max_workers=1) as ex:
            list(ex.map(doomed, range(10)))
    except BrokenProcessPool:
        print("broken")
    with mp.get_context("fork").Pool(2) as pool:
        pool.map(work, range(100))
''')
    p = memline(folder, "--json", "out.json", "--html", "out.html", "kill.py")
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("broken\n")
    assert block_of(p.stdout, "work").row("buf = bytearray").occurrences == 100
    assert "def doomed" not in p.stdout  # it ran only in the killed worker
    assert p.stdout.endswith(LOST + "\n\n")
    assert p.stdout.count("Processes lost") == 1
    # the JSON and HTML reports say it too
    doc = json.loads((folder / "out.json").read_text())
    assert (doc["processes_lost"], doc["processes_still_running"]) == (1, 0)
    assert [f["name"] for f in doc["functions"]] == ["work"]
    page = (folder / "out.html").read_text()
    assert '<p class="mlr-warn">%s</p>' % LOST in page
    os.unlink(folder / "out.json")
    os.unlink(folder / "out.html")


def test_subprocess_child(folder):
    """A Python child started with sys.executable learns the configuration
    from MEMLINE_CHILD: its @profile function is in the parent's report."""
    write(folder / "child.py", WORK + "for i in range(3):\n    work(i)\n")
    write(folder / "parent.py", '''\
import os, subprocess, sys
assert "MEMLINE_CHILD" in os.environ
subprocess.run([sys.executable, "child.py"], check=True)
subprocess.run([sys.executable, "-c", "pass"], check=True)  # runs no profiled code
''')
    p = memline(folder, "parent.py")
    assert p.returncode == 0, p.stderr
    b = block_of(p.stdout, "work")
    # the child's own co_filename: CPython 3.8 keeps the script's path as
    # it was given, later versions make it absolute
    assert b.filename == (str(folder / "child.py") if sys.version_info >= (3, 9) else "child.py")
    # only the child ran profiled code: one process, nothing changes
    assert b.note is None
    assert b.row("buf = bytearray").occurrences == 3


def test_processes_line_and_per_process(folder):
    """Two fork children call work 3 times each, the parent once: the merged
    table's header says 3 of 3; --per-process prints each process's table
    under a Process: line, this one's first."""
    write(folder / "two.py", WORK + '''
def three():
    for i in range(3):
        work(i)

if __name__ == "__main__":
    import multiprocessing as mp
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=three) for _ in range(2)]
    for q in procs:
        q.start()
    for q in procs:
        q.join()
    work(0)
    print("pids", *sorted(q.pid for q in procs))
''')
    p = memline(folder, "two.py")
    assert p.returncode == 0, p.stderr
    b = block_of(p.stdout, "work")
    assert b.text.splitlines()[1] == "Processes: 3 of 3"
    assert b.row("buf = bytearray").occurrences == 7

    p = memline(folder, "--per-process", "two.py")
    assert p.returncode == 0, p.stderr
    pids = p.stdout.splitlines()[0].split()[1:]
    blocks = parse_report(p.stdout)
    assert [b.note for b in blocks[1:]] == ["Process: %s" % pid for pid in pids]
    assert re.fullmatch(r"Process: \d+ \(memline's\)", blocks[0].note)
    assert [b.row("buf = bytearray").occurrences for b in blocks] == [1, 3, 3]


def test_program_raises_children_tables_still_in(folder):
    write(folder / "raise.py", WORK + '''
if __name__ == "__main__":
    import multiprocessing as mp
    with mp.get_context("spawn").Pool(2) as pool:
        pool.map(work, range(50))
    raise RuntimeError("boom")
''')
    p = memline(folder, "raise.py")
    assert p.returncode == 1
    assert "RuntimeError: boom" in p.stderr
    assert block_of(p.stdout, "work").row("buf = bytearray").occurrences == 50


def test_json_report_is_merged(folder):
    write(folder / "j.py", WORK + '''
if __name__ == "__main__":
    import multiprocessing as mp
    with mp.get_context("fork").Pool(2) as pool:
        pool.map(work, range(40))
''')
    p = memline(folder, "--json", "out.json", "--html", "out.html", "j.py")
    assert p.returncode == 0, p.stderr
    doc = json.loads((folder / "out.json").read_text())
    (fn,) = [f for f in doc["functions"] if f["name"] == "work"]
    (line,) = [ln for ln in fn["lines"] if "bytearray" in ln["source"]]
    assert line["occurrences"] == 40
    # the text report's Processes: N of M, in both other reports (only the
    # workers ran work; one may have taken every task)
    note = block_of(p.stdout, "work").note
    n, m = map(int, PROCESSES.fullmatch(note).groups()) if note else (1, 1)
    assert (fn["processes"], doc["processes"]) == (n, m) and 1 <= n == m <= 2
    assert (doc["processes_lost"], doc["processes_still_running"]) == (0, 0)
    page = (folder / "out.html").read_text()
    assert page.count("<p class=\"mlr-meta\">Processes: %d of %d</p>" % (n, m)) == (m > 1)
    assert "mlr-warn\">" not in page
    os.unlink(folder / "out.json")
    os.unlink(folder / "out.html")


def test_child_still_running_is_not_waited_for(folder):
    """A child that outlives the program: the report waits briefly, says
    so in one line, and the run ends."""
    write(folder / "orphan.py", '''\
import subprocess, sys
# says it is up (so it has connected), then reads until memline itself
# exits and its end of the pipe closes
child = subprocess.Popen(
    [sys.executable, "-c", "import sys; print('up', flush=True); sys.stdin.read()"],
    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
assert child.stdout.readline() == b"up\\n"
''')
    p = memline(folder, "orphan.py", timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout == ("Processes still running at the report: 1 (waited 2 s; their "
                        "tables are not in it)\n\n")


def test_child_config_variable_unset_does_nothing(folder):
    """The .pth hook does nothing without MEMLINE_CHILD: plain Python has no
    profile builtin."""
    env = child_env()
    env.pop("MEMLINE_CHILD", None)
    from helpers import run_python
    p = run_python(["-c", "import builtins, sys; print(hasattr(builtins, 'profile'), "
                    "'memline' in sys.modules)"], cwd=folder, env=env)
    assert p.stdout == "False False\n", p.stderr


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_children_apply_the_selection(folder, method):
    """-p names code in a module the workers import: they profile it too
    (MEMLINE_CHILD carries the selectors), without any decorator."""
    write(folder / "jobs.py", '''\
def work(x):
    buf = bytearray(1000)
    return len(buf) + x
''')
    write(folder / "sel.py", '''\
import sys
import multiprocessing as mp
import jobs

if __name__ == "__main__":
    with mp.get_context(sys.argv[1]).Pool(2) as pool:
        pool.map(jobs.work, range(100))
''')
    p = memline(folder, "-p", "jobs", "sel.py", method)
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""
    assert block_of(p.stdout, "work").row("buf = bytearray").occurrences == 100


@pytest.mark.parametrize("method", ["fork", "forkserver"])
def test_the_issues_example_a_package_and_its_pool_workers(folder, method):
    """`python -m memline -p mypkg.work script.py`: mypkg.work's functions
    and methods get line reports without one decorator, the lines its pool
    workers ran included; the rest of mypkg is left alone."""
    (folder / "mypkg").mkdir()
    write(folder / "mypkg" / "__init__.py", "")
    write(folder / "mypkg" / "other.py", "def untouched(x):\n    return x\n")
    write(folder / "mypkg" / "work.py", '''\
import multiprocessing as mp


class Store:
    def add(self, x):
        block = bytearray(50_000)
        return len(block) + x


def task(x):
    return Store().add(x)


def run_all(method, n):
    with mp.get_context(method).Pool(3) as pool:
        return sum(pool.map(task, range(n)))
''')
    write(folder / "script.py", '''\
import sys
from mypkg import other, work

if __name__ == "__main__":
    other.untouched(1)
    print(work.run_all(sys.argv[1], 300))
''')
    p = memline(folder, "-p", "mypkg.work", "script.py", method)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("%d\n" % (300 * 50_000 + 299 * 150))
    assert "untouched" not in p.stdout
    add = block_of(p.stdout, "add")
    assert add.row("block = bytearray").occurrences == 300
    assert block_of(p.stdout, "task").row("return Store().add(x)").occurrences == 300
    # run_all ran in this process only
    assert block_of(p.stdout, "run_all").row("return sum(").occurrences == 1
    assert "Processes lost" not in p.stdout and "still running" not in p.stdout


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_script_lines_with_workers(folder, method):
    """--script-lines on a script of module-level statements whose pool
    runs one of the script's functions: the top-level statements ran once,
    here (a spawned worker imports the file as __mp_main__ before the
    selection can reach its top-level code, and a forked one never runs
    them), and the function's lines add up over the workers."""
    write(folder / "flat.py", '''\
import sys
import multiprocessing as mp
def grow(x):
    part = [x] * 1000
    return len(part)
data = list(range(200))
if __name__ == "__main__":
    with mp.get_context(sys.argv[1]).Pool(2) as pool:
        total = sum(pool.map(grow, data))
    print(total)
''')
    p = memline(folder, "--script-lines", "flat.py", method)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("200000\n")
    module, grow = parse_report(p.stdout)
    assert module.rows[0].source == "import sys"
    assert module.row("data = list(range(200))").occurrences == 1
    assert module.row("total = sum(").occurrences == 1
    assert grow.rows[0].source == "def grow(x):"
    assert grow.row("part = [x] * 1000").occurrences == 200
    assert grow.row("return len(part)").occurrences == 200
    assert "Processes lost" not in p.stdout
