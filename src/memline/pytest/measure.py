"""measure: one test's call phase under memline's heap watch and line profiler.

The heap watch (``_memline._heap_watch_begin/read/end``) follows every byte
the process's threads allocate and free, Python objects and native memory
alike, while a profiling session is on; a LineProfiler on the test function
(and on the --memline-profile targets) keeps that session on and gives the
line report.  Everything is in bytes, relative to the watch's level when the
call phase began.
"""

import functools
import gc
import inspect
import io

import memline
from memline import _memline


def function_of(obj):
    """The function whose lines the report shows: obj without the wrappers
    that functools.wraps marks (pytest-asyncio's, the user's decorators)."""
    try:
        obj = inspect.unwrap(obj)
    except ValueError:  # a __wrapped__ cycle
        pass
    return getattr(obj, "__func__", obj)


class Measurement:
    """One test's call phase.

    begin() starts the profiler and the watch, end() stops them; in between
    the test runs once, or ``runs`` times through repeat() for limit_leaks.
    After end(): peak (the highest the heap rose above its start), net (where
    it ended, above its start), levels (for repeats: what it held after each
    run, after gc.collect(), above its start), and the profiler's report."""

    def __init__(self, func, targets, runs):
        self.runs = runs
        self.prof = memline.LineProfiler()
        self.no_report = None  # why the test function has no line report
        try:
            self.prof.add_function(func)
        except Exception as e:  # no source (built in, generated), not a function
            self.no_report = "%s: %s" % (type(e).__name__, e)
        if targets is not None:
            targets.attach(self.prof)  # a memline._select.Selection
        self.start = 0
        self.high = 0
        self.level = 0
        self.levels = []
        self.on = False

    def begin(self):
        if self.runs > 1:
            gc.collect()  # earlier garbage, freed in run 1, would look like run 1 shrank
        self.prof.enable()  # the session: allocator hooks in, lines traced
        self.start = self.high = _memline._heap_watch_begin()
        self.on = True

    def _read(self):
        level, peak = _memline._heap_watch_read()
        self.high = max(self.high, peak)
        self.level = level
        return level

    def end(self):
        if not self.on:
            return
        self.on = False
        try:
            self._read()
        finally:
            _memline._heap_watch_end()
            self.prof.disable()

    def _settle(self):
        gc.collect()
        self.levels.append(self._read() - self.start)

    def repeat(self, obj):
        """obj, made to run self.runs times per call, the heap held read
        after each run: for limit_leaks.  Async when obj is (an async test
        that no plugin has turned into a function yet)."""
        runs = self.runs
        if inspect.iscoroutinefunction(obj):
            @functools.wraps(obj)
            async def repeated_async(*args, **kwargs):
                result = await obj(*args, **kwargs)
                self._settle()
                for _ in range(runs - 1):
                    await obj(*args, **kwargs)
                    self._settle()
                return result
            return repeated_async

        @functools.wraps(obj)
        def repeated(*args, **kwargs):
            result = obj(*args, **kwargs)
            self._settle()
            for _ in range(runs - 1):
                obj(*args, **kwargs)
                self._settle()
            return result
        return repeated

    @property
    def peak(self):
        return self.high - self.start

    @property
    def net(self):
        return self.level - self.start

    @property
    def leaked(self):
        """What the heap held after the last run beyond what it held after
        the first, or None when the runs did not all finish."""
        if len(self.levels) < max(self.runs, 2):
            return None
        return self.levels[-1] - self.levels[0]

    def report(self, precision=3):
        """memline's line report, as show_results prints it."""
        out = io.StringIO()
        memline.show_results(self.prof, out, precision=precision)
        return out.getvalue()

    def heap_rows(self):
        """[(filename, lineno, occurrences, heap incr, heap peak)], bytes."""
        return self.prof._heap_rows()

    def release(self):
        self.prof = None
