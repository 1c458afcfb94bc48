"""Profiling in child processes (docs/processes.md): the root's side.

``python -m memline`` (the root) listens on a Linux abstract-namespace Unix
socket, which leaves no file behind, puts its configuration into the
environment variable MEMLINE_CHILD (JSON) for the processes the program
starts (memline._children is their side), and reads their connections on a
thread of its own.  At the report it takes the tables that came and merges
them in C (``_memline._merge_child``).
"""

import json
import os
import socket
import sys
import threading

from memline import _children, _forkguard

ENV = _children.ENV
# How long the root waits, at its report, for children still running.
WAIT_SECONDS = 2.0
_hub = None  # the root's _Hub, in the root only
_armed = False  # _forget_in_child is registered


def _close(sock):
    try:
        sock.close()
    except OSError:
        pass


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
    global _hub, _armed
    name = "memline-%d-%s" % (os.getpid(), os.urandom(8).hex())
    _hub = _Hub(name)
    if not _armed:
        _armed = True
        _forkguard.after_in_child(_forget_in_child)
    config = {"socket": name, "backend": backend, "native": native}
    if selection:
        config.update(selection)
    os.environ[ENV] = json.dumps(config)
    _children.become_root(config, prof)


def _forget_in_child():
    """A fork child of the root is no root: its copies of the sockets close."""
    global _hub
    if _hub is not None:
        _hub.forget()
        _hub = None


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
        report (cut short while its process died) counts as lost.  Without
        children (--timestamp has none: prof is a TimeStamper) nothing."""
        if not (self.tables or self.lost or self.running):
            return
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
    global _hub
    if _hub is None:
        return Finished([], 0, 0)
    _end_multiprocessing()
    hub, _hub = _hub, None
    _children.forget()
    os.environ.pop(ENV, None)
    hub.finish()
    return Finished(sorted(hub.tables), hub.lost, hub.running)
