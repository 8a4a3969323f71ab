/*
 * http_libev — the responder of bench/http_threads.c hand-written on a
 * single libev loop: the upper bound for what the shim can make of the
 * thread-per-connection server.  Non-blocking sockets, one ev_io per
 * connection; the same parsing and the same response bytes (both from
 * bench/http_request.h).  Every complete request head in what one
 * read(2) returns is answered, the answers go out in one write(2); if the
 * socket will not take them all, reading stops until they are written
 * (EV_WRITE).  Closes on EOF, on an error, after "Connection: close" (or an
 * HTTP/1.0 request without "Connection: keep-alive"), or after a malformed
 * request (400).
 *
 * usage:  http_libev PORT         (0 = an ephemeral port)
 * output: stdout  "port N" once listening (flushed)
 * Runs until killed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_request.h"

enum { IN_SIZE = 8192 };

/* ------------------------------------------------------------ connection */

struct conn {
    ev_io w;
    int fd;
    int closing;        /* close once the output is written */
    size_t have, skip;  /* bytes in in[]; body bytes still to discard */
    char *out;          /* answers not yet written: out[sent..len) */
    size_t len, sent, cap;
    char in[IN_SIZE];
};

static void conn_cb(struct ev_loop *loop, ev_io *w, int revents);

static void conn_close(struct ev_loop *loop, struct conn *c)
{
    ev_io_stop(loop, &c->w);
    if (c->closing)
        shutdown(c->fd, SHUT_WR);
    close(c->fd);
    free(c->out);
    free(c);
}

static int out_add(struct conn *c, const char *p, size_t n)
{
    if (c->len + n > c->cap) {
        size_t cap = c->cap ? c->cap : 1024;
        while (cap < c->len + n)
            cap *= 2;
        char *b = realloc(c->out, cap);
        if (!b)
            return -1;
        c->out = b;
        c->cap = cap;
    }
    memcpy(c->out + c->len, p, n);
    c->len += n;
    return 0;
}

/* Write what is pending: 1 all written, 0 the socket is full, -1 error. */
static int conn_flush(struct conn *c)
{
    while (c->sent < c->len) {
        ssize_t w = write(c->fd, c->out + c->sent, c->len - c->sent);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        }
        c->sent += (size_t)w;
    }
    c->len = c->sent = 0;
    return 1;
}

/* Answer every complete request head in in[]; keep the rest. */
static int conn_parse(struct conn *c)
{
    char *in = c->in;
    size_t off = 0, have = c->have;
    for (;;) {
        int r = next_head(in, have, &off, &c->skip);
        if (r == HEAD_MORE)
            break;
        if (r < 0) {
            c->closing = 1;
            return out_add(c, RESP_BAD, sizeof RESP_BAD - 1);
        }
        if (out_add(c, RESP, sizeof RESP - 1) < 0)
            return -1;
        if (r) {
            c->closing = 1;
            return 0;
        }
    }
    memmove(in, in + off, have - off);
    c->have = have - off;
    if (c->have == IN_SIZE) { /* head too large */
        c->closing = 1;
        return out_add(c, RESP_BAD, sizeof RESP_BAD - 1);
    }
    return 0;
}

static void conn_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    struct conn *c = (struct conn *)w;
    if (revents & EV_READ) {
        ssize_t r = read(c->fd, c->in + c->have, IN_SIZE - c->have);
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return;
        if (r <= 0 || (c->have += (size_t)r, conn_parse(c) < 0)) {
            c->closing = 0;
            conn_close(loop, c);
            return;
        }
    }
    int f = conn_flush(c);
    if (f < 0) {
        c->closing = 0;
        conn_close(loop, c);
    } else if (f == 1 && c->closing) {
        conn_close(loop, c);
    } else {
        int want = f == 0 ? EV_WRITE : EV_READ;
        if (!(c->w.events & want)) {
            ev_io_stop(loop, &c->w);
            ev_io_set(&c->w, c->fd, want);
            ev_io_start(loop, &c->w);
        }
    }
}

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    static const int one = 1;
    for (int i = 0; i < 256; i++) {
        int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE)
                fprintf(stderr, "http_libev: accept: %s\n", strerror(errno));
            return;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct conn *c = malloc(sizeof *c);
        if (!c) {
            close(fd);
            continue;
        }
        c->fd = fd;
        c->closing = 0;
        c->have = c->skip = 0;
        c->out = NULL;
        c->len = c->sent = c->cap = 0;
        ev_io_init(&c->w, conn_cb, fd, EV_READ);
        ev_io_start(loop, &c->w);
    }
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
        fprintf(stderr, "http_libev: bad port '%s'\n", argv[1]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (lfd < 0) {
        perror("http_libev: socket");
        return 1;
    }
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 4096) < 0 ||
        getsockname(lfd, (struct sockaddr *)&sa, &sl) < 0) {
        perror("http_libev: bind/listen");
        return 1;
    }

    struct ev_loop *loop = ev_default_loop(EVFLAG_AUTO);
    if (!loop) {
        fprintf(stderr, "http_libev: no libev loop\n");
        return 1;
    }
    ev_io lw;
    ev_io_init(&lw, accept_cb, lfd, EV_READ);
    ev_io_start(loop, &lw);

    printf("port %d\n", ntohs(sa.sin_port));
    fflush(stdout);
    ev_run(loop, 0);
    return 0;
}
