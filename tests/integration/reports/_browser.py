"""Headless Chromium for the HTML report tests, as the plot's tests use it
(tests/integration/cli/test_timeline_chromium.py): Debian's chromium,
installed by ensure_chromium.sh when missing; the tests fail, never skip,
when it cannot be.  drive() runs a script in the page as a user's clicks and
hovers would, through the page's own event handlers."""

import html
import os
import re
import subprocess

import pytest

from helpers import REPO

ENSURE = os.path.join(REPO, "tests", "integration", "cli", "ensure_chromium.sh")


@pytest.fixture(scope="session")
def chromium():
    r = subprocess.run(["sh", ENSURE], capture_output=True, text=True, timeout=1200)
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


def screenshot(chromium, path, png, size=(1280, 800), dark=False):
    args = ["--window-size=%d,%d" % size, "--screenshot=" + str(png)]
    if dark:
        args.append("--force-dark-mode")
    run_chromium(chromium, *args, path.as_uri())
    from PIL import Image
    with Image.open(png) as im:
        return im.convert("RGB")


def dump_dom(chromium, path):
    return run_chromium(chromium, "--dump-dom", path.as_uri())


def drive(chromium, page, script, tmp_path, name="driven.html"):
    """page with script appended (it runs after the page's own), as the
    browser leaves the DOM: returns the dumped DOM."""
    text = page.read_text(encoding="utf-8")
    assert text.count("</body>") == 1
    driven = tmp_path / name
    driven.write_text(text.replace("</body>", "<script>\n%s\n</script>\n</body>" % script),
                      encoding="utf-8")
    return driven, dump_dom(chromium, driven)


def body_attr(dom, name):
    """The unescaped value of attribute name on <body> in a dumped DOM."""
    tag = "<body" + dom.split("<body", 1)[1].split(">", 1)[0] + ">"
    m = re.search(r'\s%s="([^"]*)"' % re.escape(name), tag)
    return None if m is None else html.unescape(m.group(1))


def near(p, q, tol=14):
    return all(abs(a - b) <= tol for a, b in zip(p, q))


def bands(im, color, tol=10):
    """Horizontal bars of color: [(y0, y1, x0, x1)], one per band of
    consecutive rows, from the longest unbroken run of the colour in each
    row (so text of that colour beside a bar does not widen it)."""
    w, h = im.size
    px = im.load()
    rows = {}
    for y in range(h):
        best, start = None, None
        for x in range(w + 1):
            hit = x < w and near(px[x, y], color, tol)
            if hit and start is None:
                start = x
            elif not hit and start is not None:
                if best is None or x - start > best[1] - best[0]:
                    best = (start, x)
                start = None
        if best:
            rows[y] = best
    out = []
    for y in sorted(rows):
        if out and out[-1][1] == y and abs(out[-1][2] - rows[y][0]) < 8:
            y0, _, x0, x1 = out[-1]
            out[-1] = (y0, y + 1, min(x0, rows[y][0]), max(x1, rows[y][1]))
        else:
            out.append((y, y + 1) + rows[y])
    return out
