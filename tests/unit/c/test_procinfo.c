/* test_procinfo: process lookups on real processes: existence, finding by
 * name, command lines, and descendants through the kernel's child lists
 * agreeing with a full scan of /proc (memsrc). */
#include "ctest.h"

#include "core/memsrc.h"
#include "core/mlalloc.h"
#include "core/mlerr.h"
#include "core/procinfo.h"
#include "core/sbuf.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static int contains(const pid_t *v, size_t n, pid_t p)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == p)
            return 1;
    return 0;
}

TEST(exists)
{
    CHECK_EQ_INT(procinfo_exists(getpid()), ML_OK);
    CHECK_EQ_INT(procinfo_exists(999999999), ML_ENOENT);
    CHECK_EQ_INT(procinfo_exists(0), ML_ENOENT);
}

TEST(cmdline_of_self)
{
    sbuf b = SBUF_INIT;
    CHECK_EQ_INT(procinfo_cmdline(getpid(), &b), ML_OK);
    CHECK(strstr(sbuf_str(&b), "test_procinfo") != NULL);
    CHECK_EQ_INT(procinfo_cmdline(999999999, &b), ML_ENOENT);
    sbuf_release(&b);
}

TEST(find_by_name)
{
    pid_t child = fork();
    if (child == 0) {
        execlp("sleep", "sleep", "2", (char *)NULL);
        _exit(127);
    }
    usleep(100000);
    pid_t found = 0;
    CHECK_EQ_INT(procinfo_find("slee", &found), ML_OK);
    CHECK(found > 0);
    CHECK_EQ_INT(procinfo_find("no-such-process-name-xyz", &found), ML_ENOENT);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
}

TEST(descendants_match_full_scan)
{
    pid_t child = fork();
    if (child == 0) {
        /* a child with a grandchild */
        execlp("sh", "sh", "-c", "sleep 2 & sleep 2; wait", (char *)NULL);
        _exit(127);
    }
    usleep(150000);
    pid_t *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    int rc = procinfo_descendants(getpid(), &a, &na);
    CHECK(rc == ML_OK || rc == ML_EUNSUPPORTED);
    CHECK_EQ_INT(memsrc_descendants(getpid(), &b, &nb), ML_OK);
    if (rc == ML_OK) {
        CHECK_EQ_INT(na, nb);
        CHECK(na >= 3 && contains(a, na, child));
        for (size_t i = 0; i < nb; i++)
            CHECK(contains(a, na, b[i]));
    }
    ml_free(a);
    ml_free(b);
    CHECK_EQ_INT(procinfo_descendants(999999999, &a, &na), ML_ENOENT);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
}

TEST(descendants_out_of_memory)
{
    pid_t child = fork();
    if (child == 0) {
        execlp("sleep", "sleep", "1", (char *)NULL);
        _exit(127);
    }
    usleep(50000);
    pid_t *a = NULL;
    size_t n = 0;
    ml_alloc_fail_nth(1);
    int rc = procinfo_descendants(getpid(), &a, &n);
    ml_alloc_fail_nth(0);
    CHECK(rc == ML_ENOMEM || rc == ML_EUNSUPPORTED);
    CHECK(a == NULL);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
}

int main(void)
{
    RUN(exists);
    RUN(cmdline_of_self);
    RUN(find_by_name);
    RUN(descendants_match_full_scan);
    RUN(descendants_out_of_memory);
    return CTEST_END();
}
