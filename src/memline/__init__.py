"""memline: line-by-line memory profiling for Python, with a C engine.

A drop-in replacement for memory_profiler: decorate a function with
``@profile`` and its memory use is reported line by line.
"""

from memline._memline import (  # noqa: F401  (re-exported API)
    __version__,
    LineProfiler,
    ProfileError,
    TimeStamper,
    choose_backend,
    memory_usage,
    profile,
    show_results,
)

__all__ = [
    "CodeMap",
    "LineProfiler",
    "LogFile",
    "ProfileError",
    "TimeStamper",
    "choose_backend",
    "memory_usage",
    "profile",
    "show_results",
]


class CodeMap(dict):
    """``LineProfiler.code_map``, shaped as memory_profiler's.

    As a dict: each profiled function's code object maps to
    ``{line number: (increment MiB, mem usage MiB, occurrences)}`` for the
    lines that ran.  ``items()`` gives, for each function that ran,
    ``(filename, lines)`` where ``lines`` yields ``(line number, measure or
    None)`` over the function's whole source: what memory_profiler's
    ``show_results`` reads.  A snapshot: it does not change afterwards.
    """

    def __init__(self, blocks):
        super().__init__()
        self._blocks = blocks
        for _filename, code, rows in blocks:
            self[code] = {lineno: m for lineno, m in rows if m is not None}

    def items(self):
        for filename, _code, rows in self._blocks:
            yield filename, iter(rows)


class LogFile:
    """A file-like object that sends report text to the ``logging`` module.

    With ``reportIncrementFlag`` set, only the rows whose increment is
    positive (and the Filename and header lines) are logged, as
    memory_profiler's LogFile does.
    """

    def __init__(self, name=None, reportIncrementFlag=False):
        import logging  # here, not at import: it would double memline's import time
        self.logger = logging.getLogger(name)
        self.reportIncrementFlag = reportIncrementFlag

    def write(self, msg, level=20):  # logging.INFO
        if not self.reportIncrementFlag:
            self.logger.log(level, msg)
        elif "Filename:" in msg or "Line Contents" in msg:
            self.logger.log(level, msg)
        elif "MiB" in msg:
            try:
                increment = float(msg.split("MiB")[1].strip())
            except ValueError:
                return
            if increment > 0:
                self.logger.log(level, msg)

    def flush(self):
        for handler in self.logger.handlers:
            if hasattr(handler, "flush"):
                handler.flush()


def _passthrough(func=None, **_options):
    """``profile`` in processes that multiprocessing spawns from a profiled
    program: they import the program again, and its ``@profile`` must work
    there; only the parent reports."""
    if func is None:
        return _passthrough
    return func


def _install_passthrough():
    import builtins
    if not hasattr(builtins, "profile"):
        builtins.profile = _passthrough
    from memline import _children
    _children.rearm()  # docs/processes.md


class _ChildSetup:
    """Rides in multiprocessing's preparation data to a spawned child, where
    unpickling it installs ``profile`` before the program is imported."""

    def __reduce__(self):
        return (_install_passthrough, ())


class MemitResult:
    """What ``%memit -o`` returns: the peak of each run and the baseline, in MiB."""

    def __init__(self, mem_usage, baseline, repeat, timeout, interval, include_children):
        self.mem_usage = mem_usage
        self.baseline = baseline
        self.repeat = repeat
        self.timeout = timeout
        self.interval = interval
        self.include_children = include_children

    def __str__(self):
        peak = max(self.mem_usage)
        return "peak memory: {:.2f} MiB, increment: {:.2f} MiB".format(
            peak, peak - self.baseline)

    def _repr_pretty_(self, p, cycle):
        p.text("<MemitResult : " + str(self) + ">")


def _exec_in(stmt, ns):
    exec(stmt, ns)


