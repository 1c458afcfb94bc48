"""The sizes limits are written in: KB, MB, GB are powers of 1000, KiB,
MiB, GiB powers of 1024, the unit case-insensitive, a space optional, B
or no unit bytes; anything else is refused with a message saying why."""

import pytest

from memline.pytest.sizes import mib, parse_size


@pytest.mark.parametrize("text, size", [
    ("24 MB", 24_000_000), ("24MB", 24_000_000), ("24 mb", 24_000_000), ("24 Mb", 24_000_000),
    ("1 KB", 1000), ("2 GB", 2_000_000_000),
    ("1 KiB", 1024), ("24 MiB", 24 * 1024 ** 2), ("24mib", 24 * 1024 ** 2),
    ("2 GiB", 2 * 1024 ** 3), ("1.5 MiB", 1_572_864), ("0.5 KB", 500), (".5 kib", 512),
    ("512", 512), ("512 B", 512), ("512b", 512), ("  7 MB  ", 7_000_000), ("0", 0),
    (4096, 4096),
])
def test_sizes(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text, message", [
    ("24 TB", "'24 TB' has an unknown unit 'TB' (B, KB, MB, GB, KiB, MiB, GiB)"),
    ("24 M", "'24 M' has an unknown unit 'M' (B, KB, MB, GB, KiB, MiB, GiB)"),
    ("MB", "'MB' is not a size (a number and one of B, KB, MB, GB, KiB, MiB, GiB)"),
    ("-1 MB", "'-1 MB' is not a size (a number and one of B, KB, MB, GB, KiB, MiB, GiB)"),
    ("1 000 KB", "'1 000 KB' is not a size (a number and one of B, KB, MB, GB, KiB, MiB, "
                 "GiB)"),
    ("", "'' is not a size (a number and one of B, KB, MB, GB, KiB, MiB, GiB)"),
    (-5, "a size cannot be negative: -5"),
    (2.5, "a size must be a string such as '24 MB', not 2.5"),
    (True, "a size must be a string such as '24 MB', not True"),
    (None, "a size must be a string such as '24 MB', not None"),
])
def test_not_sizes(text, message):
    with pytest.raises(ValueError) as e:
        parse_size(text)
    assert str(e.value) == message


def test_memline_mb_against_pytest_memray_mb():
    # pytest-memray reads "24 MB" as 24 MiB: 4.9% more than memline's.
    ratio = 24 * 1024 ** 2 / parse_size("24 MB")
    assert round((ratio - 1) * 100, 1) == 4.9
    assert mib(parse_size("24 MB")) == "22.9 MiB"
    assert mib(parse_size("24 MiB")) == "24.0 MiB"
