/*
 * http_request.h — what bench/http_threads.c and bench/http_libev.c share:
 * the response bytes and the parsing of request heads, so that the two
 * servers answer exactly alike.
 *
 * A header of static functions, not a .c file of its own: the Makefile
 * builds every bench/X.c alone into $(BUILD)/bench/X (one source, no
 * objects to link), so shared code has to come in by #include.
 *
 * Needs _GNU_SOURCE (memmem), which the Makefile defines.
 */
#ifndef HTTP_REQUEST_H
#define HTTP_REQUEST_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

static const char RESP[] =
    "HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nHello, world\n";
static const char RESP_BAD[] =
    "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

/* Does the comma-separated header value v[0..n) contain token tok? */
static inline int has_token(const char *v, size_t n, const char *tok)
{
    size_t tl = strlen(tok);
    size_t i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t s = i;
        while (i < n && v[i] != ',')
            i++;
        size_t e = i;
        while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        if (e - s == tl && strncasecmp(v + s, tok, tl) == 0)
            return 1;
    }
    return 0;
}

/* One request head h[0..n), n including the final "\r\n\r\n".  Sets *body
 * to its Content-Length.  Returns 1 if the connection closes after the
 * answer, 0 if it stays open, -1 if the request is malformed. */
static inline int parse_head(const char *h, size_t n, size_t *body)
{
    *body = 0;
    const char *end = h + n - 2; /* the empty line's CRLF */
    const char *eol = memchr(h, '\r', n);
    if (!eol || eol[1] != '\n')
        return -1;
    /* request line: METHOD SP TARGET SP HTTP/1.x */
    const char *sp1 = memchr(h, ' ', eol - h);
    if (!sp1 || sp1 == h)
        return -1;
    const char *ver = NULL;
    for (const char *p = eol; p > sp1 + 1; p--)
        if (p[-1] == ' ') {
            ver = p;
            break;
        }
    if (!ver || eol - ver != 8 || memcmp(ver, "HTTP/1.", 7) != 0)
        return -1;
    int keep = ver[7] == '1' ? 1 : ver[7] == '0' ? 0 : -1;
    if (keep < 0)
        return -1;
    int seen_len = 0;
    const char *line = eol + 2;
    while (line < end) {
        eol = memchr(line, '\r', end + 2 - line);
        if (!eol || eol[1] != '\n')
            return -1;
        const char *colon = memchr(line, ':', eol - line);
        if (!colon || colon == line)
            return -1;
        size_t nl = colon - line;
        const char *v = colon + 1;
        size_t vl = eol - v;
        if (nl == 10 && strncasecmp(line, "connection", 10) == 0) {
            if (has_token(v, vl, "close"))
                keep = 0;
            else if (has_token(v, vl, "keep-alive"))
                keep = 1;
        } else if (nl == 14 && strncasecmp(line, "content-length", 14) == 0) {
            while (vl && (*v == ' ' || *v == '\t'))
                v++, vl--;
            while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
                vl--;
            if (!vl || seen_len)
                return -1;
            size_t len = 0;
            for (size_t i = 0; i < vl; i++) {
                if (v[i] < '0' || v[i] > '9' || len > SIZE_MAX / 20)
                    return -1;
                len = len * 10 + (size_t)(v[i] - '0');
            }
            *body = len;
            seen_len = 1;
        } else if (nl == 17 && strncasecmp(line, "transfer-encoding", 17) == 0) {
            return -1; /* chunked bodies: not supported */
        }
        line = eol + 2;
    }
    return !keep;
}

enum { HEAD_MORE = 2 }; /* next_head: no complete head yet */

/* The next request head in in[*off..have): first discards up to *skip
 * bytes of the previous request's body, then stray CRLFs between requests.
 * Returns HEAD_MORE when no complete head is there yet (in[*off..have) is
 * what to keep for the next read); otherwise moves *off past the head, sets
 * *skip to its body's length and returns parse_head's answer (1 close after
 * the answer, 0 keep open, -1 malformed). */
static inline int next_head(const char *in, size_t have, size_t *off, size_t *skip)
{
    if (*skip) { /* a request body: discard */
        size_t k = have - *off < *skip ? have - *off : *skip;
        *off += k;
        *skip -= k;
        if (*skip)
            return HEAD_MORE;
    }
    while (*off < have && (in[*off] == '\r' || in[*off] == '\n'))
        (*off)++; /* stray CRLFs between requests */
    const char *e = memmem(in + *off, have - *off, "\r\n\r\n", 4);
    if (!e)
        return HEAD_MORE;
    size_t hl = (size_t)(e + 4 - (in + *off));
    int r = parse_head(in + *off, hl, skip);
    *off += hl;
    return r;
}

#endif
