"""%load_ext memline in a real IPython shell: %mprun and %memit, line and
cell forms, and their options (the rest of memory_profiler's surface).

The shell is IPython's own test shell (globalipapp): its pager prints to
stdout, so capsys sees what a terminal user would.  %mprun strips the
report it shows and writes, as memory_profiler's does, so those reports are
read with ``stripped=True``."""

import io

import pytest

from _surface import MEMIT, at_least_here, freed, near_here
from helpers import HEADER7, SANITIZED, parse_report

IPython = pytest.importorskip("IPython")

import memline  # noqa: E402

# A function defined in the notebook itself: memory_profiler cannot show
# its source, memline reads it from the cell.
NB_FUNC = '''
import subprocess, sys, time

def nb_func(n):
    a = b"x" * (40 << 20)
    c = [0] * n
    del a
    return len(c)

def nb_other(k):
    total = 0
    for i in range(k):
        total += i
    return total
'''

NB_ROWS = ['def nb_func(n):', 'a = b"x" * (40 << 20)', 'c = [0] * n', 'del a',
           'return len(c)']


@pytest.fixture(scope="module")
def ip():
    from IPython.testing.globalipapp import start_ipython
    shell = start_ipython()
    shell.run_line_magic("load_ext", "memline")
    ok(shell.run_cell(NB_FUNC))
    yield shell
    shell.reset()  # drop what the tests left in the namespace (some 300 MiB)


def ok(result):
    """Fails the test when the cell raised (IPython only shows it)."""
    assert result.error_before_exec is None, result.error_before_exec
    assert result.error_in_exec is None, result.error_in_exec
    return result


def memit_line(out):
    """The (peak, increment) of the one %memit line printed."""
    found = [MEMIT.fullmatch(l) for l in out.splitlines() if l.startswith("peak memory")]
    assert len(found) == 1 and found[0], out
    return float(found[0]["peak"]), float(found[0]["inc"])


def check_nb_func_block(block):
    assert block.filename.startswith("<ipython-input-")
    assert block.header == HEADER7
    assert [r.source.strip() for r in block.rows] == NB_ROWS
    assert all(r.seen and r.occurrences == 1 for r in block.rows)
    alloc = block.row('a = b"x" * (40 << 20)')
    assert near_here(alloc.incr, 40)
    heap_incr, heap_peak = alloc.heap_incr, alloc.heap_peak
    assert 39.9 <= heap_incr <= 40.2 and 39.9 <= heap_peak <= 40.2
    assert freed(block.row("del a").incr, 40)


def test_load_ext_registers_both_magics(ip):
    magics = ip.magics_manager.magics
    for kind in ("line", "cell"):
        assert "mprun" in magics[kind] and "memit" in magics[kind]


# ---- %mprun -----------------------------------------------------------------

def test_mprun_reports_a_notebook_function_from_its_cell(ip, capsys):
    ok(ip.run_cell("%mprun -f nb_func nb_func(1000)"))
    blocks = parse_report(capsys.readouterr().out, stripped=True)
    assert len(blocks) == 1
    check_nb_func_block(blocks[0])


def test_mprun_in_a_terminal_is_text_only(ip, capsys):
    """A terminal shell has no kernel: %mprun prints the text report, no
    HTML (Jupyter's rich output is tests/integration/surface/test_notebook.py)."""
    ok(ip.run_cell("%mprun -f nb_func nb_func(10)"))
    out = capsys.readouterr().out
    assert out.startswith("Filename: ") and "<div" not in out and "mlr" not in out


def test_mprun_r_carries_the_json_form(ip, capsys):
    ok(ip.run_cell("json_prof = %mprun -r -f nb_func nb_func(10)"))
    capsys.readouterr()
    d = ip.user_ns["json_prof"].to_dict()
    [fn] = d["functions"]
    assert fn["name"] == "nb_func" and fn["filename"].startswith("<ipython-input-")
    assert [l["source"].strip() for l in fn["lines"]] == NB_ROWS


