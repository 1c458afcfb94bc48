"""What only the surface tests need, on top of tests/helpers.py (which
reads their line reports and runs their programs): RSS tolerances, the
FUNC, MEM and %memit lines, and this process's threads and RSS."""

import os
import re

from helpers import SANITIZED

FUNC = re.compile(r"^FUNC (?P<name>\S*) (?P<mem_in>\d+\.\d{4}) (?P<t_in>\d+\.\d{4}) "
                  r"(?P<mem_out>\d+\.\d{4}) (?P<t_out>\d+\.\d{4}) (?P<depth>\d+)$")
MEM = re.compile(r"^MEM (?P<mem>\d+\.\d{6}) (?P<t>\d+\.\d{4})$")
MEMIT = re.compile(r"peak memory: (?P<peak>-?\d+\.\d\d) MiB, increment: (?P<inc>-?\d+\.\d\d) MiB")


# Under `make test-asan` libasan is preloaded and its shadow memory adds an
# eighth to the RSS of each allocation.  Its quarantine keeps freed blocks
# resident and lets go of them at any moment, so the RSS of this process
# (pytest's) proves nothing then: the *_here checks pass, and the numbers are
# checked by the normal run.  Child processes get the quarantine turned off
# by helpers.child_env, and their numbers are checked in both runs.
def near(value, mib, tol=3.0):
    """Whether value (MiB of RSS of a child process) shows an allocation of
    mib MiB."""
    return mib - tol <= value <= mib * (1.15 if SANITIZED else 1.0) + tol


def near_here(value, mib, tol=3.0):
    """near() for the RSS of this process."""
    return SANITIZED or near(value, mib, tol)


def at_least_here(value, bound):
    """Whether value >= bound, for the RSS of this process."""
    return SANITIZED or value >= bound


def freed(value, mib, tol=3.0):
    """Whether value (MiB of RSS of this process, <= 0) shows mib MiB given
    back."""
    return SANITIZED or near(-value, mib, tol)


def func_lines(text):
    """The FUNC lines of text, as match objects, in order."""
    return [FUNC.match(l) for l in text.splitlines() if l.startswith("FUNC ")]


def task_ids():
    """The ids of this process's native threads, as the kernel lists them."""
    return set(os.listdir("/proc/self/task"))


def rss_mib():
    """This process's resident set size in MiB, from /proc/self/statm."""
    with open("/proc/self/statm") as f:
        resident = int(f.read().split()[1])
    return resident * os.sysconf("SC_PAGE_SIZE") / 1048576.0
