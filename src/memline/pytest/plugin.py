"""plugin: the part of memline's pytest plugin that measures.

Registered (by memline.pytest) only when an option or a marked test asks
for it.  Each measured test's call phase runs under a Measurement; its
makereport turns a limit that was passed into a failed test whose text is
the message and the line report.  Under pytest-xdist the workers measure and
send their figures on the report (``report.memline``); the process that
reports (the controller, or the only process) writes the JSON file, the
cache and the summary.
"""

import uuid

import pytest

import memline
from memline import _memline
from memline.pytest import report as reportmod
from memline.pytest.marks import Spec, read_spec
from memline.pytest.measure import Measurement, function_of
from memline.pytest.results import JsonLines, last_peaks, save_peaks, summary_lines, SCHEMA
from memline.pytest.sizes import mib, parse_size

# An increase smaller than this is noise, not a regression: a test's peak
# moves by up to a few KiB from run to run (pytest's own bookkeeping, dict and
# string caches), which is many percent of a small test's peak.
INCREASE_FLOOR = 64 * 1024
DEFAULT_TOP = 5

_MEASUREMENT = pytest.StashKey()
_SPEC = pytest.StashKey()


class MemlinePlugin:
    """every_test: measure every test (an option asked for memline), or
    only those whose markers ask (read_specs) -- then no summary, JSON or
    cache, which belong to runs that measure everything."""

    def __init__(self, config, every_test):
        self.config = config
        self.every_test = every_test
        self.worker = getattr(config, "workerinput", None)
        heap = _memline._heap_info()
        if not heap["available"]:
            # Every figure would be 0 and every limit would pass.
            raise pytest.UsageError("memline: cannot measure the heap here: %s"
                                    % heap["unavailable_reason"])
        opt = config.option
        self.default = None
        if opt.memline_limit is not None:
            try:
                self.default = (parse_size(opt.memline_limit), opt.memline_limit)
            except ValueError as e:
                raise pytest.UsageError("memline: --memline-limit: %s" % e)
        self.top = DEFAULT_TOP if opt.memline_top is None else opt.memline_top
        if self.top < 0:
            raise pytest.UsageError("memline: --memline-top: must be 0 or more, not %d" % self.top)
        self.increase = opt.memline_fail_on_increase
        if self.increase is not None:
            if self.increase < 0:
                raise pytest.UsageError("memline: --memline-fail-on-increase: must be 0 or "
                                        "more, not %g" % self.increase)
            if getattr(config, "cache", None) is None:
                raise pytest.UsageError("memline: --memline-fail-on-increase needs pytest's "
                                        "cache, which -p no:cacheprovider turns off")
        self.target_names = list(opt.memline_profile or ())
        self.targets = None
        self.baseline = None
        self.records = []
        self.peaks = {}
        self.session = uuid.uuid4().hex
        self.json = None
        if opt.memline_json and self.worker is None:
            path = config.invocation_params.dir / opt.memline_json
            try:
                self.json = JsonLines(str(path))
            except OSError as e:
                raise pytest.UsageError("memline: --memline-json: cannot open %s: %s"
                                        % (path, e.strerror or e))

    # ---- start -----------------------------------------------------------

    def pytest_report_header(self, config):
        # One empty session first: whether native memory can be counted is
        # known once the native hooks have tried to go in.
        probe = memline.LineProfiler()
        probe.enable()
        probe.disable()
        info = _memline._native_info()
        if not info["default"]:
            what = "Python heap only (native memory: off, MEMLINE_NATIVE=0)"
        elif info["unavailable_reason"]:
            what = "Python heap only (native memory: %s)" % info["unavailable_reason"]
        else:
            what = "Python and native heap"
        line = "memline: measuring every test's call phase: %s, every thread" % what
        if self.default is not None:
            line += "; default limit %s (--memline-limit %s)" % (mib(self.default[0]),
                                                                 self.default[1])
        return [line]

    def pytest_collection_finish(self, session):
        self._load_targets()

    def _load_targets(self):
        """The --memline-profile selectors (docs/selectors.md: the syntax of
        python -m memline -p) as one Selection, which each measured test's
        profiler attaches.  A module named is imported now, so that a name
        that cannot be imported is a usage error rather than a report that
        silently lacks the code under test."""
        if self.targets is not None:
            return
        import importlib
        from memline._select import Selection
        try:
            selection = Selection(self.target_names)
        except ValueError as e:
            raise pytest.UsageError("memline: --memline-profile: %s" % e)
        for target, name in zip(selection.targets, self.target_names):
            if target.kind != "module":
                continue
            try:
                importlib.import_module(target.module)
            except Exception as e:
                raise pytest.UsageError("memline: --memline-profile %s: cannot import it: %s: %s"
                                        % (name, type(e).__name__, e))
        self.targets = selection

    # ---- each test -------------------------------------------------------

    def read_specs(self, items):
        """Reads every item's markers and keeps the Spec of each test to
        measure; returns how many there are.  A malformed marker is a usage
        error; in an xdist worker, where a usage error would crash the
        worker, it is a collection error of that test, and nothing runs."""
        n = 0
        for item in items:
            try:
                spec = read_spec(item, self.default)
            except pytest.UsageError as e:
                if self.worker is None:
                    raise
                from _pytest.reports import CollectReport
                self.config.hook.pytest_collectreport(
                    report=CollectReport(item.nodeid, "failed", str(e), []))
                items[:] = []
                return 0
            if spec is None and self.every_test:
                spec = Spec()
            if spec is not None:
                item.stash[_SPEC] = spec
                n += 1
        return n

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_pyfunc_call(self, pyfuncitem):
        spec = pyfuncitem.stash.get(_SPEC, None)
        if spec is None or _MEASUREMENT in pyfuncitem.stash:  # not asked, or called again inside
            yield
            return
        self._load_targets()
        obj = pyfuncitem.obj
        m = Measurement(function_of(obj), self.targets, spec.runs)
        pyfuncitem.stash[_MEASUREMENT] = (m, spec)
        if spec.runs > 1:
            pyfuncitem.obj = m.repeat(obj)
        m.begin()
        try:
            yield
        finally:
            m.end()
            pyfuncitem.obj = obj

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        if call.when != "call":
            return
        held = item.stash.get(_MEASUREMENT, None)
        if held is None:
            return
        del item.stash[_MEASUREMENT]
        m, spec = held
        rep = outcome.get_result()
        try:
            self._judge(item, rep, m, spec)
        finally:
            m.release()

    def _judge(self, item, rep, m, spec):
        failures = []
        kinds = []
        checked = rep.outcome == "passed" and not hasattr(rep, "wasxfail")
        if checked and spec.limit is not None and m.peak > spec.limit:
            kinds.append("memory")
            failures.append("%s rose %s above its start; limit %s (%s)" % (
                item.name, mib(m.peak), mib(spec.limit), spec.limit_source))
        leaked = m.leaked
        if checked and spec.leak_limit is not None and leaked is not None \
                and leaked > spec.leak_limit:
            kinds.append("leaks")
            failures.append(
                "%s still held %s more after run %d than after run 1; limit %s (%s)\n"
                "held after each run (after gc.collect()), above its start: %s" % (
                    item.name, mib(leaked), spec.runs, mib(spec.leak_limit), spec.leak_source,
                    ", ".join(mib(x) for x in m.levels)))
        last = None
        if self.increase is not None:
            if self.baseline is None:
                self.baseline = last_peaks(self.config)
            last = self.baseline.get(item.nodeid)
            if not isinstance(last, int):
                last = None
            if checked and last is not None and last > 0 and m.peak - last > INCREASE_FLOOR \
                    and (m.peak - last) * 100.0 > self.increase * last:
                kinds.append("increase")
                failures.append("%s peaked %s, %.1f%% above the last run's %s; the most "
                                "allowed is %g%% (--memline-fail-on-increase)" % (
                                    item.name, mib(m.peak), (m.peak - last) * 100.0 / last,
                                    mib(last), self.increase))
        rows = m.heap_rows()
        if failures:
            text = m.report()
            if self.config.option.verbose < 0:
                keep = {(r[0], r[1]) for r in reportmod.worst_rows(rows)}
                text = reportmod.shorten(text, keep)
            if m.no_report:
                text = "(no line report: %s)\n" % m.no_report
            rep.outcome = "failed"
            rep.longrepr = "\n".join(failures) + "\n\n" + text.rstrip("\n") + "\n"
        rep.memline = {
            "peak": m.peak,
            "net": m.net,
            "limit": spec.limit,
            "leak_limit": spec.leak_limit,
            "leaked": leaked if spec.leak_limit is not None else None,
            "runs": spec.runs,
            "last_peak": last,
            "failures": kinds,
            "line": reportmod.top_line(rows, self.config.rootpath),
            "worker": self.worker["workerid"] if self.worker else None,
        }

    # ---- the reporting process -------------------------------------------

    def pytest_runtest_logreport(self, report):
        data = getattr(report, "memline", None)
        if self.worker is not None or data is None or report.when != "call":
            return
        record = {"schema": SCHEMA, "session": self.session, "node_id": report.nodeid,
                  "outcome": report.outcome, "duration": round(report.duration, 6)}
        record.update(data)
        self.records.append(record)
        self.peaks[report.nodeid] = data["peak"]
        if self.json is not None:
            self.json.write(record)

    def pytest_terminal_summary(self, terminalreporter):
        if self.worker is not None or not self.every_test or not self.top or not self.records:
            return
        n = min(self.top, len(self.records))
        terminalreporter.write_sep("=", "memline: the %d test%s with the highest peak" % (
            n, "s" if n > 1 else ""))
        for line in summary_lines(self.records, n):
            terminalreporter.write_line(line)

    def pytest_sessionfinish(self, session, exitstatus):
        if self.worker is not None:
            return
        if self.json is not None:
            self.json.close()
        if self.every_test and int(exitstatus) == 0:
            save_peaks(self.config, self.peaks)
