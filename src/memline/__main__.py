"""The memline command: ``python -m memline [options] program [args]``.

It parses the command line and dispatches: a timeline verb (run, attach,
plot, peak, list, rm, clean) or diff goes to the C tool; anything else is a
program to run with ``profile`` in its builtins and the line report printed
at exit (and, with --json or --html, written as JSON or HTML by the C
writers).  Exit status: the program's own, or 2 for memline's usage errors;
after SIGTERM or SIGHUP the report is printed and memline dies of that
signal, so its parent sees what happened.
"""

import argparse
import builtins
import errno
import functools
import io
import os
import signal
import stat
import sys
import threading
import traceback
import types

TIMELINE_VERBS = ("run", "attach", "plot", "peak", "list", "rm", "clean")
C_VERBS = TIMELINE_VERBS + ("diff",)  # what mprof_main runs
USAGE_ERROR = 2


class _UsageError(Exception):
    """A problem with what the user asked memline to do, not with the program."""


class _Stopped(BaseException):
    """SIGTERM or SIGHUP arrived while the program ran.  Raised from the
    signal handler, it unwinds the program as KeyboardInterrupt does, so
    its ``finally`` blocks run and the report is written."""

    def __init__(self, signum):
        BaseException.__init__(self, signum)
        self.signum = signum


class _StopSignals:
    """SIGTERM and SIGHUP turned into a report, then the signal's own
    death.  Installed only where the disposition is still SIG_DFL: an
    inherited SIG_IGN (nohup) stays, and a program that installs its own
    handler replaces this one and decides for itself.  While the program
    runs the first signal raises _Stopped; later (while the report is
    written) it waits for the report; a second signal ends memline at once."""

    NAMES = ("SIGTERM", "SIGHUP")

    def __init__(self):
        self.signum = None
        self.running = True

    def install(self):
        for name in self.NAMES:
            num = getattr(signal, name, None)
            self._take(num, signal.SIG_DFL)
        # A forked child (a multiprocessing worker) is the program's, not
        # memline's: its SIGTERM must kill it at once, as Pool.terminate
        # expects; unwinding it instead can leave it waiting on a lock its
        # dead sibling held.  The guard holds a SIGTERM that comes before
        # the release.
        from memline import _forkguard
        _forkguard.after_in_child(self._release)

    def _release(self):
        for name in self.NAMES + ("SIGINT",):
            num = getattr(signal, name, None)
            try:
                if num is not None and signal.getsignal(num) == self._handler:
                    signal.signal(num, signal.SIG_DFL if name != "SIGINT"
                                  else signal.default_int_handler)
            except (ValueError, OSError):
                pass

    def _take(self, num, only_if):
        try:
            if num is not None and signal.getsignal(num) is only_if:
                signal.signal(num, self._handler)
        except (ValueError, OSError):
            pass  # not the main thread: leave signals alone

    def _handler(self, signum, frame):
        if self.signum is not None:
            _die(signum)
        self.signum = signum
        if self.running:
            raise _Stopped(signum)

    def program_done(self):
        """The program has ended: signals now wait for the report, Ctrl-C
        too (a KeyboardInterrupt would cut the report with a traceback)."""
        self.running = False
        self._take(signal.SIGINT, signal.default_int_handler)

    def report_done(self, status):
        """After the report: dies of the signal that came, if one did
        (Ctrl-C: status 130, as during the program); else status."""
        if self.signum == signal.SIGINT:
            return 130
        if self.signum is not None:
            _die(self.signum)
        return status


