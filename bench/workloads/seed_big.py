"""The seed's first example, examples/seed_big.py: two big lists, one
deleted.  One unit is one call of its profiled function."""

from _seed import load

my_func = load("seed_big").my_func


def run(n):
    for _ in range(n):
        my_func()
