/*
 * dns_lookup — name lookups from many threads at once, loopback and
 * /etc/hosts only (no network).
 *
 * LOOKERS threads each make every lookup of the table `cases` (each
 * starting at a different one, so different lookups overlap), while a
 * ticker thread sleeps in a loop: getaddrinfo of localhost and of numeric
 * hosts, its error codes (EAI_NONAME, EAI_BADFLAGS, EAI_FAMILY,
 * EAI_SERVICE), getnameinfo (numeric and by name), gethostbyname,
 * gethostbyname2, gethostbyaddr and their _r forms, with their error
 * codes, h_errno and errno (HOST_NOT_FOUND, ERANGE with NETDB_INTERNAL,
 * EAFNOSUPPORT).  Each case prints one normalised line (sorted addresses,
 * facts rather than names a machine's /etc/hosts may spell differently);
 * every thread must have got the same line.  gethostbyname and
 * gethostbyaddr return one static result for the process: calls and reads
 * are under a mutex, as a correct program does.
 *
 * Then a fork child looks up localhost (under the shim its pool of lookup
 * threads did not survive the fork), and main ends with pthread_exit: the
 * process must end as soon as every thread has (no lookup thread keeps it
 * alive).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

#define LOOKERS 6
#define OUT 512

static const char *eai(int e)
{
	static char buf[32];
	switch (e) {
	case 0: return "0";
	case EAI_BADFLAGS: return "EAI_BADFLAGS";
	case EAI_NONAME: return "EAI_NONAME";
	case EAI_AGAIN: return "EAI_AGAIN";
	case EAI_FAIL: return "EAI_FAIL";
	case EAI_FAMILY: return "EAI_FAMILY";
	case EAI_SOCKTYPE: return "EAI_SOCKTYPE";
	case EAI_SERVICE: return "EAI_SERVICE";
	case EAI_MEMORY: return "EAI_MEMORY";
	case EAI_SYSTEM: return "EAI_SYSTEM";
	case EAI_OVERFLOW: return "EAI_OVERFLOW";
	case EAI_NODATA: return "EAI_NODATA";
	case EAI_ADDRFAMILY: return "EAI_ADDRFAMILY";
	}
	snprintf(buf, sizeof buf, "EAI(%d)", e);
	return buf;
}

static const char *hen(int h)
{
	static char buf[32];
	switch (h) {
	case NETDB_INTERNAL: return "NETDB_INTERNAL";
	case NETDB_SUCCESS: return "NETDB_SUCCESS";
	case HOST_NOT_FOUND: return "HOST_NOT_FOUND";
	case TRY_AGAIN: return "TRY_AGAIN";
	case NO_RECOVERY: return "NO_RECOVERY";
	case NO_DATA: return "NO_DATA";
	}
	snprintf(buf, sizeof buf, "h_errno %d", h);
	return buf;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "code: family address port type/protocol, ..." sorted. */
static void show_addrinfo(char *out, int e, struct addrinfo *res)
{
	char lines[16][96], *sorted[16];
	int n = 0;
	for (struct addrinfo *p = res; p && n < 16; p = p->ai_next, n++) {
		char a[INET6_ADDRSTRLEN] = "?";
		int port = -1;
		if (p->ai_family == AF_INET) {
			struct sockaddr_in *s = (struct sockaddr_in *)p->ai_addr;
			inet_ntop(AF_INET, &s->sin_addr, a, sizeof a);
			port = ntohs(s->sin_port);
		} else if (p->ai_family == AF_INET6) {
			struct sockaddr_in6 *s = (struct sockaddr_in6 *)p->ai_addr;
			inet_ntop(AF_INET6, &s->sin6_addr, a, sizeof a);
			port = ntohs(s->sin6_port);
		}
		snprintf(lines[n], sizeof lines[n], "%s %s %d %s/%d",
			 p->ai_family == AF_INET ? "AF_INET" : p->ai_family == AF_INET6 ? "AF_INET6" : "?",
			 a, port,
			 p->ai_socktype == SOCK_STREAM ? "stream" : p->ai_socktype == SOCK_DGRAM ? "dgram"
				 : p->ai_socktype == SOCK_RAW ? "raw" : "?",
			 p->ai_protocol);
		sorted[n] = lines[n];
	}
	qsort(sorted, n, sizeof sorted[0], cmp_str);
	int len = snprintf(out, OUT, "%s", eai(e));
	for (int i = 0; i < n; i++)
		len += snprintf(out + len, OUT - len, "%s%s", i ? ", " : ": ", sorted[i]);
}