def test_mprun_several_functions(ip, capsys):
    ok(ip.run_cell("%mprun -f nb_func -f nb_other nb_func(10) + nb_other(4)"))
    blocks = parse_report(capsys.readouterr().out, stripped=True)
    assert len(blocks) == 2
    by_first = {b.rows[0].source.strip(): b for b in blocks}
    check_nb_func_block(by_first["def nb_func(n):"])
    other = by_first["def nb_other(k):"]
    assert other.row("for i in range(k):").occurrences == 5
    assert other.row("total += i").occurrences == 4


def test_mprun_cell_form(ip, capsys):
    ok(ip.run_cell("%%mprun -f nb_func\ncell_v = nb_func(10)\ncell_v += 1\n"))
    assert ip.user_ns["cell_v"] == 11  # the whole cell ran
    blocks = parse_report(capsys.readouterr().out, stripped=True)
    assert len(blocks) == 1
    check_nb_func_block(blocks[0])


def test_mprun_T_writes_the_report(ip, capsys, tmp_path):
    target = tmp_path / "report.txt"
    ok(ip.run_cell("%mprun -T {} -f nb_func nb_func(10)".format(target)))
    out = capsys.readouterr().out
    assert "Profile printout saved to text file %s" % target in out
    written = target.read_text()
    blocks = parse_report(written, stripped=True)
    assert len(blocks) == 1
    check_nb_func_block(blocks[0])
    assert written.strip() in out  # what was shown is what was written


def test_mprun_r_returns_the_line_profiler(ip, capsys):
    ok(ip.run_cell("returned_prof = %mprun -r -f nb_func nb_func(10)"))
    capsys.readouterr()
    prof = ip.user_ns["returned_prof"]
    assert isinstance(prof, memline.LineProfiler)
    again = io.StringIO()
    memline.show_results(prof, stream=again)
    blocks = parse_report(again.getvalue())
    assert len(blocks) == 1
    check_nb_func_block(blocks[0])


def test_mprun_without_r_returns_nothing(ip, capsys):
    assert ip.run_line_magic("mprun", "-f nb_other nb_other(2)") is None
    assert len(parse_report(capsys.readouterr().out, stripped=True)) == 1


SPAWN = '''
def spawn():
    p = subprocess.Popen([sys.executable, "-c", "import time; x = b'1' * (80 << 20); print('ready', flush=True); time.sleep(30)"], stdout=subprocess.PIPE)
    p.stdout.readline()
    time.sleep(0.05)
    p.kill()
    p.wait()
    p.stdout.close()
'''


def test_mprun_c_includes_children(ip, capsys):
    ok(ip.run_cell(SPAWN))
    for opts, low, high in (("-c", -1000 if SANITIZED else 75, 1000), ("", -1000, 20)):
        ok(ip.run_cell("%mprun {} -f spawn spawn()".format(opts)))
        [block] = parse_report(capsys.readouterr().out, stripped=True)
        first = block.rows[0].mem
        # while the child holds its 80 MiB
        held = max(block.row(r).mem for r in ("p.stdout.readline()", "time.sleep(0.05)"))
        assert low <= held - first <= high, (opts, [r.text for r in block.rows])


def test_mprun_statement_keeps_its_quotes(ip, capsys):
    # fixed in memline/__init__.py: the option parser dropped the quotes,
    # so g("x") ran as g(x)
    ok(ip.run_cell('%mprun -f nb_other quoted = nb_other(len("abc")) + len(\'it\'\'s\')'))
    assert ip.user_ns["quoted"] == 3 + 3
    [block] = parse_report(capsys.readouterr().out, stripped=True)
    assert block.row("total += i").occurrences == 3


def test_mprun_unknown_function_is_a_usage_error(ip, capsys):
    result = ip.run_cell("%mprun -f no_such_function nb_func(1)")
    assert result.error_in_exec is not None
    assert "could not find function 'no_such_function'" in str(result.error_in_exec)


# ---- %memit -----------------------------------------------------------------

def test_memit_prints_peak_and_increment(ip, capsys):
    ok(ip.run_cell('%memit held_a = b"1" * (50 << 20)'))
    peak, inc = memit_line(capsys.readouterr().out)
    assert near_here(inc, 50)
    assert peak >= inc + 5


