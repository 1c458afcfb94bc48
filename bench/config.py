"""What the bench measures: workloads, sizes, memline's backends, targets.

This is the one place to change when a backend or a workload is added.
"""

# memline backends to run, the default first: the targets apply to it.
BACKENDS = ["rss", "rss-exact", "heap"]

# Each workload is bench/workloads/<name>.py.  Sizes are units of work per
# profiled call: "fast" for plain, the floor, memline and the peers that
# stay within ~10x of plain; "slow" for memory_profiler, which may be
# 1000x slower.  Quick mode runs each size divided by QUICK_DIVISOR.
WORKLOADS = [
    # name       fast       slow
    ("loop",     3_000_000, 20_000),
    ("churn",    40_000,    1_000),
    ("calls",    1_000_000, 10_000),
    ("threads",  200_000,   4_000),
    ("seed_big", 4,         2),
    ("seed_gen", 20,        1),
    ("arrays",   400,       100),
]

REPS = 5
QUICK_REPS = 3
QUICK_DIVISOR = 4

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
}
OWN_MEMORY_MIB = 10     # peak RSS profiled minus plain, at most, every workload
IMPORT_MS = 20          # `import memline` over `python -c pass`, at most
IMPORT_RUNS = 40
QUICK_IMPORT_RUNS = 15
