/* test_sampler: the sampling loop on real processes: readings stream into
 * the file while the program runs, children get CHLD lines, the exit status
 * is kept, timeouts and interrupts stop it, and bad arguments fail.  And
 * what keeps a failure from costing anything: the program dies with its
 * sampler, a program that never says it started leaves nothing, a zombie
 * gives no empty timeline, a write error leaves a program to wait for. */
#include "ctest.h"

#include "core/datfile.h"
#include "core/mlerr.h"
#include "core/sampler.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char path[64];

static int open_dat(void)
{
    strcpy(path, "/tmp/memline-sampler-XXXXXX");
    int fd = mkstemp(path);
    if (fd >= 0) {
        close(fd);
        fd = open(path, O_WRONLY | O_APPEND | O_TRUNC);
    }
    CHECK(fd >= 0);
    return fd;
}

static datfile *finish(int fd)
{
    close(fd);
    datfile *df = NULL;
    CHECK_EQ_INT(datfile_load(path, &df), ML_OK);
    unlink(path);
    return df;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

TEST(samples_until_exit)
{
    char *argv[] = {"sh", "-c", "sleep 0.3; exit 3", NULL};
    pid_t pid;
    CHECK_EQ_INT(sampler_spawn(argv, NULL, 0, &pid), ML_OK);
    int fd = open_dat();
    sampler_opts o = {0.01, 0, 0, 0, 1};
    sampler_result r;
    CHECK_EQ_INT(sampler_run(pid, fd, &o, NULL, &r), ML_OK);
    CHECK_EQ_INT(r.end, SAMPLER_EXITED);
    CHECK(r.have_status && WIFEXITED(r.status) && WEXITSTATUS(r.status) == 3);
    datfile *df = finish(fd);
    CHECK(df && df->n_mem >= 15 && df->n_mem <= 40);
    CHECK_EQ_INT(df ? df->n_malformed : 1, 0);
    CHECK_EQ_INT(df ? (long long)df->n_mem : -1, (long long)r.samples);
    for (size_t i = 1; df && i < df->n_mem; i++)
        CHECK(df->mem[i].t >= df->mem[i - 1].t && df->mem[i].mib > 0);
    datfile_free(df);
}

TEST(children_get_lines)
{
    char *argv[] = {"sh", "-c", "sleep 0.4 & sleep 0.4 & wait", NULL};
    pid_t pid;
    CHECK_EQ_INT(sampler_spawn(argv, NULL, 0, &pid), ML_OK);
    int fd = open_dat();
    sampler_opts o = {0.02, 0, 1, 1, 1};
    sampler_result r;
    CHECK_EQ_INT(sampler_run(pid, fd, &o, NULL, &r), ML_OK);
    datfile *df = finish(fd);
    CHECK(df && df->n_chld == 2);
    for (size_t i = 0; df && i < df->n_chld; i++)
        CHECK(df->chld[i].nsamples >= 5);
    datfile_free(df);
}

TEST(timeout_leaves_process_to_wait_for)
{
    char *argv[] = {"sleep", "5", NULL};
    pid_t pid;
    CHECK_EQ_INT(sampler_spawn(argv, NULL, 0, &pid), ML_OK);
    int fd = open_dat();
    sampler_opts o = {0.01, 0.2, 0, 0, 1};
    sampler_result r;
    double t0 = now();
    CHECK_EQ_INT(sampler_run(pid, fd, &o, NULL, &r), ML_OK);
    CHECK(now() - t0 < 1.0);
    CHECK_EQ_INT(r.end, SAMPLER_TIMEOUT);
    CHECK_EQ_INT(kill(pid, 0), 0); /* still running */
    sampler_signal sig = {1, SIGTERM, SIGTERM};
    CHECK_EQ_INT(sampler_wait(pid, &sig, &r), ML_OK);
    CHECK_EQ_INT(r.end, SAMPLER_INTERRUPTED);
    CHECK(r.have_status && WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGTERM);
    CHECK_EQ_INT(sampler_wait(pid, NULL, &r), ML_ENOENT); /* reaped */
    datfile_free(finish(fd));
}

TEST(interrupt_forwarded_and_waited)
{
    char *argv[] = {"sleep", "5", NULL};
    pid_t pid;
    CHECK_EQ_INT(sampler_spawn(argv, NULL, 0, &pid), ML_OK);
    int fd = open_dat();
    sampler_opts o = {0.01, 0, 0, 0, 1};
    sampler_signal sig = {1, SIGINT, SIGINT};
    sampler_result r;
    double t0 = now();
    CHECK_EQ_INT(sampler_run(pid, fd, &o, &sig, &r), ML_OK);
    CHECK(now() - t0 < 1.0);
    CHECK_EQ_INT(r.end, SAMPLER_INTERRUPTED);
    CHECK(r.have_status && WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGINT);
    CHECK_EQ_INT(sig.forward, 0);
    datfile_free(finish(fd));
}

TEST(attached_process_ending)
{
    pid_t pid = fork();
    if (pid == 0) {
        usleep(200000);
        _exit(0);
    }
    /* Not "our child" for the sampler: it notices the end from /proc (a
     * zombie reads as zero), as with a process it attached to. */
    int fd = open_dat();
    sampler_opts o = {0.01, 2.0, 0, 0, 0};
    sampler_result r;
    double t0 = now();
    CHECK_EQ_INT(sampler_run(pid, fd, &o, NULL, &r), ML_OK);
    CHECK(now() - t0 < 1.5);
    CHECK_EQ_INT(r.end, SAMPLER_EXITED);
    CHECK(r.samples >= 5);
    waitpid(pid, NULL, 0);
    datfile_free(finish(fd));
}

TEST(bad_arguments)
{
    char *missing[] = {"memline-no-such-program-xyz", NULL};
    pid_t pid;
    CHECK_EQ_INT(sampler_spawn(missing, NULL, 0, &pid), ML_ENOENT);
    char *notexec[] = {"/etc/hostname", NULL};
    CHECK_EQ_INT(sampler_spawn(notexec, NULL, 0, &pid), ML_EACCES);
    sampler_opts o = {0.0005, 0, 0, 0, 0};
    sampler_result r;
    CHECK_EQ_INT(sampler_run(getpid(), 1, &o, NULL, &r), ML_EINVAL);
    o.interval = 0.01;
    CHECK_EQ_INT(sampler_run(999999999, 1, &o, NULL, &r), ML_ENOENT);
}

TEST(unwritable_output)
{
    char *argv[] = {"sleep", "0.3", NULL};
    pid_t pid;
    CHECK_EQ_INT(sampler_spawn(argv, NULL, 0, &pid), ML_OK);
    int fd = open("/dev/full", O_WRONLY);
    sampler_opts o = {0.01, 0, 0, 0, 1};
    sampler_result r;
    CHECK_EQ_INT(sampler_run(pid, fd, &o, NULL, &r), ML_EIO);
    CHECK_EQ_INT(r.write_errno, ENOSPC);
    close(fd);
    CHECK_EQ_INT(kill(pid, 0), 0); /* left running, for the caller to wait for */
    CHECK_EQ_INT(sampler_wait(pid, NULL, &r), ML_OK);
    CHECK(r.have_status && WIFEXITED(r.status));
}

/* The state letter of /proc/PID/stat, 0 when the process is gone. */
static char proc_state(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    return p && p[1] == ' ' ? p[2] : 0;
}

static int dead(pid_t pid)
{
    char st = proc_state(pid);
    return st == 0 || st == 'Z' || st == 'X';
}

/* A sampler killed with SIGKILL takes its program with it. */
TEST(program_dies_with_its_sampler)
{
    int fds[2];
    CHECK(pipe(fds) == 0);
    pid_t sampler = fork();
    if (sampler == 0) {
        char *argv[] = {"sleep", "30", NULL};
        pid_t p = -1;
        sampler_spawn(argv, NULL, 0, &p);
        (void)!write(fds[1], &p, sizeof p);
        pause();
        _exit(0);
    }
    close(fds[1]);
    pid_t prog = -1;
    CHECK(read(fds[0], &prog, sizeof prog) == (ssize_t)sizeof prog);
    close(fds[0]);
    CHECK(prog > 0 && !dead(prog));
    kill(sampler, SIGKILL);
    waitpid(sampler, NULL, 0);
    double t0 = now();
    while (prog > 0 && !dead(prog) && now() - t0 < 10)
        usleep(10000);
    CHECK(prog > 0 && dead(prog));
}

/* What the program starts with: the signals the caller ignored or handled
 * at their defaults, nothing blocked, and the descriptors asked for. */
TEST(spawn_resets_signals_and_passes_descriptors)
{
    struct sigaction ign, old_int, old_usr;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigaction(SIGINT, &ign, &old_int);
    ign.sa_handler = (void (*)(int))abort;
    sigaction(SIGUSR1, &ign, &old_usr);
    sigset_t block, oldmask;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigprocmask(SIG_BLOCK, &block, &oldmask);
    /* spawn returns once exec has happened: the status is the program's */
    char *argv[] = {"sleep", "5", NULL};
    pid_t pid;
    CHECK_EQ_INT(sampler_spawn(argv, NULL, 0, &pid), ML_OK);
    char path[64], buf[4096] = "";
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    int sfd = open(path, O_RDONLY);
    ssize_t n = sfd >= 0 ? read(sfd, buf, sizeof buf - 1) : -1;
    buf[n > 0 ? n : 0] = '\0';
    if (sfd >= 0)
        close(sfd);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGUSR1, &old_usr, NULL);
    sigprocmask(SIG_SETMASK, &oldmask, NULL);
    CHECK(strstr(buf, "SigBlk:\t0000000000000000") != NULL);
    const char *ig = strstr(buf, "SigIgn:\t");
    CHECK(ig != NULL);
    if (ig) {
        unsigned long long mask = strtoull(ig + 8, NULL, 16);
        CHECK((mask & (1ull << (SIGINT - 1))) == 0);
        CHECK((mask & (1ull << (SIGUSR1 - 1))) == 0);
    }

    /* a descriptor asked for stays open, others close */
    int fds[2], other[2];
    CHECK(pipe2(fds, O_CLOEXEC) == 0 && pipe2(other, O_CLOEXEC) == 0);
    char script[128];
    snprintf(script, sizeof script, "echo fd-ok >&%d; { echo leak >&%d; } 2>/dev/null", fds[1],
             other[1]);
    char *sh[] = {"sh", "-c", script, NULL};
    CHECK_EQ_INT(sampler_spawn(sh, &fds[1], 1, &pid), ML_OK);
    close(fds[1]);
    close(other[1]);
    size_t len = 0;
    while ((n = read(fds[0], buf + len, sizeof buf - 1 - len)) > 0)
        len += (size_t)n;
    buf[len] = '\0';
    CHECK_EQ_STR(buf, "fd-ok\n");
    CHECK(read(other[0], buf, sizeof buf) == 0);
    close(fds[0]);
    close(other[0]);
    waitpid(pid, NULL, 0);
}

