"""numpy: arrays whose pages are touched by native code, not by Python's
allocators."""

import numpy as np


@profile  # noqa: F821
def arrays(n):
    total = 0.0
    for i in range(n):
        a = np.ones((512, 512))
        b = a * 2 + i
        total += float(b.sum())
        del a, b
    return total


def run(n):
    arrays(n)
