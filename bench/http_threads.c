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
 * supported (400, close).  The parsing and the response bytes are in
 * bench/http_request.h, shared with http_libev.c.
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

#include "http_request.h"

enum { IN_SIZE = 8192, OUT_SIZE = 8192 };

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
            int c = next_head(in, have, &off, &skip);
            if (c == HEAD_MORE)
                break;
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
