/* test_sampler: the sampling loop on real processes: readings stream into
 * the file while the program runs, children get CHLD lines, the exit status
 * is kept, timeouts and interrupts stop it, and bad arguments fail. */
#include "ctest.h"

#include "core/datfile.h"
#include "core/mlerr.h"
#include "core/sampler.h"

#include <fcntl.h>
#include <signal.h>
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
    CHECK_EQ_INT(sampler_spawn(argv, &pid), ML_OK);
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
    CHECK_EQ_INT(sampler_spawn(argv, &pid), ML_OK);
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

TEST(timeout_leaves_process)
{
    char *argv[] = {"sleep", "5", NULL};
    pid_t pid;
    CHECK_EQ_INT(sampler_spawn(argv, &pid), ML_OK);
    int fd = open_dat();
    sampler_opts o = {0.01, 0.2, 0, 0, 1};
    sampler_result r;
    double t0 = now();
    CHECK_EQ_INT(sampler_run(pid, fd, &o, NULL, &r), ML_OK);
    CHECK(now() - t0 < 1.0);
    CHECK_EQ_INT(r.end, SAMPLER_TIMEOUT);
    CHECK_EQ_INT(kill(pid, 0), 0); /* still running */
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    datfile_free(finish(fd));
}

TEST(interrupt_forwarded_and_waited)
{
    char *argv[] = {"sleep", "5", NULL};
    pid_t pid;
    CHECK_EQ_INT(sampler_spawn(argv, &pid), ML_OK);
    int fd = open_dat();
    sampler_opts o = {0.01, 0, 0, 0, 1};
    sampler_signal sig = {1, SIGINT};
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
    CHECK_EQ_INT(sampler_spawn(missing, &pid), ML_ENOENT);
    char *notexec[] = {"/etc/hostname", NULL};
    CHECK_EQ_INT(sampler_spawn(notexec, &pid), ML_EACCES);
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
    CHECK_EQ_INT(sampler_spawn(argv, &pid), ML_OK);
    int fd = open("/dev/full", O_WRONLY);
    sampler_opts o = {0.01, 0, 0, 0, 1};
    sampler_result r;
    CHECK_EQ_INT(sampler_run(pid, fd, &o, NULL, &r), ML_EIO);
    close(fd);
    waitpid(pid, NULL, 0);
}

int main(void)
{
    RUN(samples_until_exit);
    RUN(children_get_lines);
    RUN(timeout_leaves_process);
    RUN(interrupt_forwarded_and_waited);
    RUN(attached_process_ending);
    RUN(bad_arguments);
    RUN(unwritable_output);
    return CTEST_END();
}
