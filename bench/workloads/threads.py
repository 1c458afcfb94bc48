"""Four threads allocating at once, each running a profiled function."""

import threading

THREADS = 4


@profile  # noqa: F821
def allocate(n):
    keep = []
    for i in range(n):
        keep.append([str(i)] * 8)
        if len(keep) == 64:
            keep = []


@profile  # noqa: F821
def four_threads(n):
    workers = [threading.Thread(target=allocate, args=(n // THREADS,))
               for _ in range(THREADS)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


def run(n):
    four_threads(n)
