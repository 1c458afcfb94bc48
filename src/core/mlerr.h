/* mlerr: the error codes every core function returns, and their messages.
 * The core never prints and never raises; callers turn codes into messages
 * with ml_strerror() in one place (the binding, or the CLI). */
#ifndef ML_MLERR_H
#define ML_MLERR_H

typedef enum ml_err {
    ML_OK = 0,
    ML_ENOMEM,      /* an allocation failed */
    ML_ENOENT,      /* no such file, process or entry */
    ML_EACCES,      /* the OS refused access */
    ML_EIO,         /* a read or write failed */
    ML_EFORMAT,     /* input did not have the expected format */
    ML_EINVAL,      /* an argument was out of range */
    ML_EUNSUPPORTED, /* this platform cannot do it */
    ML_EBUSY        /* another tool already holds what we need (its own allocator
                       hooks are in) */
} ml_err;

/* A static, human-readable message for code; never NULL. */
const char *ml_strerror(int code);

/* Maps an errno value to the closest ml_err. */
int ml_err_from_errno(int errnum);

#endif
