/* mprof_run: `memline run` and `memline attach`.  Opens the .dat file,
 * writes its CMDLINE, starts the program (directly, or for a .py file as
 * `python3 -m memline --timestamp -o FILE script.py` so that profiled
 * functions add FUNC lines) or finds the process to attach to, and hands
 * both to the sampler with SIGINT/SIGTERM caught for the duration. */
#include "core/datfile.h"
#include "core/mlalloc.h"
#include "core/mlerr.h"
#include "core/mlio.h"
#include "core/procinfo.h"
#include "core/sampler.h"
#include "core/sbuf.h"
#include "mprof.h"
#include "mprof_int.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { O_PYTHON = 1, O_NOPYTHON, O_INTERVAL, O_CHILDREN, O_MULTI, O_EXITCODE, O_ATTACH,
       O_TIMEOUT, O_OUTPUT, O_BACKEND, O_HELP };

static const mprof_opt run_opts[] = {
    {0, "python", 0, O_PYTHON},       {0, "nopython", 0, O_NOPYTHON},
    {'T', "interval", 1, O_INTERVAL}, {'C', "include-children", 0, O_CHILDREN},
    {'M', "multiprocess", 0, O_MULTI}, {'E', "exit-code", 0, O_EXITCODE},
    {'a', "attach", 0, O_ATTACH},     {'t', "timeout", 1, O_TIMEOUT},
    {'o', "output", 1, O_OUTPUT},     {0, "backend", 1, O_BACKEND},
    {'h', "help", 0, O_HELP},         {0, NULL, 0, 0}};

static const char run_usage[] =
    "usage: memline run [--python|--nopython] [-T interval] [-C|--include-children]\n"
    "                   [-M|--multiprocess] [-E|--exit-code] [-t timeout] [-o file]\n"
    "                   program [args ...]\n"
    "       memline attach [-T interval] [-C] [-M] [-t timeout] [-o file] PID|name\n";

/* The one signal state the handler may touch; reset by every run. */
static sampler_signal run_signal;

static void on_signal(int signo, siginfo_t *si, void *ctx)
{
    (void)ctx;
    run_signal.count++;
    /* A terminal sends SIGINT to the whole foreground group (SI_KERNEL):
     * the target has it already.  Anything sent to memline alone is passed
     * on. */
    if (!si || si->si_code != SI_KERNEL)
        run_signal.forward = signo;
}

typedef struct run_cfg {
    int python, nopython, children, multi, exit_code, attach;
    double interval, timeout;
    const char *output;
    char **program; /* borrowed from argv */
    int n_program;
} run_cfg;

static int parse_seconds(const char *s, double min, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= min) || v > 1e9)
        return 0;
    *out = v;
    return 1;
}

