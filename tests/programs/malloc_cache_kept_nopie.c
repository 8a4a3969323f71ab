/* malloc_cache_kept, built as a non-PIE executable (see the Makefile). */
#include "malloc_cache_kept.c"
