/* main: the standalone `memline` binary.  It knows only the timeline verbs
 * (run, attach, plot, peak, list, rm, clean) and needs no Python; for a
 * .py program, `run` starts a Python interpreter itself. */
#include "mprof.h"

int main(int argc, char **argv)
{
    return mprof_main(argc, argv);
}
