/* tracer: picks the mode that delivers events (tracer.h) and forwards to
 * it.  Lock rules: everything here runs with the GIL held. */
#include "tracer.h"

#include "engine.h"
#include "evalgate.h"
#include "monitor.h"
#include "tracer_legacy.h"

#include <stdlib.h>
#include <string.h>

typedef enum { MODE_OFF, MODE_GATE, MODE_MONITORING, MODE_LEGACY } tracer_mode_t;

static tracer_mode_t mode = MODE_OFF;
static int prefer_legacy;

int tracer_init(PyObject *module)
{
    const char *choice = getenv("MEMLINE_TRACER");
    prefer_legacy = choice && strcmp(choice, "legacy") == 0;
    return monitor_init() < 0 || legacy_init(module) < 0 ? -1 : 0;
}

int tracer_prefer(const char *name)
{
    if (strcmp(name, "legacy") == 0)
        prefer_legacy = 1;
    else if (strcmp(name, "default") == 0)
        prefer_legacy = 0;
    else
        return -1;
    return 0;
}

int tracer_start(void)
{
    if (mode != MODE_OFF)
        return 0;
    if (!prefer_legacy && evalgate_install(legacy_trace_hook())) {
        mode = MODE_GATE;
        return 0;
    }
    if (!prefer_legacy && monitor_install()) {
        mode = MODE_MONITORING;
        return 0;
    }
    if (legacy_install() < 0)
        return -1;
    /* Only the legacy hooks need the engine to switch lines at the
     * boundaries of profiled code; the other modes do it themselves. */
    engine_set_line_switch(legacy_lines);
    mode = MODE_LEGACY;
    return 0;
}

void tracer_stop(void)
{
    tracer_mode_t was = mode;
    mode = MODE_OFF;
    engine_set_line_switch(NULL);
    if (was == MODE_GATE)
        evalgate_remove();
    if (was == MODE_MONITORING)
        monitor_remove();
    /* Also after the gate: it leaves the legacy trace hook in the thread
     * states of frames it was running. */
    if (was == MODE_GATE || was == MODE_LEGACY)
        legacy_remove();
}

const char *tracer_mode(void)
{
    switch (mode) {
    case MODE_GATE: return "gate";
    case MODE_MONITORING: return "monitoring";
    case MODE_LEGACY: return "legacy";
    default: return NULL;
    }
}

void tracer_code_added(PyCodeObject *code)
{
    monitor_code_added(code);
}

void tracer_take_back_lines(void)
{
    switch (mode) {
    case MODE_GATE:
        evalgate_resume_lines();
        break;
    case MODE_LEGACY:
        legacy_take_back_lines();
        break;
    default:
        break; /* sys.monitoring tools do not displace each other */
    }
}
