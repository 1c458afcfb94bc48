"""The hammer: 8 threads churning the allocator hooks while profiling is
switched on and off from the main thread.  Run as a program by
test_heap_hammer.py (a crash must fail one test, not kill the suite); prints
one JSON object with what the test checks.

Phase 1: each thread loops over a profiled churn function (small and large
blocks, list growth and bytes concatenation, i.e. realloc across the small /
large boundary, shrinking, and frees of blocks another thread allocated)
and an unprofiled one, while the main thread turns profiling on and off in
every way there is: enable/disable, `with prof:`, a @profile'd call.

Phase 2: the threads keep churning unprofiled, and each runs a profiled
function that frees everything it allocates, while profiling stays on for
the whole of their calls: its lines must sum to about zero.
"""

import collections
import gc
import io
import json
import random
import sys
import threading
import time

import memline
from memline import _memline

N_THREADS = 8
PHASE1_SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 1.5
BALANCED_CALLS = int(sys.argv[2]) if len(sys.argv) > 2 else 20

SHARED = collections.deque(maxlen=256)  # blocks handed from thread to thread


def churn_profiled(rng):
    small = [str(i) * (i % 9) for i in range(150)]
    big = [bytearray(rng.randrange(600, 200000)) for _ in range(3)]
    grow = []
    for i in range(400):
        grow.append(i)
    s = b""
    for i in range(30):
        s += b"z" * 600
    shrink = bytearray(5000)
    del shrink[40:]
    SHARED.append(big.pop())
    SHARED.append(small.pop())
    try:
        other = SHARED.popleft()
    except IndexError:
        other = None
    del other
    grow.clear()
    return len(small) + len(s) + len(shrink) + sum(map(len, big))


def churn_unprofiled(rng):
    blocks = [bytearray(rng.randrange(1, 70000)) for _ in range(8)]
    text = "".join(str(i) for i in range(300))
    lst = list(range(rng.randrange(10, 3000)))
    b = b""
    for _ in range(20):
        b = b + b"y" * 300
    SHARED.append(blocks.pop())
    try:
        other = SHARED.popleft()
    except IndexError:
        other = None
    del other
    return len(text) + len(lst) + len(b) + len(blocks)


def balanced(k):
    blocks = []
    for i in range(k):
        blocks.append(bytearray(100 + (i * 7919) % 60000))
        blocks.append(b"%d" % i * (1 + i % 40))
    grow = []
    for i in range(2000):
        grow.append(i)
    s = b""
    for i in range(60):
        s += b"ab" * 25
    blocks.clear()
    grow.clear()
    del blocks, grow, s, i
    return k


def report(prof):
    out = io.StringIO()
    memline.show_results(prof, stream=out, precision=12)
    return out.getvalue()


def main():
    sys.setswitchinterval(0.0005)  # threads switch often: more interleavings
    gc.disable()  # no collection may free another thread's garbage in a line
    before = _memline._allocator_state()
    prof1 = memline.LineProfiler()
    prof1.add_function(churn_profiled)
    prof2 = memline.LineProfiler()
    prof2.add_function(balanced)
    decorated = memline.profile(churn_profiled, stream=io.StringIO())

    stop = threading.Event()
    phase2 = threading.Event()
    done = [threading.Event() for _ in range(N_THREADS)]
    iterations = [0] * N_THREADS
    errors = []

    def worker(idx):
        rng = random.Random(idx)
        try:
            while not stop.is_set():
                churn_profiled(rng)
                churn_unprofiled(rng)
                iterations[idx] += 1
                if phase2.is_set() and not done[idx].is_set():
                    for _ in range(BALANCED_CALLS):
                        balanced(50)
                    done[idx].set()
        except BaseException as e:  # reported, not swallowed
            errors.append("%s: %r" % (threading.current_thread().name, e))
            done[idx].set()

    threads = [threading.Thread(target=worker, args=(i,), name="hammer-%d" % i)
               for i in range(N_THREADS)]
    for t in threads:
        t.start()

    # Phase 1: switch profiling on and off as fast as possible, every way.
    toggles = 0
    rng = random.Random(99)
    deadline = time.monotonic() + PHASE1_SECONDS
    while time.monotonic() < deadline:
        way = toggles % 3
        if way == 0:
            prof1.enable()
            time.sleep(rng.random() * 0.002)
            prof1.disable()
        elif way == 1:
            with prof1:
                churn_profiled(rng)
        else:
            decorated(rng)
        time.sleep(rng.random() * 0.002)
        toggles += 1
    restored1 = _memline._allocator_state() == before
    active1 = _memline._heap_info()["active"]
    iterations1 = list(iterations)

    # Phase 2: profiling on across every balanced() call.
    prof2.enable()
    phase2.set()
    finished = all(d.wait(120) for d in done)
    prof2.disable()
    stop.set()
    for t in threads:
        t.join(120)
    SHARED.clear()
    gc.enable()
    gc.collect()

    print(json.dumps({
        "errors": errors,
        "toggles": toggles,
        "iterations_phase1": iterations1,
        "restored_after_phase1": restored1,
        "active_after_phase1": active1,
        "phase2_finished": finished,
        "restored": _memline._allocator_state() == before,
        "active": _memline._heap_info()["active"],
        "threads_alive": sum(t.is_alive() for t in threads),
        "report1": report(prof1),
        "report2": report(prof2),
    }))


if __name__ == "__main__":
    main()
