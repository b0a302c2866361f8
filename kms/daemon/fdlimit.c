/* SPDX-License-Identifier: MIT */
/*
 * fdlimit.c - kmsd and the open-file limit (fdlimit.h).
 */
#include "kms/daemon/fdlimit.h"

#include <dlfcn.h>
#include <limits.h>
#include <sys/resource.h>

#include "base/log.h"

unsigned long kms_fd_prepare(void)
{
    struct rlimit rl;

    /* Loaded now and never unloaded, glibc's thread exit finds it mapped. */
    if (!dlopen("libgcc_s.so.1", RTLD_NOW | RTLD_NODELETE))
        kms_debug("libgcc_s.so.1 not preloaded: %s", dlerror());
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return ULONG_MAX;
    if (rl.rlim_cur != rl.rlim_max) {
        rlim_t was = rl.rlim_cur;

        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            rl.rlim_cur = was;
    }
    return rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > ULONG_MAX ? ULONG_MAX
                                                                   : (unsigned long)rl.rlim_cur;
}

unsigned kms_fd_connection_cap(unsigned long limit, size_t n_listen)
{
    unsigned long own = KMS_FD_OWN + (unsigned long)n_listen;

    if (limit <= own)
        return 1;
    return limit - own > UINT_MAX ? UINT_MAX : (unsigned)(limit - own);
}
