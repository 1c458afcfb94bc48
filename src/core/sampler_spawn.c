/* sampler_spawn: starting the sampled program (sampler.h), tied to the
 * sampler's life.
 *
 * fork and exec rather than posix_spawn, for the one step posix_spawn
 * cannot take: PR_SET_PDEATHSIG in the child, so that a sampler killed by
 * SIGKILL (or the OOM killer) takes the program with it instead of leaving
 * it running orphaned.  The caller may be a multi-threaded Python process,
 * so between fork and exec the child makes only async-signal-safe calls:
 * the PATH search and every allocation happen before the fork, and exec's
 * failure comes back to the parent through a close-on-exec pipe. */
#include "sampler.h"

#include "mlalloc.h"
#include "mlerr.h"
#include "sbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Signals a host may leave ignored (nohup, a shell's background job, a
 * daemon) that a program expects at their defaults. */
static const int reset_sigs[] = {SIGINT,  SIGTERM, SIGQUIT, SIGHUP, SIGPIPE,
                                 SIGXFSZ, SIGCHLD, SIGUSR1, SIGUSR2};

static int is_exec_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* The file execvp would run for name, into *out.  Returns ML_OK, ML_ENOENT
 * (nowhere in PATH), ML_EACCES (found, not executable: errno EACCES),
 * ML_ENOMEM. */
static int find_program(const char *name, sbuf *out)
{
    if (strchr(name, '/'))
        return sbuf_puts(out, name);
    if (!*name)
        return ML_ENOENT;
    const char *path = getenv("PATH");
    if (!path)
        path = "/bin:/usr/bin";
    int seen = 0;
    for (const char *p = path;; p++) {
        const char *end = strchr(p, ':');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        sbuf_clear(out);
        int rc = n ? sbuf_append(out, p, n) : sbuf_puts(out, ".");
        if (rc == ML_OK)
            rc = sbuf_printf(out, "/%s", name);
        if (rc != ML_OK)
            return rc;
        if (is_exec_file(sbuf_str(out)))
            return ML_OK;
        seen |= access(sbuf_str(out), F_OK) == 0;
        if (!end)
            break;
        p = end;
    }
    errno = seen ? EACCES : ENOENT;
    return seen ? ML_EACCES : ML_ENOENT;
}

/* In the child, before exec: only async-signal-safe calls. */
static void child_exec(const char *file, char *const argv[], const int *inherit,
                       size_t ninherit, pid_t parent, int report_fd)
{
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) {
        /* The sampler is gone already: the program must not start. */
        _exit(127);
    }
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    for (size_t i = 0; i < sizeof reset_sigs / sizeof *reset_sigs; i++)
        sigaction(reset_sigs[i], &dfl, NULL);
    /* Handlers of the caller (Python's among them) must not run here once
     * signals are unblocked; exec would reset them anyway. */
    for (int s = 1; s < NSIG; s++) {
        struct sigaction old;
        if (sigaction(s, NULL, &old) == 0 && old.sa_handler != SIG_DFL &&
            old.sa_handler != SIG_IGN)
            sigaction(s, &dfl, NULL);
    }
    for (size_t i = 0; i < ninherit; i++)
        fcntl(inherit[i], F_SETFD, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execve(file, argv, environ);
    int err = errno;
    while (write(report_fd, &err, sizeof err) < 0 && errno == EINTR) {
    }
    _exit(127);
}

static int exec_error(int err)
{
    errno = err;
    return err == ENOENT || err == ENOTDIR ? ML_ENOENT
         : err == EACCES || err == EPERM || err == ENOEXEC || err == ELOOP ||
           err == ETXTBSY || err == EISDIR ? ML_EACCES
         : err == ENOMEM || err == E2BIG ? ML_ENOMEM : ML_EIO;
}

int sampler_spawn(char *const argv[], const int *inherit, size_t ninherit, pid_t *pid)
{
    sbuf file = SBUF_INIT;
    int fds[2] = {-1, -1}, err = 0;
    int rc = find_program(argv[0], &file);
    if (rc == ML_OK && pipe2(fds, O_CLOEXEC) != 0)
        rc = ml_err_from_errno(errno);
    pid_t child = -1;
    if (rc == ML_OK) {
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        pid_t parent = getpid();
        child = fork();
        if (child == 0)
            child_exec(sbuf_str(&file), argv, inherit, ninherit, parent, fds[1]);
        err = errno;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (child < 0)
            rc = err == EAGAIN || err == ENOMEM ? ML_ENOMEM : ML_EIO;
    }
    if (fds[1] >= 0)
        close(fds[1]);
    if (rc == ML_OK) {
        /* EOF: exec closed the pipe, the program runs.  An int: exec failed. */
        ssize_t n;
        while ((n = read(fds[0], &err, sizeof err)) < 0 && errno == EINTR) {
        }
        if (n == (ssize_t)sizeof err) {
            while (waitpid(child, NULL, 0) < 0 && errno == EINTR) {
            }
            rc = exec_error(err);
        }
    }
    if (fds[0] >= 0)
        close(fds[0]);
    err = errno;
    sbuf_release(&file);
    if (rc == ML_OK)
        *pid = child;
    errno = err;
    return rc;
}
