/* mprof: memline's timeline verbs (run, attach, plot, peak, list, rm,
 * clean), with mprof's flags and output: the command-line application
 * over the core's timeline subsystems (datfile, sampler, plot, procinfo).
 * It parses argv and prints: results on stdout, one "memline: error: ..."
 * line on stderr for a failure.  The standalone binary (main.c) and the
 * binding's entry point (_memline._mprof_main) both call mprof_main.  Safe
 * to call more than once in one process: it keeps no state between calls,
 * never exits, and puts back the signal handlers it installs while
 * sampling. */
#ifndef ML_MPROF_H
#define ML_MPROF_H

/* Exit codes (see docs/timeline.md). */
enum {
    MPROF_OK = 0,
    MPROF_EUSAGE = 2,       /* unknown verb or flag, bad or missing argument */
    MPROF_ENOFILE = 3,      /* a .dat file missing, unreadable or without samples */
    MPROF_ENOPROC = 4,      /* no such process, or the program cannot be run */
    MPROF_EOUTPUT = 5,      /* an output file cannot be written */
    MPROF_EINTERNAL = 6,    /* out of memory, /proc unreadable */
    MPROF_EINTERRUPTED = 128 /* + N: stopped by signal N (SIGINT, SIGTERM, SIGHUP) */
};

/* argv[0] is the program name, argv[1] the verb.  Returns the exit code:
 * one of the above, or with run -E the program's own (128 + N when it was
 * killed by signal N). */
int mprof_main(int argc, char **argv);

/* The same, where the caller is a Python interpreter: host_python (its
 * sys.executable; may be NULL) is then the interpreter that runs Python
 * programs, as it is the one whose memline was called. */
int mprof_main_host(int argc, char **argv, const char *host_python);

#endif