def test_memit_cell_form_runs_setup_unmeasured(ip, capsys):
    ok(ip.run_cell('%%memit setup_b = b"s" * (30 << 20)\nheld_b = b"1" * (50 << 20)\n'))
    peak, inc = memit_line(capsys.readouterr().out)
    assert near_here(inc, 50)  # the setup's 30 MiB are not counted
    assert len(ip.user_ns["setup_b"]) == 30 << 20 and len(ip.user_ns["held_b"]) == 50 << 20


def test_memit_o_returns_a_memit_result(ip, capsys):
    ok(ip.run_cell('memit_res = %memit -o held_c = b"1" * (50 << 20)'))
    out = capsys.readouterr().out
    res = ip.user_ns["memit_res"]
    assert isinstance(res, memline.MemitResult)
    peak, inc = memit_line(out)
    assert str(res) == MEMIT.search(out).group(0)
    assert len(res.mem_usage) == 1 and res.repeat == 1
    assert abs(max(res.mem_usage) - peak) < 0.01
    assert abs(max(res.mem_usage) - res.baseline - inc) < 0.01
    assert res.timeout is None and res.interval == 0.1 and res.include_children is False


def test_memit_without_o_returns_nothing(ip, capsys):
    assert ip.run_line_magic("memit", "pass") is None
    memit_line(capsys.readouterr().out)


def test_memit_r_repeats(ip, capsys):
    ip.user_ns["memit_runs"] = []
    ok(ip.run_cell("memit_rep = %memit -r 3 -o memit_runs.append(1)"))
    memit_line(capsys.readouterr().out)
    assert ip.user_ns["memit_runs"] == [1, 1, 1]
    res = ip.user_ns["memit_rep"]
    assert res.repeat == 3 and len(res.mem_usage) == 3


def test_memit_q_prints_nothing(ip, capsys):
    ok(ip.run_cell('memit_quiet = %memit -q -o held_d = b"1" * (50 << 20)'))
    assert capsys.readouterr().out == ""
    res = ip.user_ns["memit_quiet"]
    assert near_here(max(res.mem_usage) - res.baseline, 50)


def test_memit_i_sets_the_interval(ip, capsys):
    # 50 MiB held for 0.15 s, then freed: only sampling inside the run sees it
    ok(ip.run_cell('memit_i = %memit -i 0.01 -o tmp_i = b"1" * (50 << 20); '
                   'time.sleep(0.15); del tmp_i'))
    _, inc = memit_line(capsys.readouterr().out)
    assert ip.user_ns["memit_i"].interval == 0.01
    assert near_here(inc, 50, tol=5)


def test_memit_t_bounds_the_sampling(ip, capsys):
    # the allocation comes after the timeout: it is not measured
    ok(ip.run_cell('memit_t = %memit -t 0.2 -i 0.05 -o time.sleep(0.5); '
                   'held_t = b"1" * (50 << 20)'))
    _, inc = memit_line(capsys.readouterr().out)
    assert len(ip.user_ns["held_t"]) == 50 << 20  # the statement ran to its end
    assert ip.user_ns["memit_t"].timeout == 0.2
    assert inc < 10


def test_memit_c_includes_children(ip, capsys):
    child = "subprocess.run([sys.executable, '-c', 'import time; x = b\"1\" * (80 << 20); time.sleep(0.5)'])"
    ok(ip.run_cell("memit_c = %memit -c -i 0.05 -o " + child))
    _, inc = memit_line(capsys.readouterr().out)
    assert ip.user_ns["memit_c"].include_children is True
    assert at_least_here(inc, 75)
    ok(ip.run_cell("%memit -i 0.05 " + child))
    _, inc = memit_line(capsys.readouterr().out)
    assert inc < 10


def test_memit_sees_a_short_temporary_peak(ip, capsys):
    # 50 MiB built and dropped within one statement, far quicker than the
    # 0.1 s interval (memory_profiler 0.61 mostly misses this one)
    ok(ip.run_cell('%memit b"1" * (50 << 20)'))
    _, inc = memit_line(capsys.readouterr().out)
    assert near_here(inc, 50, tol=5)
