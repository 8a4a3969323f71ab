/* A small pull parser for JSON in memory (RFC 8259), enough to read a
 * trace back without building a tree: the caller walks objects and arrays
 * and skips what it does not need.  Every function returns -1 on a syntax
 * error and leaves a message in j->error (with the byte offset in j->at). */
#ifndef GS_JSON_H
#define GS_JSON_H

#include <stddef.h>

struct gs_json {
	const char *p, *start, *end;
	const char *error;             /* NULL while all is well */
	size_t at;                     /* offset of the error */
	int depth;                     /* nesting, bounded */
};

void gs_json_init(struct gs_json *j, const char *text, size_t len);
/* The next value's first character ('{', '[', '"', digit, 't', ...), or 0
 * at the end of the text. */
int gs_json_peek(struct gs_json *j);

/* Objects: gs_json_object consumes '{'; then gs_json_member gives each key
 * (its ':' consumed, the value next) and returns 1, or 0 once '}' is
 * consumed.  *count is the caller's counter, 0 at the start. */
int gs_json_object(struct gs_json *j);
int gs_json_member(struct gs_json *j, int *count, char *key, size_t keysize);
/* Arrays: likewise; gs_json_element returns 1 when a value follows. */
int gs_json_array(struct gs_json *j);
int gs_json_element(struct gs_json *j, int *count);

/* A string (escapes decoded, cut to size - 1 bytes), a number. */
int gs_json_string(struct gs_json *j, char *out, size_t size);
int gs_json_number(struct gs_json *j, double *v);
/* Any value, checked and thrown away. */
int gs_json_skip(struct gs_json *j);
/* Only white space is left. */
int gs_json_finish(struct gs_json *j);

#endif