def _die(signum):
    """Ends memline by signum with its default action, so the parent sees
    WIFSIGNALED (143 in a shell for SIGTERM), after flushing what is
    buffered."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass
    signal.signal(signum, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signum])
    os.kill(os.getpid(), signum)
    os._exit(128 + signum)  # only if the signal did not end us


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise _UsageError(message + " (see --help)")

    def _print_message(self, message, file=None):
        # argparse drops write errors; `memline --help > /dev/full` must fail
        if message:
            (file or sys.stderr).write(message)


def _parser():
    p = _Parser(
        prog="python -m memline",
        usage="%(prog)s [options] (program.py | -m module | module) [args ...]",
        description="Run a Python program and report the memory use of its "
        "@profile functions line by line, as memory_profiler does. "
        "Timeline verbs: " + ", ".join(TIMELINE_VERBS) + "; and diff, which compares "
        "two --json reports (memline VERB --help).",
    )
    p.add_argument("--precision", type=int, default=3, metavar="N",
                   help="digits after the point in the report (default 3)")
    p.add_argument("-o", "--outfile", metavar="FILE",
                   help="append the report to FILE instead of printing it; FILE.json or "
                        "FILE.html gets the JSON or HTML report instead (replaced)")
    p.add_argument("--json", metavar="FILE",
                   help="also write the report as JSON to FILE (docs/json.md), memory in "
                        "bytes")
    p.add_argument("--html", metavar="FILE",
                   help="also write the report as a self-contained HTML page to FILE")
    p.add_argument("--backend", default="rss", metavar="B",
                   help="memory measure: rss (default), pss, uss, heap (the Python "
                        "heap, from memline's allocator hooks), rss-exact (RSS read at "
                        "every line); memory_profiler's psutil, psutil_pss, psutil_uss, "
                        "posix and tracemalloc are aliases")
    p.add_argument("--pdb-mmem", type=float, metavar="MAXMEM", dest="max_mem",
                   help="enter pdb when memory reaches MAXMEM MiB inside profiled code")
    p.add_argument("--include-children", action="store_true",
                   help="add the memory of child processes")
    p.add_argument("--no-native", action="store_true",
                   help="leave native memory (malloc, mmap: numpy, C extensions) out of the "
                        "heap columns, which then count the Python heap only")
    p.add_argument("--native-columns", action="store_true",
                   help="add Native incr and Native peak: the native part of the heap columns")
    p.add_argument("--timestamp", action="store_true",
                   help="instead of the line report, write a FUNC line (memory and "
                        "time at entry and exit) per call of each @profile function, "
                        "for memline plot")
    p.add_argument("-p", "--profile", action="append", default=[], dest="select",
                   metavar="TARGET",
                   help="also profile TARGET, without decorating it: pkg.module (every "
                        "function in it), pkg (its modules too), pkg.module:func, "
                        "pkg.module:Class.method, path/to/file.py[:func] "
                        "(docs/selectors.md); repeatable")
    p.add_argument("--script", action="store_true",
                   help="profile every function defined in the program's own file")
    p.add_argument("--script-lines", action="store_true",
                   help="as --script, and the program's top-level code too (a table "
                        "named <module>)")
    p.add_argument("--per-process", action="store_true",
                   help="one table per process (this one and each child that ran profiled "
                        "code) instead of their tables merged (docs/processes.md)")
    p.add_argument("-m", dest="module", metavar="MODULE",
                   help="run MODULE as a module, as python -m does")
    # memline run's handshake: a byte on this descriptor once the program
    # is about to start, so a child that cannot start memline is noticed.
    p.add_argument("--ready-fd", type=int, dest="ready_fd", help=argparse.SUPPRESS)
    p.add_argument("--version", action="version", version=_version())
    p.add_argument("program", nargs=argparse.REMAINDER,
                   help="the program (a .py file or a module name) and its arguments")
    return p


def _split_module_args(parser, argv):
    """(memline's arguments, the module's) of argv.  As with python -m,
    everything after '-m MODULE' belongs to the module, also what looks like
    one of memline's options."""
    takes_value = [s for a in parser._actions if a.nargs is None for s in a.option_strings]
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "-m":
            return argv[:i + 2], argv[i + 2:]
        if arg.startswith("-m") and not arg.startswith("--"):  # -mMODULE
            return argv[:i + 1], argv[i + 1:]
        if arg in ("-", "--") or not arg.startswith("-"):
            break  # the program: what follows is its own
        if arg in takes_value or (arg.startswith("--") and "=" not in arg and
                                  any(s.startswith(arg) for s in takes_value)):
            i += 1  # the option's value
        i += 1
    return argv, []


