/* mlerr: messages for the core's error codes. */
#include "mlerr.h"

#include <errno.h>

const char *ml_strerror(int code)
{
    switch (code) {
    case ML_OK: return "success";
    case ML_ENOMEM: return "out of memory";
    case ML_ENOENT: return "no such file or process";
    case ML_EACCES: return "permission denied";
    case ML_EIO: return "input/output error";
    case ML_EFORMAT: return "malformed input";
    case ML_EINVAL: return "invalid argument";
    case ML_EUNSUPPORTED: return "not supported on this platform";
    case ML_EBUSY: return "another tool already holds it";
    }
    return "unknown error";
}

int ml_err_from_errno(int errnum)
{
    switch (errnum) {
    case ENOMEM: return ML_ENOMEM;
    case ENOENT: case ESRCH: case ENOTDIR: return ML_ENOENT;
    case EACCES: case EPERM: return ML_EACCES;
    case EINVAL: return ML_EINVAL;
    default: return ML_EIO;
    }
}
