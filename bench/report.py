"""The bench's table: medians of the runs, ratios, and the speed targets
beside the figures they judge, as markdown (printed and saved alike)."""

import datetime
import importlib.metadata
import os
import platform
import statistics
import subprocess

import config

PEERS = ("memory_profiler", "psutil", "memray", "scalene", "numpy")


def fmt_number(x):
    if x < 10:
        return "%.2f" % x
    return "%.1f" % x if x < 100 else "%.0f" % x


def fmt_ratio(x):
    return fmt_number(x) + "x"


def fmt_time(seconds):
    for unit, scale in (("ns", 1e-9), ("us", 1e-6), ("ms", 1e-3)):
        if seconds < scale * 1000:
            return "%.3g %s" % (seconds / scale, unit)
    return "%.3g s" % seconds


class Table:
    """Medians and judgements of one bench run.  results maps (workload,
    setup key) to the child's result dicts; failed maps the same keys to
    why nothing was measured."""

    def __init__(self, workloads, setups, results, failed, import_times, reps, quick):
        self.workloads, self.setups = workloads, setups
        self.results, self.failed = results, failed
        self.import_times, self.reps, self.quick = import_times, reps, quick
        self.default = "memline:" + config.BACKENDS[0][0]
        self.notes = []       # reasons, numbered in order of first use
        self.failures = 0     # targets not met
        self.verdicts = []    # (what, figure, target, PASS/FAIL)

    def per_unit(self, workload, key):
        runs = self.results.get((workload, key))
        if not runs:
            return None
        return statistics.median(r[config.CLOCK] / r["n"] for r in runs)

    def peak_rss(self, workload, key):
        runs = self.results.get((workload, key))
        return statistics.median(r["peak_rss_kib"] for r in runs) * 1024 if runs else None

    def missing(self, workload, key):
        why = self.failed.get((workload, key), "no run succeeded")
        if why not in self.notes:
            self.notes.append(why)
        return "n/a [%d]" % (self.notes.index(why) + 1)

    def judge(self, what, value, text, op, limit):
        """text, with the target beside it when limit is not None."""
        if limit is None:
            return text
        ok = value <= limit if op == "<=" else value >= limit
        self.failures += not ok
        verdict = "PASS" if ok else "FAIL"
        self.verdicts.append((what, text, "%s %g" % (op, limit), verdict))
        return "%s (%s%g %s)" % (text, "≤" if op == "<=" else "≥", limit, verdict)

    def row(self, name, unit):
        targets = config.TARGETS.get(name, {})
        cells = [name + " (" + unit + ")"]
        plain = self.per_unit(name, "plain")
        if plain is None:
            return cells + [self.missing(name, "plain")] + [""] * (len(self.header()) - 2)
        slow = {}
        for s in self.setups:
            t = self.per_unit(name, s.key)
            slow[s.key] = t / plain if t is not None else None

        def slowdown(key, limit=None):
            if slow[key] is None:
                return self.missing(name, key)
            return self.judge(name + ": " + key + " vs plain", slow[key],
                              fmt_ratio(slow[key]), "<=", limit)

        def over(a, b, what, op, limit):
            if slow[a] is None or slow[b] is None:
                return ""
            r = slow[a] / slow[b]
            return self.judge(name + ": " + what, r, fmt_number(r), op, limit)

        mem = self.default
        cells.append(fmt_time(plain))
        for backend, _ in config.BACKENDS:
            key = "memline:" + backend
            cells.append(slowdown(key, targets.get("plain") if key == mem else None))
        if config.NATIVE_OFF:
            cells.append(slowdown("memline:rss:no-native"))
            cells.append(over(mem, "memline:rss:no-native", "memline / no-native", "<=", None))
        cells.append(slowdown("floor"))
        cells.append(over(mem, "floor", "memline / floor", "<=", targets.get("floor")))
        cells.append(slowdown("memory_profiler"))
        cells.append(over("memory_profiler", mem, "memory_profiler / memline", ">=",
                          targets.get("mp")))
        for key in ("memray", "memray-py", "memray-native", "scalene"):
            cells.append(slowdown(key))
        own = self.peak_rss(name, mem)
        if own is None:
            cells.append("")
        else:
            mib = (own - self.peak_rss(name, "plain")) / 2**20
            cells.append(self.judge(name + ": memline's own memory", mib, "%.1f MiB" % mib,
                                    "<=", config.OWN_MEMORY_MIB))
        return cells

    def header(self):
        return (["workload (unit)", "plain / unit"]
                + ["memline " + b for b, _ in config.BACKENDS]
                + (["memline no-native", "native ÷ no-native"] if config.NATIVE_OFF else [])
                + ["floor", "memline ÷ floor", "memory_profiler", "mp ÷ memline",
                   "memray", "memray +py", "memray --native", "scalene", "memline own memory"])

    def render(self):
        rows = [self.header()]
        for w in self.workloads:
            rows.append(self.row(w[0], w[1]))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = ["| " + " | ".join(c.ljust(wd) for c, wd in zip(r, widths)) + " |" for r in rows]
        lines.insert(1, "|" + "|".join("-" * (wd + 2) for wd in widths) + "|")
        lines.append("")
        clock = "CPU" if config.CLOCK == "cpu" else "wall"
        lines.append("Slowdowns: %s time of the profiled call per unit of work, against "
                     "plain; medians of %d run(s).  memline's ratios and targets use the %s "
                     "backend." % (clock, self.reps, config.BACKENDS[0][0]))
        added, cumulative = self.import_times
        if added is None:
            line = "import memline: failed in a child process"
        else:
            line = "import memline: +" + self.judge("import memline", added * 1e3,
                                                    "%.1f ms" % (added * 1e3), "<=",
                                                    config.IMPORT_MS)
            line += " over `python -c pass`"
        if cumulative is not None:
            line += "; -X importtime cumulative %.1f ms" % (cumulative * 1e3)
        lines.append("")
        lines.append(line)
        lines.append("")
        passed = sum(v[3] == "PASS" for v in self.verdicts)
        lines.append("Targets: %d pass, %d fail%s" % (
            passed, self.failures, "".join(
                "\n- FAIL: %s %s (target %s)" % v[:3] for v in self.verdicts if v[3] == "FAIL")))
        if self.notes:
            lines.append("")
            lines.extend("- [%d] %s" % (i + 1, n) for i, n in enumerate(self.notes))
        lines.append("")
        lines.append(self.environment())
        return "\n".join(lines) + "\n"

    def environment(self):
        versions = []
        for name in PEERS:
            try:
                versions.append("%s %s" % (name, importlib.metadata.version(name)))
            except importlib.metadata.PackageNotFoundError:
                versions.append(name + " missing")
        return "%s run, %d rounds, %s; Python %s; %s; memline %s; %s." % (
            "Quick" if self.quick else "Full", self.reps,
            datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            platform.python_version(), _cpu(), _commit(), ", ".join(versions))

    def markdown(self, text):
        return "# memline bench results\n\nWritten by `make bench`; see docs/performance.md.\n\n" + text


def _cpu():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return "%s x%d" % (line.split(":", 1)[1].strip(), os.cpu_count())
    except OSError:
        pass
    return "%s, %d CPUs" % (platform.machine(), os.cpu_count())


def _commit():
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, cwd=os.path.dirname(__file__))
        return out.stdout.strip() or "(no git)"
    except OSError:
        return "(no git)"