def load_ipython_extension(ip):
    """``%load_ext memline``: the %mprun and %memit magics."""
    import builtins
    import gc
    import io

    from IPython.core.error import UsageError
    from IPython.core.magic import Magics, line_cell_magic, magics_class
    from IPython.core.page import page

    @magics_class
    class MemlineMagics(Magics):
        @line_cell_magic
        def mprun(self, parameter_s="", cell=None):
            """%mprun -f func [-f func2] [-m module] [-T file] [-r] [-c] statement

            Runs the statement with the line profiler on the functions named
            by -f and on what -m names (a selector, docs/selectors.md:
            pkg.module, pkg, pkg.module:Class.method, path/file.py), then
            shows their line report: in Jupyter as the HTML report (text for
            frontends without HTML), in a terminal as text.
            -T FILE also writes it to FILE, -r returns the LineProfiler
            (its to_dict() is the JSON form), -c adds child processes'
            memory.  In cell form the cell body follows the statement."""
            # posix=False keeps the statement's quotes: g("x") stays g("x").
            opts, stmt = self.parse_options(parameter_s, "rf:m:T:c", list_all=True,
                                            posix=False, strict=False)
            if cell is not None:
                stmt += "\n" + cell
            ns = self.shell.user_ns
            funcs = []
            for name in getattr(opts, "f", []):
                try:
                    funcs.append(eval(name, ns, ns))
                except Exception as e:
                    raise UsageError("could not find function %r: %s: %s"
                                     % (name, type(e).__name__, e)) from None
            prof = LineProfiler(include_children="c" in opts)
            for func in funcs:
                try:
                    prof.add_function(func)
                except ProfileError as e:
                    raise UsageError(str(e)) from None
            for selector in getattr(opts, "m", []):
                try:
                    prof.add_module(selector)
                except ValueError as e:
                    raise UsageError(str(e)) from None
            saved = builtins.__dict__.get("profile", None)
            builtins.profile = prof
            message = ""
            try:
                prof.runctx(stmt, ns, ns)
            except SystemExit:
                message = "*** SystemExit exception caught in code being profiled."
            except KeyboardInterrupt:
                message = "*** KeyboardInterrupt exception caught in code being profiled."
            finally:
                if saved is None:
                    del builtins.profile
                else:
                    builtins.profile = saved
            out = io.StringIO()
            show_results(prof, out)
            output = out.getvalue().rstrip()
            if getattr(self.shell, "kernel", None) is not None:
                # Jupyter: the HTML report inline, the text for plain frontends.
                from IPython.display import display
                html = prof._render("html", precision=1, fragment=True)
                display({"text/plain": output, "text/html": html}, raw=True)
            else:
                page(output)
            if message:
                print(message)
            text_file = getattr(opts, "T", [""])[0]
            if text_file:
                with open(text_file, "w", encoding="utf-8") as f:
                    f.write(output)
                print("\n*** Profile printout saved to text file %s. %s" % (text_file, message))
            return prof if "r" in opts else None

        @line_cell_magic
        def memit(self, line="", cell=None):
            """%memit [-r R] [-t T] [-i I] [-c] [-o] [-q] statement

            Measures the peak memory of running the statement: prints
            "peak memory: X MiB, increment: Y MiB" (Y above the memory
            before it ran).  -r runs it R times, -t stops sampling after T
            seconds, -i samples every I seconds, -c adds child processes,
            -o returns a MemitResult, -q prints nothing.  In cell form the
            first line is setup code, run but not measured."""
            opts, stmt = self.parse_options(line, "r:t:i:coq", posix=False, strict=False)
            setup = "pass"
            if cell is not None:
                setup, stmt = stmt or "pass", cell
            repeat = max(int(getattr(opts, "r", 1)), 1)
            timeout = float(getattr(opts, "t", 0)) or None
            interval = float(getattr(opts, "i", 0.1))
            children = "c" in opts
            ns = self.shell.user_ns
            gc.collect()
            _exec_in(setup, ns)
            baseline = memory_usage()[0]
            peaks = [memory_usage((_exec_in, (stmt, ns)), timeout=timeout, interval=interval,
                                  max_usage=True, include_children=children)
                     for _ in range(repeat)]
            result = MemitResult(peaks, baseline, repeat, timeout, interval, children)
            if "q" not in opts:
                print(result)
            return result if "o" in opts else None

    ip.register_magics(MemlineMagics)
