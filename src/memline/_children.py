"""Profiling in child processes (docs/processes.md): the child's side.

Every Python process started below ``python -m memline`` reads the
environment variable MEMLINE_CHILD (JSON) at interpreter start
(memline-children.pth, installed with the package, runs
``start_from_env``); fork children inherit the parent's state and are set
up again by an at-fork hook.  Each child connects to the root's socket
(memline._hub) at start, so the root counts it, and at its exit (atexit,
multiprocessing's finalizers before ``os._exit``, or SIGTERM, which
``Pool.terminate`` sends) sends ``T <pid>\\n`` and its table as a JSON
report, then closes.  A connection that closes without a whole table is a
lost process.
"""

import json
import os
import signal
import socket
import sys
import threading

from memline import _forkguard

ENV = "MEMLINE_CHILD"
# multiprocessing's helper processes: they run no program code and live as
# long as the root, so they are not children to wait for.
_HELPERS = ("multiprocessing.resource_tracker", "multiprocessing.forkserver")


class _Child:
    """This process's part, when it is a child: its profiler, its connection
    to the root (None when it could not connect), the pid they belong to."""

    def __init__(self, config, prof):
        self.config = config
        self.prof = prof
        self.sock = None
        self.pid = os.getpid()
        self.sent = False
        self.term = None  # a signal that came while the table was being sent

    def connect(self):
        self.pid = os.getpid()
        self.sent = False
        self.term = None
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.settimeout(10.0)  # a root that stopped reading never holds us
            s.connect("\0" + self.config["socket"])
            self.sock = s
        except OSError:
            s.close()
            self.sock = None  # the root is gone: profile, send nothing

    def send(self, wait=True):
        """Sends the table once, from the process that owns the connection.
        Returns False, without waiting, when wait is False and another
        thread (or the code a signal interrupted) is sending it."""
        if not _sending.acquire(wait):
            return False
        try:
            if self.sent or self.sock is None or self.pid != os.getpid():
                return True
            self.sent = True
            try:
                doc = self.prof._render("json", precision=3).encode("utf-8", "surrogatepass")
                self.sock.sendall(b"T %d\n" % self.pid + doc)
                self.sock.shutdown(socket.SHUT_WR)
            except Exception:  # noqa: BLE001 (a child's exit must not fail for us)
                pass
            _close(self.sock)
            self.sock = None
        finally:
            _sending.release()
        if self.term is not None:
            _die(self.term)
        return True


_child = None    # this process's _Child, when it is a child (or the root's, for its forks)
_sending = threading.Lock()  # held while a table is being sent
_armed = False   # the at-fork hook is registered in this process
_wake_fds = ()   # the watcher thread's pipe (_watch_signals)


def _close(sock):
    try:
        sock.close()
    except OSError:
        pass


def _command_line():
    try:
        with open("/proc/self/cmdline", "rb") as f:
            return f.read().decode("utf-8", "replace").split("\0")
    except OSError:
        return list(getattr(sys, "orig_argv", sys.argv))


def start_from_env():
    """Interpreter start (the .pth file): sets this process up as a child
    when MEMLINE_CHILD is set.  Never raises: a bad variable is ignored."""
    global _child
    raw = os.environ.get(ENV)
    if not raw or _child is not None:
        return
    try:
        config = json.loads(raw)
        name = config["socket"]
        if not isinstance(name, str):
            return
    except (ValueError, KeyError, TypeError):
        return
    argv = _command_line()
    helper = next((h for h in _HELPERS if any(h in a for a in argv)), None)
    if helper == "multiprocessing.resource_tracker":
        return
    try:
        from memline import LineProfiler
        prof = LineProfiler(backend=config.get("backend", "rss"),
                            native=config.get("native"))
    except Exception:  # noqa: BLE001
        return
    import builtins
    builtins.profile = prof
    _child = _Child(config, prof)
    _apply_selection(config, prof)
    _arm()
    if helper is None:  # the fork server's own process sends nothing; its forks do
        # A SIGTERM between the connection and its handler would end the
        # process with the connection open and no table: held till then.
        with _forkguard.held():
            _child.connect()
            _arm_signals()
    import atexit
    atexit.register(_at_exit)


def _apply_selection(config, prof):
    """The parent's -p/--script selection, once memline has it."""
    targets = config.get("targets") or []
    if not targets and not config.get("script"):
        return
    try:
        from memline import _select
        sel = _select.Selection(targets, script=config.get("script"),
                                script_lines=bool(config.get("script_lines")))
        sel.attach(prof)
        prof.enable_by_count()  # selected code charges lines all the run, as in the root
        _reattach_after_main(sel, prof)
    except Exception:  # noqa: BLE001 (the parent already said what was wrong)
        pass


