"""memory_usage(): each form of proc, each return shape, run-once, the
sampler thread's lifetime, timeout, and bad arguments (the rest of
memory_profiler's surface)."""

import io
import os
import subprocess
import sys
import threading
import time

import pytest

from _surface import MEM, at_least_here, near_here, rss_mib, task_ids
from memline import memory_usage

MiB = 1 << 20

# A child that holds 40 MiB for a while, then exits.
HOLDER = "import time; x = b'1' * (40 << 20); print('ready', flush=True); time.sleep({secs})"


def holder(secs, wait=False):
    """A Popen of HOLDER; with wait, returned once it holds its 40 MiB."""
    p = subprocess.Popen([sys.executable, "-c", HOLDER.format(secs=secs)],
                         stdout=subprocess.PIPE, text=True)
    if wait:
        assert p.stdout.readline() == "ready\n"
    return p


def finish(p):
    p.kill()
    p.wait()
    p.stdout.close()


class Calls:
    """A function that counts its calls and returns a marker object."""

    def __init__(self):
        self.calls = []
        self.result = object()

    def __call__(self, *args, **kw):
        self.calls.append((args, kw))
        return self.result


def is_mib_list(value):
    return (isinstance(value, list) and len(value) >= 1
            and all(isinstance(v, float) and v > 0 for v in value))


# ---- proc forms -------------------------------------------------------------

def test_callable_runs_once_and_returns_mib_list():
    f = Calls()
    usage = memory_usage(f)
    assert f.calls == [((), {})]
    assert is_mib_list(usage)
    assert len(usage) >= 2
    # the samples are this process's RSS
    assert near_here(max(usage), rss_mib(), tol=20)


@pytest.mark.parametrize("proc, expected", [
    (lambda f: (f,), ((), {})),
    (lambda f: (f, (1, 2)), ((1, 2), {})),
    (lambda f: (f, [1, 2]), ((1, 2), {})),
    (lambda f: (f, (1,), {"k": 3}), ((1,), {"k": 3})),
    (lambda f: (f, (), {"k": 3}), ((), {"k": 3})),
])
def test_tuple_forms_pass_args_and_kw(proc, expected):
    f = Calls()
    usage = memory_usage(proc(f))
    assert f.calls == [expected]
    assert is_mib_list(usage) and len(usage) >= 2


def test_self_pid_forms_give_one_sample_of_own_rss():
    for proc in (-1, os.getpid()):
        usage = memory_usage(proc)
        assert is_mib_list(usage) and len(usage) == 1, (proc, usage)
        assert near_here(usage[0], rss_mib(), tol=10)
    default = memory_usage()
    assert is_mib_list(default) and len(default) == 1


def test_pid_with_timeout_samples_every_interval():
    t0 = time.monotonic()
    usage = memory_usage(-1, interval=0.1, timeout=0.35)
    elapsed = time.monotonic() - t0
    assert is_mib_list(usage)
    assert 2 <= len(usage) <= 6, usage
    assert 0.3 <= elapsed < 1.5


def test_other_pid_is_sampled():
    p = holder(5.0, wait=True)
    try:
        usage = memory_usage(p.pid, interval=0.05, timeout=0.3)
        assert is_mib_list(usage) and len(usage) >= 3
        assert min(usage) >= 40
        assert p.poll() is None  # the process is left alone
    finally:
        finish(p)


def test_popen_is_sampled_until_it_exits():
    p = holder(0.6)
    t0 = time.monotonic()
    usage = memory_usage(p, interval=0.05)
    elapsed = time.monotonic() - t0
    p.wait(timeout=2)  # sampling ended because the process did (or was exiting)
    finish(p)
    assert isinstance(usage, list) and all(isinstance(v, float) for v in usage)
    assert len(usage) >= 5
    assert max(usage) >= 40
    assert 0.5 <= elapsed < 10


def test_nonexistent_pid_is_a_clear_error():
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()  # reaped: the pid is free
    with pytest.raises(ProcessLookupError, match=r"no process with pid %d" % p.pid):
        memory_usage(p.pid)


