/* plot_html: the interactive form of the plot.  One self-contained page:
 * the SVG chart inline, the drawn data again as JSON inside a
 * <script type="application/json"> element (every string escaped so it can
 * never close the element), and a short fixed script that follows the
 * mouse and shows the time, the memory and the functions running then. */
#include "plot_int.h"

#include <stdio.h>

static const char style[] =
    "body{margin:16px;background:#fafafa;font-family:'DejaVu Sans',Helvetica,Arial,"
    "sans-serif}\n"
    "#ml-wrap{position:relative;display:inline-block}\n"
    "#ml-tip{position:absolute;display:none;pointer-events:none;white-space:pre;"
    "background:#fff;border:1px solid #888;border-radius:3px;padding:4px 7px;font-size:12px;"
    "box-shadow:0 1px 4px rgba(0,0,0,.25)}\n";

/* Fixed code: it reads only the JSON above it and writes only textContent
 * and attributes, never markup. */
static const char script[] =
    "(function(){\n"
    "var d=JSON.parse(document.getElementById('memline-data').textContent);\n"
    "var svg=document.getElementById('memline-plot'),ov=document.getElementById('ml-overlay'),\n"
    "hov=document.getElementById('ml-hover'),hl=document.getElementById('ml-hline'),\n"
    "dot=document.getElementById('ml-hdot'),tip=document.getElementById('ml-tip'),a=d.area;\n"
    "function px(t){return a.left+(t-d.x[0])/(d.x[1]-d.x[0])*(a.right-a.left);}\n"
    "function py(m){return a.bottom-(m-d.y[0])/(d.y[1]-d.y[0])*(a.bottom-a.top);}\n"
    "function near(c,t){var lo=0,hi=c.t.length-1;while(hi-lo>1){var mid=(lo+hi)>>1;\n"
    "if(c.t[mid]<t)lo=mid;else hi=mid;}return Math.abs(c.t[lo]-t)<=Math.abs(c.t[hi]-t)?lo:hi;}\n"
    "function hide(){hov.setAttribute('visibility','hidden');tip.style.display='none';}\n"
    "function show(t,sx,sy){\n"
    "var best=null,bi=0,bd=1e18;\n"
    "d.curves.forEach(function(c){var i=near(c,t),dy=sy===null?0:Math.abs(py(c.m[i])-sy)+\n"
    "Math.abs(px(c.t[i])-sx);if(dy<bd){bd=dy;best=c;bi=i;}});\n"
    "if(!best){hide();return;}\n"
    "var ct=best.t[bi],cm=best.m[bi],x=px(ct),y=py(cm),k=d.width/svg.getBoundingClientRect().width;\n"
    "hl.setAttribute('x1',x);hl.setAttribute('x2',x);dot.setAttribute('cx',x);\n"
    "dot.setAttribute('cy',y);dot.setAttribute('fill',best.color);\n"
    "hov.setAttribute('visibility','visible');\n"
    "var fs=d.calls.filter(function(f){return f.t0<=ct&&ct<=f.t1;});\n"
    "fs.sort(function(p,q){return p.depth-q.depth;});\n"
    "var lines=['time: '+ct.toFixed(3)+' s','memory: '+cm.toFixed(3)+' MiB',best.label];\n"
    "lines.push('function: '+(fs.length?fs.map(function(f){return f.name;}).join(' > '):'-'));\n"
    "tip.textContent=lines.join('\\n');tip.style.display='block';\n"
    "tip.style.left=(x/k+12)+'px';tip.style.top=(y/k+12)+'px';}\n"
    "ov.addEventListener('mousemove',function(e){\n"
    "var r=svg.getBoundingClientRect(),k=d.width/r.width;\n"
    "var sx=(e.clientX-r.left)*k,sy=(e.clientY-r.top)*k;\n"
    "show(d.x[0]+(sx-a.left)/(a.right-a.left)*(d.x[1]-d.x[0]),sx,sy);});\n"
    "/* #t=SECONDS in the address marks that moment, as hovering would */\n"
    "var m=/^#t=([0-9.]+)$/.exec(location.hash);if(m)show(parseFloat(m[1]),0,null);\n"
    "ov.addEventListener('mouseleave',hide);\n"
    "document.body.setAttribute('data-ready','1');\n"
    "})();\n";

static void data_json(repw *w, const plot_chart *c)
{
    repw_printf(w, "{\"width\":%.0f,\"area\":{\"left\":%.1f,\"right\":%.1f,\"top\":%.1f,"
                   "\"bottom\":%.1f},\"x\":[%.6g,%.6g],\"y\":[%.6g,%.6g],\"curves\":[",
                c->width, c->left, c->right, c->top, c->bottom, c->xmin, c->xmax, c->ymin,
                c->ymax);
    for (size_t i = 0; i < c->n_curves; i++) {
        const plot_curve *cv = &c->curves[i];
        repw_printf(w, "%s{\"label\":", i ? "," : "");
        repw_json(w, cv->label);
        repw_printf(w, ",\"color\":\"%s\",\"t\":[", cv->color);
        for (size_t k = 0; k < cv->npoints; k++)
            repw_printf(w, "%s%.4f", k ? "," : "", cv->v[k].t);
        repw_printf(w, "],\"m\":[");
        for (size_t k = 0; k < cv->npoints; k++)
            repw_printf(w, "%s%.6f", k ? "," : "", cv->v[k].mib);
        repw_printf(w, "]}");
    }
    repw_printf(w, "],\"calls\":[");
    for (size_t i = 0; i < c->n_calls; i++) {
        const plot_call *k = &c->calls[i];
        repw_printf(w, "%s{\"name\":", i ? "," : "");
        repw_json(w, c->names[k->fn]);
        repw_printf(w, ",\"t0\":%.4f,\"t1\":%.4f,\"depth\":%d}", k->t0, k->t1, k->depth);
    }
    repw_printf(w, "]}");
}

void plot_html(repw *w, const plot_chart *c)
{
    repw_printf(w, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                   "<title>");
    repw_xml(w, c->title ? c->title : "memline plot");
    repw_printf(w, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<div id=\"ml-wrap\">\n",
                style);
    plot_svg(w, c, 1);
    repw_printf(w, "<div id=\"ml-tip\"></div>\n</div>\n"
                   "<script type=\"application/json\" id=\"memline-data\">");
    data_json(w, c);
    repw_printf(w, "</script>\n<script>\n%s</script>\n</body>\n</html>\n", script);
}