TEST(spawn_failures_start_nothing)
{
    pid_t pid = -1;
    char *dir[] = {"/tmp", NULL};
    CHECK_EQ_INT(sampler_spawn(dir, NULL, 0, &pid), ML_EACCES);
    char *empty[] = {"", NULL};
    CHECK_EQ_INT(sampler_spawn(empty, NULL, 0, &pid), ML_ENOENT);
    char *slash[] = {"/nonexistent/prog", NULL};
    CHECK_EQ_INT(sampler_spawn(slash, NULL, 0, &pid), ML_ENOENT);
    CHECK(pid == -1);
    CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD); /* nothing left over */
}

/* A program that never says it started (an interpreter without memline)
 * leaves nothing in the file; one that does gets its head line first. */
TEST(nothing_written_until_ready)
{
    int ready[2];
    CHECK(pipe2(ready, O_CLOEXEC) == 0);
    char *argv[] = {"sleep", "0.2", NULL};
    pid_t pid;
    CHECK_EQ_INT(sampler_spawn(argv, &ready[1], 1, &pid), ML_OK);
    close(ready[1]);
    int fd = open_dat();
    sampler_opts o = {0.01, 0, 0, 0, 1, 1, ready[0], "CMDLINE sleep 0.2\n"};
    sampler_result r;
    CHECK_EQ_INT(sampler_run(pid, fd, &o, NULL, &r), ML_OK);
    CHECK_EQ_INT(r.started, 0);
    CHECK(r.samples > 5);
    close(ready[0]);
    datfile *df = finish(fd);
    CHECK(df && df->n_mem == 0 && df->cmdline == NULL);
    datfile_free(df);

    CHECK(pipe2(ready, O_CLOEXEC) == 0);
    char script[64];
    snprintf(script, sizeof script, "sleep 0.1; printf 1 >&%d; sleep 0.2", ready[1]);
    char *argv2[] = {"sh", "-c", script, NULL};
    CHECK_EQ_INT(sampler_spawn(argv2, &ready[1], 1, &pid), ML_OK);
    close(ready[1]);
    fd = open_dat();
    o.ready_fd = ready[0];
    CHECK_EQ_INT(sampler_run(pid, fd, &o, NULL, &r), ML_OK);
    CHECK_EQ_INT(r.started, 1);
    close(ready[0]);
    df = finish(fd);
    CHECK(df && df->cmdline && strcmp(df->cmdline, "sleep 0.2") == 0);
    CHECK(df && df->n_mem == r.samples && df->n_mem >= 15);
    datfile_free(df);
}