# ---- return shapes ----------------------------------------------------------

def test_timestamps_gives_mem_time_pairs():
    t0 = time.time()
    usage = memory_usage(lambda: time.sleep(0.25), interval=0.05, timestamps=True)
    t1 = time.time()
    assert isinstance(usage, list) and len(usage) >= 4
    for sample in usage:
        assert isinstance(sample, tuple) and len(sample) == 2
        mem, t = sample
        assert isinstance(mem, float) and mem > 0
        assert t0 - 0.01 <= t <= t1 + 0.01
    times = [t for _, t in usage]
    assert times == sorted(times)
    assert times[-1] - times[0] >= 0.2


def test_max_usage_gives_a_float():
    f = Calls()
    peak = memory_usage(f, max_usage=True)
    assert isinstance(peak, float) and peak > 0
    assert near_here(peak, rss_mib(), tol=20)
    assert len(f.calls) == 1


def test_retval_gives_usage_and_the_return_value():
    f = Calls()
    usage, ret = memory_usage((f, (7,)), retval=True)
    assert ret is f.result
    assert is_mib_list(usage) and len(usage) >= 2
    peak, ret = memory_usage(f, max_usage=True, retval=True)
    assert isinstance(peak, float) and ret is f.result
    pairs, ret = memory_usage(f, timestamps=True, retval=True)
    assert ret is f.result and all(isinstance(p, tuple) and len(p) == 2 for p in pairs)
    assert len(f.calls) == 3


def test_stream_writes_mem_lines_and_returns_none():
    out = io.StringIO()
    t0 = time.time()
    assert memory_usage(lambda: time.sleep(0.2), interval=0.05, stream=out) is None
    t1 = time.time()
    lines = out.getvalue().splitlines()
    assert len(lines) >= 4
    for line in lines:
        m = MEM.match(line)
        assert m, line
        assert float(m["mem"]) > 0
        assert t0 - 0.01 <= float(m["t"]) <= t1 + 0.01


# A parent that starts two children holding 40 MiB each, and holds 10 MiB.
FAMILY = """
import subprocess, sys
kids = [subprocess.Popen([sys.executable, "-c", {holder!r}]) for _ in range(2)]
mine = b"2" * (10 << 20)
for k in kids:
    k.wait()
""".format(holder=HOLDER.format(secs=0.8))


def test_multiprocess_gives_per_sample_lists():
    p = subprocess.Popen([sys.executable, "-c", FAMILY])
    usage = memory_usage(p, interval=0.05, multiprocess=True)
    p.wait()
    assert isinstance(usage, list) and len(usage) >= 5
    for sample in usage:
        assert isinstance(sample, list) and 1 <= len(sample) <= 3
        assert all(isinstance(v, float) for v in sample)
    full = [s for s in usage if len(s) == 3]
    assert full, usage
    assert max(min(s[1], s[2]) for s in full) >= 40
    # the parent's own value does not include its children
    assert max(s[0] for s in full) < 40


def test_multiprocess_with_timestamps_and_stream():
    p = subprocess.Popen([sys.executable, "-c", FAMILY])
    usage = memory_usage(p, interval=0.1, multiprocess=True, timestamps=True)
    p.wait()
    full = [s for s in usage if len(s) == 3]
    assert full
    assert all(isinstance(s[0], tuple) and len(s[0]) == 2 for s in usage)

    out = io.StringIO()
    p = subprocess.Popen([sys.executable, "-c", FAMILY])
    assert memory_usage(p, interval=0.1, multiprocess=True, stream=out) is None
    p.wait()
    lines = out.getvalue().splitlines()
    assert any(MEM.match(l) for l in lines)
    chld = [l.split() for l in lines if l.startswith("CHLD ")]
    assert chld and all(len(c) == 4 for c in chld)
    assert max(float(c[2]) for c in chld) >= 40


def test_include_children_adds_them_up():
    p = subprocess.Popen([sys.executable, "-c", FAMILY])
    usage = memory_usage(p, interval=0.05, include_children=True)
    p.wait()
    assert isinstance(usage, list) and all(isinstance(v, float) for v in usage)
    assert max(usage) >= 90


