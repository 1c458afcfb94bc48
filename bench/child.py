"""One bench run: python child.py MODE WORKLOAD N OUT [FLOOR_DIR]

Puts the MODE's ``profile`` in builtins, loads bench/workloads/WORKLOAD.py,
times its run(N) in-process and writes a JSON object to OUT: wall and CPU
seconds (CPU of all threads), n, peak RSS and, under a line profiler, the
number of report rows.  MODE is plain, floor, memory_profiler,
memline:BACKEND or memline:BACKEND:no-native.  Memray and
Scalene run this same script in plain mode under their own launchers.
"""

import builtins
import functools
import gc
import importlib.util
import io
import json
import pathlib
import resource
import sys
import time

WORKLOADS = pathlib.Path(__file__).resolve().parent / "workloads"


def identity(func):
    return func


def floor_profile(floor_dir):
    """A decorator that runs the function under the no-op C tracer."""
    sys.path.insert(0, floor_dir)
    import _floor

    def profile(func):
        @functools.wraps(func)
        def traced(*args, **kwargs):
            _floor.start()
            try:
                return func(*args, **kwargs)
            finally:
                _floor.stop()
        return traced
    return profile


def line_profile(prof):
    """A decorator that profiles the function with prof, as @profile does."""
    def profile(func):
        prof.add_function(func)
        return prof.wrap_function(func)
    return profile


def install(mode, floor_dir):
    """Sets builtins.profile for mode; returns (profiler or None, show_results)."""
    if mode == "plain":
        builtins.profile = identity
        return None, None
    if mode == "floor":
        builtins.profile = floor_profile(floor_dir)
        return None, None
    if mode == "memory_profiler":
        import memory_profiler as mp
        prof = mp.LineProfiler(backend="psutil")
        builtins.profile = line_profile(prof)
        return prof, mp.show_results
    if mode.startswith("memline:"):
        import memline
        parts = mode.split(":")
        prof = memline.LineProfiler(backend=parts[1], native=parts[2:] != ["no-native"])
        builtins.profile = line_profile(prof)
        return prof, memline.show_results
    raise SystemExit("child.py: unknown mode " + mode)


def load(name):
    sys.path.insert(0, str(WORKLOADS))
    spec = importlib.util.spec_from_file_location(
        "bench_" + name, WORKLOADS / (name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def peak_rss_kib():
    """This process's peak RSS.  VmHWM, not ru_maxrss: Linux carries
    ru_maxrss over from before exec, so a child of a big runner would report
    at least the runner's peak."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main(argv):
    mode, name, n, out = argv[1], argv[2], int(argv[3]), argv[4]
    floor_dir = argv[5] if len(argv) > 5 else ""
    prof, show = install(mode, floor_dir)
    workload = load(name)
    gc.collect()
    start, cpu_start = time.perf_counter(), time.process_time()
    workload.run(n)
    cpu = time.process_time() - cpu_start
    wall = time.perf_counter() - start
    result = {
        "wall": wall,
        "cpu": cpu,
        "n": n,
        "peak_rss_kib": peak_rss_kib(),
    }
    if prof is not None:
        report = io.StringIO()
        show(prof, stream=report)
        result["report_rows"] = report.getvalue().count("MiB")
    with open(out, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main(sys.argv)