static void gai(char *out, const char *node, const char *service, int flags, int family,
		int socktype)
{
	struct addrinfo hints = { .ai_flags = flags, .ai_family = family, .ai_socktype = socktype };
	struct addrinfo *res = NULL;
	int e = getaddrinfo(node, service, &hints, &res);
	show_addrinfo(out, e, e ? NULL : res);
	if (!e)
		freeaddrinfo(res);
}

/* ---- the cases: each writes one line into out ------------------------- */

static void gai_localhost(char *out)
{
	/* /etc/hosts may also give ::1: only what every machine agrees on */
	struct addrinfo *res = NULL;
	int e = getaddrinfo("localhost", "80", NULL, &res);
	int v4 = 0, all80 = 1, stream = 0;
	for (struct addrinfo *p = e ? NULL : res; p; p = p->ai_next) {
		int port = p->ai_family == AF_INET ? ntohs(((struct sockaddr_in *)p->ai_addr)->sin_port)
						   : ntohs(((struct sockaddr_in6 *)p->ai_addr)->sin6_port);
		all80 &= port == 80;
		if (p->ai_family == AF_INET &&
		    ((struct sockaddr_in *)p->ai_addr)->sin_addr.s_addr == htonl(INADDR_LOOPBACK)) {
			v4 = 1;
			stream |= p->ai_socktype == SOCK_STREAM;
		}
	}
	snprintf(out, OUT, "%s, 127.0.0.1 found: %s, stream: %s, every port 80: %s", eai(e),
		 yesno(v4), yesno(stream), yesno(all80));
	if (!e)
		freeaddrinfo(res);
}

static void gai_v4(char *out) { gai(out, "127.0.0.1", "80", AI_NUMERICHOST, AF_UNSPEC, 0); }
static void gai_v6(char *out) { gai(out, "::1", "80", AI_NUMERICHOST, AF_UNSPEC, 0); }
static void gai_v4_serv(char *out)
{
	gai(out, "127.0.0.1", "8080", AI_NUMERICHOST | AI_NUMERICSERV, AF_INET, SOCK_STREAM);
}
static void gai_noname(char *out) { gai(out, "no.such.name.invalid", "80", AI_NUMERICHOST, AF_UNSPEC, 0); }
static void gai_badflags(char *out) { gai(out, "localhost", "80", 0x40000000, AF_UNSPEC, 0); }
static void gai_canon_nohost(char *out) { gai(out, NULL, "80", AI_CANONNAME, AF_UNSPEC, 0); }
static void gai_family(char *out) { gai(out, "localhost", "80", 0, 12345, 0); }
static void gai_service(char *out)
{
	gai(out, "127.0.0.1", "no-such-service", AI_NUMERICHOST, AF_UNSPEC, SOCK_STREAM);
}

static struct sockaddr_in loopback(void)
{
	struct sockaddr_in s = { .sin_family = AF_INET, .sin_port = htons(80) };
	s.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return s;
}

static void gni_numeric(char *out)
{
	struct sockaddr_in s = loopback();
	char host[NI_MAXHOST] = "", serv[NI_MAXSERV] = "";
	int e = getnameinfo((struct sockaddr *)&s, sizeof s, host, sizeof host, serv, sizeof serv,
			    NI_NUMERICHOST | NI_NUMERICSERV);
	snprintf(out, OUT, "%s, host %.64s, service %.32s", eai(e), host, serv);
}

static void gni_numerichost(char *out)
{
	struct sockaddr_in s = loopback();
	char host[NI_MAXHOST] = "", serv[NI_MAXSERV] = "";
	int e = getnameinfo((struct sockaddr *)&s, sizeof s, host, sizeof host, serv, sizeof serv,
			    NI_NUMERICHOST);
	/* the service's name comes from /etc/services, if there is one */
	snprintf(out, OUT, "%s, host %.64s, service http or 80: %s", eai(e), host,
		 yesno(!strcmp(serv, "http") || !strcmp(serv, "80")));
}

static void gni_name(char *out)
{
	struct sockaddr_in s = loopback();
	char host[NI_MAXHOST] = "";
	int e = getnameinfo((struct sockaddr *)&s, sizeof s, host, sizeof host, NULL, 0, NI_NAMEREQD);
	snprintf(out, OUT, "%s, a name starting with localhost: %s", eai(e),
		 yesno(!strncmp(host, "localhost", 9)));
}

static void gni_badflags(char *out)
{
	struct sockaddr_in s = loopback();
	char host[NI_MAXHOST];
	int e = getnameinfo((struct sockaddr *)&s, sizeof s, host, sizeof host, NULL, 0, 0x40000000);
	snprintf(out, OUT, "%s", eai(e));
}

static void gni_badlen(char *out)
{
	struct sockaddr_in s = loopback();
	char host[NI_MAXHOST];
	int e = getnameinfo((struct sockaddr *)&s, 3, host, sizeof host, NULL, 0, 0);
	snprintf(out, OUT, "%s", eai(e));
}

