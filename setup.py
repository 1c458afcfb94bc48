"""memline's extension module, from build.cfg (the build description the
Makefile reads too).  Everything else about the package is in pyproject.toml.

Two environment variables pick a configuration; users set neither:
MEMLINE_DEV=1 makes warnings errors (make's developer build), and
MEMLINE_SANITIZE=1 builds with ASan and UBSan and asserts on (release
builds have them off), in a build
directory of its own so its objects never mix with the release build's.
"""
import glob
import os

from setuptools import Extension, setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))


def read_config(path):
    """build.cfg's NAME = value lines, as a dict of strings."""
    config = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                name, sep, value = line.partition("=")
                if not sep:
                    raise SystemExit("build.cfg: not a NAME = value line: %r" % line)
                config[name.strip()] = value.strip()
    return config


def sources(config, *names):
    """The files the patterns of names match, relative to this folder."""
    found = []
    for name in names:
        for pattern in config[name].split():
            found += sorted(os.path.relpath(p, HERE)
                            for p in glob.glob(os.path.join(HERE, pattern)))
    return found


def flag_set(name):
    return os.environ.get(name, "") not in ("", "0")


class build_py_pth(build_py):
    """Also puts memline-children.pth at the top of the wheel, so that it
    lands in site-packages: at every interpreter start it sets a process up
    as a child of `python -m memline` when MEMLINE_CHILD is set, and does
    nothing else (docs/processes.md)."""

    PTH = "memline-children.pth"

    def run(self):
        super().run()
        self.copy_file(os.path.join(HERE, "src", self.PTH),
                       os.path.join(self.build_lib, self.PTH), preserve_mode=0)

    def get_outputs(self, include_bytecode=1):
        return super().get_outputs(include_bytecode) + [
            os.path.join(self.build_lib, self.PTH)]


config = read_config(os.path.join(HERE, "build.cfg"))
cflags = (config["CSTD"] + " " + config["WARN"] + " " + config["OPT"]).split()
ldflags = []
options = {"build_ext": {"parallel": os.cpu_count() or 1}}
if flag_set("MEMLINE_DEV"):
    cflags += config["DEV_WARN"].split()
if flag_set("MEMLINE_SANITIZE"):
    cflags += config["SANITIZE"].split()
    ldflags += [f for f in config["SANITIZE"].split() if f.startswith("-fsanitize")]
    options["build"] = {"build_base": os.path.join("build", "sanitize")}
else:
    cflags += config["RELEASE"].split()
libs = config["LIBS"].split()
c_files = sources(config, "CORE_SRC", "CLI_SRC", "BINDING_SRC")
headers = sorted({os.path.relpath(h, HERE) for d in {os.path.dirname(c) for c in c_files}
                  for h in glob.glob(os.path.join(HERE, d, "*.h"))})

setup(
    version=config["VERSION"],
    cmdclass={"build_py": build_py_pth},
    options=options,
    ext_modules=[
        Extension(
            "memline._memline",
            sources=c_files,
            depends=headers + ["build.cfg"],
            include_dirs=[config["INCLUDE_DIR"]],
            define_macros=[("MEMLINE_VERSION", '"%s"' % config["VERSION"])],
            extra_compile_args=cflags,
            extra_link_args=ldflags,
            libraries=[lib[2:] for lib in libs if lib.startswith("-l")],
        )
    ],
)
