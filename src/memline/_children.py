"""Profiling in child processes (docs/processes.md): the transport.

``python -m memline`` (the root) listens on a Linux abstract-namespace Unix
socket, which leaves no file behind, and puts its configuration into the
environment variable MEMLINE_CHILD (JSON).  Every Python process started
below it reads the variable at interpreter start (memline-children.pth,
installed with the package, runs ``start_from_env``); fork children
inherit the parent's state and are set up again by an at-fork hook.  Each
child connects at start, so the root counts it, and at its exit (atexit,
multiprocessing's finalizers before ``os._exit``, or SIGTERM, which
``Pool.terminate`` sends) sends ``T <pid>\\n`` and its table as a JSON
report, then closes.  A connection that closes without a whole table is a
lost process.  The root merges the tables in C (``_memline._merge_child``).
"""

import json
import os
import signal
import socket
import sys
import threading

from memline import _forkguard

ENV = "MEMLINE_CHILD"
# How long the root waits, at its report, for children still running.
WAIT_SECONDS = 2.0
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


_child = None    # this process's _Child, when it is a child
_sending = threading.Lock()  # held while a table is being sent
_hub = None      # the root's _Hub, in the root only
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
    global _child, _hub, _sending, _wake_fds
    if _hub is not None:
        _hub.forget()
        _hub = None
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


# ---- the root ----

class _Hub:
    """The root's listening socket and the connections of its children.

    Invariant: every accepted connection is in bufs until it closes; then
    its bytes are a table (tables) or it was lost (lost).  The reader
    thread owns the sockets until finish() stops it; then the caller does."""

    def __init__(self, name):
        import selectors
        self.name = name
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind("\0" + name)
        self.sock.listen(1024)
        self.sock.setblocking(False)
        self.wake_r, self.wake_w = socket.socketpair()
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.sock, selectors.EVENT_READ)
        self.sel.register(self.wake_r, selectors.EVENT_READ)
        self.bufs = {}
        self.tables = []   # [(pid, JSON bytes)]
        self.lost = 0
        self.running = 0
        self.thread = threading.Thread(target=self._serve, name="memline-children", daemon=True)
        self.thread.start()

    def _step(self, timeout):
        """Serves what is ready within timeout; False once woken."""
        for key, _ in self.sel.select(timeout):
            if key.fileobj is self.wake_r:
                return False
            if key.fileobj is self.sock:
                self._accept()
                continue
            conn = key.fileobj
            try:
                data = conn.recv(1 << 16)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if data:
                self.bufs[conn] += data
            else:
                self.sel.unregister(conn)
                _close(conn)
                self._ended(self.bufs.pop(conn))
        return True

    def _accept(self):
        import selectors
        while True:
            try:
                conn, _ = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            conn.setblocking(False)
            self.bufs[conn] = bytearray()
            self.sel.register(conn, selectors.EVENT_READ)

    def _ended(self, data):
        head, nl, doc = bytes(data).partition(b"\n")
        if head.startswith(b"T ") and nl and head[2:].isdigit() and doc.rstrip().endswith(b"}"):
            self.tables.append((int(head[2:]), doc))
        elif head != b"N":
            self.lost += 1

    def _serve(self):
        try:
            while self._step(None):
                pass
        except Exception:  # noqa: BLE001 (finish() reports what came)
            pass

    def finish(self):
        """Stops listening: takes what the children sent, waits up to
        WAIT_SECONDS for those still connected, and closes everything.
        Afterwards tables, lost and running (children not waited for) hold
        the result."""
        import time
        try:
            self.wake_w.send(b"x")
        except OSError:
            pass
        self.thread.join()
        self.sel.unregister(self.wake_r)
        deadline = time.monotonic() + WAIT_SECONDS
        self._accept()
        while self.bufs:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self._step(left)
        self._accept()  # children that connected meanwhile and are done
        self._step(0)
        self.running = len(self.bufs)
        self.forget()

    def forget(self):
        """Closes every socket (also in a fork child, where they are copies)."""
        for s in list(self.bufs) + [self.sock, self.wake_r, self.wake_w]:
            _close(s)
        self.bufs = {}
        try:
            self.sel.close()
        except (OSError, ValueError):
            pass


