/* A small pull parser for JSON: see json.h. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

#define MAX_DEPTH 512

void gs_json_init(struct gs_json *j, const char *text, size_t len)
{
	memset(j, 0, sizeof *j);
	j->p = j->start = text;
	j->end = text + len;
}

static int fail(struct gs_json *j, const char *why)
{
	if (!j->error) {
		j->error = why;
		j->at = (size_t)(j->p - j->start);
	}
	return -1;
}

static void space(struct gs_json *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

int gs_json_peek(struct gs_json *j)
{
	space(j);
	return j->p < j->end ? (unsigned char)*j->p : 0;
}

static int expect(struct gs_json *j, char c, const char *why)
{
	if (gs_json_peek(j) != c)
		return fail(j, why);
	j->p++;
	return 0;
}

int gs_json_object(struct gs_json *j)
{
	if (j->error || ++j->depth > MAX_DEPTH)
		return fail(j, "nested too deep");
	return expect(j, '{', "expected an object");
}

int gs_json_array(struct gs_json *j)
{
	if (j->error || ++j->depth > MAX_DEPTH)
		return fail(j, "nested too deep");
	return expect(j, '[', "expected an array");
}

/* The common part of member and element: the closer, or a comma before
 * every item but the first. */
static int next_item(struct gs_json *j, int *count, char closer)
{
	if (j->error)
		return -1;
	int c = gs_json_peek(j);
	if (c == closer) {
		j->p++;
		j->depth--;
		return 0;
	}
	if (*count > 0 && expect(j, ',', closer == '}' ? "expected ',' or '}'" : "expected ',' or ']'"))
		return -1;
	if (*count == 0 && !c)
		return fail(j, "unexpected end");
	++*count;
	return 1;
}

int gs_json_member(struct gs_json *j, int *count, char *key, size_t keysize)
{
	int r = next_item(j, count, '}');
	if (r <= 0)
		return r;
	if (gs_json_string(j, key, keysize) || expect(j, ':', "expected ':'"))
		return -1;
	return 1;
}

int gs_json_element(struct gs_json *j, int *count)
{
	return next_item(j, count, ']');
}

static int hex4(struct gs_json *j, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++, j->p++) {
		if (j->p >= j->end)
			return fail(j, "unexpected end in \\u escape");
		char c = *j->p;
		unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0')
			   : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
			   : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 16;
		if (d == 16)
			return fail(j, "bad \\u escape");
		*v = *v * 16 + d;
	}
	return 0;
}

/* Appends code point cp as UTF-8 if it fits. */
static void emit(char *out, size_t size, size_t *n, unsigned cp)
{
	char u[4];
	size_t len;
	if (cp < 0x80) {
		u[0] = (char)cp;
		len = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3f));
		len = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12);
		u[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		len = 3;
	} else {
		u[0] = (char)(0xf0 | cp >> 18);
		u[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		u[2] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		len = 4;
	}
	if (out && *n + len < size) {
		memcpy(out + *n, u, len);
		*n += len;
	}
}

int gs_json_string(struct gs_json *j, char *out, size_t size)
{
	if (expect(j, '"', "expected a string"))
		return -1;
	size_t n = 0;
	for (;;) {
		if (j->p >= j->end)
			return fail(j, "unterminated string");
		unsigned char c = (unsigned char)*j->p++;
		if (c == '"')
			break;
		if (c < 0x20)
			return fail(j, "control character in a string");
		if (c != '\\') {
			if (out && n + 1 < size)
				out[n++] = (char)c;
			continue;
		}
		if (j->p >= j->end)
			return fail(j, "unterminated string");
		char e = *j->p++;
		const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
		const char *k = strchr(from, e);
		if (e && k) {
			emit(out, size, &n, (unsigned char)to[k - from]);
			continue;
		}
		if (e != 'u')
			return fail(j, "bad escape in a string");
		unsigned cp, lo;
		if (hex4(j, &cp))
			return -1;
		int pair = cp >= 0xd800 && cp < 0xdc00 && j->end - j->p >= 6 && j->p[0] == '\\' &&
			   j->p[1] == 'u';
		if (pair) {
			j->p += 2;
			if (hex4(j, &lo))
				return -1;
			if (lo >= 0xdc00 && lo < 0xe000)
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			else
				cp = 0xfffd;
		} else if (cp >= 0xd800 && cp < 0xe000) {
			cp = 0xfffd; /* a lone surrogate */
		}
		emit(out, size, &n, cp);
	}
	if (out && size)
		out[n] = 0;
	return 0;
}

int gs_json_number(struct gs_json *j, double *v)
{
	space(j);
	const char *s = j->p;
	/* The grammar first (strtod takes more: hex, inf, leading '+'). */
	const char *q = s;
	if (q < j->end && *q == '-')
		q++;
	if (q < j->end && *q == '0')
		q++;
	else if (q < j->end && *q >= '1' && *q <= '9')
		while (q < j->end && *q >= '0' && *q <= '9')
			q++;
	else
		return fail(j, "expected a number");
	if (q < j->end && *q == '.') {
		if (++q >= j->end || *q < '0' || *q > '9')
			return fail(j, "bad number");
		while (q < j->end && *q >= '0' && *q <= '9')
			q++;
	}
	if (q < j->end && (*q == 'e' || *q == 'E')) {
		q++;
		if (q < j->end && (*q == '+' || *q == '-'))
			q++;
		if (q >= j->end || *q < '0' || *q > '9')
			return fail(j, "bad number");
		while (q < j->end && *q >= '0' && *q <= '9')
			q++;
	}
	char buf[64];
	size_t len = (size_t)(q - s);
	if (len >= sizeof buf)
		len = sizeof buf - 1; /* precision beyond 63 digits is not ours */
	memcpy(buf, s, len);
	buf[len] = 0;
	if (v)
		*v = strtod(buf, NULL);
	j->p = q;
	return 0;
}

static int word(struct gs_json *j, const char *w)
{
	size_t n = strlen(w);
	if ((size_t)(j->end - j->p) < n || memcmp(j->p, w, n))
		return fail(j, "unexpected character");
	j->p += n;
	return 0;
}

int gs_json_skip(struct gs_json *j)
{
	int c = gs_json_peek(j), count = 0, r;
	char key[8];
	switch (c) {
	case '{':
		if (gs_json_object(j))
			return -1;
		while ((r = gs_json_member(j, &count, key, sizeof key)) == 1)
			if (gs_json_skip(j))
				return -1;
		return r;
	case '[':
		if (gs_json_array(j))
			return -1;
		while ((r = gs_json_element(j, &count)) == 1)
			if (gs_json_skip(j))
				return -1;
		return r;
	case '"':
		return gs_json_string(j, NULL, 0);
	case 't':
		return word(j, "true");
	case 'f':
		return word(j, "false");
	case 'n':
		return word(j, "null");
	case 0:
		return fail(j, "unexpected end");
	default:
		return gs_json_number(j, NULL);
	}
}

int gs_json_finish(struct gs_json *j)
{
	if (j->error)
		return -1;
	return gs_json_peek(j) ? fail(j, "text after the end") : 0;
}
