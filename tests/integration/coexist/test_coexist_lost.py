"""When memline truly loses events (a C tool clears the trace hook it does
not own, in a thread, with no call after it for memline to notice at), it
says so on stderr in one line and the report marks the function: never a
table that silently lacks lines."""

from helpers import run_memline, write
from _common import PY, block_of

LOST = '''\
import ctypes
import threading

clear = ctypes.pythonapi.PyEval_SetTrace
clear.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
clear.restype = None


@profile
def work():
    a = [1] * 100000
    clear(None, None)        # a C tool clearing a hook that is not its own
    b = [2] * 200000
    c = len(b)
    return len(a)


t = threading.Thread(target=work)
t.start()
t.join()
'''


def test_lost_events_are_said_and_marked(tmp_path, tracer_mode):
    script = write(tmp_path / "lost.py", LOST)
    proc = run_memline([script], tmp_path)
    assert proc.returncode == 0, proc.stderr
    block = block_of(proc.stdout)
    missing = [r.source.strip() for r in block.rows
               if not r.seen and r.source.strip() and not r.source.strip().startswith("def ")]
    note = [l for l in proc.stdout.splitlines() if l.startswith("memline: incomplete: work ")]
    warnings = [l for l in proc.stderr.splitlines() if l.startswith("memline: warning: ")]
    if missing:
        assert len(note) == 1 and proc.stdout.index(note[0]) < proc.stdout.index("Filename:")
        assert len(warnings) == 1 and "work" in warnings[0], proc.stderr
    if PY < (3, 12) or tracer_mode == "legacy":
        # The hook is shared there: the clear takes memline's away.
        assert note and warnings, proc.stdout + proc.stderr
    else:
        # sys.monitoring: nothing of memline's was taken.
        assert not missing and not note and not warnings, proc.stdout + proc.stderr
