/* cthread: allocations made by C threads that Python never started, as a
 * BLAS or OpenMP pool makes them.  Built by the native tests' setup. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct job {
    size_t n;
    void *p;
} job;

static void *alloc_main(void *arg)
{
    job *j = arg;
    j->p = malloc(j->n);
    if (j->p)
        memset(j->p, 1, j->n);
    return NULL;
}

static void *free_main(void *arg)
{
    job *j = arg;
    free(j->p);
    return NULL;
}

static void run(void *(*fn)(void *), job *j)
{
    pthread_t t;
    if (pthread_create(&t, NULL, fn, j) == 0)
        pthread_join(t, NULL);
}

/* n bytes malloc'd (and written) by a new C thread, which then exits. */
void *cthread_alloc(size_t n)
{
    job j = {n, NULL};
    run(alloc_main, &j);
    return j.p;
}

/* p freed by a new C thread. */
void cthread_free(void *p)
{
    job j = {0, p};
    run(free_main, &j);
}

/* Another tool's malloc, for the prepatched library (prepatched.c). */
void *cthread_malloc(size_t n)
{
    return malloc(n);
}
