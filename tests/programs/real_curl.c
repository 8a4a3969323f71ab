/*
 * real_curl — the curl binary as the client of a thread-per-connection
 * HTTP server written the plain blocking way.
 *
 * The server is in this program: a listening socket on 127.0.0.1 port 0,
 * a thread blocked in accept(), a detached pthread per connection doing
 * blocking read() until the end of the request head and blocking write()
 * of the response.  GET /hello gives a fixed body (200), anything else 404;
 * the response's version follows the request's (HTTP/1.0 or HTTP/1.1, the
 * latter with Connection: close).
 *
 * Clients are real curl processes, forked and exec'd (the preload, if any,
 * is inherited, so curl itself runs under the shim): each one's stdout is a
 * pipe read to EOF with read() by a thread of its own, then the curl is
 * reaped with waitpid.  Runs:
 *   - 3 sequential `curl -s -S --max-time 10 http://127.0.0.1:PORT/hello`,
 *     and one with --http1.0;
 *   - 5 of them at once, each from its own thread;
 *   - `curl -s -o /dev/null -w '%{http_code}'` of /missing (404).
 * Meanwhile one more connection, made before the curls start, stays silent
 * until they are done (at most 20 s): its server thread sits in a blocking
 * read(), so under the shim (every thread on one OS thread) the curls are
 * served only if that read is greened.  Then it sends its GET and must get
 * the body too.  Prints what each curl wrote and its exit status, and the
 * requests the server saw, after the joins (so order never depends on
 * scheduling).  curl missing is an error (exit 1).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "runcmd.h"

#define BODY "hello from a thread-per-connection server\n"
#define NCONC 5

static struct sockaddr_in addr;
static char url_hello[64], url_missing[64];

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int served_200, served_404, served_http10, handlers_running, curls_done, stopping;

/* ---- the server ---------------------------------------------------------- */

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static void *handler(void *arg)
{
	int fd = (int)(long)arg;
	char req[4096];
	size_t len = 0;
	while (len < sizeof req - 1) {
		ssize_t k = read(fd, req + len, sizeof req - 1 - len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		len += (size_t)k;
		req[len] = '\0';
		if (strstr(req, "\r\n\r\n"))
			break;
	}
	req[len] = '\0';
	char method[16] = "", path[256] = "", version[16] = "";
	if (strstr(req, "\r\n\r\n") && sscanf(req, "%15s %255s %15s", method, path, version) == 3) {
		int v10 = strcmp(version, "HTTP/1.0") == 0;
		int ok = strcmp(method, "GET") == 0 && strcmp(path, "/hello") == 0;
		const char *body = ok ? BODY : "not found\n";
		char head[256];
		int n = snprintf(head, sizeof head,
				 "%s %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n%s\r\n",
				 v10 ? "HTTP/1.0" : "HTTP/1.1", ok ? "200 OK" : "404 Not Found",
				 strlen(body), v10 ? "" : "Connection: close\r\n");
		if (write_all(fd, head, (size_t)n) == 0 && write_all(fd, body, strlen(body)) == 0) {
			pthread_mutex_lock(&lock);
			if (ok)
				served_200++;
			else
				served_404++;
			served_http10 += v10;
			pthread_mutex_unlock(&lock);
		}
	}
	close(fd);
	pthread_mutex_lock(&lock);
	handlers_running--;
	pthread_cond_broadcast(&changed);
	pthread_mutex_unlock(&lock);
	return NULL;
}

static void *acceptor(void *arg)
{
	int lfd = (int)(long)arg;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0 && errno == EINTR)
			continue;
		if (fd < 0)
			die("accept");
		pthread_mutex_lock(&lock);
		int stop = stopping;
		if (!stop)
			handlers_running++;
		pthread_mutex_unlock(&lock);
		if (stop) { /* main's wake-up connection */
			close(fd);
			break;
		}
		pthread_t t;
		must(pthread_create(&t, &attr, handler, (void *)(long)fd), "pthread_create");
	}
	pthread_attr_destroy(&attr);
	return NULL;
}

/* ---- curl ------------------------------------------------------------------ */

struct curl_run {
	const char *const *argv; /* without the program name */
	char out[512];
	size_t out_len;
	int status; /* exit status, 128+N if killed by signal N */
};

struct reader_arg {
	int fd;
	struct curl_run *r;
};

static void *reader(void *arg)
{
	struct reader_arg *ra = arg;
	ra->r->out_len = read_all(ra->fd, ra->r->out, sizeof ra->r->out);
	close(ra->fd);
	return NULL;
}

static void run_curl(struct curl_run *r)
{
	const char *argv[16] = { "curl" };
	int n = 1;
	for (const char *const *a = r->argv; *a && n < 15; a++)
		argv[n++] = *a;
	argv[n] = NULL;

	int rfd;
	pid_t pid = spawn_piped((char **)argv, 1, 0, "real_curl", &rfd);
	pthread_t t;
	struct reader_arg ra = { rfd, r };
	r->out_len = 0;
	must(pthread_create(&t, NULL, reader, &ra), "pthread_create");
	int st = reap(pid);
	must(pthread_join(t, NULL), "pthread_join");
	r->status = exit_code(st);
	if (r->status == 127) {
		fprintf(stderr, "real_curl: curl is missing (install it: .ci/install-deps)\n");
		exit(1);
	}
	pthread_mutex_lock(&lock);
	curls_done++;
	pthread_cond_broadcast(&changed);
	pthread_mutex_unlock(&lock);
}

