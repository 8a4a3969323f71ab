/*
 * io_python_http — CPython's ThreadingHTTPServer as the server, C threads
 * as clients.
 *
 * Writes a known 30000-byte file into a mkdtemp directory, then forks and
 * execs `python3 -m http.server --bind 127.0.0.1 --directory DIR PORT`
 * (the preload, if any, is inherited, so the shim runs inside CPython: its
 * accept loop in a selector, a thread per request, blocking socket I/O).
 * The port is found by binding port 0 and closing; if the server exits
 * (say, someone took the port) another port is tried, up to 3 times.  Once
 * a connect succeeds, 20 client threads each make 5 HTTP/1.0 GETs of the
 * file at the same time and check status line and body byte for byte,
 * while one more client has connected first and sends nothing until the
 * 100 GETs are done (it gives up waiting after 10 s): the server's thread
 * for that connection sits in a blocking recv, and under the shim (one OS
 * thread inside CPython too) the others are served meanwhile only if that
 * recv is greened.  The idle client then makes its GET.  Then one GET of
 * a missing file must give 404.  The server is then
 * killed with SIGTERM and reaped.  Client sockets carry SO_RCVTIMEO 20 s
 * so nothing waits for ever natively.  python3 missing is an error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "testutil.h"

#define BODY_LEN 30000
#define NCLIENT 20
#define NGET 5

static char body[BODY_LEN];
static struct sockaddr_in server;
static char dir[] = "/tmp/io_python_http.XXXXXX";
static char file_path[128], log_path[128];

static void show_log(void)
{
	char buf[4096];
	int fd = open(log_path, O_RDONLY);
	ssize_t n;
	if (fd < 0)
		return;
	fprintf(stderr, "--- server log ---\n");
	while ((n = read(fd, buf, sizeof buf)) > 0)
		fwrite(buf, 1, (size_t)n, stderr);
	close(fd);
}

static void cleanup(void)
{
	unlink(file_path);
	unlink(log_path);
	rmdir(dir);
}

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof a;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) != 0)
		die("bind");
	close(fd);
	return ntohs(a.sin_port);
}

static pid_t start_server(int port)
{
	char portstr[16];
	snprintf(portstr, sizeof portstr, "%d", port);
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		int log = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (log >= 0) {
			dup2(log, 1);
			dup2(log, 2);
		}
		execlp("python3", "python3", "-m", "http.server", "--bind", "127.0.0.1",
		       "--directory", dir, portstr, (char *)NULL);
		dprintf(2, "exec python3: %s\n", strerror(errno));
		_exit(127);
	}
	return pid;
}

/* 1 once the server accepts, 0 if it exited (*st set), -1 after 15 s. */
static int wait_ready(pid_t pid, int *st)
{
	for (int i = 0; i < 300; i++) {
		if (waitpid(pid, st, WNOHANG) == pid)
			return 0;
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		int ok = connect(fd, (struct sockaddr *)&server, sizeof server) == 0;
		close(fd);
		if (ok)
			return 1;
		usleep(50 * 1000);
	}
	return -1;
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t all_done = PTHREAD_COND_INITIALIZER;
static int clients_done;

static int connected(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct timeval tv = { 20, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&server, sizeof server) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* One GET on a connected socket (closed after); returns the HTTP status,
 * -1 on a transport error, -2 if the 200 body differs from the file. */
static int get_on(int fd, const char *path)
{
	char req[256];
	int n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
	if (fd < 0)
		return -1;
	if (write(fd, req, (size_t)n) != n) {
		close(fd);
		return -1;
	}
	size_t cap = BODY_LEN + 4096, len = 0;
	char *resp = malloc(cap + 1);
	for (;;) {
		if (len == cap) {
			cap *= 2;
			resp = realloc(resp, cap + 1);
		}
		ssize_t k = read(fd, resp + len, cap - len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			free(resp);
			close(fd);
			return -1;
		}
		if (k == 0)
			break;
		len += (size_t)k;
	}
	close(fd);
	resp[len] = '\0';
	int status = -1;
	if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1)
		status = -1;
	if (status == 200) {
		char *hdr_end = strstr(resp, "\r\n\r\n");
		if (!hdr_end || (size_t)(resp + len - (hdr_end + 4)) != BODY_LEN ||
		    memcmp(hdr_end + 4, body, BODY_LEN) != 0)
			status = -2;
	}
	free(resp);
	return status;
}

static int get(const char *path) { return get_on(connected(), path); }

static void *client(void *arg)
{
	long ok = 0;
	for (int i = 0; i < NGET; i++)
		ok += get("/hello.txt") == 200;
	pthread_mutex_lock(&lock);
	if (++clients_done == NCLIENT)
		pthread_cond_signal(&all_done);
	pthread_mutex_unlock(&lock);
	return (void *)ok;
}

struct idle_result {
	int others_done_first, status;
};

/* Connects, stays silent until the other clients are done (at most 10 s),
 * then makes its GET. */
static void *idle_client(void *arg)
{
	struct idle_result *r = arg;
	int fd = connected();
	struct timespec until = deadline_ms(CLOCK_REALTIME, 10000);
	pthread_mutex_lock(&lock);
	while (clients_done < NCLIENT)
		if (pthread_cond_timedwait(&all_done, &lock, &until) != 0)
			break;
	r->others_done_first = clients_done == NCLIENT;
	pthread_mutex_unlock(&lock);
	r->status = get_on(fd, "/hello.txt");
	return NULL;
}

int main(void)
{
	for (int i = 0; i < BODY_LEN; i++)
		body[i] = (i % 64 == 63) ? '\n' : (char)('a' + (i * 7 + i / 64) % 26);
	if (!mkdtemp(dir))
		die("mkdtemp");
	snprintf(file_path, sizeof file_path, "%s/hello.txt", dir);
	snprintf(log_path, sizeof log_path, "%s.log", dir); /* outside the served dir */
	int fd = open(file_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, body, BODY_LEN) != BODY_LEN || close(fd) != 0)
		die("write file");

	server.sin_family = AF_INET;
	server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	pid_t pid = -1;
	int st = 0, ready = 0;
	for (int attempt = 0; attempt < 3 && ready != 1; attempt++) {
		int port = free_port();
		server.sin_port = htons((unsigned short)port);
		pid = start_server(port);
		ready = wait_ready(pid, &st);
		if (ready == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 127) {
			show_log();
			fprintf(stderr, "io_python_http: python3 could not be run\n");
			cleanup();
			return 1;
		}
		if (ready == -1) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
		}
	}
	if (ready != 1) {
		show_log();
		fprintf(stderr, "io_python_http: the server never accepted\n");
		cleanup();
		return 1;
	}
	printf("server up: yes\n");

	pthread_t t[NCLIENT], idle;
	struct idle_result ir = { 0, 0 };
	long ok = 0;
	must(pthread_create(&idle, NULL, idle_client, &ir), "pthread_create");
	usleep(100 * 1000); /* its connection is in before the others start */
	for (int i = 0; i < NCLIENT; i++)
		must(pthread_create(&t[i], NULL, client, NULL), "pthread_create");
	for (int i = 0; i < NCLIENT; i++) {
		void *v;
		must(pthread_join(t[i], &v), "pthread_join");
		ok += (long)v;
	}
	must(pthread_join(idle, NULL), "pthread_join");
	printf("GETs with the right body: %ld/%d\n", ok, NCLIENT * NGET);
	printf("served while one connection sat idle: %s, its GET afterwards: %d\n",
	       yesno(ir.others_done_first), ir.status);
	printf("GET of a missing file: %d\n", get("/missing.txt"));

	kill(pid, SIGTERM);
	pid_t r = waitpid(pid, &st, 0);
	printf("server reaped: %s, ended by SIGTERM: %s\n", yesno(r == pid),
	       yesno(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM));
	if (ok != NCLIENT * NGET)
		show_log();
	cleanup();
	return 0;
}
