/* test_memsrc: memory readings from /proc.  Real readings of this process
 * and of forked children, exact parsing of fake statm and smaps_rollup files,
 * every error path (missing, empty, malformed, unreadable file, vanished
 * process), and the Nth allocation failing. */
#include "ctest.h"

#include "core/memsrc.h"
#include "core/mlalloc.h"
#include "core/mlerr.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MIB (INT64_C(1) << 20)
#define SENTINEL INT64_C(-777)

static char tmpdir[512];
static int64_t page_size;

/* A file named name in the test's temporary directory; static storage. */
static const char *tmp_path(const char *name)
{
    static char path[600];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    return path;
}

/* Writes text (replacing the file's contents, same inode) and returns the
 * path, or NULL on failure. */
static const char *write_file(const char *name, const char *text)
{
    const char *path = tmp_path(name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return NULL;
    size_t n = strlen(text);
    ssize_t w = write(fd, text, n);
    close(fd);
    return w == (ssize_t)n ? path : NULL;
}

/* Opens path as kind and reads it once; the value in *bytes, which is left
 * alone on error.  Returns the first error code met. */
static int read_path(const char *path, memsrc_kind kind, int64_t *bytes)
{
    memsrc *src = NULL;
    int rc = memsrc_open_path(&src, path, kind);
    if (rc == ML_OK)
        rc = memsrc_read(src, bytes);
    memsrc_close(src);
    return rc;
}

static int read_pid(pid_t pid, memsrc_kind kind, int64_t *bytes)
{
    memsrc *src = NULL;
    int rc = memsrc_open(&src, pid, kind);
    if (rc == ML_OK)
        rc = memsrc_read(src, bytes);
    memsrc_close(src);
    return rc;
}

static int open_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

static int near(int64_t got, int64_t want, double tolerance)
{
    double d = (double)(got - want);
    return d <= tolerance * (double)want && -d <= tolerance * (double)want;
}

/* PSS and USS need smaps_rollup (Linux 4.14+). */
static int rollup_supported(void)
{
    return access("/proc/self/smaps_rollup", R_OK) == 0;
}

/* Real readings of this process. */

TEST(self_rss_is_sane)
{
    int64_t rss = SENTINEL, rss_pid = SENTINEL;
    CHECK_EQ_INT(read_pid(0, MEMSRC_RSS, &rss), ML_OK);
    CHECK(rss > 1 * MIB);
    CHECK(rss < (INT64_C(64) << 30));
    CHECK_EQ_INT(rss % page_size, 0);
    /* By pid, the same process. */
    CHECK_EQ_INT(read_pid(getpid(), MEMSRC_RSS, &rss_pid), ML_OK);
    CHECK(near(rss_pid, rss, 0.10) || (rss_pid - rss < MIB && rss - rss_pid < MIB));
    /* Against statm read here independently. */
    FILE *f = fopen("/proc/self/statm", "r");
    long long size = 0, resident = 0;
    CHECK(f && fscanf(f, "%lld %lld", &size, &resident) == 2);
    if (f)
        fclose(f);
    /* A small process grows measurably as stdio is first used: allow 1 MiB. */
    int64_t diff = resident * page_size - rss;
    CHECK(near(resident * page_size, rss, 0.10) || (diff < MIB && -diff < MIB));
}

/* Reads kind before and after touching 64 MiB; the growth must be 64 MiB
 * within 10%. */
static void check_tracks_64mib(memsrc_kind kind)
{
    memsrc *src = NULL;
    CHECK_EQ_INT(memsrc_open(&src, 0, kind), ML_OK);
    if (!src)
        return;
    int64_t before = SENTINEL, after = SENTINEL;
    CHECK_EQ_INT(memsrc_read(src, &before), ML_OK);
    size_t n = (size_t)(64 * MIB);
    char *volatile p = malloc(n);
    CHECK(p != NULL);
    if (p) {
        memset(p, 1, n);
        CHECK_EQ_INT(memsrc_read(src, &after), ML_OK);
        if (!near(after - before, 64 * MIB, 0.10))
            fprintf(stderr, "  kind %d: before %lld, after %lld\n", (int)kind,
                    (long long)before, (long long)after);
        CHECK(near(after - before, 64 * MIB, 0.10));
        CHECK_EQ_INT(p[n - 1], 1);
    }
    free(p);
    memsrc_close(src);
}

TEST(self_rss_tracks_malloc)
{
    check_tracks_64mib(MEMSRC_RSS);
}

TEST(self_pss_uss)
{
    if (!rollup_supported()) {
        memsrc *src = NULL;
        CHECK_EQ_INT(memsrc_open(&src, 0, MEMSRC_PSS), ML_EUNSUPPORTED);
        CHECK(src == NULL);
        fprintf(stderr, "  (no smaps_rollup: PSS/USS readings not checked)\n");
        return;
    }
    int64_t rss = SENTINEL, pss = SENTINEL, uss = SENTINEL;
    CHECK_EQ_INT(read_pid(0, MEMSRC_USS, &uss), ML_OK);
    CHECK_EQ_INT(read_pid(0, MEMSRC_PSS, &pss), ML_OK);
    CHECK_EQ_INT(read_pid(0, MEMSRC_RSS, &rss), ML_OK);
    CHECK(uss > 0);
    CHECK_EQ_INT(pss % 1024, 0);
    CHECK_EQ_INT(uss % 1024, 0);
    /* USS <= PSS <= RSS, with slack for what changed between the reads. */
    CHECK(uss <= pss + MIB);
    CHECK(pss <= rss + MIB);
    check_tracks_64mib(MEMSRC_PSS);
    check_tracks_64mib(MEMSRC_USS);
}

TEST(read_does_not_allocate)
{
    memsrc *src = NULL;
    int64_t v = SENTINEL;
    CHECK_EQ_INT(memsrc_open(&src, 0, MEMSRC_RSS), ML_OK);
    ml_alloc_fail_nth(1);
    CHECK_EQ_INT(memsrc_read(src, &v), ML_OK);
    CHECK_EQ_INT(memsrc_read(src, &v), ML_OK);
    void *probe = ml_malloc(1); /* the armed failure is still pending */
    CHECK(probe == NULL);
    ml_free(probe);
    ml_alloc_fail_nth(0);
    memsrc_close(src);
}

static void *read_many(void *arg)
{
    memsrc *src = arg;
    long bad = 0;
    for (int i = 0; i < 300; i++) {
        int64_t v = SENTINEL;
        bad += memsrc_read(src, &v) != ML_OK || v <= 0;
    }
    return (void *)bad;
}

TEST(one_source_many_threads)
{
    memsrc *src = NULL;
    CHECK_EQ_INT(memsrc_open(&src, 0, MEMSRC_RSS), ML_OK);
    if (!src)
        return;
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        CHECK_EQ_INT(pthread_create(&th[i], NULL, read_many, src), 0);
    long bad = 0;
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(th[i], &r);
        bad += (long)r;
    }
    CHECK_EQ_INT(bad, 0);
    memsrc_close(src);
}