def start_root(prof, backend, native, selection=None):
    """In ``python -m memline``: listens, puts the configuration into the
    environment for the processes the program starts, and arms the fork
    hook.  prof is the root's profiler, which fork children inherit."""
    global _hub, _child
    if _child is not None:
        # started below another memline: this one is a root of its own
        if _child.sock is not None:
            try:
                _child.sock.sendall(b"N\n")
            except OSError:
                pass
            _close(_child.sock)
        _child = None
    name = "memline-%d-%s" % (os.getpid(), os.urandom(8).hex())
    _hub = _Hub(name)
    config = {"socket": name, "backend": backend, "native": native}
    if selection:
        config.update(selection)
    os.environ[ENV] = json.dumps(config)
    _child = _Child(config, prof)  # what a fork child of the root becomes
    _child.pid = -1               # the root itself never sends
    _arm()
    import atexit
    atexit.register(_at_exit)     # a fork child that exits as Python exits


def _end_multiprocessing():
    """What interpreter exit would do to the program's pools and executors,
    done before the report so that their workers' tables are in it:
    executors shut down, daemonic workers terminated (they send their tables
    on SIGTERM), other children joined."""
    futures = sys.modules.get("concurrent.futures.process")
    if futures is not None and hasattr(futures, "_python_exit"):
        try:
            futures._python_exit()
        except Exception:  # noqa: BLE001 (the program's own state; exit would try again)
            pass
    util = sys.modules.get("multiprocessing.util")
    if util is not None and hasattr(util, "_exit_function"):
        try:
            util._exit_function()
        except Exception:  # noqa: BLE001
            pass


class Finished:
    """What came back from the children: tables [(pid, JSON bytes)] in pid
    order, lost (processes that ended without a whole table) and running
    (still connected after WAIT_SECONDS)."""

    def __init__(self, tables, lost, running):
        self.tables, self.lost, self.running = tables, lost, running

    def per_process_text(self, prof, precision, native_columns):
        """--per-process: every process's tables, the root's first, each
        table with a Process: line; before merge()."""
        import io
        from memline import _memline
        text = io.StringIO()
        own = [("Process: %d (memline's)" % os.getpid(), prof)]
        for note, source in own + [("Process: %d" % pid, doc) for pid, doc in self.tables]:
            _memline._show_tables(source, text, precision, bool(native_columns), note)
        return text.getvalue()

    def merge(self, prof):
        """Adds the children's tables into prof's.  A table that is not a
        report (cut short while its process died) counts as lost."""
        from memline import _memline
        good = []
        for pid, doc in self.tables:
            try:
                _memline._merge_child(prof, doc)
                good.append((pid, doc))
            except ValueError:
                self.lost += 1
        self.tables = good
        _memline._children_missing(prof, self.lost, self.running)

    def notes(self):
        """The lines after the report: processes lost, and not waited for."""
        text = ""
        if self.lost:
            text += "Processes lost: %d (ended before sending their tables; " \
                    "killed by a signal?)\n\n" % self.lost
        if self.running:
            text += "Processes still running at the report: %d (waited %g s; their " \
                    "tables are not in it)\n\n" % (self.running, WAIT_SECONDS)
        return text


def finish_root(prof):
    """At the report: ends the program's pools as exit would, stops
    listening and returns what the children sent, as a Finished.  Later
    children find nobody to send to."""
    global _hub, _child
    if _hub is None:
        return Finished([], 0, 0)
    _end_multiprocessing()
    hub, _hub = _hub, None
    _child = None
    os.environ.pop(ENV, None)
    hub.finish()
    return Finished(sorted(hub.tables), hub.lost, hub.running)
