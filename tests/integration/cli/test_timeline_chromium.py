"""The HTML plot as a browser shows it: rendered by headless Chromium
(Debian's chromium package, installed by ensure_chromium.sh when missing;
if it cannot be installed these tests fail, they never skip).  The
screenshot must show the curve, the call spans with their labels, the
title and the maximum; the page's script must run, answer a hover (here
through the #t= address), and nothing embedded from the .dat file may run
as markup."""

import os
import subprocess

import pytest

from _timeline import memline
from helpers import MP_REFERENCE

HERE = os.path.dirname(os.path.abspath(__file__))

CURVE = (0x15, 0x65, 0xc0)   # the main curve's stroke
MAX = (0xd3, 0x2f, 0x2f)     # the maximum's marks


def blend(rgb, alpha):
    """rgb painted at alpha over white."""
    return tuple(round(255 + (c - 255) * alpha) for c in rgb)


ALLOC_SPAN = blend((0x26, 0xa6, 0x9a), 0.45)  # first function's span fill
OUTER_SPAN = blend((0xd4, 0xa0, 0x17), 0.45)  # second function's


@pytest.fixture(scope="module")
def chromium():
    r = subprocess.run(["sh", os.path.join(HERE, "ensure_chromium.sh")], capture_output=True,
                       text=True, timeout=1200)
    assert r.returncode == 0, "chromium could not be installed: " + r.stderr
    return r.stdout.strip().splitlines()[-1]


def run_chromium(chromium, *args):
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           "--no-first-run", "--disable-dev-shm-usage", *args]
    # not under the sanitizer runtime the ASan run preloads for Python
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "ASAN_OPTIONS")}
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    return r.stdout


def screenshot(chromium, url, path):
    run_chromium(chromium, "--window-size=1160,620", "--screenshot=" + str(path), url)
    from PIL import Image
    with Image.open(path) as im:
        return im.convert("RGB")


def near(p, q, tol=14):
    return all(abs(a - b) <= tol for a, b in zip(p, q))


def pixels(im, box=None):
    w, h = im.size
    x0, y0, x1, y1 = box or (0, 0, w, h)
    px = im.load()
    for y in range(max(0, y0), min(h, y1)):
        for x in range(max(0, x0), min(w, x1)):
            yield x, y, px[x, y]


def bbox(im, color, tol=6):
    pts = [(x, y) for x, y, p in pixels(im) if near(p, color, tol)]
    assert pts, "no pixel of colour %s" % (color,)
    xs, ys = [x for x, _ in pts], [y for _, y in pts]
    return min(xs), min(ys), max(xs) + 1, max(ys) + 1, len(pts)


def dark(p):
    return sum(p) < 200


@pytest.fixture(scope="module")
def small_html(tmp_path_factory):
    d = tmp_path_factory.mktemp("html")
    out = d / "small.html"
    r = memline("plot", "-o", out, os.path.join(MP_REFERENCE, "small.mprof.dat"))
    assert r.returncode == 0, r.stderr
    return out


def test_screenshot_shows_curve_labels_title_and_max(chromium, small_html, tmp_path):
    im = screenshot(chromium, small_html.as_uri(), tmp_path / "shot.png")
    # the curve: a long blue polyline across most of the plot's width
    x0, y0, x1, y1, n = bbox(im, CURVE, tol=30)
    assert n > 800 and x1 - x0 > 600 and y1 - y0 > 350
    # the call spans, and text drawn inside each of them
    for color in (ALLOC_SPAN, OUTER_SPAN):
        sx0, sy0, sx1, sy1, n = bbox(im, color)
        assert n > 1000, color
        inside = sum(1 for _, _, p in pixels(im, (sx0, sy0, sx1, sy1)) if dark(p))
        assert inside > 40, "no label drawn in the span of colour %s" % (color,)
    # the title above the plot, the axis labels below and beside it
    assert sum(1 for _, _, p in pixels(im, (300, 25, 650, 55)) if dark(p)) > 150
    assert sum(1 for _, _, p in pixels(im, (380, 535, 560, 560)) if dark(p)) > 80
    # the maximum: dashed red lines and its label
    assert bbox(im, MAX, tol=40)[4] > 200


def test_hover_shows_time_memory_and_function(chromium, small_html, tmp_path):
    dom = run_chromium(chromium, "--dump-dom", small_html.as_uri() + "#t=0.8")
    assert 'data-ready="1"' in dom
    tip = dom.split('id="ml-tip"', 1)[1].split("</div>", 1)[0]
    assert "time: 0.803 s" in tip
    assert "memory: 84.496 MiB" in tip
    assert "function: __main__.outer &gt; __main__.alloc" in tip
    im = screenshot(chromium, small_html.as_uri() + "#t=0.8", tmp_path / "hover.png")
    plain = screenshot(chromium, small_html.as_uri(), tmp_path / "plain.png")
    # the tooltip box appears where the plain page has the plot's white
    changed = sum(1 for (_, _, p), (_, _, q) in zip(pixels(im, (660, 110, 960, 200)),
                                                    pixels(plain, (660, 110, 960, 200)))
                  if p != q)
    assert changed > 500


def test_embedded_script_never_runs(chromium, tmp_path):
    dat = tmp_path / "evil.dat"
    dat.write_text(
        "CMDLINE python3 <script>document.body.setAttribute('data-pwned','cmd')</script>\n"
        "MEM 1.0 100.0\nMEM 5.0 100.5\nMEM 2.0 101.0\n"
        "FUNC m.<script>document.body.setAttribute('data-pwned','func')</script> "
        "1.0 100.1 5.0 100.6 0\n"
        "CHLD 5 1.0 100.2\n")
    out = tmp_path / "evil.html"
    r = memline("plot", "-o", out, dat)
    assert r.returncode == 0
    dom = run_chromium(chromium, "--dump-dom", out.as_uri() + "#t=0.3")
    assert 'data-ready="1"' in dom  # the page's own script ran
    body_tag = "<body" + dom.split("<body", 1)[1].split(">", 1)[0] + ">"
    assert "data-pwned" not in body_tag, body_tag  # no injected script ran
    assert dom.count("<script") == 2  # the data block and the page's code: no others
    assert "&lt;script&gt;document.body.setAttribute" in dom  # shown as text instead
    tip = dom.split('id="ml-tip"', 1)[1].split("</div>", 1)[0]
    assert "function: m.&lt;script&gt;" in tip  # hover text is text too