/* Fake statm files: exact parsing and page-size scaling. */

TEST(statm_parsing)
{
    static const struct {
        const char *text;
        int rc;
        int64_t pages;
    } cases[] = {
        {"1000 250 30 5 0 100 0\n", ML_OK, 250},
        {"1000 250", ML_OK, 250},
        {"  7   3  ", ML_OK, 3},
        {"1 4294967296 0\n", ML_OK, INT64_C(4294967296)},
        {"0 0 0 0 0 0 0\n", ML_ENOENT, 0}, /* a zombie's statm: exited, not empty */
        {"5 0 0 0 0 0 0\n", ML_OK, 0},      /* nothing resident, but alive */
        {"abc\n", ML_EFORMAT, 0},
        {"1000\n", ML_EFORMAT, 0},
        {"1000 x 3\n", ML_EFORMAT, 0},
        {"1000 -5 0\n", ML_EFORMAT, 0},
        {"\n", ML_EFORMAT, 0},
        {"", ML_ENOENT, 0}, /* empty, as a vanished process reads */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *path = write_file("statm", cases[i].text);
        CHECK(path != NULL);
        int64_t v = SENTINEL;
        int rc = read_path(path, MEMSRC_RSS, &v);
        if (rc != cases[i].rc)
            fprintf(stderr, "  case %zu \"%s\"\n", i, cases[i].text);
        CHECK_EQ_INT(rc, cases[i].rc);
        CHECK_EQ_INT(v, cases[i].rc == ML_OK ? cases[i].pages * page_size : SENTINEL);
    }
}