def _version():
    from memline import __version__
    return "memline " + __version__


def _exit_status(code):
    """The status Python gives a SystemExit carrying code."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _without_wrappers(tb):
    """tb without the frames of @profile's wrappers (code named <memline>,
    between a caller and the profiled function: memline's, not the
    program's)."""
    head = prev = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename != "<memline>":
            if prev is None:
                head = tb
            else:
                prev.tb_next = tb
            prev = tb
        tb = tb.tb_next
    if prev is not None:
        prev.tb_next = None
    return head


def _user_traceback(exc):
    """exc's traceback without memline's own frames at its head, nor its
    wrappers' frames anywhere (nor in the exceptions it chains)."""
    tb = exc.__traceback__
    here = os.path.abspath(__file__)
    while tb is not None and os.path.abspath(tb.tb_frame.f_code.co_filename) == here:
        tb = tb.tb_next
    seen = {id(exc)}
    chained = exc.__cause__ or exc.__context__
    while chained is not None and id(chained) not in seen:
        seen.add(id(chained))
        chained.__traceback__ = _without_wrappers(chained.__traceback__)
        chained = chained.__cause__ or chained.__context__
    return _without_wrappers(tb)


def _new_main(**attrs):
    """A fresh __main__ module for the program, installed in sys.modules so
    that pickling and multiprocessing find the program's own globals."""
    main = types.ModuleType("__main__")
    main.__dict__.update(__builtins__=builtins, __cached__=None)
    main.__dict__.update(attrs)
    sys.modules["__main__"] = main
    return main


def _prepare_script(path, args):
    """(code, globals) for a script, with sys set up as python itself does."""
    import importlib.machinery
    abspath = os.path.abspath(path)
    try:
        with open(abspath, "rb") as f:
            source = f.read()
    except OSError as e:
        raise _UsageError("cannot open program %r: %s" % (path, e.strerror)) from None
    sys.argv[:] = [path] + args
    sys.path[0] = os.path.dirname(abspath)
    # Python 3.9+ makes the script's __file__ (and code filenames) absolute;
    # 3.8 keeps them as typed.
    filename = abspath if sys.version_info >= (3, 9) else path
    main = _new_main(
        __file__=filename,
        __loader__=importlib.machinery.SourceFileLoader("__main__", filename),
        __spec__=None, __package__=None)

    def run(before=None):
        code = compile(source, filename, "exec")
        if before is not None:
            before(code)  # the selection sees the program's code before it runs
        exec(code, main.__dict__)
    run.path, run.modname = abspath, "__main__"
    return run


def _prepare_module(name, args):
    import runpy
    sys.path[0] = os.getcwd()
    try:
        _, spec, code = runpy._get_module_details(name)
    except ImportError as e:
        raise _UsageError("cannot run module %r: %s" % (name, e)) from None
    sys.argv[:] = [spec.origin or name] + args
    main = _new_main(__file__=spec.origin, __cached__=spec.cached, __loader__=spec.loader,
                     __spec__=spec, __package__=spec.parent)

    def run(before=None):
        if before is not None:
            before(code)
        exec(code, main.__dict__)
    run.path, run.modname = spec.origin, spec.name  # -p names it by its own name
    return run


def _profile_in_children():
    """Children made by multiprocessing's spawn and forkserver methods import
    the program again in a fresh interpreter; this gives them a ``profile``
    (one that only returns the function) before they do."""
    import multiprocessing.spawn as spawn
    from memline import _ChildSetup
    original = spawn.get_preparation_data

    def get_preparation_data(name):
        data = original(name)
        data["memline_profile"] = _ChildSetup()
        return data

    spawn.get_preparation_data = get_preparation_data


def _join_threads():
    """Waits for the program's non-daemon threads, as interpreter exit does,
    so their lines are in the report."""
    for t in threading.enumerate():
        if t is not threading.main_thread() and not t.daemon:
            t.join()


