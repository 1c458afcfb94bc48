"""A profiled loop calling helpers that are not profiled: their lines must
cost (almost) nothing."""


def scale(x):
    y = x * 3
    return y + 1


def bucket(x):
    z = scale(x)
    return z % 7


@profile  # noqa: F821
def calls(n):
    total = 0
    for i in range(n):
        total += bucket(i)
    return total


def run(n):
    calls(n)