TEST(statm_reread_each_time)
{
    /* One open source follows the file: each read starts at offset 0 and
     * sees only the current contents. */
    const char *path = write_file("statm", "1000 123456 0 0 0 0 0\n");
    memsrc *src = NULL;
    CHECK_EQ_INT(memsrc_open_path(&src, path, MEMSRC_RSS), ML_OK);
    if (!src)
        return;
    int64_t v = SENTINEL;
    CHECK_EQ_INT(memsrc_read(src, &v), ML_OK);
    CHECK_EQ_INT(v, 123456 * page_size);
    CHECK_EQ_INT(memsrc_read(src, &v), ML_OK);
    CHECK_EQ_INT(v, 123456 * page_size);
    write_file("statm", "1 7\n");
    CHECK_EQ_INT(memsrc_read(src, &v), ML_OK);
    CHECK_EQ_INT(v, 7 * page_size);
    write_file("statm", "");
    v = SENTINEL;
    CHECK_EQ_INT(memsrc_read(src, &v), ML_ENOENT);
    CHECK_EQ_INT(v, SENTINEL);
    write_file("statm", "1 x\n");
    CHECK_EQ_INT(memsrc_read(src, &v), ML_EFORMAT);
    CHECK_EQ_INT(v, SENTINEL);
    memsrc_close(src);
}

/* Fake smaps_rollup files. */

static const char rollup_real[] =
    "55da83812000-7ffcf245a000 ---p 00000000 00:00 0                          [rollup]\n"
    "Rss:                1688 kB\n"
    "Pss:                 347 kB\n"
    "Pss_Dirty:           112 kB\n"
    "Pss_Anon:            112 kB\n"
    "Pss_File:            235 kB\n"
    "Pss_Shmem:             0 kB\n"
    "Shared_Clean:       1516 kB\n"
    "Shared_Dirty:          0 kB\n"
    "Private_Clean:        60 kB\n"
    "Private_Dirty:       112 kB\n"
    "Referenced:         1688 kB\n"
    "Anonymous:           112 kB\n"
    "KSM:                   0 kB\n"
    "LazyFree:              0 kB\n"
    "AnonHugePages:         0 kB\n"
    "ShmemPmdMapped:        0 kB\n"
    "FilePmdMapped:         0 kB\n"
    "Shared_Hugetlb:        0 kB\n"
    "Private_Hugetlb:       0 kB\n"
    "Swap:                  0 kB\n"
    "SwapPss:               0 kB\n"
    "Locked:                0 kB\n";

