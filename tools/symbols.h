/* Names for code addresses in another process: the function a start
 * routine address falls in, from the mapped file's ELF symbol tables. */
#ifndef GS_SYMBOLS_H
#define GS_SYMBOLS_H

#include <stdint.h>

struct gs_symbols;

struct gs_symbols *gs_symbols_new(int pid); /* NULL: out of memory */
void gs_symbols_free(struct gs_symbols *s);

/* "worker", "worker+0x12" (inside a FUNC symbol of .symtab or .dynsym),
 * "libfoo.so+0x1234" (a mapped file without a symbol there: file offset),
 * or "0x7f..." (not in a mapped file).  Valid until gs_symbols_free. */
const char *gs_symbols_name(struct gs_symbols *s, uint64_t addr);

#endif
