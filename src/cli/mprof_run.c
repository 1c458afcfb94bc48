/* mprof_run: `memline run` and `memline attach`.  Opens the .dat file,
 * starts the program (directly, or for a .py file under memline's own
 * interpreter as `python -m memline --timestamp ... script.py` so that
 * profiled functions add FUNC lines) or finds the process to attach to,
 * and hands both to the sampler with SIGINT, SIGTERM and SIGHUP caught for
 * the duration.
 *
 * What a failure may cost (docs/timeline.md): nothing.  The output is
 * appended to only when it is a regular file the user named, or created
 * new (O_EXCL) under the default name; nothing is written to it before the
 * program has started (for a Python program: before memline in it has said
 * so on a pipe), and a failed start removes only a file this call made.
 * The program dies with the sampler, which waits for it however sampling
 * ends (timeout, full disk, interrupt). */
#include "core/datfile.h"
#include "core/mlalloc.h"
#include "core/mlerr.h"
#include "core/procinfo.h"
#include "core/sampler.h"
#include "core/sbuf.h"
#include "mprof.h"
#include "mprof_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

enum { O_PYTHON = 1, O_NOPYTHON, O_INTERVAL, O_CHILDREN, O_MULTI, O_EXITCODE, O_ATTACH,
       O_TIMEOUT, O_OUTPUT, O_BACKEND, O_HELP };

static const mprof_opt run_opts[] = {
    {0, "python", MPROF_OPTVALUE, O_PYTHON}, {0, "nopython", 0, O_NOPYTHON},
    {'T', "interval", 1, O_INTERVAL}, {'C', "include-children", 0, O_CHILDREN},
    {'M', "multiprocess", 0, O_MULTI}, {'E', "exit-code", 0, O_EXITCODE},
    {'a', "attach", 0, O_ATTACH},     {'t', "timeout", 1, O_TIMEOUT},
    {'o', "output", 1, O_OUTPUT},     {0, "backend", 1, O_BACKEND},
    {'h', "help", 0, O_HELP},         {0, NULL, 0, 0}};

static const char run_usage[] =
    "usage: memline run [--python[=PATH]|--nopython] [-T interval] [-C|--include-children]\n"
    "                   [-M|--multiprocess] [-E|--exit-code] [-t timeout] [-o file]\n"
    "                   program [args ...]\n"
    "       memline attach [-T interval] [-C] [-M] [-t timeout] [-o file] PID|name\n";

/* The signals that stop a run: the program gets them, memline waits for
 * it, writes the file out and exits 128 + N. */
static const int stop_sigs[] = {SIGINT, SIGTERM, SIGHUP};
#define N_STOP_SIGS (sizeof stop_sigs / sizeof *stop_sigs)

/* The one signal state the handler may touch; reset by every run. */
static sampler_signal run_signal;

static void on_signal(int signo, siginfo_t *si, void *ctx)
{
    (void)ctx;
    if (run_signal.count++ == 0)
        run_signal.first = signo;
    /* A terminal sends SIGINT (and SIGHUP) to the whole foreground group
     * (SI_KERNEL): the target has it already.  Anything sent to memline
     * alone is passed on. */
    if (!si || si->si_code != SI_KERNEL)
        run_signal.forward = signo;
}

