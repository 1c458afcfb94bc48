"""%mprun in Jupyter: a real notebook executed through a real kernel
(nbclient and ipykernel).  The cell's output is the HTML report inline
(text/html, the same renderer as --html, as a fragment) with the text report
beside it for plain frontends; a function defined in the notebook is
reported from the cell's source; `-r` returns the profiler, whose
to_dict() is the JSON form."""

import html
import json
import re

import pytest

from helpers import HEADER7, parse_report

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NB_FUNC = '''\
def nb_func(n):
    a = b"x" * (40 << 20)
    c = [0] * n
    del a
    return len(c)
'''
SOURCES = NB_FUNC.rstrip("\n").split("\n")


@pytest.fixture(scope="module")
def executed():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in (
        "%load_ext memline",
        NB_FUNC,
        "%mprun -f nb_func nb_func(1000)",
        "r = %mprun -r -f nb_func nb_func(10)\n"
        "import json\nprint(json.dumps(r.to_dict()))",
        "%%mprun -f nb_func\nnb_func(100)\nnb_func(200)",
    )]
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3")
    client.execute()
    return nb


def outputs(cell, mime):
    return [o["data"][mime] for o in cell.outputs
            if o.get("output_type") == "display_data" and mime in o.get("data", {})]


def test_mprun_shows_the_html_report_from_the_cells_source(executed):
    cell = executed.cells[2]
    [page] = outputs(cell, "text/html")
    assert page.startswith('<div class="mlr"') and "<!DOCTYPE" not in page
    assert page.count("<script") == 1 and "<style>" in page
    # ids are the fragment's own, so two reports on one page do not mix
    ids = set(re.findall(r'id="(mlr\d+)-f1"', page))
    assert len(ids) == 1
    sources = [html.unescape(s) for s in re.findall(r'<td class="mlr-src">(.*?)</td>', page)]
    assert sources == SOURCES
    name = re.search(r"<h2>(.*?)<span", page).group(1)
    assert name == "nb_func"
    # ipykernel names a cell's code after a temporary file of its own
    assert re.search(r'<span class="mlr-file">[^<]*ipykernel_\d+/\d+\.py, line 1</span>', page)
    rows = re.findall(r'<tr id="mlr\d+-f1-l(\d+)"', page)
    assert len(rows) == len(SOURCES)
    # the worst line is the 40 MiB bytes object, with its bar full
    worst = re.search(r'<tr id="[^"]+" class="mlr-worst"[^>]*>(.*?)</tr>', page, re.S).group(1)
    assert 'style="width:100.0%"' in worst and html.escape('b"x" * (40 << 20)') in worst


def test_mprun_text_beside_it_for_plain_frontends(executed):
    [text] = outputs(executed.cells[2], "text/plain")
    [block] = parse_report(text, stripped=True)
    assert block.header == HEADER7
    assert [r.source for r in block.rows] == SOURCES
    assert 39.9 <= block.row('a = b"x"').heap_peak <= 40.2


def test_mprun_r_returns_the_profiler_with_the_json_form(executed):
    cell = executed.cells[3]
    printed = "".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stdout")
    d = json.loads(printed)
    assert d["schema_version"] == 1
    [fn] = d["functions"]
    assert fn["name"] == "nb_func"
    assert [l["source"] for l in fn["lines"]] == SOURCES
    [a] = [l for l in fn["lines"] if l["source"].strip().startswith("a = ")]
    assert (40 << 20) <= a["heap_peak"] <= (40 << 20) + 256


def test_cell_form_too(executed):
    [page] = outputs(executed.cells[4], "text/html")
    rows = re.findall(r'<tr id="mlr\d+-f1-l\d+"[^>]*>(.*?)</tr>', page, re.S)
    assert len(rows) == len(SOURCES)
    # two calls: the def line counts both
    assert re.search(r'<td data-v="2">2</td>', rows[0])
    # a second report on the page has ids of its own
    first = re.search(r'id="(mlr\d+)-f1"', outputs(executed.cells[2], "text/html")[0]).group(1)
    assert re.search(r'id="(mlr\d+)-f1"', page).group(1) != first
