/* memsrc_linux: memory readings from /proc.
 *
 * RSS comes from /proc/PID/statm (one line of page counts, cheap), PSS and
 * USS from /proc/PID/smaps_rollup (kernel 4.14+; it walks every mapping, so
 * it costs tens of microseconds).  Children are found by scanning
 * /proc/NNN/stat for their parent pid, since /proc/PID/task/TID/children
 * needs a kernel option that is often off. */
#include "memsrc_int.h"

#include "mlalloc.h"
#include "mlerr.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int memsrc_open_path(memsrc **out, const char *path, memsrc_kind kind)
{
    *out = NULL;
    if (kind != MEMSRC_RSS && kind != MEMSRC_PSS && kind != MEMSRC_USS)
        return ML_EINVAL;
    memsrc *src = ml_calloc(1, sizeof *src);
    if (!src)
        return ML_ENOMEM;
    src->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (src->fd < 0) {
        int err = errno;
        ml_free(src);
        if (err == ENOENT && kind != MEMSRC_RSS)
            return ML_EUNSUPPORTED;
        return ml_err_from_errno(err);
    }
    src->kind = kind;
    src->page_size = sysconf(_SC_PAGESIZE);
    *out = src;
    return ML_OK;
}

int memsrc_open(memsrc **out, pid_t pid, memsrc_kind kind)
{
    char path[64];
    const char *file = kind == MEMSRC_RSS ? "statm" : "smaps_rollup";
    if (pid == 0)
        snprintf(path, sizeof path, "/proc/self/%s", file);
    else
        snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
    int rc = memsrc_open_path(out, path, kind);
    if (rc == ML_EUNSUPPORTED && pid != 0) {
        /* Tell a vanished process apart from an old kernel. */
        snprintf(path, sizeof path, "/proc/%d", (int)pid);
        if (access(path, F_OK) != 0)
            rc = ML_ENOENT;
    }
    return rc;
}

void memsrc_close(memsrc *src)
{
    if (!src)
        return;
    if (src->fd >= 0)
        close(src->fd);
    ml_free(src);
}

/* Reads the whole file from offset 0 into buf, NUL-terminated.  Returns the
 * length, or -1 with an ml_err in *err. */
static ssize_t read_all(int fd, char *buf, size_t cap, int *err)
{
    size_t len = 0;
    for (;;) {
        ssize_t n = pread(fd, buf + len, cap - 1 - len, (off_t)len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            /* A process that exited reads as ESRCH or as an empty file. */
            *err = errno == ESRCH ? ML_ENOENT : ml_err_from_errno(errno);
            return -1;
        }
        if (n == 0 || len + (size_t)n >= cap - 1) {
            len += (size_t)n;
            break;
        }
        len += (size_t)n;
    }
    buf[len] = '\0';
    if (len == 0) {
        *err = ML_ENOENT;
        return -1;
    }
    return (ssize_t)len;
}

static int read_statm(memsrc *src, int64_t *bytes)
{
    char buf[128];
    int err = ML_OK;
    if (read_all(src->fd, buf, sizeof buf, &err) < 0)
        return err;
    char *p = buf, *end;
    long long size = strtoll(p, &end, 10);
    if (end == p)
        return ML_EFORMAT;
    p = end;
    long long resident = strtoll(p, &end, 10);
    if (end == p || resident < 0)
        return ML_EFORMAT;
    /* A process that has exited but not been reaped (a zombie) still has a
     * statm, all zeros: it is gone, not empty. */
    if (size == 0 && resident == 0)
        return ML_ENOENT;
    *bytes = (int64_t)resident * src->page_size;
    return ML_OK;
}

/* Value in kB of the "Name:" line of an smaps-style buffer, or -1. */
static long long smaps_field(const char *buf, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, name, n) == 0 && p[n] == ':') {
            char *end;
            long long kb = strtoll(p + n + 1, &end, 10);
            return end == p + n + 1 ? -1 : kb;
        }
    }
    return -1;
}

static int read_rollup(memsrc *src, int64_t *bytes)
{
    char buf[4096];
    int err = ML_OK;
    if (read_all(src->fd, buf, sizeof buf, &err) < 0)
        return err;
    long long kb;
    if (src->kind == MEMSRC_PSS) {
        kb = smaps_field(buf, "Pss");
    } else {
        long long clean = smaps_field(buf, "Private_Clean");
        long long dirty = smaps_field(buf, "Private_Dirty");
        long long huge = smaps_field(buf, "Private_Hugetlb");
        kb = clean < 0 || dirty < 0 ? -1 : clean + dirty + (huge > 0 ? huge : 0);
    }
    if (kb < 0)
        return ML_EFORMAT;
    *bytes = (int64_t)kb * 1024;
    return ML_OK;
}

int memsrc_read(memsrc *src, int64_t *bytes)
{
    if (src->scripted)
        return memsrc_script_read(src, bytes);
    return src->kind == MEMSRC_RSS ? read_statm(src, bytes) : read_rollup(src, bytes);
}

