"""The HTML report as a browser shows it: `python -m memline --html FILE`
rendered by headless Chromium.  The seed's list comprehension has the
longest Heap peak bar and is marked; the rows are in the DOM with their
numbers; the columns sort and a hovered bar shows every figure (through
the page's own handlers); the colours follow the system's dark setting;
and nothing embedded from the program (source lines, names, paths, the
command line) runs or shows other than as written."""

import html
import json
import re

from _browser import bands, body_attr, chromium, drive, dump_dom, near, screenshot  # noqa: F401
from _reports import LISTCOMP, SEED_GEN
from helpers import MIB, run_memline, write

PEAK = (0x15, 0x65, 0xc0)  # --peak, light
INCR = (0xef, 0x6c, 0x00)  # --incr, light
PEAK_DARK = (0x58, 0xa6, 0xff)


def seed_report(tmp_path, *options):
    page, data = tmp_path / "seed.html", tmp_path / "seed.json"
    r = run_memline([*options, "--html", str(page), "--json", str(data), SEED_GEN])
    assert r.returncode == 0, r.stderr
    return page, json.loads(data.read_text())


def rows_of(dom, prefix="mlr-f1"):
    """{line: <tr> markup} of one function's table in a dumped DOM."""
    return {int(m.group(1)): m.group(0) for m in
            re.finditer(r'<tr id="%s-l(\d+)".*?</tr>' % prefix, dom, re.S)}


def test_page_is_self_contained(tmp_path):
    page, _ = seed_report(tmp_path)
    text = page.read_text()
    assert not re.search(r"(src|href)=\"(https?:)?//", text)
    assert "@import" not in text and "url(" not in text and "@font-face" not in text
    assert text.count("<script") == 1 and "<link" not in text


def test_screenshot_longest_heap_peak_bar_is_the_list_comprehension(chromium, tmp_path):
    page, doc = seed_report(tmp_path)
    dom = dump_dom(chromium, page)
    assert 'data-ready="1"' in dom
    rows = rows_of(dom)
    assert sorted(rows) == list(range(9, 16))
    widths = {n: float(re.search(r'mlr-fill mlr-peak" style="width:([0-9.]+)%', tr).group(1))
              for n, tr in rows.items() if n != 10}
    assert widths[14] == 100.0 and all(w < 1.0 for n, w in widths.items() if n != 14)
    assert 'class="mlr-worst"' in rows[14] and "&#9650;" not in rows[14]  # the mark, as ▲
    assert "\u25b2" in rows[14] and "\u25b2" not in "".join(v for k, v in rows.items() if k != 14)
    assert 'class="mlr-idle"' in rows[10]
    peak = [l for l in doc["functions"][0]["lines"] if l["source"] == LISTCOMP][0]["heap_peak"]
    assert '<td class="mlr-bar" data-v="%d">' % peak in rows[14]
    assert "<span class=\"mlr-v\">%.3f</span></td>" % (peak / MIB) in rows[14]
    im = screenshot(chromium, page, tmp_path / "seed.png")
    long_bars = [b for b in bands(im, PEAK) if b[3] - b[2] > 60]
    # The summary's bar for the function, and line 14's: both full, 110 px.
    assert len(long_bars) == 2, bands(im, PEAK)
    assert all(105 <= b[3] - b[2] <= 112 and b[1] - b[0] >= 9 for b in long_bars)
    short = [b for b in bands(im, PEAK) if b not in long_bars]
    assert all(b[3] - b[2] <= 10 for b in short)  # the legend's swatch, text
    # Line 14's Increment bar is drawn beside it, in the same row.
    incr = [b for b in bands(im, INCR) if b[3] - b[2] > 60]
    assert len(incr) == 1 and abs(incr[0][0] - long_bars[1][0]) <= 2


def test_columns_sort_and_hover_shows_every_figure(chromium, tmp_path):
    page, doc = seed_report(tmp_path)
    script = r"""
    var ths=document.querySelectorAll('table.mlr-lines th');
    function th(t){return Array.prototype.find.call(ths,function(h){
      return h.textContent.indexOf(t)===0;});}
    function order(){return Array.prototype.map.call(
      document.querySelectorAll('table.mlr-lines tbody tr'),function(r){
      return r.id.split('-l')[1];}).join(',');}
    var b=document.body;
    th('Heap peak').click(); b.setAttribute('data-peak-desc',order());
    th('Heap peak').click(); b.setAttribute('data-peak-asc',order());
    th('Occurrences').click(); b.setAttribute('data-occ',order());
    th('Line #').click(); b.setAttribute('data-line',order());
    th('Line Contents').click(); b.setAttribute('data-src',order());
    th('Line #').click();
    var cell=document.querySelector('#mlr-f1-l14 td.mlr-bar');
    cell.dispatchEvent(new MouseEvent('mouseover',{bubbles:true}));
    var tip=document.querySelector('.mlr-tip');
    b.setAttribute('data-tip',tip.textContent);
    b.setAttribute('data-tip-display',tip.style.display);
    """
    driven, dom = drive(chromium, page, script, tmp_path)
    peak_desc = body_attr(dom, "data-peak-desc").split(",")
    assert peak_desc[0] == "14" and peak_desc[-1] == "10"  # never-run line last
    assert body_attr(dom, "data-peak-asc").split(",")[-1] == "10"
    assert body_attr(dom, "data-peak-asc").split(",")[-2] == "14"
    occ = body_attr(dom, "data-occ").split(",")
    assert set(occ[:2]) == {"12", "14"}  # 100002 occurrences each
    assert body_attr(dom, "data-line") == "9,10,11,12,13,14,15"
    lines = doc["functions"][0]["lines"]
    by_text = [str(l["line"]) for l in sorted(lines, key=lambda l: (l["source"], l["line"]))]
    assert body_attr(dom, "data-src").split(",") == by_text
    assert body_attr(dom, "data-tip-display") == "block"
    tip = body_attr(dom, "data-tip")
    line = [l for l in doc["functions"][0]["lines"] if l["line"] == 14][0]
    assert tip.startswith("Line 14: " + LISTCOMP)
    for name, key, sign in (("Mem usage", "mem_usage", ""), ("Increment", "increment", "+"),
                            ("Heap incr", "heap_incr", "+"), ("Heap peak", "heap_peak", "")):
        v = line[key]
        text = ("%+.3f" if sign and v else "%.3f") % (v / MIB)
        assert "%-12s %s MiB (%d bytes)" % (name, text, v) in tip, (name, tip)
    assert "Occurrences  %d\n" % line["occurrences"] in tip
    # The tooltip is drawn: the shot with it differs from the plain page below the bar.
    with_tip = screenshot(chromium, driven, tmp_path / "tip.png")
    plain = screenshot(chromium, page, tmp_path / "plain.png")
    from PIL import ImageChops
    diff = sum(ImageChops.difference(with_tip, plain).convert("L").histogram()[1:])
    assert diff > 2000