/* A hostent in words: family, length, whether 127.0.0.1 is among the
 * addresses and localhost among the names. */
static void show_hostent(char *out, const char *head, const struct hostent *h)
{
	if (!h) {
		snprintf(out, OUT, "%snot found", head);
		return;
	}
	int lo = 0, named = !strncmp(h->h_name, "localhost", 9);
	for (char **a = h->h_addr_list; *a; a++)
		lo |= h->h_addrtype == AF_INET && h->h_length == 4 &&
		      !memcmp(*a, &(struct in_addr){ htonl(INADDR_LOOPBACK) }, 4);
	for (char **n = h->h_aliases; *n; n++)
		named |= !strncmp(*n, "localhost", 9);
	snprintf(out, OUT, "%sfound, %s, length %d, 127.0.0.1 listed: %s, localhost named: %s", head,
		 h->h_addrtype == AF_INET ? "AF_INET" : h->h_addrtype == AF_INET6 ? "AF_INET6" : "?",
		 h->h_length, yesno(lo), yesno(named));
}

/* The static results of gethostbyname and gethostbyaddr. */
static pthread_mutex_t static_result = PTHREAD_MUTEX_INITIALIZER;

static void ghbn(char *out)
{
	pthread_mutex_lock(&static_result);
	show_hostent(out, "", gethostbyname("localhost"));
	pthread_mutex_unlock(&static_result);
}

static void ghbn_numeric(char *out)
{
	pthread_mutex_lock(&static_result);
	struct hostent *h = gethostbyname2("127.0.0.1", AF_INET);
	char head[64];
	snprintf(head, sizeof head, "name %s, ", h ? h->h_name : "-");
	show_hostent(out, head, h);
	pthread_mutex_unlock(&static_result);
}

static void ghbn_r(char *out)
{
	struct hostent he, *res = NULL;
	char buf[1024], head[96];
	int herr;
	int e = gethostbyname_r("localhost", &he, buf, sizeof buf, &res, &herr);
	snprintf(head, sizeof head, "%s, result is the hostent given: %s, ", en(e), yesno(res == &he));
	show_hostent(out, head, res);
}

static void ghbn2_r(char *out)
{
	struct hostent he, *res = NULL;
	char buf[1024], head[64];
	int herr;
	int e = gethostbyname2_r("localhost", AF_INET, &he, buf, sizeof buf, &res, &herr);
	snprintf(head, sizeof head, "%s, ", en(e));
	show_hostent(out, head, res);
}

static void ghbn_r_small(char *out)
{
	struct hostent he, *res = &he;
	char buf[8];
	int herr = -7;
	errno = 0;
	int e = gethostbyname_r("localhost", &he, buf, sizeof buf, &res, &herr);
	int err = errno;
	snprintf(out, OUT, "%s, result %s, *h_errnop %s, errno %s", en(e), res ? "set" : "NULL",
		 hen(herr), en(err));
}

static void ghba(char *out)
{
	struct in_addr a = { htonl(INADDR_LOOPBACK) };
	pthread_mutex_lock(&static_result);
	h_errno = -7;
	struct hostent *h = gethostbyaddr(&a, sizeof a, AF_INET);
	int herr = h_errno;
	show_hostent(out, "", h);
	pthread_mutex_unlock(&static_result);
	size_t len = strlen(out);
	snprintf(out + len, OUT - len, ", h_errno kept: %s", yesno(herr == -7));
}

static void ghba_r(char *out)
{
	struct in_addr a = { htonl(INADDR_LOOPBACK) };
	struct hostent he, *res = NULL;
	char buf[1024], head[64];
	int herr;
	int e = gethostbyaddr_r(&a, sizeof a, AF_INET, &he, buf, sizeof buf, &res, &herr);
	snprintf(head, sizeof head, "%s, ", en(e));
	show_hostent(out, head, res);
}

/* The unspecified address is refused before any lookup: HOST_NOT_FOUND. */
static void ghba_any(char *out)
{
	pthread_mutex_lock(&static_result);
	h_errno = -7;
	struct hostent *h = gethostbyaddr(&in6addr_any, sizeof in6addr_any, AF_INET6);
	int herr = h_errno;
	pthread_mutex_unlock(&static_result);
	snprintf(out, OUT, "%s, h_errno %s", h ? "found" : "NULL", hen(herr));
}

static void ghba_r_any(char *out)
{
	struct hostent he, *res = &he;
	char buf[1024];
	int herr = -7;
	int e = gethostbyaddr_r(&in6addr_any, sizeof in6addr_any, AF_INET6, &he, buf, sizeof buf,
				&res, &herr);
	snprintf(out, OUT, "%s, result %s, *h_errnop %s", en(e), res ? "set" : "NULL", hen(herr));
}