TEST(rollup_parsing)
{
    static const struct {
        const char *text;
        int pss_rc;
        int64_t pss_kb;
        int uss_rc;
        int64_t uss_kb;
    } cases[] = {
        {rollup_real, ML_OK, 347, ML_OK, 60 + 112},
        /* Fields named Pss_* and SwapPss come before Pss. */
        {"SwapPss: 9 kB\nPss_Anon: 5 kB\nPss_File: 6 kB\nPss: 11 kB\n"
         "Private_Clean: 1 kB\nPrivate_Dirty: 2 kB\n",
         ML_OK, 11, ML_OK, 3},
        /* No header line; no newline at the end. */
        {"Pss: 12 kB\nPrivate_Dirty: 4 kB\nPrivate_Clean: 8 kB", ML_OK, 12, ML_OK, 12},
        /* Private_Hugetlb counts toward USS when present. */
        {"Pss: 5000 kB\nPrivate_Clean: 10 kB\nPrivate_Dirty: 20 kB\n"
         "Private_Hugetlb: 2048 kB\n",
         ML_OK, 5000, ML_OK, 2078},
        /* Big values stay exact in 64 bits. */
        {"Pss: 68719476736 kB\nPrivate_Clean: 0 kB\nPrivate_Dirty: 68719476736 kB\n", ML_OK,
         INT64_C(68719476736), ML_OK, INT64_C(68719476736)},
        /* Missing fields. */
        {"Rss: 10 kB\nPrivate_Clean: 1 kB\nPrivate_Dirty: 2 kB\n", ML_EFORMAT, 0, ML_OK, 3},
        {"Pss: 10 kB\nPrivate_Clean: 1 kB\n", ML_OK, 10, ML_EFORMAT, 0},
        {"SwapPss: 10 kB\nPss_Anon: 3 kB\n", ML_EFORMAT, 0, ML_EFORMAT, 0},
        /* Bad values. */
        {"Pss: abc kB\nPrivate_Clean: x kB\nPrivate_Dirty: 1 kB\n", ML_EFORMAT, 0, ML_EFORMAT, 0},
        {"Pss: -4 kB\nPrivate_Clean: 1 kB\nPrivate_Dirty: -9 kB\n", ML_EFORMAT, 0, ML_EFORMAT, 0},
        {"Pss 12 kB\n", ML_EFORMAT, 0, ML_EFORMAT, 0},
        {"garbage\n", ML_EFORMAT, 0, ML_EFORMAT, 0},
        {"", ML_ENOENT, 0, ML_ENOENT, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *path = write_file("smaps_rollup", cases[i].text);
        CHECK(path != NULL);
        int64_t pss = SENTINEL, uss = SENTINEL;
        int pss_rc = read_path(path, MEMSRC_PSS, &pss);
        int uss_rc = read_path(path, MEMSRC_USS, &uss);
        if (pss_rc != cases[i].pss_rc || uss_rc != cases[i].uss_rc)
            fprintf(stderr, "  case %zu\n", i);
        CHECK_EQ_INT(pss_rc, cases[i].pss_rc);
        CHECK_EQ_INT(uss_rc, cases[i].uss_rc);
        CHECK_EQ_INT(pss, cases[i].pss_rc == ML_OK ? cases[i].pss_kb * 1024 : SENTINEL);
        CHECK_EQ_INT(uss, cases[i].uss_rc == ML_OK ? cases[i].uss_kb * 1024 : SENTINEL);
    }
}

TEST(rollup_as_rss_is_malformed)
{
    /* The kind says which layout to expect: a rollup read as statm fails. */
    const char *path = write_file("smaps_rollup", rollup_real);
    int64_t v = SENTINEL;
    CHECK_EQ_INT(read_path(path, MEMSRC_RSS, &v), ML_EFORMAT);
    CHECK_EQ_INT(v, SENTINEL);
}

/* Opening errors. */

TEST(open_bad_kind)
{
    const char *path = write_file("statm", "1 2\n");
    memsrc *src = (memsrc *)path; /* any non-NULL value; must be reset */
    CHECK_EQ_INT(memsrc_open_path(&src, path, (memsrc_kind)7), ML_EINVAL);
    CHECK(src == NULL);
    CHECK_EQ_INT(memsrc_open(&src, 0, (memsrc_kind)3), ML_EINVAL);
    CHECK(src == NULL);
}

TEST(open_missing_file)
{
    const char *path = tmp_path("no_such_file");
    memsrc *src = (memsrc *)path;
    CHECK_EQ_INT(memsrc_open_path(&src, path, MEMSRC_RSS), ML_ENOENT);
    CHECK(src == NULL);
    /* For PSS/USS a missing file means a kernel without smaps_rollup. */
    CHECK_EQ_INT(memsrc_open_path(&src, path, MEMSRC_PSS), ML_EUNSUPPORTED);
    CHECK(src == NULL);
    CHECK_EQ_INT(memsrc_open_path(&src, path, MEMSRC_USS), ML_EUNSUPPORTED);
    CHECK(src == NULL);
    /* A path through a regular file. */
    const char *file = write_file("plain", "x");
    char through[700];
    snprintf(through, sizeof through, "%s/statm", file);
    CHECK_EQ_INT(memsrc_open_path(&src, through, MEMSRC_RSS), ML_ENOENT);
    CHECK(src == NULL);
}

TEST(open_unreadable_file)
{
    const char *path = write_file("statm", "1000 250\n");
    CHECK_EQ_INT(chmod(path, 0), 0);
    memsrc *src = NULL;
    int rc_rss = memsrc_open_path(&src, path, MEMSRC_RSS);
    memsrc_close(src);
    src = NULL;
    int rc_pss = memsrc_open_path(&src, path, MEMSRC_PSS);
    memsrc_close(src);
    if (geteuid() != 0) {
        CHECK_EQ_INT(rc_rss, ML_EACCES);
        CHECK_EQ_INT(rc_pss, ML_EACCES);
    } else {
        /* root ignores the mode bits: only check that nothing odd happened. */
        CHECK(rc_rss == ML_OK || rc_rss == ML_EACCES);
        CHECK(rc_pss == ML_OK || rc_pss == ML_EACCES);
        fprintf(stderr, "  (running as root: EACCES not checked)\n");
    }
    chmod(path, 0600);
}

TEST(read_directory_fails)
{
    /* Opening a directory works; reading it does not. */
    memsrc *src = NULL;
    CHECK_EQ_INT(memsrc_open_path(&src, tmpdir, MEMSRC_RSS), ML_OK);
    int64_t v = SENTINEL;
    if (src)
        CHECK_EQ_INT(memsrc_read(src, &v), ML_EIO);
    CHECK_EQ_INT(v, SENTINEL);
    memsrc_close(src);
}

static pid_t unused_pid(void)
{
    long max = 4194304;
    FILE *f = fopen("/proc/sys/kernel/pid_max", "r");
    if (f) {
        if (fscanf(f, "%ld", &max) != 1)
            max = 4194304;
        fclose(f);
    }
    return (pid_t)(max + 1);
}

/* A child that sleeps until killed (or for a minute at most). */
static pid_t spawn_sleeper(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        alarm(60);
        for (;;)
            pause();
    }
    return pid;
}