def _run_program(run):
    """Runs the program; returns its exit status.  Its exceptions print as
    Python prints them, without memline's frames."""
    from memline import ProfileError
    try:
        run()
        _join_threads()
        return 0
    except _Stopped as e:
        return 128 + e.signum
    except SystemExit as e:
        return _exit_status(e.code)
    except ProfileError as e:
        tb = traceback.extract_tb(_user_traceback(e))
        where = " (%s, line %d)" % (tb[-1].filename, tb[-1].lineno) if tb else ""
        print("memline: error: %s%s" % (e, where), file=sys.stderr)
        return USAGE_ERROR
    except BaseException as e:
        traceback.print_exception(type(e), e, _user_traceback(e))
        return 130 if isinstance(e, KeyboardInterrupt) else 1


def _command_line(argv):
    """The command line as the user typed it, for the JSON and HTML reports."""
    orig = getattr(sys, "orig_argv", None)  # 3.10+
    if orig:
        return list(orig)
    head = sys.argv[0] if sys.argv and sys.argv[0] else "memline"
    if os.path.basename(head) == "__main__.py":
        return [sys.executable, "-m", "memline"] + list(argv)
    return [head] + list(argv)


def _outputs(opts):
    """[(format, path)] of the JSON and HTML files to write; opts.outfile is
    cleared when its extension makes it one of them (opts.text_report then
    False: that file takes the text report's place).  Each file's folder
    must exist, so that a run is not lost for want of it."""
    opts.text_report = True
    outputs = [(f, p) for f, p in (("json", opts.json), ("html", opts.html)) if p]
    if opts.outfile:
        ext = os.path.splitext(opts.outfile)[1].lower()
        fmt = {".json": "json", ".html": "html", ".htm": "html"}.get(ext)
        if fmt:
            outputs.append((fmt, opts.outfile))
            opts.outfile = None
            opts.text_report = False
    if opts.per_process and opts.timestamp:
        raise _UsageError("--timestamp writes FUNC lines, not a line report: it does not go "
                          "with --per-process")
    if outputs and opts.timestamp:
        raise _UsageError("--timestamp writes FUNC lines, not a line report: it does not go "
                          "with --json, --html or -o FILE.json/.html")
    for _, path in outputs:
        folder = os.path.dirname(os.path.abspath(path))
        if os.path.isdir(path) or not os.path.isdir(folder):
            raise _UsageError("cannot write the report to %r: %s" % (
                path, "it is a directory" if os.path.isdir(path) else "no such directory"))
    return outputs


def _write_outputs(prof, outputs, precision, command_line):
    from memline import _memline
    for fmt, path in outputs:
        text = prof._render(fmt, precision=precision, command_line=command_line)
        _memline._replace_file(path, text)


