"""The extension module's sources and flags; everything else is in pyproject.toml."""
import glob

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "memline._memline",
            sources=sorted(glob.glob("src/core/*.c") + glob.glob("src/binding/*.c")),
            extra_compile_args=["-std=c11", "-D_GNU_SOURCE"],
            libraries=["pthread"],
        )
    ],
)
