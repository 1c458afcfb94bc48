/* greenlets: per-greenlet shadow stacks and heap counters, switched by
 * greenlet's own switch callback (greenlet.settrace).  See greenlets.c. */
#ifndef ML_GREENLETS_H
#define ML_GREENLETS_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* Makes the switch callback.  Returns 0, or -1 with an exception set.
 * Called once, from module init. */
int greenlets_init(void);

/* If the program uses greenlet (it is in sys.modules) and the calling
 * thread has no callback of ours yet, puts it in, chained to the one it
 * replaces.  Never imports greenlet, never leaves an exception set. */
void greenlets_notice(void);

#endif