typedef struct run_cfg {
    int python, nopython, children, multi, exit_code, attach;
    double interval, timeout;
    const char *output;
    const char *interpreter; /* --python=PATH, or NULL */
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

/* run stops reading options at the program (what follows is its own);
 * attach takes one PID or name, and options on either side of it. */
static int parse_run(int argc, char **argv, run_cfg *c)
{
    mprof_args a = {argc, argv, 2, argv[1], !c->attach, "", 0};
    const char *v;
    int id;
    while ((id = mprof_next(&a, run_opts, &v)) != MPROF_ARG_END) {
        switch (id) {
        case MPROF_ARG_ERROR: return MPROF_EUSAGE;
        case MPROF_ARG_POSITIONAL:
            if (!c->attach) {
                c->program = argv + a.i - 1;
                c->n_program = argc - a.i + 1;
                return MPROF_OK;
            }
            if (c->program)
                return mprof_fail(MPROF_EUSAGE, "%s: takes one PID or process name ('%s', "
                                  "then '%s')", a.verb, c->program[0], v);
            c->program = argv + a.i - 1;
            c->n_program = 1;
            break;
        case O_PYTHON:
            c->python = 1;
            c->interpreter = v;
            if (v && !*v)
                return mprof_fail(MPROF_EUSAGE, "%s: --python= needs the path of an "
                                  "interpreter", a.verb);
            break;
        case O_NOPYTHON: c->nopython = 1; break;
        case O_CHILDREN: c->children = 1; break;
        case O_MULTI: c->multi = 1; break;
        case O_EXITCODE: c->exit_code = 1; break;
        case O_ATTACH:
            c->attach = 1;
            a.stop_at_positional = 0;
            break;
        case O_OUTPUT: c->output = v; break;
        case O_BACKEND:
            if (strcmp(v, "psutil") != 0 && strcmp(v, "posix") != 0 && strcmp(v, "rss") != 0)
                return mprof_fail(MPROF_EUSAGE, "%s: backend '%s' is not supported (the "
                                  "timeline samples RSS)", a.verb, v);
            break;
        case O_HELP: mprof_out("%s", run_usage); return -1;
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
    if (c->program)
        return MPROF_OK;
    return mprof_fail(MPROF_EUSAGE, c->attach ? "attach: a PID or process name must be given"
                                              : "run: a program to run must be given");
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* The interpreter for Python programs: --python=PATH, $MEMLINE_PYTHON, the
 * one the memline that was called runs in, or python3 from PATH. */
static const char *pick_python(const run_cfg *c, const char *host)
{
    const char *env = getenv("MEMLINE_PYTHON");
    if (c->interpreter)
        return c->interpreter;
    if (env && *env)
        return env;
    return host && *host ? host : "python3";
}

/* The output file and what goes into it before the first reading.
 * Invariant: head is written only once the program has started. */
typedef struct run_out {
    mprof_dat dat;
    sbuf head;
    sbuf abspath; /* dat.path made absolute, for the Python child */
} run_out;

/* The argv to start: the program itself, or a Python interpreter running
 * it under memline --timestamp, which appends its FUNC lines to out's file
 * (named absolute, after '=', so no name reads as an option) and says on
 * ready_fd that it has started.  *cmd gets what CMDLINE records.  Both are
 * new arrays of borrowed strings (args holds the ones made here), freed
 * with ml_free. */
static int build_argv(const run_cfg *c, const char *python, const run_out *out, int ready_fd,
                      sbuf args[3], char ***av_out, char ***cmd, size_t *ncmd, int *pymode)
{
    const char *first = c->program[0];
    int is_py = ends_with(first, ".py") && !c->nopython;
    const char *base = strrchr(first, '/') ? strrchr(first, '/') + 1 : first;
    *pymode = !c->nopython && ((is_py && !c->multi) || c->python);
    /* The program is its own interpreter when its name starts with python,
     * or, after a bare --python, when it is a path to an executable file
     * and a script follows (--python /opt/bin/py3 x.py). */
    struct stat st;
    int interpreter = strncmp(base, "python", 6) == 0 ||
                      (c->python && !c->interpreter && c->n_program > 1 && !is_py &&
                       strchr(first, '/') && stat(first, &st) == 0 && S_ISREG(st.st_mode) &&
                       access(first, X_OK) == 0);
    int add_python = (*pymode || is_py) && !interpreter;
    size_t n = (size_t)c->n_program, total = n + 8;
    char **av = ml_calloc(total, sizeof *av), **cv = ml_calloc(n + 2, sizeof *cv);
    int rc = av && cv ? ML_OK : ML_ENOMEM;
    if (rc == ML_OK && *pymode) {
        rc = sbuf_printf(&args[0], "--ready-fd=%d", ready_fd);
        if (rc == ML_OK)
            rc = sbuf_printf(&args[1], "--outfile=%s", sbuf_str(&out->abspath));
    }
    /* a script named -x.py must not read as the interpreter's option */
    if (rc == ML_OK && add_python)
        rc = sbuf_printf(&args[2], "%s%s", first[0] == '-' ? "./" : "", first);
    if (rc != ML_OK) {
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
        static char *extra[] = {"-m", "memline", "--timestamp"};
        for (size_t e = 0; e < 3; e++)
            av[k++] = extra[e];
        av[k++] = args[0].data;
        av[k++] = args[1].data;
        if (c->children)
            av[k++] = "--include-children";
    }
    if (add_python) {
        av[k++] = args[2].data;
        cv[j++] = c->program[i++];
    }
    for (; i < n; i++)
        av[k++] = cv[j++] = c->program[i];
    *av_out = av;
    *cmd = cv;
    *ncmd = j;
    return ML_OK;
}

/* Finds the attach target: a PID, or the first process whose name holds
 * the hint. */
static int find_target(const char *hint, pid_t *pid)
{
    char *end;
    errno = 0;
    long v = strtol(hint, &end, 10);
    if (*hint && !*end) {
        /* pid_t is 32 bits: 2^32 + 1 is no process, not process 1 */
        if (v <= 0 || v > INT_MAX || errno == ERANGE || procinfo_exists((pid_t)v) == ML_ENOENT)
            return mprof_fail(MPROF_ENOPROC, "attach: no process with PID %s", hint);
        if (procinfo_alive((pid_t)v) != ML_OK)
            return mprof_fail(MPROF_ENOPROC, "attach: process %s has exited (a zombie its "
                              "parent has not reaped)", hint);
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
        return MPROF_EINTERRUPTED + (run_signal.first ? run_signal.first : SIGINT);
    if (!c->exit_code || !r->have_status)
        return MPROF_OK;
    int code = WIFEXITED(r->status) ? WEXITSTATUS(r->status) : 128 + WTERMSIG(r->status);
    if (code != 0)
        mprof_warn("the program exited with code %d", code);
    return code;
}

static void describe_status(char *buf, size_t n, const sampler_result *r)
{
    if (!r->have_status)
        snprintf(buf, n, "ended");
    else if (WIFSIGNALED(r->status))
        snprintf(buf, n, "was killed by signal %d", WTERMSIG(r->status));
    else
        snprintf(buf, n, "exited with status %d", WEXITSTATUS(r->status));
}

/* Catches the stop signals for the run; old gets what to put back. */
static void catch_stops(struct sigaction old[N_STOP_SIGS])
{
    memset((void *)&run_signal, 0, sizeof run_signal);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < N_STOP_SIGS; i++)
        sigaction(stop_sigs[i], &sa, &old[i]);
}

static void restore_stops(const struct sigaction old[N_STOP_SIGS])
{
    for (size_t i = 0; i < N_STOP_SIGS; i++)
        sigaction(stop_sigs[i], &old[i], NULL);
}

/* Turns the sampler's outcome into the exit code and its one message. */
static int finish(const run_cfg *c, run_out *out, pid_t pid, const char *python, int err,
                  sampler_result *res)
{
    char how[64];
    if (err == ML_ENOENT && c->attach)
        return mprof_fail(MPROF_ENOPROC, "attach: process %d is gone", (int)pid);
    if (err == ML_EIO) {
        int e = res->write_errno ? res->write_errno : EIO;
        if (!c->attach) {
            mprof_fail(MPROF_EOUTPUT, "cannot write '%s': %s; sampling stopped, the program "
                       "runs on and memline waits for it", out->dat.path, strerror(e));
            sampler_wait(pid, &run_signal, res);
            return MPROF_EOUTPUT;
        }
        return mprof_fail(MPROF_EOUTPUT, "cannot write '%s': %s", out->dat.path, strerror(e));
    }
    if (err != ML_OK)
        return mprof_fail(MPROF_EINTERNAL, "sampling failed: %s", ml_strerror(err));
    if (res->end == SAMPLER_TIMEOUT && !c->attach) {
        mprof_out("memline: stopped sampling after %gs; waiting for the program to end\n",
               c->timeout);
        mprof_out_flush();
        sampler_wait(pid, &run_signal, res);
    }
    if (!res->started && res->end == SAMPLER_INTERRUPTED) {
        mprof_warn("interrupted before the program started; nothing was recorded in '%s'",
                   out->dat.path);
        return run_status(c, res);
    }
    if (!res->started) {
        describe_status(how, sizeof how, res);
        return mprof_fail(MPROF_ENOPROC, "run: '%s' %s before memline started in it (is "
                          "memline installed for that interpreter? pick one with "
                          "--python=PATH); nothing was recorded", python, how);
    }
    if (res->end == SAMPLER_INTERRUPTED)
        mprof_warn("interrupted; the timeline in '%s' is complete up to now", out->dat.path);
    return run_status(c, res);
}

/* Everything that precedes sampling: the target (found or started), the
 * CMDLINE record, the output file.  On failure nothing was written. */
typedef struct run_state {
    run_cfg c;
    run_out out;
    const char *python;
    char **av, **cv;
    size_t ncmd;
    int pymode, ready[2];
    sbuf args[3];
    pid_t pid;
} run_state;

static int prepare(run_state *s, const char *host_python)
{
    run_cfg *c = &s->c;
    s->python = pick_python(c, host_python);
    int rc = MPROF_OK;
    sbuf text = SBUF_INIT;
    if (c->attach) {
        rc = find_target(c->program[0], &s->pid);
        if (rc == MPROF_OK && procinfo_cmdline(s->pid, &text) != ML_OK)
            sbuf_clear(&text);
    } else if (ends_with(c->program[0], ".py") && !c->nopython &&
               access(c->program[0], R_OK) != 0) {
        rc = mprof_fail(MPROF_ENOPROC, "cannot run '%s': %s", c->program[0], strerror(errno));
    }
    if (rc == MPROF_OK)
        rc = mprof_dat_open(&s->out.dat, c->output);
    /* An existing file whose last line was cut off (a writer killed
     * mid-line): "<torn>" ends that line before our first record, which
     * keeps it one malformed line (skipped with a warning) instead of the
     * start of a wrong one. */
    if (rc == MPROF_OK && mprof_dat_torn(&s->out.dat) && sbuf_puts(&s->out.head, "<torn>\n"))
        rc = mprof_fail(MPROF_EINTERNAL, "out of memory");
    if (rc == MPROF_OK && c->attach &&
        datfile_put_cmdline_text(&s->out.head, text.len ? text.data : c->program[0]) != ML_OK)
        rc = mprof_fail(MPROF_EINTERNAL, "out of memory");
    sbuf_release(&text);
    if (rc == MPROF_OK && !c->attach) {
        char cwd[PATH_MAX];
        int err = s->out.dat.path[0] == '/' ? sbuf_puts(&s->out.abspath, s->out.dat.path)
                  : getcwd(cwd, sizeof cwd) ? sbuf_printf(&s->out.abspath, "%s/%s", cwd,
                                                          s->out.dat.path)
                                            : ML_EIO;
        if (err == ML_OK && pipe2(s->ready, O_CLOEXEC) != 0)
            err = ML_EIO;
        if (err == ML_OK)
            err = build_argv(c, s->python, &s->out, s->ready[1], s->args, &s->av, &s->cv,
                             &s->ncmd, &s->pymode);
        if (err == ML_OK)
            err = datfile_put_cmdline(&s->out.head, s->cv, s->ncmd);
        if (err != ML_OK)
            rc = mprof_fail(MPROF_EINTERNAL, "cannot prepare the run: %s",
                            err == ML_EIO ? strerror(errno) : ml_strerror(err));
    }
    return rc;
}

int mprof_run(int argc, char **argv, int attach, const char *host_python)
{
    run_state s;
    memset(&s, 0, sizeof s);
    s.c.interval = 0.1;
    s.c.attach = attach;
    s.out.dat.fd = s.ready[0] = s.ready[1] = -1;
    struct sigaction old[N_STOP_SIGS];
    int rc = parse_run(argc, argv, &s.c), installed = 0, ok_start = 0;
    if (rc != MPROF_OK)
        return rc < 0 ? MPROF_OK : rc;
    rc = prepare(&s, host_python);
    if (rc == MPROF_OK) {
        mprof_out("memline: Sampling memory every %gs\n", s.c.interval);
        if (s.c.attach)
            mprof_out("attaching to existing process, using hint: %s\n", s.c.program[0]);
        else
            mprof_out("running new process\n%s",
                      s.pymode ? "running as a Python program...\n" : "");
        mprof_out_flush();
        catch_stops(old);
        installed = 1;
    }
    if (rc == MPROF_OK && !s.c.attach) {
        int keep[1] = {s.ready[1]};
        int err = sampler_spawn(s.av, keep, s.pymode ? 1 : 0, &s.pid);
        /* ENOENT for a file that is there: exec did not find the
         * interpreter its #! line names */
        int there = err == ML_ENOENT && strchr(s.av[0], '/') && access(s.av[0], F_OK) == 0;
        if (err != ML_OK)
            rc = mprof_fail(MPROF_ENOPROC, "cannot run '%s': %s", s.av[0],
                            there ? "the interpreter on its #! line was not found"
                            : err == ML_ENOENT ? "no such program" : strerror(errno));
        close(s.ready[1]);
        s.ready[1] = -1;
    }
    if (rc == MPROF_OK) {
        sampler_opts so = {s.c.interval, s.c.timeout, s.c.children, s.c.multi, !s.c.attach,
                           s.pymode, s.ready[0], sbuf_str(&s.out.head)};
        sampler_result res;
        int err = sampler_run(s.pid, s.out.dat.fd, &so, &run_signal, &res);
        rc = finish(&s.c, &s.out, s.pid, s.av ? s.av[0] : s.python, err, &res);
        ok_start = err != ML_ENOENT && res.started;
    }
    if (installed)
        restore_stops(old);
    mprof_dat_close(&s.out.dat, ok_start);
    for (int i = 0; i < 2; i++)
        if (s.ready[i] >= 0)
            close(s.ready[i]);
    for (int i = 0; i < 3; i++)
        sbuf_release(&s.args[i]);
    sbuf_release(&s.out.head);
    sbuf_release(&s.out.abspath);
    ml_free(s.av);
    ml_free(s.cv);
    return rc;
}