static void kill_and_reap(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

TEST(open_missing_pid)
{
    memsrc *src = NULL;
    for (int kind = MEMSRC_RSS; kind <= MEMSRC_USS; kind++) {
        src = (memsrc *)&src;
        CHECK_EQ_INT(memsrc_open(&src, unused_pid(), (memsrc_kind)kind), ML_ENOENT);
        CHECK(src == NULL);
    }
    /* The pid of a child that has been reaped. */
    pid_t gone = spawn_sleeper();
    CHECK(gone > 0);
    kill_and_reap(gone);
    for (int kind = MEMSRC_RSS; kind <= MEMSRC_USS; kind++) {
        CHECK_EQ_INT(memsrc_open(&src, gone, (memsrc_kind)kind), ML_ENOENT);
        CHECK(src == NULL);
    }
}

TEST(other_process_then_gone)
{
    pid_t child = spawn_sleeper();
    CHECK(child > 0);
    if (child <= 0)
        return;
    memsrc *rss = NULL, *pss = NULL;
    CHECK_EQ_INT(memsrc_open(&rss, child, MEMSRC_RSS), ML_OK);
    int64_t v = SENTINEL;
    if (rss) {
        CHECK_EQ_INT(memsrc_read(rss, &v), ML_OK);
        CHECK(v > 0);
    }
    if (rollup_supported()) {
        CHECK_EQ_INT(memsrc_open(&pss, child, MEMSRC_PSS), ML_OK);
        v = SENTINEL;
        if (pss) {
            CHECK_EQ_INT(memsrc_read(pss, &v), ML_OK);
            CHECK(v > 0);
        }
    }
    kill_and_reap(child);
    /* The descriptors stay open; reading them says the process is gone. */
    v = SENTINEL;
    if (rss)
        CHECK_EQ_INT(memsrc_read(rss, &v), ML_ENOENT);
    if (pss)
        CHECK_EQ_INT(memsrc_read(pss, &v), ML_ENOENT);
    CHECK_EQ_INT(v, SENTINEL);
    memsrc_close(rss);
    memsrc_close(pss);
    memsrc_close(NULL);
}

TEST(oom_open)
{
    const char *path = write_file("statm", "10 20\n");
    int fds = open_fds();
    for (int kind = MEMSRC_RSS; kind <= MEMSRC_USS; kind++) {
        if (kind != MEMSRC_RSS && !rollup_supported())
            break;
        int failures = 0, rc = ML_ENOMEM;
        memsrc *src = NULL;
        for (long n = 1; n < 10 && rc != ML_OK; n++) {
            src = (memsrc *)&src;
            ml_alloc_fail_nth(n);
            rc = memsrc_open(&src, 0, (memsrc_kind)kind);
            ml_alloc_fail_nth(0);
            if (rc != ML_OK) {
                failures++;
                CHECK_EQ_INT(rc, ML_ENOMEM);
                CHECK(src == NULL);
                CHECK_EQ_INT(open_fds(), fds); /* no descriptor left behind */
            }
        }
        CHECK_EQ_INT(failures, 1);
        CHECK_EQ_INT(rc, ML_OK);
        memsrc_close(src);
    }
    ml_alloc_fail_nth(1);
    memsrc *src = (memsrc *)&src;
    CHECK_EQ_INT(memsrc_open_path(&src, path, MEMSRC_RSS), ML_ENOMEM);
    CHECK(src == NULL);
    int64_t v = SENTINEL;
    CHECK_EQ_INT(read_path(path, MEMSRC_RSS, &v), ML_OK);
    CHECK_EQ_INT(v, 20 * page_size);
    CHECK_EQ_INT(open_fds(), fds);
}

/* Children and descendants: this process -> a, b; b -> c.  a names itself
 * "x) S 1 1 (y", so a parser that takes the first ')' of /proc/PID/stat
 * reads its parent as pid 1. */
typedef struct family {
    pid_t a, b, c;
} family;

static int family_start(family *f)
{
    int fd[2];
    f->a = f->b = f->c = -1;
    if (pipe(fd) != 0)
        return -1;
    f->a = fork();
    if (f->a == 0) {
        close(fd[0]);
        alarm(60);
        prctl(PR_SET_NAME, "x) S 1 1 (y", 0, 0, 0);
        pid_t self = getpid();
        ssize_t w = write(fd[1], &self, sizeof self);
        (void)w;
        for (;;)
            pause();
    }
    pid_t a = -1;
    ssize_t r = f->a > 0 ? read(fd[0], &a, sizeof a) : -1;
    f->b = r == (ssize_t)sizeof a ? fork() : -1;
    if (f->b == 0) {
        close(fd[0]);
        alarm(60);
        /* c reports itself once it runs, so no process is still starting
         * (and its memory still moving) when the test measures. */
        pid_t c = fork();
        if (c == 0) {
            alarm(60);
            pid_t self = getpid();
            ssize_t w = write(fd[1], &self, sizeof self);
            (void)w;
            for (;;)
                pause();
        }
        close(fd[1]);
        waitpid(c, NULL, 0); /* until the test kills c */
        _exit(0);
    }
    close(fd[1]);
    pid_t c = -1;
    r = f->b > 0 ? read(fd[0], &c, sizeof c) : -1;
    close(fd[0]);
    f->c = r == (ssize_t)sizeof c ? c : -1;
    return f->a > 0 && f->b > 0 && f->c > 0 ? 0 : -1;
}

static void family_stop(family *f)
{
    if (f->c > 0)
        kill(f->c, SIGKILL); /* b reaps it and exits */
    if (f->b > 0) {
        if (f->c <= 0)
            kill(f->b, SIGKILL);
        waitpid(f->b, NULL, 0);
    }
    kill_and_reap(f->a);
}

static int cmp_pid(const void *x, const void *y)
{
    pid_t a = *(const pid_t *)x, b = *(const pid_t *)y;
    return (a > b) - (a < b);
}

/* Whether pids[0..n) is exactly the set want[0..k). */
static int same_set(pid_t *pids, size_t n, const pid_t *want, size_t k)
{
    if (n != k || (n > 0 && !pids))
        return 0;
    pid_t sorted[8];
    memcpy(sorted, want, k * sizeof *want);
    qsort(sorted, k, sizeof *sorted, cmp_pid);
    qsort(pids, n, sizeof *pids, cmp_pid);
    return memcmp(sorted, pids, n * sizeof *pids) == 0;
}

static void check_family(const family *f)
{
    pid_t *pids = NULL;
    size_t n = 99;
    pid_t kids[2] = {f->a, f->b}, all[3] = {f->a, f->b, f->c};

    CHECK_EQ_INT(memsrc_children(0, &pids, &n), ML_OK);
    CHECK(same_set(pids, n, kids, 2));
    ml_free(pids);
    CHECK_EQ_INT(memsrc_children(getpid(), &pids, &n), ML_OK);
    CHECK(same_set(pids, n, kids, 2));
    ml_free(pids);

    CHECK_EQ_INT(memsrc_descendants(0, &pids, &n), ML_OK);
    CHECK(same_set(pids, n, all, 3));
    ml_free(pids);

    CHECK_EQ_INT(memsrc_descendants(f->b, &pids, &n), ML_OK);
    CHECK(same_set(pids, n, &f->c, 1));
    ml_free(pids);
    CHECK_EQ_INT(memsrc_children(f->b, &pids, &n), ML_OK);
    CHECK(same_set(pids, n, &f->c, 1));
    ml_free(pids);

    /* A leaf: ML_OK, nothing, and no array. */
    pids = (pid_t *)&n;
    CHECK_EQ_INT(memsrc_descendants(f->a, &pids, &n), ML_OK);
    CHECK_EQ_INT(n, 0);
    CHECK(pids == NULL);
    pids = (pid_t *)&n;
    CHECK_EQ_INT(memsrc_children(f->c, &pids, &n), ML_OK);
    CHECK_EQ_INT(n, 0);
    CHECK(pids == NULL);
}

TEST(children_and_descendants)
{
    family f;
    int ok = family_start(&f) == 0;
    CHECK(ok);
    if (ok) {
        check_family(&f);
        /* The total equals the sum of the three read one by one (they are
         * asleep, so their memory holds still). */
        int64_t total = SENTINEL, sum = 0, one;
        CHECK_EQ_INT(memsrc_descendants_bytes(0, MEMSRC_RSS, &total), ML_OK);
        CHECK(total > 0);
        pid_t all[3] = {f.a, f.b, f.c};
        for (int i = 0; i < 3; i++) {
            one = 0;
            CHECK_EQ_INT(read_pid(all[i], MEMSRC_RSS, &one), ML_OK);
            sum += one;
        }
        CHECK(near(total, sum, 0.10));
        int64_t of_b = SENTINEL, c_alone = 0;
        CHECK_EQ_INT(memsrc_descendants_bytes(f.b, MEMSRC_RSS, &of_b), ML_OK);
        CHECK_EQ_INT(read_pid(f.c, MEMSRC_RSS, &c_alone), ML_OK);
        CHECK(near(of_b, c_alone, 0.10));
        if (rollup_supported()) {
            int64_t pss = SENTINEL;
            CHECK_EQ_INT(memsrc_descendants_bytes(0, MEMSRC_PSS, &pss), ML_OK);
            CHECK(pss > 0);
            CHECK(pss <= total + MIB);
        }
    }
    family_stop(&f);
    /* All gone: nothing left, and a zero total. */
    pid_t *pids = NULL;
    size_t n = 99;
    CHECK_EQ_INT(memsrc_descendants(0, &pids, &n), ML_OK);
    CHECK_EQ_INT(n, 0);
    CHECK(pids == NULL);
    int64_t total = SENTINEL;
    CHECK_EQ_INT(memsrc_descendants_bytes(0, MEMSRC_RSS, &total), ML_OK);
    CHECK_EQ_INT(total, 0);
}

TEST(descendants_of_missing_pid)
{
    pid_t *pids = (pid_t *)&pids;
    size_t n = 99;
    CHECK_EQ_INT(memsrc_descendants(unused_pid(), &pids, &n), ML_OK);
    CHECK_EQ_INT(n, 0);
    CHECK(pids == NULL);
    int64_t total = SENTINEL;
    CHECK_EQ_INT(memsrc_descendants_bytes(unused_pid(), MEMSRC_RSS, &total), ML_OK);
    CHECK_EQ_INT(total, 0);
}

/* Runs list with the 1st, 2nd, ... allocation failing until it succeeds;
 * each failure must be ML_ENOMEM with no array.  Returns the failures. */
static int list_under_oom(int (*list)(pid_t, pid_t **, size_t *), pid_t pid, pid_t **pids,
                          size_t *n)
{
    int rc = ML_ENOMEM, failures = 0;
    for (long k = 1; k < 1000 && rc != ML_OK; k++) {
        *pids = (pid_t *)n;
        *n = 99;
        ml_alloc_fail_nth(k);
        rc = list(pid, pids, n);
        ml_alloc_fail_nth(0);
        if (rc != ML_OK) {
            failures++;
            CHECK_EQ_INT(rc, ML_ENOMEM);
            CHECK(*pids == NULL);
            CHECK_EQ_INT(*n, 0);
        }
    }
    CHECK_EQ_INT(rc, ML_OK);
    return failures;
}

TEST(oom_descendants)
{
    family f;
    int ok = family_start(&f) == 0;
    CHECK(ok);
    if (ok) {
        pid_t *pids = NULL;
        size_t n = 0;
        pid_t kids[2] = {f.a, f.b}, all[3] = {f.a, f.b, f.c};
        /* /proc holds at least this process and its three descendants, so
         * the scan allocates at least twice (two vectors). */
        CHECK(list_under_oom(memsrc_descendants, 0, &pids, &n) >= 2);
        CHECK(same_set(pids, n, all, 3));
        ml_free(pids);
        CHECK(list_under_oom(memsrc_children, 0, &pids, &n) >= 2);
        CHECK(same_set(pids, n, kids, 2));
        ml_free(pids);

        int64_t want = SENTINEL;
        CHECK_EQ_INT(memsrc_descendants_bytes(0, MEMSRC_RSS, &want), ML_OK);
        int rc = ML_ENOMEM, failures = 0;
        int64_t total = SENTINEL;
        for (long k = 1; k < 1000 && rc != ML_OK; k++) {
            ml_alloc_fail_nth(k);
            rc = memsrc_descendants_bytes(0, MEMSRC_RSS, &total);
            ml_alloc_fail_nth(0);
            if (rc != ML_OK) {
                failures++;
                CHECK_EQ_INT(rc, ML_ENOMEM);
                CHECK_EQ_INT(total, SENTINEL);
            }
        }
        CHECK_EQ_INT(rc, ML_OK);
        CHECK(failures >= 5); /* the scan, then one source per process */
        /* Success means every process was counted, not a partial sum. */
        CHECK(near(total, want, 0.10));
    }
    family_stop(&f);
}

int main(void)
{
    page_size = sysconf(_SC_PAGESIZE);
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/memsrc_test.XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }

    RUN(self_rss_is_sane);
    RUN(self_rss_tracks_malloc);
    RUN(self_pss_uss);
    RUN(read_does_not_allocate);
    RUN(one_source_many_threads);
    RUN(statm_parsing);
    RUN(statm_reread_each_time);
    RUN(rollup_parsing);
    RUN(rollup_as_rss_is_malformed);
    RUN(open_bad_kind);
    RUN(open_missing_file);
    RUN(open_unreadable_file);
    RUN(read_directory_fails);
    RUN(open_missing_pid);
    RUN(other_process_then_gone);
    RUN(oom_open);
    RUN(children_and_descendants);
    RUN(descendants_of_missing_pid);
    RUN(oom_descendants);

    static const char *const files[] = {"statm", "smaps_rollup", "plain"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        unlink(tmp_path(files[i]));
    rmdir(tmpdir);
    return CTEST_END();
}
