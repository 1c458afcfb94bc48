/* test_mlio: the file operations that keep the user's files safe.  A full
 * disk is simulated with a file size limit (RLIMIT_FSIZE, SIGXFSZ
 * ignored), which makes write(2) stop short exactly where a full disk
 * would; symbolic links, FIFOs and directories are put where output goes. */
#include "ctest.h"

#include "core/mlerr.h"
#include "core/mlio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

static const char *at(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* The file's content (static buffer), "" when it cannot be read. */
static const char *content(const char *path)
{
    static char buf[8192];
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    if (f) {
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = '\0';
        fclose(f);
    }
    return buf;
}

static int entries(void)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        n += e->d_name[0] != '.' || strncmp(e->d_name, ".memline-", 9) == 0;
    if (d)
        closedir(d);
    return n;
}

static void clear_dir(void)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            if (unlink(at(e->d_name)) != 0)
                rmdir(at(e->d_name));
        }
    if (d)
        closedir(d);
}

/* Writes stop at limit bytes per file from now on, as on a full disk;
 * limit 0 lifts it. */
static void fsize_limit(long limit)
{
    struct rlimit r;
    getrlimit(RLIMIT_FSIZE, &r);
    r.rlim_cur = limit > 0 ? (rlim_t)limit : r.rlim_max;
    CHECK(setrlimit(RLIMIT_FSIZE, &r) == 0);
}

TEST(write_all_reports_a_full_device)
{
    int fd = open("/dev/full", O_WRONLY);
    CHECK(fd >= 0);
    errno = 0;
    CHECK_EQ_INT(ml_write_all(fd, "abc", 3), ML_EIO);
    CHECK_EQ_INT(errno, ENOSPC);
    close(fd);
}

/* Records cut by a full disk are taken back: the file ends in a whole line
 * and keeps everything it had. */
TEST(append_lines_never_leaves_a_torn_record)
{
    const char *path = at("a.dat");
    put(path, "CMDLINE x\n");
    int fd, created;
    CHECK_EQ_INT(ml_open_append(path, &fd, &created), ML_OK);
    CHECK_EQ_INT(created, 0);
    char lines[4096] = "";
    for (int i = 0; i < 100; i++)
        snprintf(lines + strlen(lines), sizeof lines - strlen(lines), "MEM %d.000000 %d.0000\n",
                 i, 1000 + i);
    fsize_limit(64);
    errno = 0;
    int rc = ml_append_lines(fd, lines, strlen(lines));
    int err = errno;
    fsize_limit(0);
    CHECK_EQ_INT(rc, ML_EIO);
    CHECK(err == EFBIG || err == ENOSPC);
    const char *got = content(path);
    size_t len = strlen(got);
    CHECK(len > 10 && len <= 64);
    CHECK(got[len - 1] == '\n');
    CHECK(strncmp(got, "CMDLINE x\nMEM 0.000000 1000.0000\n", 33) == 0);
    CHECK(strncmp(got + 10, lines, len - 10) == 0);
    /* a write that fits goes out whole */
    CHECK_EQ_INT(ml_append_lines(fd, "MEM 1 2\n", 8), ML_OK);
    close(fd);
    clear_dir();
}

TEST(open_append_refuses_what_is_not_a_regular_file)
{
    int fd = -1, created = -1;
    const char *path = at("new.dat");
    CHECK_EQ_INT(ml_open_append(path, &fd, &created), ML_OK);
    CHECK_EQ_INT(created, 1);
    CHECK(fd >= 0 && (fcntl(fd, F_GETFL) & O_APPEND) && (fcntl(fd, F_GETFD) & FD_CLOEXEC));
    close(fd);

    put(at("target.txt"), "notes\n");
    CHECK(symlink(at("target.txt"), at("link.dat")) == 0);
    errno = 0;
    CHECK_EQ_INT(ml_open_append(at("link.dat"), &fd, &created), ML_EINVAL);
    CHECK_EQ_INT(errno, ELOOP);
    CHECK(fd == -1 && created == 0);
    CHECK(symlink(at("nowhere"), at("dangling.dat")) == 0);
    CHECK_EQ_INT(ml_open_append(at("dangling.dat"), &fd, &created), ML_EINVAL);
    CHECK(access(at("nowhere"), F_OK) != 0);
    CHECK_EQ_STR(content(at("target.txt")), "notes\n");

    CHECK_EQ_INT(ml_open_append(dir, &fd, &created), ML_EINVAL);
    CHECK_EQ_INT(errno, EISDIR);
    CHECK(mkfifo(at("fifo.dat"), 0600) == 0);
    CHECK_EQ_INT(ml_open_append(at("fifo.dat"), &fd, &created), ML_EINVAL); /* no block */
    CHECK_EQ_INT(ml_open_append("/dev/null", &fd, &created), ML_EINVAL);
    CHECK_EQ_INT(ml_open_append(at("no/such/dir.dat"), &fd, &created), ML_ENOENT);
    clear_dir();
}

