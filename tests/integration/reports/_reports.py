"""Helpers of the report tests (JSON, HTML, diff): the documented schema,
running the seed's generator example with --json/--html, and its variant
where the list comprehension became a generator expression."""

import json
import os
import re
import subprocess

from helpers import REPO, run_memline

SEED_GEN = os.path.join(REPO, "examples", "seed_gen.py")
DOCS_JSON = os.path.join(REPO, "docs", "json.md")
LISTCOMP = "    NN = sum([x * x for x in range(THE_LIMIT)])"
GENEXP = "    NN = sum(x * x for x in range(THE_LIMIT))"
# The list comprehension's temporary list: 100,000 pointers grown by
# over-allocation and 100,000 int objects of 32 bytes (docs/columns.md).
LISTCOMP_PEAK_MIB = 3.8


def documented_schema():
    """The JSON Schema in docs/json.md: the code block after '## The schema'."""
    with open(DOCS_JSON, encoding="utf-8") as f:
        text = f.read()
    part = text.split("## The schema", 1)[1]
    block = re.search(r"```json\n(.*?)```", part, re.S).group(1)
    return json.loads(block)


def documented_fields():
    """The field names of the table in docs/json.md ('lines[].line' -> 'line')."""
    with open(DOCS_JSON, encoding="utf-8") as f:
        text = f.read()
    return {m.split(".")[-1] for m in re.findall(r"^\| `([a-z_\[\].]+)` \|", text, re.M)}


def validate(doc):
    import jsonschema
    jsonschema.validate(doc, documented_schema(),
                        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def generator_variant(tmp_path):
    """seed_gen.py with the comprehension made a generator expression."""
    with open(SEED_GEN, encoding="utf-8") as f:
        src = f.read()
    assert LISTCOMP in src
    path = tmp_path / "seed_gen_fixed.py"
    path.write_text(src.replace(LISTCOMP, GENEXP), encoding="utf-8")
    return path


def profile_to(path, program, *options):
    """python -m memline OPTIONS --json path program: (CompletedProcess, doc)."""
    r = run_memline([*options, "--json", str(path), str(program)])
    assert r.returncode == 0, r.stderr
    with open(path, encoding="utf-8") as f:
        return r, json.load(f)


def memline_binary():
    """The standalone binary: $MEMLINE_BIN (make sets it), else built."""
    if os.environ.get("MEMLINE_BIN"):
        return os.path.abspath(os.environ["MEMLINE_BIN"])
    subprocess.run(["make", "-s", "bin"], cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    out = subprocess.run(["make", "-s", "--no-print-directory", "print-memline"], cwd=REPO,
                         check=True, capture_output=True, text=True).stdout.strip()
    return os.path.join(REPO, out)
