"""What the bench measures: workloads, sizes, memline's backends, targets.

This is the one place to change when a backend or a workload is added.
"""

# memline with native counting off, beside the default, to show what
# counting native memory costs in the same run.
NATIVE_OFF = True

# memline backends to run, the default first: the targets apply to it.
# Each names its size class (see WORKLOADS): rss-exact reads RSS at every
# line, so it runs the medium sizes.
BACKENDS = [
    ("rss", "fast"),
    ("rss-exact", "medium"),
    ("heap", "fast"),
]

# Each workload is bench/workloads/<name>.py, and run(n) does n units of
# work.  Three size classes, so every configuration's call lasts long
# enough to time and not much longer: "fast" for plain, the floor, memline
# and the peers that stay within ~10x of plain, "medium" for what is up to
# ~50x slower, "slow" for memory_profiler (up to ~2000x).  Quick mode
# divides every size by QUICK_DIVISOR (but runs at least one unit).
WORKLOADS = [
    # name       unit                     fast       medium   slow
    ("loop",     "iteration",             4_000_000, 400_000, 20_000),
    ("churn",    "dict",                  40_000,    10_000,  1_000),
    ("calls",    "call",                  1_500_000, 150_000, 10_000),
    ("threads",  "list, over 4 threads",  1_000_000, 100_000, 40_000),
    ("seed_big", "call",                  3,         3,       2),
    ("seed_gen", "call",                  20,        1,       1),
    ("arrays",   "2 MiB arrays",          100,       100,     100),
    ("sqlite",   "insert",                200_000,   20_000,  2_000),
]
SIZE_CLASSES = ("fast", "medium", "slow")

# Workloads that import a package the bench environment may lack.
REQUIRES = {"arrays": "numpy"}

REPS = 7
QUICK_REPS = 3
QUICK_DIVISOR = 4

# Which time of the profiled call is compared: "cpu" (process CPU time,
# all threads, user and system) or "wall".  CPU time does not count the
# time the process waits for a core, so other load on the machine blurs
# the figures less; on an idle machine the two agree.
CLOCK = "cpu"

# One child run may take this long before it counts as failed.
RUN_TIMEOUT = 300

# Issue 4's targets for the default backend.  Per workload: memline's time
# over the floor's ("floor", at most), over plain ("plain", at most), and
# memory_profiler's time over memline's ("mp", at least).
TARGETS = {
    "loop": {"floor": 1.3, "mp": 150},
    "calls": {"floor": 1.0, "mp": 60},
    "churn": {"floor": 1.6, "mp": 60},
    "threads": {"plain": 3.0},
    # Native memory: array work stays near plain, and many small native
    # allocations (SQLite) cost at most half again.
    "arrays": {"plain": 1.10},
    "sqlite": {"plain": 1.5},
}
OWN_MEMORY_MIB = 10     # peak RSS profiled minus plain, at most, every workload
IMPORT_MS = 20          # `import memline` over `python -c pass`, at most
IMPORT_RUNS = 40
QUICK_IMPORT_RUNS = 15
