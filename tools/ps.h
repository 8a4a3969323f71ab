/* Tables of a snapshot (snapshot.h), shared by ps and top. */
#ifndef GS_PS_H
#define GS_PS_H

#include <stddef.h>
#include <stdio.h>

#include "snapshot.h"

/* One line per thread of `order` (rows of them), under a header line.
 * width > 0 cuts every line to that many columns (a terminal). */
void gs_print_threads(FILE *f, const struct gs_snap *s, const struct gs_snap_thread *const *order,
		      size_t rows, int width);
/* One line per hub, under a header line. */
void gs_print_hubs(FILE *f, const struct gs_snap *s, int width);
/* "process 1234 (/bin/prog): 302 green threads on 1 hub, figures over 0.20 s" */
void gs_print_title(FILE *f, const struct gs_snap *s, int width);
/* "! thread 7 (worker) has run 2300 ms without yielding", one a line. */
void gs_print_warnings(FILE *f, const struct gs_snap *s, int width);

#endif