/* The output made printable: \n as "\n", so each run is one line. */
static const char *shown(const struct curl_run *r)
{
	static char buf[2048];
	size_t k = 0;
	for (size_t i = 0; i < r->out_len && k < sizeof buf - 8; i++) {
		unsigned char c = (unsigned char)r->out[i];
		if (c == '\n')
			k += (size_t)snprintf(buf + k, sizeof buf - k, "\\n");
		else if (c >= 32 && c < 127 && c != '\\')
			buf[k++] = (char)c;
		else
			k += (size_t)snprintf(buf + k, sizeof buf - k, "\\x%02x", c);
	}
	buf[k] = '\0';
	return buf;
}

static void *curl_thread(void *arg)
{
	run_curl(arg);
	return NULL;
}

/* ---- the silent connection ---------------------------------------------- */

struct idle_result {
	int others_done_first;
	char resp[512];
};

static void *idle_client(void *arg)
{
	struct idle_result *ir = arg;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct timeval tv = { 20, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0)
		die("idle connect");
	struct timespec until = deadline_ms(CLOCK_REALTIME, 20000);
	pthread_mutex_lock(&lock);
	while (curls_done < 4 + NCONC)
		if (pthread_cond_timedwait(&changed, &lock, &until) != 0)
			break;
	ir->others_done_first = curls_done == 4 + NCONC;
	pthread_mutex_unlock(&lock);
	const char req[] = "GET /hello HTTP/1.0\r\n\r\n";
	if (write_all(fd, req, sizeof req - 1) != 0)
		die("idle write");
	size_t len = 0;
	for (;;) {
		ssize_t k = read(fd, ir->resp + len, sizeof ir->resp - 1 - len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		len += (size_t)k;
	}
	ir->resp[len] = '\0';
	close(fd);
	return NULL;
}

int main(void)
{
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	socklen_t alen = sizeof addr;
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(lfd, 64) != 0 ||
	    getsockname(lfd, (struct sockaddr *)&addr, &alen) != 0)
		die("listen");
	snprintf(url_hello, sizeof url_hello, "http://127.0.0.1:%d/hello", ntohs(addr.sin_port));
	snprintf(url_missing, sizeof url_missing, "http://127.0.0.1:%d/missing", ntohs(addr.sin_port));

	pthread_t acc, idle;
	struct idle_result ir = { 0, "" };
	must(pthread_create(&acc, NULL, acceptor, (void *)(long)lfd), "pthread_create");
	must(pthread_create(&idle, NULL, idle_client, &ir), "pthread_create");
	/* the silent connection is accepted (its handler waits in read) first */
	for (int i = 0; i < 200; i++) {
		pthread_mutex_lock(&lock);
		int h = handlers_running;
		pthread_mutex_unlock(&lock);
		if (h > 0)
			break;
		usleep(10 * 1000);
	}

	const char *get11[] = { "-s", "-S", "--max-time", "10", url_hello, NULL };
	const char *get10[] = { "-s", "-S", "--max-time", "10", "--http1.0", url_hello, NULL };
	for (int i = 0; i < 3; i++) {
		struct curl_run r = { .argv = get11 };
		run_curl(&r);
		printf("sequential %d: exit %d, stdout \"%s\"\n", i + 1, r.status, shown(&r));
	}
	struct curl_run r10 = { .argv = get10 };
	run_curl(&r10);
	printf("--http1.0: exit %d, stdout \"%s\"\n", r10.status, shown(&r10));

	struct curl_run conc[NCONC];
	pthread_t ct[NCONC];
	for (int i = 0; i < NCONC; i++) {
		conc[i] = (struct curl_run){ .argv = get11 };
		must(pthread_create(&ct[i], NULL, curl_thread, &conc[i]), "pthread_create");
	}
	for (int i = 0; i < NCONC; i++) {
		must(pthread_join(ct[i], NULL), "pthread_join");
		printf("concurrent %d: exit %d, stdout \"%s\"\n", i + 1, conc[i].status, shown(&conc[i]));
	}

	must(pthread_join(idle, NULL), "pthread_join");
	char *body = strstr(ir.resp, "\r\n\r\n");
	printf("served while one connection sat idle: %s\n", yesno(ir.others_done_first));
	printf("its GET afterwards: %.15s, body right: %s\n", ir.resp,
	       yesno(body && strcmp(body + 4, BODY) == 0));

	const char *code404[] = { "-s", "--max-time", "10", "-o", "/dev/null", "-w", "%{http_code}",
				  url_missing, NULL };
	struct curl_run r404 = { .argv = code404 };
	run_curl(&r404);
	printf("/missing with -w %%{http_code}: exit %d, stdout \"%s\"\n", r404.status, shown(&r404));

	/* stop: wake the acceptor with one more connection, wait for the handlers */
	pthread_mutex_lock(&lock);
	stopping = 1;
	pthread_mutex_unlock(&lock);
	int wfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (wfd < 0 || connect(wfd, (struct sockaddr *)&addr, sizeof addr) != 0)
		die("wake connect");
	must(pthread_join(acc, NULL), "pthread_join");
	close(wfd);
	close(lfd);
	struct timespec until = deadline_ms(CLOCK_REALTIME, 10000);
	pthread_mutex_lock(&lock);
	while (handlers_running > 0)
		if (pthread_cond_timedwait(&changed, &lock, &until) != 0)
			break;
	printf("server: %d x 200, %d x 404, %d HTTP/1.0 requests; handlers left %d\n", served_200,
	       served_404, served_http10, handlers_running);
	pthread_mutex_unlock(&lock);
	return 0;
}