int memsrc_peak(pid_t pid, int64_t *bytes)
{
    char path[64], buf[4096];
    if (pid == 0)
        snprintf(path, sizeof path, "/proc/self/status");
    else
        snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ml_err_from_errno(errno);
    int err = ML_OK;
    ssize_t n = read_all(fd, buf, sizeof buf, &err);
    close(fd);
    if (n < 0)
        return err;
    long long kb = smaps_field(buf, "VmHWM");
    if (kb < 0)
        return ML_EFORMAT;
    *bytes = (int64_t)kb * 1024;
    return ML_OK;
}

int memsrc_peak_reset(void)
{
    int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return ml_err_from_errno(errno);
    int rc = write(fd, "5", 1) == 1 ? ML_OK : ml_err_from_errno(errno);
    close(fd);
    return rc;
}

/* Parent pid from the text of /proc/PID/stat, or -1.  The command name is in
 * parentheses and may itself hold spaces and ')', so parse after the last ')'. */
static pid_t stat_ppid(const char *text)
{
    const char *close = strrchr(text, ')');
    if (!close)
        return -1;
    char state;
    int ppid;
    if (sscanf(close + 1, " %c %d", &state, &ppid) != 2)
        return -1;
    return (pid_t)ppid;
}

typedef struct pidvec {
    pid_t *v;
    size_t count, cap;
} pidvec;

static int pidvec_push(pidvec *pv, pid_t pid)
{
    if (pv->count == pv->cap) {
        size_t cap = pv->cap ? pv->cap * 2 : 16;
        pid_t *v = ml_realloc(pv->v, cap * sizeof *v);
        if (!v)
            return ML_ENOMEM;
        pv->v = v;
        pv->cap = cap;
    }
    pv->v[pv->count++] = pid;
    return ML_OK;
}

/* Every (pid, ppid) pair in /proc, as two parallel vectors. */
static int scan_proc(pidvec *pids, pidvec *ppids)
{
    DIR *dir = opendir("/proc");
    if (!dir)
        return ml_err_from_errno(errno);
    int rc = ML_OK;
    struct dirent *de;
    while (rc == ML_OK && (de = readdir(dir)) != NULL) {
        if (!isdigit((unsigned char)de->d_name[0]))
            continue;
        char path[300], buf[512];
        snprintf(path, sizeof path, "/proc/%s/stat", de->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue; /* exited meanwhile */
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n <= 0)
            continue;
        buf[n] = '\0';
        pid_t ppid = stat_ppid(buf);
        if (ppid < 0)
            continue;
        rc = pidvec_push(pids, (pid_t)atoi(de->d_name));
        if (rc == ML_OK)
            rc = pidvec_push(ppids, ppid);
    }
    closedir(dir);
    return rc;
}

static int collect(pid_t pid, int recursive, pid_t **out, size_t *n)
{
    pidvec pids = {0}, ppids = {0}, found = {0};
    *out = NULL;
    *n = 0;
    if (pid == 0)
        pid = getpid();
    int rc = scan_proc(&pids, &ppids);
    /* Breadth-first over the parent links: found grows while it is walked. */
    if (rc == ML_OK)
        rc = pidvec_push(&found, pid);
    for (size_t i = 0; rc == ML_OK && i < found.count; i++) {
        if (i > 0 && !recursive)
            break;
        for (size_t j = 0; rc == ML_OK && j < pids.count; j++)
            if (ppids.v[j] == found.v[i] && pids.v[j] != found.v[i])
                rc = pidvec_push(&found, pids.v[j]);
    }
    if (rc == ML_OK && found.count > 1) {
        memmove(found.v, found.v + 1, (found.count - 1) * sizeof *found.v);
        *out = found.v;
        *n = found.count - 1;
        found.v = NULL;
    }
    ml_free(found.v);
    ml_free(pids.v);
    ml_free(ppids.v);
    return rc;
}

int memsrc_descendants(pid_t pid, pid_t **pids, size_t *n)
{
    return collect(pid, 1, pids, n);
}

int memsrc_children(pid_t pid, pid_t **pids, size_t *n)
{
    return collect(pid, 0, pids, n);
}

int memsrc_descendants_bytes(pid_t pid, memsrc_kind kind, int64_t *bytes)
{
    pid_t *pids;
    size_t n;
    int rc = memsrc_descendants(pid, &pids, &n);
    if (rc != ML_OK)
        return rc;
    int64_t total = 0;
    for (size_t i = 0; rc == ML_OK && i < n; i++) {
        memsrc *src;
        int64_t b;
        /* Out of memory is an error; any other failure means the process
         * cannot be read (it exited, or is not ours) and is skipped. */
        int orc = memsrc_open(&src, pids[i], kind);
        if (orc == ML_ENOMEM)
            rc = orc;
        if (orc != ML_OK)
            continue;
        if (memsrc_read(src, &b) == ML_OK)
            total += b;
        memsrc_close(src);
    }
    ml_free(pids);
    if (rc == ML_OK)
        *bytes = total;
    return rc;
}
