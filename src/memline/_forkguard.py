"""The stop signals held across fork, until memline's after-fork hooks ran.

Between fork() and the end of the after-fork hooks a child still has its
parent's signal handlers (``python -m memline``'s report handler) and its
parent's wakeup fd.  A SIGTERM there (``Pool.terminate`` sends one to a
worker that is still starting) ran the report handler in the child, or was
written into the parent's wakeup pipe, where the parent's watcher took it
for its own and ended the parent; CPython also drops a signal that comes
before its own after-fork reset, which left the worker running and
``Pool.terminate`` joining it for ever.  So the forking thread blocks the
stop signals before the fork and unblocks them in the parent at once, and
in the child after every hook registered here has run: a signal that came
meanwhile is delivered then, to the child's own handlers."""

import contextlib
import os
import signal
import threading

_SIGNALS = tuple(getattr(signal, n) for n in ("SIGTERM", "SIGHUP", "SIGINT")
                 if hasattr(signal, n))
_hooks = []    # run in the child in this order, signals blocked
_saved = {}    # thread ident -> its mask before the fork
_installed = False


def after_in_child(hook):
    """Runs hook in every fork child of this process, before the stop
    signals that came meanwhile are delivered.  hook must not raise."""
    global _installed
    _hooks.append(hook)
    if not _installed and hasattr(os, "register_at_fork") and hasattr(signal, "pthread_sigmask"):
        _installed = True
        os.register_at_fork(before=_block, after_in_parent=_unblock, after_in_child=_child)


@contextlib.contextmanager
def held():
    """The stop signals held in this thread for the with block."""
    _block()
    try:
        yield
    finally:
        _unblock()


def _block():
    try:
        _saved[threading.get_ident()] = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    except (OSError, ValueError):
        pass


def _unblock():
    old = _saved.pop(threading.get_ident(), None)
    if old is not None:
        try:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)
        except (OSError, ValueError):
            pass


def _child():
    try:
        for hook in _hooks:
            hook()
    finally:
        # the child's only thread is the one that forked, with the same ident
        _unblock()
        _saved.clear()
