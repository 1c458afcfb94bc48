"""Allocation churn: dicts of lists of strings, built and dropped."""


@profile  # noqa: F821
def churn(n):
    for i in range(n):
        d = {}
        for k in range(16):
            d[str(k)] = [str(i), str(k), "x" * k] * 4
        del d


def run(n):
    churn(n)
