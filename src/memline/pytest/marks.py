"""marks: what a test asks for, read from its markers and the options.

``limit_memory`` and ``limit_leaks`` have pytest-memray's names and
arguments, so tests written for it run unchanged.  A marker is read where
pytest puts it: on one parameter (``pytest.param(..., marks=...)``), which
wins, or on the function, its class or module, the closest first.  Anything
malformed is a usage error at collection time that names the test.
"""

import pytest

from memline.pytest.sizes import parse_size

# The runs of limit_leaks when the marker does not say: the first run warms
# caches and imports, and the two after it show whether memory keeps growing.
DEFAULT_RUNS = 3

MARKERS = (
    "limit_memory(limit, current_thread_only=False): memline fails the test when the heap "
    "(Python and native, every thread) rises more than `limit` ('24 MB', '64 MiB') above its "
    "level at the start of the test's call phase.",
    "limit_leaks(location_limit, runs=%d, filter_fn=None): memline runs the test body `runs` "
    "times and fails it when the heap still held after the later runs, after gc.collect(), "
    "grows by more than `location_limit` over what it held after the first." % DEFAULT_RUNS,
)


class Spec:
    """One test's limits, in bytes.

    limit: the most the heap may rise above its start (None: no limit);
    limit_source: where it came from, as the user wrote it
    ("limit_memory: 24 MB", "--memline-limit: 50MB"); leak_limit and
    leak_source: the same for limit_leaks; runs: how many times the body
    runs (1 unless limit_leaks asks for more)."""

    def __init__(self, limit=None, limit_source=None, leak_limit=None, leak_source=None, runs=1):
        self.limit = limit
        self.limit_source = limit_source
        self.leak_limit = leak_limit
        self.leak_source = leak_source
        self.runs = runs


def _fail(item, marker, message):
    raise pytest.UsageError("memline: %s: %s: %s" % (item.nodeid, marker, message))


def _one_size(item, mark, name):
    """The size argument of mark (positional or by name), in bytes."""
    if len(mark.args) > 1:
        _fail(item, mark.name, "takes one size, got %d arguments" % len(mark.args))
    if mark.args:
        text = mark.args[0]
    elif name in mark.kwargs:
        text = mark.kwargs[name]
    else:
        _fail(item, mark.name, "needs a size, such as %s(\"24 MB\")" % mark.name)
    try:
        return parse_size(text), text
    except ValueError as e:
        _fail(item, mark.name, str(e))


def _check_kwargs(item, mark, allowed):
    unknown = sorted(set(mark.kwargs) - set(allowed))
    if unknown:
        _fail(item, mark.name, "unknown argument%s %s (it takes %s)" % (
            "s" if len(unknown) > 1 else "", ", ".join(unknown), ", ".join(allowed)))


def _closest(item, name):
    """The marker name that applies to item: one given with its parameter
    (pytest.param(..., marks=...)) before one on the function, its class or
    module, which pytest's get_closest_marker would put first."""
    callspec = getattr(item, "callspec", None)
    for mark in getattr(callspec, "marks", None) or ():
        if mark.name == name:
            return mark
    return item.get_closest_marker(name)


def read_spec(item, default=None):
    """item's Spec from its markers; default is (bytes, text) of
    --memline-limit or None.  Returns None when the test asks for nothing.
    Raises pytest.UsageError when a marker is malformed."""
    memory = _closest(item, "limit_memory")
    leaks = _closest(item, "limit_leaks")
    if memory is None and leaks is None and default is None:
        return None
    spec = Spec()
    if memory is not None:
        # current_thread_only is pytest-memray's; memline always counts
        # every thread (docs/pytest.md).
        _check_kwargs(item, memory, ("limit", "current_thread_only"))
        spec.limit, text = _one_size(item, memory, "limit")
        spec.limit_source = "limit_memory: %s" % (text,)
    elif default is not None:
        spec.limit, text = default
        spec.limit_source = "--memline-limit: %s" % (text,)
    if leaks is not None:
        # filter_fn is pytest-memray's filter of allocation stacks; memline
        # measures what the heap holds, which has no stacks to filter.
        _check_kwargs(item, leaks, ("location_limit", "runs", "filter_fn"))
        spec.leak_limit, text = _one_size(item, leaks, "location_limit")
        spec.leak_source = "limit_leaks: %s" % (text,)
        runs = leaks.kwargs.get("runs", DEFAULT_RUNS)
        if isinstance(runs, bool) or not isinstance(runs, int) or runs < 2:
            _fail(item, "limit_leaks", "runs must be a whole number, at least 2 (the first "
                  "run warms caches), not %r" % (runs,))
        spec.runs = runs
    return spec