static void ghba_badlen(char *out)
{
	struct in_addr a = { htonl(INADDR_LOOPBACK) };
	pthread_mutex_lock(&static_result);
	h_errno = -7;
	errno = 0;
	struct hostent *h = gethostbyaddr(&a, 3, AF_INET);
	int herr = h_errno, err = errno;
	pthread_mutex_unlock(&static_result);
	snprintf(out, OUT, "%s, h_errno %s, errno %s", h ? "found" : "NULL", hen(herr), en(err));
}

static const struct {
	const char *what;
	void (*run)(char *out);
} cases[] = {
	{ "getaddrinfo localhost 80", gai_localhost },
	{ "getaddrinfo 127.0.0.1 80 AI_NUMERICHOST", gai_v4 },
	{ "getaddrinfo ::1 80 AI_NUMERICHOST", gai_v6 },
	{ "getaddrinfo 127.0.0.1 8080 AI_NUMERICHOST|AI_NUMERICSERV AF_INET stream", gai_v4_serv },
	{ "getaddrinfo no.such.name.invalid AI_NUMERICHOST", gai_noname },
	{ "getaddrinfo localhost, bad flags", gai_badflags },
	{ "getaddrinfo AI_CANONNAME without a host", gai_canon_nohost },
	{ "getaddrinfo localhost, bad family", gai_family },
	{ "getaddrinfo unknown service", gai_service },
	{ "getnameinfo 127.0.0.1:80 NI_NUMERICHOST|NI_NUMERICSERV", gni_numeric },
	{ "getnameinfo 127.0.0.1:80 NI_NUMERICHOST", gni_numerichost },
	{ "getnameinfo 127.0.0.1 NI_NAMEREQD", gni_name },
	{ "getnameinfo bad flags", gni_badflags },
	{ "getnameinfo short sockaddr", gni_badlen },
	{ "gethostbyname localhost", ghbn },
	{ "gethostbyname2 127.0.0.1 AF_INET", ghbn_numeric },
	{ "gethostbyname_r localhost", ghbn_r },
	{ "gethostbyname2_r localhost AF_INET", ghbn2_r },
	{ "gethostbyname_r localhost, 8-byte buffer", ghbn_r_small },
	{ "gethostbyaddr 127.0.0.1", ghba },
	{ "gethostbyaddr_r 127.0.0.1", ghba_r },
	{ "gethostbyaddr ::", ghba_any },
	{ "gethostbyaddr_r ::", ghba_r_any },
	{ "gethostbyaddr, 3-byte address", ghba_badlen },
};
#define NCASES (sizeof cases / sizeof cases[0])

static char results[LOOKERS][NCASES][OUT];
static pthread_barrier_t start;
static volatile int done;

static void *looker(void *arg)
{
	long id = (long)arg;
	pthread_barrier_wait(&start);
	for (size_t k = 0; k < NCASES; k++) {
		size_t c = (k + (size_t)id * 4) % NCASES;
		cases[c].run(results[id][c]);
	}
	return NULL;
}

static void *ticker(void *arg)
{
	long ticks = 0;
	while (!done) {
		usleep(1000);
		ticks++;
	}
	return (void *)ticks;
}

int main(void)
{
	pthread_t lookers[LOOKERS], tick;
	void *ticks;
	must(pthread_barrier_init(&start, NULL, LOOKERS), "pthread_barrier_init");
	must(pthread_create(&tick, NULL, ticker, NULL), "pthread_create");
	for (long i = 0; i < LOOKERS; i++)
		must(pthread_create(&lookers[i], NULL, looker, (void *)i), "pthread_create");
	for (int i = 0; i < LOOKERS; i++)
		must(pthread_join(lookers[i], NULL), "pthread_join");
	done = 1;
	must(pthread_join(tick, &ticks), "pthread_join");

	for (size_t c = 0; c < NCASES; c++) {
		printf("%s: %s\n", cases[c].what, results[0][c]);
		for (int i = 1; i < LOOKERS; i++)
			if (strcmp(results[i][c], results[0][c]) != 0)
				printf("  but thread %d got: %s\n", i, results[i][c]);
	}
	printf("ticker ran: %s\n", yesno((long)ticks > 0));

	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		char out[OUT];
		gai_localhost(out);
		_exit(strncmp(out, "0, 127.0.0.1 found: yes", 23) == 0 ? 0 : 1);
	}
	int st = -1;
	waitpid(pid, &st, 0);
	printf("lookup in a fork child: %s\n",
	       WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "ok" : "failed");
	fflush(stdout);
	pthread_exit(NULL);
}