def test_light_and_dark_follow_the_system(chromium, tmp_path):
    page, _ = seed_report(tmp_path)
    light = screenshot(chromium, page, tmp_path / "light.png")
    dark = screenshot(chromium, page, tmp_path / "dark.png", dark=True)
    assert light.getpixel((5, 5)) == (255, 255, 255)
    assert sum(dark.getpixel((5, 5))) < 100 and sum(dark.getpixel((5, 790))) < 100
    assert len([b for b in bands(dark, PEAK_DARK) if b[3] - b[2] > 60]) == 2
    assert not [b for b in bands(dark, PEAK, tol=6) if b[3] - b[2] > 60]


EVIL = "<script>document.body.setAttribute('data-pwned','%s')</script>"
EVIL_NAME = ("<img src=x onerror=\"document.body.setAttribute('data-pwned','name')\">"
             "</style>%s'\x01" % (EVIL % "name2"))
EVIL_SOURCE = '''\
@profile
def evil():
    # %s </style><b>bold</b>
    s = "</style>\\"quoted\\" 'single' & \x01\x1b[31m\x7f"
    return s

evil.__wrapped__ if hasattr(evil, "__wrapped__") else None

def named():
    x = "%s"
    return x

named.__qualname__ = %r
profile(named)()
evil()
''' % (EVIL % "src", EVIL % "src2", EVIL_NAME)


def test_embedded_text_never_runs_and_shows_as_written(chromium, tmp_path):
    folder = tmp_path / "a\"'&\x01<" / "style>b"  # the path holds </style> and a control
    folder.mkdir(parents=True)
    prog = write(folder / "evil<script>.py", EVIL_SOURCE)
    page = tmp_path / "evil.html"
    arg = EVIL % "argv"
    r = run_memline(["--html", str(page), str(prog), arg])
    assert r.returncode == 0, r.stderr
    script = r"""
    var b=document.body,cells=document.querySelectorAll('td.mlr-src');
    b.setAttribute('data-src',Array.prototype.map.call(cells,function(c){
      return c.textContent;}).join('\n'));
    b.setAttribute('data-h2',Array.prototype.map.call(document.querySelectorAll('h2'),
      function(h){return h.textContent;}).join('\n'));
    b.setAttribute('data-meta',document.querySelector('.mlr-meta').textContent);
    var row=Array.prototype.find.call(cells,function(c){
      return c.textContent.indexOf('quoted')>=0;}).parentNode;
    var bar=row.querySelector('td.mlr-bar');
    bar.dispatchEvent(new MouseEvent('mouseover',{bubbles:true}));
    b.setAttribute('data-tip',document.querySelector('.mlr-tip').textContent);
    b.setAttribute('data-scripts',document.querySelectorAll('script').length);
    b.setAttribute('data-imgs',document.querySelectorAll('img').length);
    """
    # The page as written: nothing of it runs.
    dom = dump_dom(chromium, page)
    assert 'data-ready="1"' in dom  # the page's own script ran
    assert body_attr(dom, "data-pwned") is None
    assert dom.count("<script") == 1 and "<img" not in dom and "<b>" not in dom
    _, dom = drive(chromium, page, script, tmp_path)
    assert body_attr(dom, "data-pwned") is None
    assert body_attr(dom, "data-scripts") == "2" and body_attr(dom, "data-imgs") == "0"
    src = body_attr(dom, "data-src").split("\n")
    # Text as written; control characters as their visible Control Pictures.
    assert "    # %s </style><b>bold</b>" % (EVIL % "src") in src
    assert '    s = "</style>\\"quoted\\" \'single\' & \u2401\u241b[31m\u2421"' in src
    assert '    x = "%s"' % (EVIL % "src2") in src
    h2 = body_attr(dom, "data-h2")
    assert "</style>" in str(prog) and "<script>" in EVIL_NAME
    assert EVIL_NAME.replace("\x01", "\u2401") in h2
    assert str(prog).replace("\x01", "\u2401") in h2
    # the command line as a shell would take it back
    assert "'%s'" % arg.replace("'", "'\\''") in body_attr(dom, "data-meta")
    tip = body_attr(dom, "data-tip")
    assert tip.startswith('Line 4:     s = "</style>\\"quoted\\" \'single\' & '
                          '\u2401\u241b[31m\u2421"\n')
