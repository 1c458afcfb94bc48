"""Sizes as the plugin's markers and options write them, and as it prints them.

``"24 MB"`` is 24,000,000 bytes: KB, MB and GB are powers of 1000 (SI);
KiB, MiB and GiB are powers of 1024.  The unit is case-insensitive and may
follow the number after spaces; ``B`` or no unit is bytes.  (pytest-memray
reads "MB" as MiB: docs/pytest.md says what that changes.)  Everything is
counted in integer bytes and turned into MiB only when printed.
"""

import re

MIB = 1 << 20

UNITS = {
    "": 1,
    "b": 1,
    "kb": 1000,
    "mb": 1000 ** 2,
    "gb": 1000 ** 3,
    "kib": 1024,
    "mib": 1024 ** 2,
    "gib": 1024 ** 3,
}

_SIZE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([A-Za-z]*)\s*$")


def parse_size(text):
    """The number of bytes ``text`` means ("24 MB", "1.5GiB", "512", 512).

    Raises ValueError, naming what is wrong, when text is not a size: the
    caller adds where it came from."""
    if isinstance(text, bool):
        raise ValueError("a size must be a string such as '24 MB', not %r" % (text,))
    if isinstance(text, int):
        if text < 0:
            raise ValueError("a size cannot be negative: %r" % (text,))
        return text
    if not isinstance(text, str):
        raise ValueError("a size must be a string such as '24 MB', not %r" % (text,))
    m = _SIZE.match(text)
    if not m:
        raise ValueError("%r is not a size (a number and one of B, KB, MB, GB, KiB, MiB, GiB)"
                         % (text,))
    number, unit = m.groups()
    factor = UNITS.get(unit.lower())
    if factor is None:
        raise ValueError("%r has an unknown unit %r (B, KB, MB, GB, KiB, MiB, GiB)"
                         % (text, unit))
    if "." in number:
        return int(round(float(number) * factor))
    return int(number) * factor


def mib(nbytes, precision=1):
    """'31.2 MiB': bytes as MiB, for messages."""
    return "%.*f MiB" % (precision, nbytes / MIB)
