/* report_html_assets: the style and script of the HTML reports, and the
 * frame and cells they share (report_html_int.h). */
#include "report_html_int.h"

#include "mlerr.h"
#include "mlunits.h"

#include <string.h>

/* Light colours, then dark ones when the reader's system asks for them.
 * Every rule is under .mlr so that a fragment inside a notebook leaves
 * the notebook's own page alone. */
const char rhtml_css[] =
    ".mlr{--bg:#ffffff;--fg:#1f2328;--mute:#656d76;--rule:#d0d7de;--head:#f6f8fa;"
    "--hover:#eef4ff;--track:#eaeef2;--peak:#1565c0;--incr:#ef6c00;--neg:#2e7d32;"
    "--old:#8c959f;--worst:#fff1e0;--mark:#d32f2f;--add:#e6f6ea;--del:#fdecec;"
    "--tip:#ffffff;--shadow:rgba(0,0,0,.18);"
    "position:relative;color:var(--fg);background:var(--bg);padding:16px 22px;"
    "font:13px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif}\n"
    "@media (prefers-color-scheme:dark){.mlr{--bg:#0d1117;--fg:#e6edf3;--mute:#8d96a0;"
    "--rule:#30363d;--head:#161b22;--hover:#1c2a3f;--track:#21262d;--peak:#58a6ff;"
    "--incr:#f0883e;--neg:#3fb950;--old:#6e7681;--worst:#3a2714;--mark:#ff7b72;"
    "--add:#12261a;--del:#2d1416;--tip:#1c2128;--shadow:rgba(0,0,0,.6)}}\n"
    ".mlr h1{font-size:20px;margin:0 0 4px}\n"
    ".mlr h2{font-size:15px;margin:26px 0 6px}\n"
    ".mlr h2 .mlr-file{font-weight:normal;color:var(--mute);font-size:13px;margin-left:8px}\n"
    ".mlr .mlr-meta{color:var(--mute);margin:0 0 4px}\n"
    ".mlr .mlr-meta code{color:var(--fg)}\n"
    ".mlr .mlr-warn{color:var(--mark);font-weight:600;margin:4px 0}\n"
    ".mlr a{color:var(--peak)}\n"
    ".mlr table{border-collapse:collapse;margin:6px 0}\n"
    ".mlr th{background:var(--head);text-align:right;font-weight:600;padding:4px 8px;"
    "border-bottom:1px solid var(--rule);white-space:nowrap;cursor:pointer;user-select:none}\n"
    ".mlr th.mlr-t{text-align:left}\n"
    ".mlr th[aria-sort=descending]::after{content:' \\25BC';font-size:9px}\n"
    ".mlr th[aria-sort=ascending]::after{content:' \\25B2';font-size:9px}\n"
    ".mlr td{padding:1px 8px;text-align:right;white-space:nowrap;"
    "font:12px/1.5 ui-monospace,'DejaVu Sans Mono',Menlo,Consolas,monospace}\n"
    ".mlr td.mlr-t{text-align:left;font-family:inherit}\n"
    ".mlr tbody tr:hover{background:var(--hover)}\n"
    ".mlr tr.mlr-idle td{color:var(--mute)}\n"
    ".mlr tr.mlr-worst{background:var(--worst)}\n"
    ".mlr tr.mlr-add{background:var(--add)}\n"
    ".mlr tr.mlr-del{background:var(--del)}\n"
    ".mlr .mlr-flag{color:var(--mark);font-weight:bold;margin-right:4px}\n"
    ".mlr td.mlr-src{text-align:left;white-space:pre;tab-size:8;-moz-tab-size:8;"
    "padding-left:14px}\n"
    ".mlr td.mlr-src del{color:var(--mute)}\n"
    ".mlr td.mlr-bar{text-align:left}\n"
    ".mlr .mlr-v{display:inline-block;min-width:6.5em;text-align:right}\n"
    ".mlr .mlr-v2{min-width:11em}\n"
    ".mlr .mlr-track{display:inline-block;vertical-align:middle;width:110px;height:11px;"
    "background:var(--track);border-radius:2px;margin-right:6px;text-align:left;"
    "overflow:hidden}\n"
    ".mlr .mlr-fill{display:block;height:100%;border-radius:2px}\n"
    ".mlr .mlr-fill.mlr-peak{background:var(--peak)}\n"
    ".mlr .mlr-fill.mlr-incr{background:var(--incr)}\n"
    ".mlr .mlr-fill.mlr-old{background:var(--old)}\n"
    ".mlr .mlr-fill.mlr-neg{background:var(--neg)}\n"
    ".mlr .mlr-track.mlr-two{height:13px}\n"
    ".mlr .mlr-two .mlr-fill{height:6px;margin-bottom:1px}\n"
    ".mlr .mlr-up{color:var(--mark)}\n"
    ".mlr .mlr-down{color:var(--neg)}\n"
    ".mlr .mlr-legend{color:var(--mute);margin:2px 0 0}\n"
    ".mlr .mlr-legend i{display:inline-block;width:10px;height:10px;border-radius:2px;"
    "margin:0 4px 0 10px;vertical-align:-1px}\n"
    ".mlr .mlr-tip{position:absolute;display:none;z-index:10;pointer-events:none;"
    "white-space:pre;background:var(--tip);color:var(--fg);border:1px solid var(--rule);"
    "border-radius:4px;padding:6px 9px;box-shadow:0 2px 8px var(--shadow);"
    "font:12px/1.5 ui-monospace,'DejaVu Sans Mono',Menlo,Consolas,monospace}\n";

