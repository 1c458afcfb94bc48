"""Suite-wide pytest configuration: the custom markers.  Helpers shared by
the tests are in tests/helpers.py (this directory is on sys.path because
this file is here)."""


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "slow: takes tens of seconds (pip install into a fresh venv); runs by default, "
        "deselect with -m 'not slow'")