def _reattach_after_main(sel, prof):
    """spawn and forkserver run the program's file again as __mp_main__
    with runpy, which no import hook sees: the selection looks at its
    namespace once it has run."""
    import multiprocessing.spawn as spawn
    original = spawn._fixup_main_from_path

    def fixup(main_path):
        original(main_path)
        sel.attach(prof)

    spawn._fixup_main_from_path = fixup


def _at_exit():
    if _child is not None:
        _child.send()


def _on_term(signum, frame):
    """SIGTERM in a child (Pool.terminate sends it to idle workers): the
    table goes to the root, then the signal's own death.  When it comes
    while the table is being sent (the worker was exiting anyway, or the
    watcher thread took the signal first), that send finishes first: a
    table cut short would be a lost process."""
    if _child is not None and not _child.send(wait=False):
        _child.term = signum
        return
    _die(signum)


def _die(signum):
    from memline import _memline
    _memline._die_by_signal(signum)


def _watch_signals():
    """A thread that sees SIGTERM through signal's wakeup fd.  CPython runs
    a Python handler only when the main thread gets back to Python code; a
    SIGTERM that lands just before a blocking wait (a pool worker waiting
    for its next task on a semaphore) would never run it, and the worker
    would wait for ever.  The thread sends the table and ends the process
    then.  A program that sets its own wakeup fd (asyncio) replaces this;
    the handler still runs whenever the main thread runs."""
    global _wake_fds
    try:
        r, w = os.pipe2(os.O_CLOEXEC)
        os.set_blocking(w, False)
        signal.set_wakeup_fd(w, warn_on_full_buffer=False)
    except (ValueError, OSError, AttributeError):
        return
    _wake_fds = (r, w)

    def watch():
        while True:
            try:
                data = os.read(r, 64)
            except InterruptedError:
                continue
            except OSError:
                return
            if not data:
                return
            if signal.SIGTERM in data and signal.getsignal(signal.SIGTERM) is _on_term:
                if _child is not None:
                    _child.send(wait=True)
                _die(signal.SIGTERM)

    threading.Thread(target=watch, name="memline-signals", daemon=True).start()


def rearm():
    """In a multiprocessing child before its target runs (the preparation
    data's hook, memline._install_passthrough): the fork server's child
    resets the wakeup fd after memline's at-fork hook set it; set it again."""
    try:
        if _wake_fds and signal.getsignal(signal.SIGTERM) is _on_term:
            signal.set_wakeup_fd(_wake_fds[1], warn_on_full_buffer=False)
    except (ValueError, OSError):
        pass


def _arm_signals():
    """SIGTERM sends the table first, where the disposition is the default
    or the root's own report handler inherited over fork."""
    try:
        h = signal.getsignal(signal.SIGTERM)
        if h is signal.SIG_DFL or getattr(h, "__qualname__", "") == "_StopSignals._handler" \
                or h is _on_term:
            signal.signal(signal.SIGTERM, _on_term)
            _watch_signals()
    except (ValueError, OSError):
        pass  # not the main thread


def _arm():
    global _armed
    if not _armed:
        _armed = True
        _forkguard.after_in_child(_after_fork)


def _after_fork():
    """In a fork child of the root or of a child: a fresh table of its own
    and a connection of its own; the inherited sockets are closed."""
    global _child, _sending, _wake_fds
    _sending = threading.Lock()  # another thread may have held it at the fork
    if _wake_fds:
        # The parent's watcher pipe: a signal this process gets must never
        # be written there, where the parent's watcher would take it for
        # its own SIGTERM.  First thing after the fork; a new one follows.
        try:
            signal.set_wakeup_fd(-1)
        except (ValueError, OSError):
            pass
        for fd in _wake_fds:
            try:
                os.close(fd)
            except OSError:
                pass
        _wake_fds = ()
    if _child is None:
        return
    if _child.sock is not None:
        _close(_child.sock)
        _child.sock = None
    _child.prof.clear()
    _child.connect()
    _arm_signals()
    util = sys.modules.get("multiprocessing.util")
    if util is not None:
        # multiprocessing clears its finalizers in a new process, then runs
        # its after-fork hooks: there the finalizer is registered, and it
        # runs in util._exit_function before os._exit.
        util.register_after_fork(_child, _register_finalizer)


def _register_finalizer(child):
    import multiprocessing.util as util
    util.Finalize(None, _at_exit, exitpriority=-(1 << 30))


def become_root(config, prof):
    """In the root (memline._hub.start_root): a memline started below
    another one tells it so and leaves it; prof becomes what the root's
    fork children send from."""
    global _child
    if _child is not None and _child.sock is not None:
        try:
            _child.sock.sendall(b"N\n")
        except OSError:
            pass
        _close(_child.sock)
    _child = _Child(config, prof)
    _child.pid = -1  # the root itself never sends
    _arm()
    import atexit
    atexit.register(_at_exit)  # a fork child that exits as Python exits


def forget():
    """At the root's report: later fork children send nothing."""
    global _child
    _child = None