/* The root is the element the script sits in, so several reports on one
 * page (a notebook) each get their own handlers. */
const char rhtml_js[] =
    "(function(root){\n"
    "if(!root||root.getAttribute('data-ready'))return;\n"
    "var tip=root.querySelector('.mlr-tip');\n"
    "function hide(){tip.style.display='none';}\n"
    "function show(cell){var tr=cell.parentNode,r=root.getBoundingClientRect(),\n"
    "c=cell.getBoundingClientRect();tip.textContent=tr.getAttribute('data-tip');\n"
    "tip.style.display='block';tip.style.left=(c.left-r.left)+'px';\n"
    "tip.style.top=(c.bottom-r.top+4)+'px';}\n"
    "root.addEventListener('mouseover',function(e){\n"
    "var cell=e.target.closest?e.target.closest('td.mlr-bar'):null;\n"
    "if(cell&&cell.parentNode.hasAttribute('data-tip'))show(cell);else hide();});\n"
    "root.addEventListener('mouseleave',hide);\n"
    "function key(tr,i,text){var c=tr.cells[i];if(!c)return null;\n"
    "if(text)return c.textContent;var v=c.getAttribute('data-v');\n"
    "return v===null||v===''?null:parseFloat(v);}\n"
    "root.addEventListener('click',function(e){\n"
    "var th=e.target.closest?e.target.closest('th[data-sort]'):null;if(!th)return;\n"
    "var table=th.closest('table'),body=table.tBodies[0],i=th.cellIndex,\n"
    "text=th.getAttribute('data-sort')==='text',first=th.getAttribute('data-first')||'desc',\n"
    "cur=th.getAttribute('aria-sort'),dir=cur?(cur==='descending'?'asc':'desc'):first;\n"
    "Array.prototype.forEach.call(table.tHead.rows[0].cells,function(h){\n"
    "h.removeAttribute('aria-sort');});\n"
    "th.setAttribute('aria-sort',dir==='desc'?'descending':'ascending');\n"
    "var rows=Array.prototype.slice.call(body.rows).map(function(tr,n){\n"
    "return {tr:tr,k:key(tr,i,text),n:n};});\n"
    "rows.sort(function(a,b){if(a.k===b.k)return a.n-b.n;if(a.k===null)return 1;\n"
    "if(b.k===null)return -1;var d=a.k<b.k?-1:1;return dir==='desc'?-d:d;});\n"
    "rows.forEach(function(r){body.appendChild(r.tr);});});\n"
    "root.setAttribute('data-ready','1');\n"
    "})(document.currentScript&&document.currentScript.parentNode);\n";

void rhtml_open(repw *w, int fragment, const char *title, int precision)
{
    if (!fragment) {
        repw_puts(w, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                     "<meta name=\"color-scheme\" content=\"light dark\">\n"
                     "<meta name=\"viewport\" content=\"width=device-width\">\n<title>");
        repw_xml(w, title);
        repw_printf(w, "</title>\n<style>\nbody{margin:0}\n.mlr{min-height:100vh;box-sizing:border-box}\n%s</style>\n</head>\n<body>\n",
                    rhtml_css);
    }
    repw_printf(w, "<div class=\"mlr\" data-precision=\"%d\">\n", precision);
    if (fragment)
        repw_printf(w, "<style>\n%s</style>\n", rhtml_css);
}

