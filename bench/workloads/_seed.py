"""Loads one of the seed's examples from the repository's examples/."""

import importlib.util
import pathlib

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"


def load(name):
    """The module examples/<name>.py, executed with the builtins as they are
    now (so with the bench's profile)."""
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / (name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
