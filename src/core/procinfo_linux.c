/* procinfo_linux: process lookups from /proc/PID/{comm,cmdline} and the
 * child lists in /proc/PID/task/TID/children. */
#include "procinfo.h"

#include "mlalloc.h"
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

int procinfo_alive(pid_t pid)
{
    char buf[1024];
    if (pid <= 0 || read_proc(pid, "stat", buf, sizeof buf) <= 0)
        return ML_ENOENT;
    /* "pid (comm) S ...": the name may hold ')' itself, the state follows
     * the last one. */
    const char *p = strrchr(buf, ')');
    if (!p || p[1] != ' ')
        return ML_ENOENT;
    return p[2] == 'Z' || p[2] == 'X' || p[2] == 'x' ? ML_ENOENT : ML_OK;
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
        if (name_matches(p, name) && procinfo_alive(p) == ML_OK)
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

/* Appends the children listed in /proc/<pid>/task/<tid>/children for every
 * thread tid of pid to *v (n used, cap allocated). */
static int add_children(pid_t pid, pid_t **v, size_t *n, size_t *cap)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *dir = opendir(path);
    if (!dir)
        return errno == ENOENT ? ML_ENOENT : ml_err_from_errno(errno);
    int rc = ML_OK;
    struct dirent *de;
    while (rc == ML_OK && (de = readdir(dir)) != NULL) {
        if (!isdigit((unsigned char)de->d_name[0]))
            continue;
        char file[96], buf[4096];
        snprintf(file, sizeof file, "task/%d/children", atoi(de->d_name));
        ssize_t len = read_proc(pid, file, buf, sizeof buf);
        if (len < 0)
            continue; /* the thread exited meanwhile */
        for (char *p = buf, *end; *p; p = end) {
            long child = strtol(p, &end, 10);
            if (end == p)
                break;
            if (*n == *cap) {
                size_t ncap = *cap ? *cap * 2 : 16;
                pid_t *nv = ml_realloc(*v, ncap * sizeof *nv);
                if (!nv) {
                    rc = ML_ENOMEM;
                    break;
                }
                *v = nv;
                *cap = ncap;
            }
            (*v)[(*n)++] = (pid_t)child;
        }
    }
    closedir(dir);
    return rc;
}

int procinfo_descendants(pid_t pid, pid_t **pids, size_t *n)
{
    pid_t *v = NULL;
    size_t used = 0, cap = 0;
    *pids = NULL;
    *n = 0;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)pid, (int)pid);
    if (access(path, F_OK) != 0) {
        snprintf(path, sizeof path, "/proc/%d", (int)pid);
        return access(path, F_OK) == 0 ? ML_EUNSUPPORTED : ML_ENOENT;
    }
    int rc = add_children(pid, &v, &used, &cap);
    /* Breadth-first: v grows while it is walked.  A process that exits
     * meanwhile just contributes no children. */
    for (size_t i = 0; rc == ML_OK && i < used; i++) {
        int r = add_children(v[i], &v, &used, &cap);
        if (r != ML_ENOENT)
            rc = r;
    }
    if (rc != ML_OK) {
        ml_free(v);
        return rc;
    }
    *pids = used ? v : NULL;
    if (!used)
        ml_free(v);
    *n = used;
    return ML_OK;
}