TEST(create_new_and_unlink_same)
{
    int fd = -1;
    put(at("there.dat"), "keep\n");
    errno = 0;
    CHECK_EQ_INT(ml_create_new(at("there.dat"), &fd), ML_EINVAL);
    CHECK_EQ_INT(errno, EEXIST);
    CHECK(symlink(at("victim"), at("trap.dat")) == 0);
    CHECK_EQ_INT(ml_create_new(at("trap.dat"), &fd), ML_EINVAL);
    CHECK(access(at("victim"), F_OK) != 0); /* not created through the link */
    CHECK_EQ_STR(content(at("there.dat")), "keep\n");

    CHECK_EQ_INT(ml_create_new(at("mine.dat"), &fd), ML_OK);
    CHECK_EQ_INT(ml_unlink_same(at("mine.dat"), fd), ML_OK);
    CHECK(access(at("mine.dat"), F_OK) != 0);
    close(fd);
    /* replaced meanwhile by someone else's file: left alone */
    CHECK_EQ_INT(ml_create_new(at("mine.dat"), &fd), ML_OK);
    CHECK(rename(at("there.dat"), at("mine.dat")) == 0);
    CHECK_EQ_INT(ml_unlink_same(at("mine.dat"), fd), ML_ENOENT);
    CHECK_EQ_STR(content(at("mine.dat")), "keep\n");
    close(fd);
    clear_dir();
}

TEST(replace_file_is_all_or_nothing)
{
    const char *path = at("plot.svg");
    CHECK_EQ_INT(ml_replace_file(path, "<svg/>\n", 7), ML_OK);
    CHECK_EQ_STR(content(path), "<svg/>\n");
    CHECK(chmod(path, 0640) == 0);
    CHECK_EQ_INT(ml_replace_file(path, "<svg>2</svg>\n", 13), ML_OK);
    CHECK_EQ_STR(content(path), "<svg>2</svg>\n");
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0640);

    /* a full disk: the old plot stays, no temporary file is left */
    static char big[8192];
    memset(big, 'x', sizeof big);
    fsize_limit(1000);
    int rc = ml_replace_file(path, big, sizeof big);
    fsize_limit(0);
    CHECK_EQ_INT(rc, ML_EIO);
    CHECK_EQ_STR(content(path), "<svg>2</svg>\n");
    CHECK_EQ_INT(entries(), 1);

    /* a planted link is replaced, its target untouched */
    put(at("victim.txt"), "precious\n");
    CHECK(symlink(at("victim.txt"), at("out.html")) == 0);
    CHECK_EQ_INT(ml_replace_file(at("out.html"), "<html>\n", 7), ML_OK);
    CHECK_EQ_STR(content(at("victim.txt")), "precious\n");
    CHECK(lstat(at("out.html"), &st) == 0 && S_ISREG(st.st_mode));
    CHECK_EQ_STR(content(at("out.html")), "<html>\n");

    errno = 0;
    CHECK_EQ_INT(ml_replace_file(dir, "x", 1), ML_EINVAL);
    CHECK_EQ_INT(errno, EISDIR);
    CHECK_EQ_INT(ml_replace_file("/dev/null", "x", 1), ML_OK); /* written, not replaced */
    struct stat dn;
    CHECK(stat("/dev/null", &dn) == 0 && S_ISCHR(dn.st_mode));
    CHECK_EQ_INT(ml_replace_file(at("no/such/dir.svg"), "x", 1), ML_ENOENT);
    clear_dir();
}

int main(void)
{
    signal(SIGXFSZ, SIG_IGN);
    strcpy(dir, "/tmp/memline-mlio-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(write_all_reports_a_full_device);
    RUN(append_lines_never_leaves_a_torn_record);
    RUN(open_append_refuses_what_is_not_a_regular_file);
    RUN(create_new_and_unlink_same);
    RUN(replace_file_is_all_or_nothing);
    clear_dir();
    rmdir(dir);
    return CTEST_END();
}