/* Attaching to a zombie: an error, and not an empty timeline. */
TEST(zombie_is_gone)
{
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    double t0 = now();
    while (proc_state(pid) != 'Z' && now() - t0 < 5)
        usleep(1000);
    CHECK(proc_state(pid) == 'Z');
    int fd = open_dat();
    sampler_opts o = {0.01, 1.0, 0, 0, 0, 0, -1, "CMDLINE z\n"};
    sampler_result r;
    CHECK_EQ_INT(sampler_run(pid, fd, &o, NULL, &r), ML_ENOENT);
    waitpid(pid, NULL, 0);
    datfile *df = finish(fd);
    CHECK(df && df->n_mem == 0 && df->cmdline == NULL);
    datfile_free(df);
}

int main(void)
{
    RUN(samples_until_exit);
    RUN(children_get_lines);
    RUN(timeout_leaves_process_to_wait_for);
    RUN(interrupt_forwarded_and_waited);
    RUN(attached_process_ending);
    RUN(bad_arguments);
    RUN(unwritable_output);
    RUN(program_dies_with_its_sampler);
    RUN(spawn_resets_signals_and_passes_descriptors);
    RUN(spawn_failures_start_nothing);
    RUN(nothing_written_until_ready);
    RUN(zombie_is_gone);
    return CTEST_END();
}
