"""A tight arithmetic loop: the most line events per unit of work."""


@profile  # noqa: F821  (the bench puts profile in builtins)
def tight_loop(n):
    x = 0
    for i in range(n):
        x = (x * 31 + i) % 1000003
    return x


def run(n):
    tight_loop(n)