def _open_output(path):
    """path opened to append text to, with whether this call created it.
    A regular file is appended to only where it is named itself, never
    through a symbolic link (one planted there would send the report into
    someone's file); a link to a terminal, pipe or device (/dev/stdout) is
    written to, as are FIFOs and devices."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise _UsageError("cannot write the report to %r: %s" % (path, e.strerror)) from None
    if st is not None and stat.S_ISLNK(st.st_mode):
        try:
            target = os.stat(path)
        except OSError:
            target = None
        if target is None or stat.S_ISREG(target.st_mode) or stat.S_ISDIR(target.st_mode):
            raise _UsageError("cannot write the report to %r: it is a symbolic link; name "
                              "the file itself" % path)
        try:
            return open(path, "a", encoding="utf-8", errors="surrogateescape"), False
        except OSError as e:
            raise _UsageError("cannot write the report to %r: %s"
                              % (path, e.strerror)) from None
    flags = os.O_WRONLY | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    created = st is None
    try:
        try:
            fd = os.open(path, flags | (os.O_CREAT | os.O_EXCL if created else 0), 0o666)
        except FileExistsError:
            created = False
            fd = os.open(path, flags)
    except OSError as e:
        why = ("it is a symbolic link; name the file itself" if e.errno == errno.ELOOP
               else e.strerror)
        raise _UsageError("cannot write the report to %r: %s" % (path, why)) from None
    # Append, as memory_profiler does: never overwrite what is there.
    return os.fdopen(fd, "a", encoding="utf-8", errors="surrogateescape"), created


def _append_lines(f, text):
    """Appends text (whole lines) to the file f, each write(2) a run of
    whole lines, so that records stay whole beside another writer of the
    file (memline run's sampler appends MEM lines to it meanwhile).  A
    write cut short by a full disk takes back the line it tore."""
    f.flush()
    fd = f.fileno()
    data = text.encode("utf-8", "surrogateescape")
    pos = 0
    while pos < len(data):
        end = data.rfind(b"\n", pos, pos + (1 << 16))
        end = len(data) if end < 0 else end + 1
        chunk = data[pos:end]
        n = os.write(fd, chunk)
        if n < len(chunk):
            torn = len(chunk) - n
            cut = chunk.rfind(b"\n", 0, n) + 1
            try:
                here = os.lseek(fd, 0, os.SEEK_CUR)
                if os.fstat(fd).st_size == here and stat.S_ISREG(os.fstat(fd).st_mode):
                    os.ftruncate(fd, here - (n - cut))
            except OSError:
                pass
            raise OSError(errno.ENOSPC, "No space left on device (%d bytes not written)" % torn)
        pos = end


def _say_ready(fd):
    """Tells memline run that the program is about to start."""
    if fd is None:
        return
    try:
        os.write(fd, b"1")
        os.close(fd)
    except OSError:
        pass


def _profile_program(opts, command_line):
    from memline import LineProfiler, TimeStamper, _hub, show_results
    if not 0 <= opts.precision <= 12:
        raise _UsageError("--precision must be between 0 and 12")
    outputs = _outputs(opts)
    if opts.max_mem is not None and not opts.max_mem > 0:
        raise _UsageError("--pdb-mmem must be a positive number of MiB")
    try:
        if opts.timestamp:
            prof = TimeStamper(backend=opts.backend, include_children=opts.include_children)
        else:
            prof = LineProfiler(include_children=opts.include_children,
                                backend=opts.backend, max_mem=opts.max_mem,
                                native=False if opts.no_native else None)
    except ValueError as e:
        raise _UsageError(str(e)) from None

    if opts.module:
        run = _prepare_module(opts.module, opts.program)
    elif not opts.program:
        raise _UsageError("no program given (see --help)")
    elif opts.program[0].endswith(".py"):
        run = _prepare_script(opts.program[0], opts.program[1:])
    else:
        run = _prepare_module(opts.program[0], opts.program[1:])

    sel = _selection(opts, run)

    stops = _StopSignals()
    stops.install()
    out = None
    try:
        if opts.outfile:
            out, created = _open_output(opts.outfile)
        from memline import _memline
        heap = _memline._heap_info()
        if not opts.timestamp and not heap["available"]:
            print("memline: warning: no heap columns: %s" % heap["unavailable_reason"],
                  file=sys.stderr)
        builtins.profile = prof
        if not opts.timestamp:  # children profile too (docs/processes.md)
            _hub.start_root(prof, opts.backend, False if opts.no_native else None,
                            _child_selection(opts, sel, run))
        if sel is not None:
            sel.attach(prof)
            run = functools.partial(run, before=functools.partial(sel.add_main_code,
                                                                  modname=run.modname))
        _profile_in_children()
        _say_ready(opts.ready_fd)
    except _Stopped as e:
        # before the program ran: nothing to report, nothing of ours to keep
        if out is not None:
            out.close()
            if created and os.path.getsize(opts.outfile) == 0:
                os.unlink(opts.outfile)
        _die(e.signum)
    # One _Stopped at most is ever raised (a second signal ends memline):
    # wherever it lands, up to program_done, it ends the program.
    try:
        try:
            if sel is not None:
                prof.enable_by_count()  # selected code charges lines all the run
            status = _run_program(run)
        finally:
            stops.program_done()
            if sel is not None:
                prof.disable_by_count()
    except _Stopped as e:
        status = 128 + e.signum
    try:
        sys.stdout.flush()
    except (OSError, ValueError, AttributeError):
        pass
    kids = _hub.finish_root(prof)
    per_process = (kids.per_process_text(prof, opts.precision, opts.native_columns)
                   if opts.per_process else None)
    kids.merge(prof)
    try:
        # First, so that a closed stdout does not cost them.
        _write_outputs(prof, outputs, opts.precision, command_line)
    except OSError as e:
        print("memline: error: cannot write the report: %s" % e, file=sys.stderr)
        status = status or 1
    try:
        stream = out if out else sys.stdout
        if opts.timestamp and out:
            text = io.StringIO()
            prof.show_results(stream=text)
            _append_lines(out, text.getvalue())
        elif opts.timestamp:
            prof.show_results(stream=stream)
        elif opts.text_report:
            if per_process is not None:
                stream.write(per_process)
            else:
                show_results(prof, stream=stream, precision=opts.precision,
                             native_columns=opts.native_columns)
            stream.write(kids.notes())
        if out:
            out.close()
        else:
            sys.stdout.flush()
        for text in sel.unmatched() if sel is not None else ():
            print("memline: warning: -p %s matched nothing" % text, file=sys.stderr)
    except (OSError, ValueError) as e:
        # The program closed stdout, the reader of the pipe went away, the
        # disk is full: say so in one line; the program's status still counts.
        print("memline: error: cannot write the report: %s" % e, file=sys.stderr)
        _drop_output(out)
        return stops.report_done(status or 1)
    return stops.report_done(status)


def _selection(opts, run):
    """The Selection of -p, --script and --script-lines (memline._select), or
    None without them.  A selector that cannot be parsed is a usage error,
    before the program runs."""
    if not (opts.select or opts.script or opts.script_lines):
        return None
    if opts.timestamp:
        raise _UsageError("--timestamp records @profile functions only: it does not go "
                          "with -p, --script or --script-lines")
    from memline._select import Selection
    script = run.path if (opts.script or opts.script_lines) else None
    if script is None and (opts.script or opts.script_lines):
        raise _UsageError("--script needs a program with a file")
    try:
        return Selection(opts.select, script=script, script_lines=opts.script_lines)
    except ValueError as e:
        raise _UsageError(str(e)) from None


def _child_selection(opts, sel, run):
    """What the children need to select the same code (docs/processes.md)."""
    if sel is None:
        return None
    return {"targets": sel.spec(), "script_lines": opts.script_lines,
            "script": run.path if (opts.script or opts.script_lines) else None}


def _drop_output(out):
    """After a failed write of the report: what could not be written is
    dropped, so that closing the file, or Python's last flush of stdout at
    exit, does not fail a second time ("Exception ignored ...")."""
    if out is not None:
        try:
            out.close()
        except (OSError, ValueError):
            pass
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def _timeline(argv):
    from memline import _memline
    if not hasattr(_memline, "_mprof_main"):
        raise _UsageError("the timeline verbs are not built into this memline")
    return _memline._mprof_main(["memline"] + list(argv))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    command_line = _command_line(argv)
    try:
        if argv and argv[0] in C_VERBS:
            return _timeline(argv)
        parser = _parser()
        ours, module_args = _split_module_args(parser, argv)
        try:
            try:
                opts = parser.parse_args(ours)
            except SystemExit as e:
                # --help, --version: what they print must have been written
                if e.code not in (0, None):
                    raise
                sys.stdout.flush()
                return 0
        except OSError as err:
            print("memline: error: cannot write to standard output: %s"
                  % (err.strerror or err), file=sys.stderr)
            _drop_output(None)
            return 1
        if opts.module is not None:
            opts.program = module_args
        return _profile_program(opts, command_line)
    except _UsageError as e:
        print("memline: error: %s" % e, file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        return 130  # Ctrl-C before the program ran: nothing to report


if __name__ == "__main__":
    sys.exit(main())
