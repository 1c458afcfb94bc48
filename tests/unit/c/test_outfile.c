/* test_outfile: write-then-rename: the new contents replace the old at
 * once, the file keeps its permissions, a link's target is replaced, and a
 * failure leaves the old file untouched with no temporary file left. */
#include "ctest.h"

#include "core/mlalloc.h"
#include "core/mlerr.h"
#include "core/outfile.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/test_outfile_XXXXXX";

static const char *in_dir(const char *name)
{
    static char path[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(path[k], sizeof path[k], "%s/%s", dir, name);
    return path[k];
}

static const char *contents(const char *path)
{
    static char buf[256];
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    buf[n] = '\0';
    if (f)
        fclose(f);
    return f ? buf : "(missing)";
}

static int entries(void)
{
    int n = 0;
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));)
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

TEST(replaces_and_keeps_mode)
{
    const char *p = in_dir("r.json");
    CHECK_EQ_INT(outfile_replace(p, "first", 5), ML_OK);
    CHECK_EQ_STR(contents(p), "first");
    chmod(p, 0640);
    CHECK_EQ_INT(outfile_replace(p, "second, longer", 14), ML_OK);
    CHECK_EQ_STR(contents(p), "second, longer");
    struct stat st;
    CHECK(stat(p, &st) == 0 && (st.st_mode & 07777) == 0640);
    CHECK_EQ_INT(outfile_replace(p, "", 0), ML_OK);
    CHECK_EQ_STR(contents(p), "");
    CHECK_EQ_INT(entries(), 1);
    unlink(p);
}

TEST(follows_a_link)
{
    const char *target = in_dir("target.html"), *link = in_dir("link.html");
    CHECK_EQ_INT(outfile_replace(target, "old", 3), ML_OK);
    CHECK(symlink(target, link) == 0);
    CHECK_EQ_INT(outfile_replace(link, "new", 3), ML_OK);
    struct stat st;
    CHECK(lstat(link, &st) == 0 && S_ISLNK(st.st_mode));
    CHECK_EQ_STR(contents(target), "new");
    unlink(link);
    unlink(target);
}

TEST(failures_leave_the_old_file)
{
    const char *p = in_dir("keep.txt");
    CHECK_EQ_INT(outfile_replace(p, "precious", 8), ML_OK);
    ml_alloc_fail_nth(1);
    CHECK_EQ_INT(outfile_replace(p, "lost", 4), ML_ENOMEM);
    ml_alloc_fail_nth(0);
    CHECK_EQ_STR(contents(p), "precious");
    CHECK_EQ_INT(outfile_replace(dir, "x", 1), ML_EIO); /* a directory in the way */
    CHECK_EQ_INT(errno, EISDIR);
    CHECK_EQ_INT(outfile_replace(in_dir("no/such/dir.txt"), "x", 1), ML_ENOENT);
    CHECK_EQ_INT(entries(), 1);
    unlink(p);
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    RUN(replaces_and_keeps_mode);
    RUN(follows_a_link);
    RUN(failures_leave_the_old_file);
    rmdir(dir);
    return CTEST_END();
}
