"""memline: line-by-line memory profiling for Python, with a C engine.

A drop-in replacement for memory_profiler: decorate a function with
``@profile`` and its memory use is reported line by line.
"""

import logging as _logging

from memline._memline import (  # noqa: F401  (re-exported API)
    LineProfiler,
    ProfileError,
    TimeStamper,
    choose_backend,
    memory_usage,
    profile,
    show_results,
)

__version__ = "0.1.0"

__all__ = [
    "LineProfiler",
    "LogFile",
    "ProfileError",
    "TimeStamper",
    "choose_backend",
    "memory_usage",
    "profile",
    "show_results",
]


class LogFile:
    """A file-like object that sends report text to the ``logging`` module.

    With ``reportIncrementFlag`` set, only the rows whose increment is
    positive (and the Filename and header lines) are logged, as
    memory_profiler's LogFile does.
    """

    def __init__(self, name=None, reportIncrementFlag=False):
        self.logger = _logging.getLogger(name)
        self.reportIncrementFlag = reportIncrementFlag

    def write(self, msg, level=_logging.INFO):
        if not self.reportIncrementFlag:
            self.logger.log(level, msg)
        elif "Filename:" in msg or "Line Contents" in msg:
            self.logger.log(level, msg)
        elif "MiB" in msg:
            try:
                increment = float(msg.split("MiB")[1].strip())
            except ValueError:
                return
            if increment > 0:
                self.logger.log(level, msg)

    def flush(self):
        for handler in self.logger.handlers:
            if hasattr(handler, "flush"):
                handler.flush()
