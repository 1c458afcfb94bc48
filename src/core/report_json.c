/* report_json: writing the JSON form of a line report. */
#include "report_json.h"

#include "mlerr.h"
#include "repw.h"

#include <stdio.h>
#include <time.h>

char *report_json_timestamp(char *buf, int64_t secs)
{
    time_t t = (time_t)secs;
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, 32, "1970-01-01T00:00:00Z");
    return buf;
}

/* A figure: null for a line that did not run, or a heap figure of a run
 * without heap columns. */
static void figure(repw *w, const char *name, int64_t v, int known)
{
    if (known)
        repw_printf(w, ", \"%s\": %lld", name, (long long)v);
    else
        repw_printf(w, ", \"%s\": null", name);
}

static void line_json(repw *w, int lineno, const linestat *s, const char *src, int heap)
{
    int ran = s->seen != 0;
    repw_printf(w, "        {\"line\": %d, \"source\": ", lineno);
    repw_json(w, src);
    repw_printf(w, ", \"ran\": %s, \"occurrences\": %llu", ran ? "true" : "false",
                (unsigned long long)s->occurrences);
    figure(w, "mem_usage", s->mem_max, ran);
    figure(w, "increment", s->mem_incr, ran);
    figure(w, "heap_incr", s->heap_incr, ran && heap);
    figure(w, "heap_peak", s->heap_peak, ran && heap);
    figure(w, "native_incr", s->native_incr, ran && heap);
    figure(w, "native_peak", s->native_peak, ran && heap);
    repw_puts(w, "}");
}

static void func_json(repw *w, const repfunc *f, int heap)
{
    const linefunc *fn = f->fn;
    repw_puts(w, "    {\n      \"filename\": ");
    repw_json(w, fn->filename);
    repw_puts(w, ",\n      \"name\": ");
    repw_json(w, fn->name);
    repw_printf(w, ",\n      \"first_line\": %d,\n      \"processes\": %d,\n"
                   "      \"incomplete\": %s,\n      \"lines\": [\n",
                fn->first, fn->processes > 0 ? fn->processes : 1,
                fn->incomplete ? "true" : "false");
    for (int i = 0; i < fn->nlines; i++) {
        line_json(w, fn->first + i, &fn->rows[i], f->src[i], heap);
        repw_puts(w, i + 1 < fn->nlines ? ",\n" : "\n");
    }
    repw_puts(w, "      ]\n    }");
}

int report_json(sbuf *out, const repview *v)
{
    size_t len = out->len;
    repw w = {out, ML_OK};
    const repmeta *m = &v->meta;
    repw_printf(&w, "{\n  \"schema_version\": %d,\n  \"tool\": \"memline\",\n"
                    "  \"memline_version\": ", REPDOC_SCHEMA_VERSION);
    repw_json(&w, m->memline_version);
    repw_puts(&w, ",\n  \"python_version\": ");
    repw_json(&w, m->python_version);
    repw_puts(&w, ",\n  \"backend\": ");
    repw_json(&w, m->backend);
    repw_puts(&w, ",\n  \"command_line\": [");
    for (size_t i = 0; i < m->argc; i++) {
        repw_puts(&w, i ? ", " : "");
        repw_json(&w, m->argv[i] ? m->argv[i] : "");
    }
    repw_printf(&w, "],\n  \"process_count\": %lld,\n  \"include_children\": %s,\n"
                    "  \"heap_columns\": %s,\n  \"timestamp\": ",
                (long long)m->process_count, m->include_children ? "true" : "false",
                m->heap ? "true" : "false");
    repw_json(&w, m->timestamp);
    repw_printf(&w, ",\n  \"processes\": %lld,\n  \"processes_lost\": %lld,\n"
                    "  \"processes_still_running\": %lld",
                (long long)(m->processes > 0 ? m->processes : 1), (long long)m->processes_lost,
                (long long)m->processes_running);
    repw_puts(&w, ",\n  \"functions\": [\n");
    for (size_t i = 0; i < v->nfuncs; i++) {
        func_json(&w, &v->funcs[i], m->heap);
        repw_puts(&w, i + 1 < v->nfuncs ? ",\n" : "\n");
    }
    repw_puts(&w, "  ]\n}\n");
    if (w.rc != ML_OK) {
        out->len = len;
        if (out->data)
            out->data[len] = '\0';
    }
    return w.rc;
}
