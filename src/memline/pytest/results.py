"""results: what a run keeps of its measurements -- the JSON Lines file, the
peaks in pytest's cache for --memline-fail-on-increase, and the summary of
the highest peaks.

The JSON file is only ever appended to: each record is one line, written
whole with one write() on a descriptor opened with O_APPEND, as its test
finishes, so a run that is killed keeps every record it had, and an
existing file is never truncated.  docs/pytest.md has the schema.
"""

import json
import os

from memline.pytest.sizes import mib

SCHEMA = 1
CACHE_KEY = "memline/peaks"


class JsonLines:
    """An append-only JSON Lines file.  open() raises OSError; write() too
    (disk full), after which the file holds whole records only up to the
    last one written."""

    def __init__(self, path):
        self.path = path
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)

    def write(self, record):
        data = (json.dumps(record, separators=(", ", ": ")) + "\n").encode("utf-8")
        view = memoryview(data)
        while view:
            n = os.write(self.fd, view)
            view = view[n:]

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def last_peaks(config):
    """{node id: peak bytes} from the last run that passed, or {}."""
    cache = getattr(config, "cache", None)
    if cache is None:
        return {}
    peaks = cache.get(CACHE_KEY, {})
    return peaks if isinstance(peaks, dict) else {}


def save_peaks(config, peaks):
    """Adds this run's peaks to the cache; tests that did not run keep theirs."""
    cache = getattr(config, "cache", None)
    if cache is None or not peaks:
        return
    merged = dict(last_peaks(config))
    merged.update(peaks)
    cache.set(CACHE_KEY, merged)


def summary_lines(records, n):
    """The n records with the highest peak, each as two lines: the peak and
    the node id, then the line the peak was on."""
    best = sorted(records, key=lambda r: (-r["peak"], r["node_id"]))[:n]
    lines = []
    for r in best:
        lines.append("%12s  %s" % (mib(r["peak"]), r["node_id"]))
        line = r.get("line")
        if line:
            lines.append("%12s  %s:%d: %s" % ("", line["file"], line["lineno"], line["source"]))
        else:
            lines.append("%12s  (no line of the test allocated)" % "")
    return lines
