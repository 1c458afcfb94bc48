/* procinfo_linux: process lookups from /proc/PID/{comm,cmdline}. */
#include "procinfo.h"

#include "mlerr.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int procinfo_exists(pid_t pid)
{
    if (pid <= 0)
        return ML_ENOENT;
    if (kill(pid, 0) == 0)
        return ML_OK;
    return errno == EPERM ? ML_EACCES : ML_ENOENT;
}

/* Reads /proc/<pid>/<file> into buf (NUL-terminated); returns the length,
 * or -1 with errno set. */
static ssize_t read_proc(pid_t pid, const char *file, char *buf, size_t cap)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t len = 0;
    ssize_t n;
    while (len + 1 < cap && (n = read(fd, buf + len, cap - 1 - len)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int err = errno;
            close(fd);
            errno = err;
            return -1;
        }
        len += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    return (ssize_t)len;
}

static int name_matches(pid_t pid, const char *name)
{
    char buf[4096];
    ssize_t n = read_proc(pid, "comm", buf, sizeof buf);
    if (n > 0) {
        if (buf[n - 1] == '\n')
            buf[n - 1] = '\0';
        if (strstr(buf, name))
            return 1;
    }
    /* The short name is cut at 15 characters; try the first argument. */
    n = read_proc(pid, "cmdline", buf, sizeof buf);
    if (n <= 0)
        return 0;
    const char *base = strrchr(buf, '/');
    return strstr(base ? base + 1 : buf, name) != NULL;
}

int procinfo_find(const char *name, pid_t *pid)
{
    DIR *dir = opendir("/proc");
    if (!dir)
        return ML_EIO;
    pid_t self = getpid(), best = 0;
    struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        if (!isdigit((unsigned char)de->d_name[0]))
            continue;
        pid_t p = (pid_t)atoi(de->d_name);
        if (p == self || (best && p > best))
            continue;
        if (name_matches(p, name))
            best = p;
    }
    closedir(dir);
    if (!best)
        return ML_ENOENT;
    *pid = best;
    return ML_OK;
}

int procinfo_cmdline(pid_t pid, sbuf *out)
{
    char buf[8192];
    ssize_t n = read_proc(pid, "cmdline", buf, sizeof buf);
    if (n < 0)
        return ml_err_from_errno(errno);
    while (n > 0 && buf[n - 1] == '\0')
        n--;
    if (n == 0)
        return ML_ENOENT;
    for (ssize_t i = 0; i < n; i++)
        if (buf[i] == '\0')
            buf[i] = ' ';
    return sbuf_append(out, buf, (size_t)n);
}