static int parse_run(int argc, char **argv, run_cfg *c)
{
    mprof_args a = {argc, argv, 2, argv[1], 1, "", 0};
    const char *v;
    int id;
    while ((id = mprof_next(&a, run_opts, &v)) != MPROF_ARG_END) {
        switch (id) {
        case MPROF_ARG_ERROR: return MPROF_EUSAGE;
        case MPROF_ARG_POSITIONAL:
            c->program = argv + a.i - 1;
            c->n_program = argc - a.i + 1;
            return MPROF_OK;
        case O_PYTHON: c->python = 1; break;
        case O_NOPYTHON: c->nopython = 1; break;
        case O_CHILDREN: c->children = 1; break;
        case O_MULTI: c->multi = 1; break;
        case O_EXITCODE: c->exit_code = 1; break;
        case O_ATTACH: c->attach = 1; break;
        case O_OUTPUT: c->output = v; break;
        case O_BACKEND:
            if (strcmp(v, "psutil") != 0 && strcmp(v, "posix") != 0 && strcmp(v, "rss") != 0)
                return mprof_fail(MPROF_EUSAGE, "%s: backend '%s' is not supported (the "
                                  "timeline samples RSS)", a.verb, v);
            break;
        case O_HELP: fputs(run_usage, stdout); return -1;
        case O_INTERVAL:
            if (!parse_seconds(v, SAMPLER_MIN_INTERVAL, &c->interval))
                return mprof_fail(MPROF_EUSAGE, "%s: interval '%s' is not a number of seconds "
                                  ">= 0.001", a.verb, v);
            break;
        case O_TIMEOUT:
            if (!parse_seconds(v, 0.001, &c->timeout))
                return mprof_fail(MPROF_EUSAGE, "%s: timeout '%s' is not a positive number of "
                                  "seconds", a.verb, v);
            break;
        }
    }
    return mprof_fail(MPROF_EUSAGE, c->attach ? "attach: a PID or process name must be given"
                                              : "run: a program to run must be given");
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* The argv to start: the program itself, or a Python interpreter running
 * it under memline --timestamp.  *cmd gets what CMDLINE records.  Both are
 * new arrays of borrowed strings, freed with ml_free. */
static int build_argv(const run_cfg *c, const char *python, char ***out, char ***cmd,
                      size_t *ncmd, int *pymode)
{
    const char *first = c->program[0];
    int is_py = ends_with(first, ".py") && !c->nopython;
    const char *base = strrchr(first, '/') ? strrchr(first, '/') + 1 : first;
    *pymode = !c->nopython && ((is_py && !c->multi) || c->python);
    int add_python = (*pymode || is_py) && strncmp(base, "python", 6) != 0;
    size_t n = (size_t)c->n_program, total = n + 7;
    char **av = ml_calloc(total, sizeof *av), **cv = ml_calloc(n + 2, sizeof *cv);
    if (!av || !cv) {
        ml_free(av);
        ml_free(cv);
        return ML_ENOMEM;
    }
    size_t k = 0, j = 0, i = 0;
    if (add_python)
        av[k++] = cv[j++] = (char *)python;
    else
        av[k++] = cv[j++] = c->program[i++];
    if (*pymode) {
        static char *extra[] = {"-m", "memline", "--timestamp", "-o"};
        for (size_t e = 0; e < 4; e++)
            av[k++] = extra[e];
        av[k++] = (char *)c->output;
        if (c->children)
            av[k++] = "--include-children";
    }
    for (; i < n; i++)
        av[k++] = cv[j++] = c->program[i];
    *out = av;
    *cmd = cv;
    *ncmd = j;
    return ML_OK;
}

/* Finds the attach target: a PID, or the first process whose name holds
 * the hint. */
static int find_target(const char *hint, pid_t *pid)
{
    char *end;
    long v = strtol(hint, &end, 10);
    if (*hint && !*end) {
        if (v <= 0 || procinfo_exists((pid_t)v) == ML_ENOENT)
            return mprof_fail(MPROF_ENOPROC, "attach: no process with PID %s", hint);
        *pid = (pid_t)v;
        return MPROF_OK;
    }
    int rc = procinfo_find(hint, pid);
    if (rc == ML_ENOENT)
        return mprof_fail(MPROF_ENOPROC, "attach: no process whose name contains '%s'", hint);
    if (rc != ML_OK)
        return mprof_fail(MPROF_EINTERNAL, "attach: cannot list processes: %s", ml_strerror(rc));
    return MPROF_OK;
}

/* The exit code a finished run reports. */
static int run_status(const run_cfg *c, const sampler_result *r)
{
    if (r->end == SAMPLER_INTERRUPTED)
        return MPROF_EINTERRUPTED;
    if (!c->exit_code || !r->have_status)
        return MPROF_OK;
    int code = WIFEXITED(r->status) ? WEXITSTATUS(r->status) : 128 + WTERMSIG(r->status);
    if (code != 0)
        mprof_warn("the program exited with code %d", code);
    return code;
}

int mprof_run(int argc, char **argv, int attach)
{
    run_cfg c = {0};
    c.interval = 0.1;
    c.attach = attach;
    char defname[64], **av = NULL, **cv = NULL;
    sbuf line = SBUF_INIT;
    int rc = parse_run(argc, argv, &c), fd = -1, pymode = 0, installed = 0;
    size_t ncmd = 0;
    pid_t pid = 0;
    struct sigaction old_int, old_term;
    if (rc != MPROF_OK)
        return rc < 0 ? MPROF_OK : rc;
    if (!c.output) {
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        strftime(defname, sizeof defname, "mprofile_%Y%m%d%H%M%S.dat", &tm);
        c.output = defname;
    }
    const char *python = getenv("MEMLINE_PYTHON");
    python = python && *python ? python : "python3";
    if (c.attach) {
        rc = find_target(c.program[0], &pid);
        if (rc == MPROF_OK && c.timeout <= 0)
            c.timeout = 3600;
        sbuf text = SBUF_INIT;
        if (rc == MPROF_OK) {
            int err = procinfo_cmdline(pid, &text);
            err = datfile_put_cmdline_text(&line, err == ML_OK ? text.data : c.program[0]);
            rc = err == ML_OK ? MPROF_OK : MPROF_EINTERNAL;
        }
        sbuf_release(&text);
    } else {
        rc = build_argv(&c, python, &av, &cv, &ncmd, &pymode) == ML_OK ? MPROF_OK
                                                                         : MPROF_EINTERNAL;
        if (rc == MPROF_OK)
            rc = datfile_put_cmdline(&line, cv, ncmd) == ML_OK ? MPROF_OK : MPROF_EINTERNAL;
    }
    if (rc == MPROF_OK) {
        /* Appended to, as mprof does: an existing timeline is never lost. */
        fd = open(c.output, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
        if (fd < 0 || ml_write_all(fd, line.data, line.len) != ML_OK)
            rc = mprof_fail(MPROF_EOUTPUT, "cannot write '%s': %s", c.output, strerror(errno));
    }
    if (rc == MPROF_OK) {
        printf("memline: Sampling memory every %gs\n", c.interval);
        if (c.attach)
            printf("attaching to existing process, using hint: %s\n", c.program[0]);
        else
            printf("running new process\n%s", pymode ? "running as a Python program...\n" : "");
        fflush(stdout);
        memset((void *)&run_signal, 0, sizeof run_signal);
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_signal;
        sa.sa_flags = SA_SIGINFO;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, &old_int);
        sigaction(SIGTERM, &sa, &old_term);
        installed = 1;
    }
    if (rc == MPROF_OK && !c.attach) {
        int err = sampler_spawn(av, &pid);
        if (err != ML_OK) {
            unlink(c.output);
            rc = mprof_fail(MPROF_ENOPROC, "cannot run '%s': %s", av[0],
                            err == ML_ENOENT ? "no such program" : ml_strerror(err));
        }
    }
    if (rc == MPROF_OK) {
        sampler_opts so = {c.interval, c.timeout, c.children, c.multi, !c.attach};
        sampler_result res;
        int err = sampler_run(pid, fd, &so, &run_signal, &res);
        if (err == ML_ENOENT && c.attach)
            rc = mprof_fail(MPROF_ENOPROC, "attach: process %d is gone", (int)pid);
        else if (err == ML_EIO)
            rc = mprof_fail(MPROF_EOUTPUT, "cannot write '%s': %s", c.output, strerror(errno));
        else if (err != ML_OK)
            rc = mprof_fail(MPROF_EINTERNAL, "sampling failed: %s", ml_strerror(err));
        else
            rc = run_status(&c, &res);
        if (err == ML_OK && res.end == SAMPLER_INTERRUPTED)
            mprof_warn("interrupted; the timeline in '%s' is complete up to now", c.output);
    }
    if (installed) {
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
    }
    if (fd >= 0)
        close(fd);
    sbuf_release(&line);
    ml_free(av);
    ml_free(cv);
    return rc;
}
