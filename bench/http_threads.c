/*
 * http_threads — a thread-per-connection HTTP/1.1 keep-alive server, the
 * way it is written without any event loop: plain pthreads and blocking
 * I/O (accept, read, write; no poll/epoll, no O_NONBLOCK).  bench/http.sh
 * measures it with wrk natively and under the shim (LD_PRELOAD), beside
 * bench/http_libev.c, the same responder hand-written on libev.
 *
 * The main thread accepts in a loop; every connection gets a detached
 * thread with a 64 KiB stack that reads requests into a buffer, answers
 * each complete request head ("\r\n\r\n"; several pipelined in one read, or
 * one split across reads) with the same small fixed response, and closes
 * on EOF, on an error, after "Connection: close" (or an HTTP/1.0 request
 * without "Connection: keep-alive"), or after a malformed request (400).
 * A Content-Length body is read and discarded; chunked bodies are not
 * supported (400, close).
 *
 * usage:  http_threads PORT       (0 = an ephemeral port)
 * output: stdout  "port N" once listening (flushed)
 *         stderr  a line when pthread_create fails (the connection is
 *                 closed unanswered), at the 1st, 2nd, 4th, 8th, ... failure
 * Runs until killed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char RESP[] =
    "HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nHello, world\n";
static const char RESP_BAD[] =
    "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

enum { IN_SIZE = 8192, OUT_SIZE = 8192 };

/* ------------------------------------------------------------ parsing
 * (the same code is in http_libev.c) */

/* Does the comma-separated header value v[0..n) contain token tok? */
static int has_token(const char *v, size_t n, const char *tok)
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
static int parse_head(const char *h, size_t n, size_t *body)
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

/* ------------------------------------------------------------ connection */

struct out {
    int fd;
    size_t len;
    char buf[OUT_SIZE];
};

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int out_flush(struct out *o)
{
    int r = write_all(o->fd, o->buf, o->len);
    o->len = 0;
    return r;
}

static int out_add(struct out *o, const char *p, size_t n)
{
    if (o->len + n > sizeof o->buf && out_flush(o) < 0)
        return -1;
    memcpy(o->buf + o->len, p, n);
    o->len += n;
    return 0;
}

static void *conn_main(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char in[IN_SIZE];
    struct out o;
    size_t have = 0, skip = 0;
    int closing = 0;
    o.fd = fd;
    o.len = 0;
    while (!closing) {
        ssize_t r = read(fd, in + have, sizeof in - have);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        have += (size_t)r;
        size_t off = 0;
        for (;;) {
            if (skip) { /* a request body: discard */
                size_t k = have - off < skip ? have - off : skip;
                off += k;
                skip -= k;
                if (skip)
                    break;
            }
            while (off < have && (in[off] == '\r' || in[off] == '\n'))
                off++; /* stray CRLFs between requests */
            char *e = memmem(in + off, have - off, "\r\n\r\n", 4);
            if (!e)
                break;
            size_t hl = (size_t)(e + 4 - (in + off));
            int c = parse_head(in + off, hl, &skip);
            off += hl;
            if (c < 0) {
                out_add(&o, RESP_BAD, sizeof RESP_BAD - 1);
                closing = 1;
                break;
            }
            if (out_add(&o, RESP, sizeof RESP - 1) < 0) {
                closing = 2;
                break;
            }
            if (c) {
                closing = 1;
                break;
            }
        }
        if (closing != 2 && o.len && out_flush(&o) < 0)
            break;
        memmove(in, in + off, have - off);
        have -= off;
        if (!closing && have == sizeof in) { /* head too large */
            write_all(fd, RESP_BAD, sizeof RESP_BAD - 1);
            closing = 1;
        }
    }
    if (closing == 1)
        shutdown(fd, SHUT_WR);
    close(fd);
    return NULL;
}

/* ------------------------------------------------------------ main */

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 2;
    }
    char *endp;
    long port = strtol(argv[1], &endp, 10);
    if (*endp || port < 0 || port > 65535) {
        fprintf(stderr, "http_threads: bad port '%s'\n", argv[1]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);

    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (lfd < 0) {
        perror("http_threads: socket");
        return 1;
    }
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 4096) < 0 ||
        getsockname(lfd, (struct sockaddr *)&sa, &sl) < 0) {
        perror("http_threads: bind/listen");
        return 1;
    }
    printf("port %d\n", ntohs(sa.sin_port));
    fflush(stdout);

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 64 * 1024);

    unsigned long failures = 0;
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                struct timespec ts = {0, 1000000}; /* out of fds: let some close */
                nanosleep(&ts, NULL);
            }
            continue;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        pthread_t t;
        int err = pthread_create(&t, &attr, conn_main, (void *)(intptr_t)fd);
        if (err) {
            failures++;
            if ((failures & (failures - 1)) == 0)
                fprintf(stderr, "http_threads: pthread_create: %s (%lu connections dropped so far)\n",
                        strerror(err), failures);
            close(fd);
        }
    }
}
