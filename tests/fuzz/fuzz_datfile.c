/* fuzz_datfile: libFuzzer target for the .dat parser (`make fuzz`).
 *
 * Any input must parse without crashing, leaking or undefined behaviour;
 * what parsed must write back to text that parses to the same records with
 * nothing malformed and no cut-off last line, whatever bytes the names and
 * the command line held (the writers keep records data, never structure);
 * a torn last line is never counted as a record; peaks must be found when there are samples; and the
 * SVG and HTML plots of it must render (exercising escaping of whatever
 * strings the input held). */
#include "core/datfile.h"
#include "core/mlalloc.h"
#include "core/mlerr.h"
#include "core/plot.h"
#include "core/sbuf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define REQUIRE(x)      \
    do {                \
        if (!(x))       \
            abort();    \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    datfile *df = NULL, *again = NULL;
    REQUIRE(datfile_parse((const char *)data, size, &df) == ML_OK);
    REQUIRE(df->n_malformed == 0 || df->first_malformed >= 1);
    sbuf text = SBUF_INIT, doc = SBUF_INIT;
    REQUIRE(datfile_write(df, &text) == ML_OK);
    REQUIRE(datfile_parse(text.data ? text.data : "", text.len, &again) == ML_OK);
    REQUIRE(again->n_malformed == 0 && again->torn_line == 0);
    REQUIRE(df->torn_line == 0 || (size > 0 && data[size - 1] != '\n'));
    REQUIRE(again->n_mem == df->n_mem && again->n_chld == df->n_chld &&
            again->n_func == df->n_func && again->n_names <= df->n_names);
    REQUIRE((again->cmdline == NULL) == (df->cmdline == NULL));
    double mib;
    REQUIRE((datfile_peak(df, NULL, &mib) == ML_OK) == (df->n_mem > 0));
    if (df->n_names)
        (void)datfile_peak(df, df->names[0], &mib);
    if (df->n_mem) {
        const datfile *files[] = {df};
        const char *names[] = {"fuzz.dat"};
        plot_opts o = {0};
        o.slope = size & 1;
        o.flame = (size >> 1) & 1;
        REQUIRE(plot_render(files, names, 1, &o, &doc) == ML_OK);
        o.html = 1;
        REQUIRE(plot_render(files, names, 1, &o, &doc) == ML_OK);
    }
    sbuf_release(&doc);
    sbuf_release(&text);
    datfile_free(again);
    datfile_free(df);
    return 0;
}