def test_popen_exit_adds_no_zero_sample():
    # a race: repeated until it shows (most runs show it within a few tries)
    for _ in range(15):
        p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.05)"])
        usage = memory_usage(p, interval=0.01)
        p.wait()
        assert 0.0 not in usage[1:], usage


# ---- behaviour --------------------------------------------------------------

def test_fast_function_runs_once_and_gets_two_samples():
    f = Calls()
    for kwargs in ({}, {"max_usage": True}, {"retval": True}, {"timestamps": True},
                   {"max_iterations": 5}):
        f.calls.clear()
        result = memory_usage(lambda: (time.sleep(0.001), f()), **kwargs)
        assert len(f.calls) == 1, kwargs
        if not kwargs:
            assert len(result) >= 2


def test_hundred_mib_held_for_half_a_second_is_seen():
    def hog():
        block = b"x" * (100 * MiB)
        time.sleep(0.5)
        return len(block)

    baseline = memory_usage()[0]
    usage, ret = memory_usage(hog, interval=0.05, retval=True)
    assert ret == 100 * MiB
    assert at_least_here(max(usage), baseline + 95)
    assert len(usage) >= 5
    baseline = memory_usage()[0]
    assert at_least_here(memory_usage(hog, interval=0.05, max_usage=True), baseline + 95)


def test_exception_propagates_and_sampler_stops():
    class Boom(Exception):
        pass

    seen = {}

    def fails():
        seen["tasks"] = task_ids()
        time.sleep(0.15)
        raise Boom("from f")

    tasks, pythreads = task_ids(), threading.active_count()
    with pytest.raises(Boom, match="from f"):
        memory_usage(fails, interval=0.01)
    # the sampler was a native thread beside the call, and it is gone
    sampler = seen["tasks"] - tasks
    assert len(sampler) == 1
    assert not sampler & task_ids()
    assert not task_ids() - tasks
    assert threading.active_count() == pythreads
    # and memory_usage still works afterwards
    assert is_mib_list(memory_usage(lambda: None))


def test_no_thread_left_after_normal_calls():
    tasks = task_ids()
    for _ in range(20):
        memory_usage(lambda: None, interval=0.01)
    memory_usage(-1, timeout=0.05, interval=0.01)
    assert not task_ids() - tasks


def test_timeout_bounds_popen_sampling():
    p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3)"])
    try:
        t0 = time.monotonic()
        usage = memory_usage(p, interval=0.1, timeout=0.5)
        elapsed = time.monotonic() - t0
        assert elapsed < 1.5, elapsed
        assert 2 <= len(usage) <= 8
        assert p.poll() is None
    finally:
        p.kill()
        p.wait()


def test_timeout_bounds_sampling_of_a_callable():
    f = Calls()

    def slow():
        time.sleep(1.0)
        return f()

    t0 = time.time()
    usage, ret = memory_usage(slow, interval=0.05, timeout=0.3, timestamps=True, retval=True)
    assert time.time() - t0 >= 1.0
    assert ret is f.result and len(f.calls) == 1  # the function still ran to its end
    assert usage
    assert max(t for _, t in usage) <= t0 + 0.7  # no sample near the end, 1 s in


@pytest.mark.parametrize("bad", ["abc", 3.5, None, object(), True, b"x"])
def test_bad_proc_type_is_a_clear_type_error(bad):
    with pytest.raises(TypeError) as info:
        memory_usage(bad)
    msg = str(info.value)
    assert "memory_usage" in msg and "callable" in msg and "Popen" in msg
    assert type(bad).__name__ in msg


@pytest.mark.parametrize("bad", [
    (), (1, 2), ("f",), (print, "notatuple"), (print, (), "notadict"), (print, (), {}, 4),
])
def test_bad_proc_tuple_is_a_clear_type_error(bad):
    with pytest.raises(TypeError, match=r"memory_usage: a proc tuple must be \(f,\)"):
        memory_usage(bad)