void rhtml_close(repw *w, int fragment)
{
    repw_printf(w, "<div class=\"mlr-tip\"></div>\n<script>\n%s</script>\n</div>\n", rhtml_js);
    if (!fragment)
        repw_puts(w, "</body>\n</html>\n");
}

/* An argument as a shell would need it, when it needs quoting. */
static void shell_word(repw *w, const char *s)
{
    int plain = *s != '\0';
    for (const char *p = s; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%",
                    *p))
            plain = 0;
    if (plain) {
        repw_html(w, s);
        return;
    }
    sbuf q = SBUF_INIT;
    int rc = sbuf_puts(&q, "'");
    for (const char *p = s; rc == ML_OK && *p; p++)
        rc = *p == '\'' ? sbuf_puts(&q, "'\\''") : sbuf_append(&q, p, 1);
    if (rc == ML_OK)
        rc = sbuf_puts(&q, "'");
    if (rc != ML_OK && w->rc == ML_OK)
        w->rc = rc;
    repw_html(w, sbuf_str(&q));
    sbuf_release(&q);
}

void rhtml_meta(repw *w, const repmeta *m)
{
    repw_puts(w, "<p class=\"mlr-meta\">");
    if (m->argc) {
        repw_puts(w, "<code>");
        for (size_t i = 0; i < m->argc; i++) {
            repw_puts(w, i ? " " : "");
            shell_word(w, m->argv[i] ? m->argv[i] : "");
        }
        repw_puts(w, "</code><br>");
    }
    repw_puts(w, "backend ");
    repw_html(w, m->backend ? m->backend : "?");
    repw_puts(w, " &middot; memline ");
    repw_html(w, m->memline_version ? m->memline_version : "?");
    repw_puts(w, " &middot; Python ");
    repw_html(w, m->python_version ? m->python_version : "?");
    repw_printf(w, " &middot; %lld process%s", (long long)m->process_count,
                m->process_count == 1 ? "" : "es");
    if (m->timestamp) {
        repw_puts(w, " &middot; ");
        repw_html(w, m->timestamp);
    }
    if (!m->heap)
        repw_puts(w, " &middot; no heap columns");
    if (m->processes > 1)
        repw_printf(w, " &middot; profiled code ran in %lld processes", (long long)m->processes);
    repw_puts(w, "</p>\n");
    /* the text report's lines after the tables, where they are seen first */
    if (m->processes_lost > 0)
        repw_printf(w, "<p class=\"mlr-warn\">Processes lost: %lld (ended before sending their "
                       "tables; killed by a signal?)</p>\n", (long long)m->processes_lost);
    if (m->processes_running > 0)
        repw_printf(w, "<p class=\"mlr-warn\">Processes still running at the report: %lld "
                       "(their tables are not in it)</p>\n", (long long)m->processes_running);
}

void rhtml_bar(repw *w, int64_t v, int64_t scale, const char *cls, int precision, int sign,
               int known)
{
    if (!known) {
        repw_puts(w, "<td class=\"mlr-bar\"></td>");
        return;
    }
    double mag = v < 0 ? -(double)v : (double)v;
    double pct = scale > 0 ? 100.0 * mag / (double)scale : 0;
    if (pct > 100)
        pct = 100;
    repw_printf(w, "<td class=\"mlr-bar\" data-v=\"%lld\"><span class=\"mlr-track\">"
                   "<span class=\"mlr-fill %s%s\" style=\"width:%.1f%%\"></span></span>"
                   "<span class=\"mlr-v\">",
                (long long)v, cls, v < 0 ? " mlr-neg" : "", pct);
    repw_mib(w, v, precision, sign);
    repw_puts(w, "</span></td>");
}

void rhtml_mib(repw *w, int64_t v, int precision, int sign, int known)
{
    if (!known) {
        repw_puts(w, "<td></td>");
        return;
    }
    repw_printf(w, "<td data-v=\"%lld\">", (long long)v);
    repw_mib(w, v, precision, sign);
    repw_puts(w, "</td>");
}

void rhtml_tip_mib(repw *w, const char *name, int64_t v, int precision, int sign)
{
    repw_printf(w, "&#10;%-12s ", name);
    repw_mib(w, v, precision, sign);
    repw_printf(w, " MiB (%lld bytes)", (long long)v);
}

int rhtml_prefix_ok(const char *p)
{
    if (!*p)
        return 0;
    for (; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", *p))
            return 0;
    return 1;
}
