"""The seed's experiment, examples/seed_gen.py: a generator expression
against a list comprehension.  One unit is one call of its profiled
function."""

from _seed import load

my_test_function = load("seed_gen").my_test_function


def run(n):
    for _ in range(n):
        my_test_function()
