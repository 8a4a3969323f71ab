/*
 * real_mariadb — a real database server, MariaDB's mariadbd, with sysbench
 * hammering it over TCP from 16 threads.  Everything here is exec'd from
 * this program, so in the preload runs all of it inherits LD_PRELOAD and
 * runs greened: mariadb-install-db (which runs mariadbd --bootstrap), the
 * server (one thread per connection, InnoDB's background and I/O threads,
 * each with its own TLS: THD, mysys' my_thread_var, InnoDB's per-thread
 * state), sysbench (a LuaJIT state per thread) and the mariadb clients.
 *
 * Steps, each printed with its exit status:
 *   - mariadb-install-db makes a private datadir in a mkdtemp directory
 *     (--no-defaults: no /etc/mysql config; root without a password);
 *   - mariadbd starts on it: --no-defaults, 127.0.0.1 on a port found free
 *     by binding port 0, the socket and pid file in the temp directory, no
 *     binary log, a 16 MiB buffer pool; waited for (at most 20 s) until a
 *     client's SELECT 1 works;
 *   - CREATE DATABASE sbtest; sysbench oltp_read_write prepare (2 tables of
 *     2000 rows, 16 threads); the row counts of both tables;
 *   - sysbench oltp_read_write run, 16 threads for 5 s: its exit status
 *     (it stops at the first SQL error it does not retry), whether it had
 *     0 reconnects and did any transactions (not the throughput; the
 *     deadlocks it retries, "ignored errors", vary and are allowed), and
 *     whether the server still answers afterwards;
 *   - sysbench cleanup; mariadb-admin shutdown; how mariadbd ended.
 * InnoDB runs with its defaults: native AIO through io_uring (liburing),
 * whose completion thread waits in liburing's __io_uring_get_cqe (the shim
 * greens that wait; before, io_uring_enter blocked the one OS thread and
 * mariadbd --bootstrap hung inside mariadb-install-db).
 * REAL_MARIADB_SIMULATED_AIO=1 gives --innodb-use-native-aio=0 instead
 * (InnoDB's own I/O threads doing pread/pwrite): its own runner entry.
 * To stderr only (they differ between runs): the server's OS thread count
 * (/proc/PID/status Threads:) sampled while sysbench runs, whether the
 * server has libgreenshim mapped, and each step's time.
 *
 * Bounded and self-cleaning: every command runs in a process group of its
 * own, SIGKILLed after the command's timeout, and all steps together get
 * at most 50 s (after that each step fails at once); the server is
 * SIGKILLed when shutdown has not ended it within 15 s or by 52 s, so the
 * program ends within about 60 s, inside its runner entry's 90 s.  A
 * guardian (sh, in its own process group so that the runner's group kill
 * misses it) holds the read end of a pipe from this program: when this
 * program ends in any way, even by SIGKILL, it kills the command's group
 * and the server still running and removes the temp directory.
 * A missing binary fails the test up front, naming its Debian package.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "runcmd.h"

#define BUDGET_MS 50000LL
#define SERVER "/usr/sbin/mariadbd"

static long long start_ns;
static int failures;
static char dir[256], datadir[300], sockpath[300], pidpath[300], errlog[300];
static char port_s[16];
static pid_t server = -1;
static int guard_fd = -1; /* write end of the guardian's pipe */

static long long since_start_ms(void) { return (now_ns(CLOCK_MONOTONIC) - start_ns) / MS; }

static int has_shim_mapped(pid_t pid)
{
	char p[64], line[1024];
	int found = 0;
	snprintf(p, sizeof p, "/proc/%d/maps", (int)pid);
	FILE *f = fopen(p, "r");
	if (!f)
		return -1;
	while (!found && fgets(line, sizeof line, f))
		found = strstr(line, "libgreenshim") != NULL;
	fclose(f);
	return found;
}

/* The server still running (not reaped here)? */
static int server_alive(void)
{
	int st;
	if (server <= 0)
		return 0;
	pid_t r = waitpid(server, &st, WNOHANG);
	if (r == server) {
		fprintf(stderr, "real_mariadb: mariadbd ended by itself: %s %d\n",
			WIFEXITED(st) ? "exit status" : "signal",
			WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
		server = -1;
		return 0;
	}
	return 1;
}

/* Tells the guardian the server's pid (what 's') or the process group of
 * the command running now ('c'); 0: none left to kill. */
static void tell_guardian(char what, pid_t pid)
{
	if (guard_fd >= 0)
		dprintf(guard_fd, "%c %d\n", what, (int)pid);
}

/* capture's tick: tells the guardian the command's process group, and
 * samples the server's OS thread count into *max_threads (when not NULL)
 * every 500 ms from a second after the start. */
struct sampler {
	long *max_threads;
	long long next_sample;
	pid_t told;
};

static void sample_server(pid_t pid, void *arg)
{
	struct sampler *s = arg;
	if (s->told != pid) {
		tell_guardian('c', pid);
		s->told = pid;
	}
	long long now = now_ns(CLOCK_MONOTONIC);
	if (s->max_threads && now >= s->next_sample) {
		long n = threads_of(server);
		if (n > *s->max_threads)
			*s->max_threads = n;
		s->next_sample = now + 500 * MS;
	}
}

/* Runs argv in a process group of its own (a timeout kills what it started
 * too) with stdout into a pipe (stderr stays ours); returns its output,
 * *status its exit status or -1 when it was killed after timeout_ms (or at
 * the end of the budget).  While it runs, the server's OS thread count is
 * sampled into *max_threads when that is not NULL. */
static char *capture(const char *label, char *const argv[], long long timeout_ms, int *status,
		     long *max_threads)
{
	long long t0 = now_ns(CLOCK_MONOTONIC);
	struct sampler s = { max_threads, t0 + 1000 * MS, 0 };
	char *buf = run_capture(&(struct runcmd){ .argv = argv, .fd = 1, .own_group = 1,
						  .deadline = deadline_after(timeout_ms, start_ns +
										      BUDGET_MS * MS),
						  .wake_ms = 250, .tick = sample_server, .arg = &s },
				status);
	tell_guardian('c', 0);
	double secs = (now_ns(CLOCK_MONOTONIC) - t0) / 1e9;
	if (*status == -1)
		fprintf(stderr, "real_mariadb: %s: killed after %.1f s (%.1f s since start)\n", label,
			secs, since_start_ms() / 1e3);
	else
		fprintf(stderr, "real_mariadb: %s: %.2f s\n", label, secs);
	failures += report_status("real_mariadb", label, *status, buf);
	return buf;
}

/* A client command over TCP; returns its output (caller frees). */
static char *sql(const char *label, const char *query, long long timeout_ms, int *status)
{
	char port_arg[32];
	snprintf(port_arg, sizeof port_arg, "--port=%s", port_s);
	return capture(label, (char *[]){ "mariadb", "--no-defaults", "--protocol=TCP",
					  "--host=127.0.0.1", port_arg, "--user=root",
					  "--connect-timeout=5", "--batch", "--skip-column-names",
					  "-e", (char *)query, NULL },
		       timeout_ms, status, NULL);
}

static char *sysbench(const char *label, const char *cmd, long long timeout_ms, int *status,
		      long *max_threads)
{
	char port_arg[32];
	snprintf(port_arg, sizeof port_arg, "--mysql-port=%s", port_s);
	return capture(label, (char *[]){ "sysbench", "oltp_read_write", "--db-driver=mysql",
					  "--mysql-host=127.0.0.1", port_arg, "--mysql-user=root",
					  "--tables=2", "--table-size=2000", "--threads=16",
					  "--time=5", "--report-interval=0", (char *)cmd, NULL },
		       timeout_ms, status, max_threads);
}

/* A free loopback port: bind port 0 and see what the kernel gave. */
static int free_port(void)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 ||
	    getsockname(s, (struct sockaddr *)&a, &len) != 0)
		die("finding a free port");
	close(s);
	return ntohs(a.sin_port);
}

/* The guardian: sh reading server pids from a pipe until EOF (this
 * program gone), then killing the last one given and removing dir. */
static void start_guardian(void)
{
	static const char script[] =
		"s=0; c=0; while read w n; do [ \"$w\" = s ] && s=$n; [ \"$w\" = c ] && c=$n; done\n"
		"[ \"$c\" -gt 0 ] && kill -9 -- \"-$c\" 2>/dev/null\n"
		"if [ \"$s\" -gt 0 ]; then kill -9 \"$s\" 2>/dev/null; n=0\n"
		"  while kill -0 \"$s\" 2>/dev/null && [ $n -lt 50 ]; do sleep 0.1; n=$((n+1)); done\n"
		"fi\n"
		"rm -rf \"$1\"\n";
	int p[2];
	if (pipe(p) != 0)
		die("pipe");
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		setpgid(0, 0);
		dup2(p[0], 0);
		close(p[0]);
		close(p[1]);
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		execl("/bin/sh", "sh", "-c", script, "real_mariadb-guardian", dir, (char *)NULL);
		_exit(127);
	}
	close(p[0]);
	guard_fd = p[1];
	fcntl(guard_fd, F_SETFD, FD_CLOEXEC);
}

/* InnoDB's I/O: the default, io_uring, unless REAL_MARIADB_SIMULATED_AIO=1
 * asks for simulated AIO (its own threads doing pread/pwrite; see the
 * top).  NULL ends the argument list early, leaving the default. */
static char *aio_arg(void)
{
	const char *v = getenv("REAL_MARIADB_SIMULATED_AIO");
	return v && strcmp(v, "1") == 0 ? "--innodb-use-native-aio=0" : NULL;
}

static void show_errlog(void)
{
	FILE *f = fopen(errlog, "r");
	char line[1024];
	if (!f)
		return;
	fprintf(stderr, "real_mariadb: mariadbd's error log:\n");
	while (fgets(line, sizeof line, f))
		fprintf(stderr, "  %s", line);
	fclose(f);
}

static void start_server(const char *user)
{
	char a_datadir[320], a_socket[320], a_pid[320], a_err[320], a_port[32], a_user[300];
	snprintf(a_datadir, sizeof a_datadir, "--datadir=%s", datadir);
	snprintf(a_socket, sizeof a_socket, "--socket=%s", sockpath);
	snprintf(a_pid, sizeof a_pid, "--pid-file=%s", pidpath);
	snprintf(a_err, sizeof a_err, "--log-error=%s", errlog);
	snprintf(a_port, sizeof a_port, "--port=%s", port_s);
	snprintf(a_user, sizeof a_user, "--user=%s", user);
	char *argv[] = { SERVER, "--no-defaults", a_datadir, a_socket, a_pid, a_err, a_port,
			 "--bind-address=127.0.0.1", a_user, "--skip-log-bin",
			 "--skip-name-resolve", "--innodb-buffer-pool-size=16M",
			 "--innodb-log-file-size=8M", "--max-connections=64", aio_arg(), NULL };
	fflush(NULL);
	server = fork();
	if (server < 0)
		die("fork");
	if (server == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		execv(SERVER, argv);
		_exit(127);
	}
	tell_guardian('s', server);
}

/* Waits (at most 20 s) until SELECT 1 works; 1 when it does. */
static int wait_ready(void)
{
	long long t0 = now_ns(CLOCK_MONOTONIC);
	while (since_start_ms() < BUDGET_MS && now_ns(CLOCK_MONOTONIC) - t0 < 20000 * MS) {
		if (!server_alive())
			return 0;
		/* a cheap probe first: connect() to the port */
		int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(port_s)),
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		int up = connect(s, (struct sockaddr *)&a, sizeof a) == 0;
		close(s);
		if (up) {
			int st, saved = failures;
			char *out = sql("probe SELECT 1", "SELECT 1", 5000, &st);
			failures = saved; /* a failed probe is just "not yet" */
			int ok = st == 0 && strcmp(out, "1\n") == 0;
			free(out);
			if (ok) {
				fprintf(stderr, "real_mariadb: mariadbd ready after %.2f s\n",
					(now_ns(CLOCK_MONOTONIC) - t0) / 1e9);
				return 1;
			}
		}
		struct timespec nap = { 0, 100 * MS };
		nanosleep(&nap, NULL);
	}
	return 0;
}

/* mariadb-admin shutdown, then wait for the server; SIGKILL after 15 s. */
static void stop_server(void)
{
	if (server <= 0)
		return;
	char a_port[32];
	int st;
	snprintf(a_port, sizeof a_port, "--port=%s", port_s);
	free(capture("mariadb-admin shutdown",
		     (char *[]){ "mariadb-admin", "--no-defaults", "--protocol=TCP",
				 "--host=127.0.0.1", a_port, "--user=root", "--connect-timeout=5",
				 "shutdown", NULL },
		     15000, &st, NULL));
	printf("mariadb-admin shutdown: status %d\n", st);
	long long t0 = now_ns(CLOCK_MONOTONIC), until = t0 + 15000 * MS;
	if (until > start_ns + (BUDGET_MS + 2000) * MS)
		until = start_ns + (BUDGET_MS + 2000) * MS;
	pid_t r;
	int wst = 0;
	while ((r = waitpid(server, &wst, WNOHANG)) == 0 && now_ns(CLOCK_MONOTONIC) < until) {
		struct timespec nap = { 0, 50 * MS };
		nanosleep(&nap, NULL);
	}
	if (r == 0) {
		fprintf(stderr, "real_mariadb: mariadbd still running %.1f s after shutdown: SIGKILL\n",
			(now_ns(CLOCK_MONOTONIC) - t0) / 1e9);
		kill(server, SIGKILL);
		waitpid(server, &wst, 0);
		printf("mariadbd: killed, did not stop\n");
		failures++;
	} else if (r == server) {
		fprintf(stderr, "real_mariadb: mariadbd stopped %.2f s after shutdown\n",
			(now_ns(CLOCK_MONOTONIC) - t0) / 1e9);
		if (WIFEXITED(wst))
			printf("mariadbd: exit status %d\n", WEXITSTATUS(wst));
		else
			printf("mariadbd: signal %d\n", WTERMSIG(wst));
		if (!WIFEXITED(wst) || WEXITSTATUS(wst) != 0)
			failures++;
	}
	server = -1;
	tell_guardian('s', 0);
}

/* "NAME: N" of sysbench's report, -1 when missing. */
static long stat_of(const char *out, const char *name)
{
	const char *s = strstr(out, name);
	return s ? atol(s + strlen(name)) : -1;
}

static void run_all(void)
{
	int st;
	char *out;
	struct passwd *pw = getpwuid(geteuid());
	const char *user = pw ? pw->pw_name : "root";
	char a_datadir[320], a_user[300];

	snprintf(a_datadir, sizeof a_datadir, "--datadir=%s", datadir);
	snprintf(a_user, sizeof a_user, "--user=%s", user);
	out = capture("mariadb-install-db",
		      (char *[]){ "mariadb-install-db", "--no-defaults",
				  "--auth-root-authentication-method=normal", a_datadir, a_user,
				  "--skip-test-db", "--skip-name-resolve",
				  "--innodb-buffer-pool-size=16M", "--innodb-log-file-size=8M",
				  aio_arg(), NULL },
		      20000, &st, NULL);
	printf("mariadb-install-db: status %d\n", st);
	free(out);
	if (st != 0)
		return;

	snprintf(port_s, sizeof port_s, "%d", free_port());
	start_server(user);
	int ready = wait_ready();
	printf("mariadbd: accepts connections: %s\n", yesno(ready));
	if (!ready) {
		failures++; /* main shows the error log */
		return;
	}
	fprintf(stderr, "real_mariadb: mariadbd has libgreenshim mapped: %s, OS threads idle: %ld\n",
		yesno(has_shim_mapped(server) == 1), threads_of(server));

	free(sql("create database", "CREATE DATABASE sbtest", 10000, &st));
	printf("create database sbtest: status %d\n", st);
	if (st != 0)
		return;
	free(sysbench("sysbench prepare", "prepare", 20000, &st, NULL));
	printf("sysbench prepare: status %d\n", st);
	if (st != 0)
		return;
	out = sql("count rows",
		  "SELECT COUNT(*) FROM sbtest.sbtest1; SELECT COUNT(*) FROM sbtest.sbtest2", 10000,
		  &st);
	long a = -1, b = -1;
	sscanf(out, "%ld %ld", &a, &b);
	printf("rows: sbtest1 %ld, sbtest2 %ld (status %d)\n", a, b, st);
	if (a != 2000 || b != 2000)
		failures++;
	free(out);

	long max_threads = -1;
	out = sysbench("sysbench run", "run", 20000, &st, &max_threads);
	fprintf(stderr, "mariadbd OS threads: %ld (most seen while sysbench ran)\n", max_threads);
	long ignored = stat_of(out, "ignored errors:"), reconnects = stat_of(out, "reconnects:");
	long transactions = stat_of(out, "transactions:");
	fprintf(stderr, "real_mariadb: sysbench run: transactions %ld, ignored errors %ld, "
			"reconnects %ld\n", transactions, ignored, reconnects);
	printf("sysbench run: status %d, reconnects 0: %s, transactions done: %s\n", st,
	       yesno(reconnects == 0), yesno(transactions > 0));
	if (reconnects != 0 || transactions <= 0) {
		fprintf(stderr, "real_mariadb: sysbench run's output:\n%s", out);
		failures++;
	}
	free(out);
	int alive = server_alive();
	out = sql("ping after run", "SELECT 1", 10000, &st);
	printf("mariadbd still up after the run: %s\n", yesno(alive && st == 0 && !strcmp(out, "1\n")));
	free(out);
	free(sysbench("sysbench cleanup", "cleanup", 20000, &st, NULL));
	printf("sysbench cleanup: status %d\n", st);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	start_ns = now_ns(CLOCK_MONOTONIC);
	static const char *need[][2] = { { SERVER, "mariadb-server" },
					 { "mariadb-install-db", "mariadb-server" },
					 { "mariadb", "mariadb-client" },
					 { "mariadb-admin", "mariadb-client" },
					 { "sysbench", "sysbench" } };
	if (missing_programs("real_mariadb", need, sizeof need / sizeof need[0], ""))
		return 1;

	make_tmpdir(dir, sizeof dir, "real_mariadb");
	snprintf(datadir, sizeof datadir, "%s/data", dir);
	snprintf(sockpath, sizeof sockpath, "%s/mysqld.sock", dir);
	snprintf(pidpath, sizeof pidpath, "%s/mysqld.pid", dir);
	snprintf(errlog, sizeof errlog, "%s/error.log", dir);
	start_guardian();

	run_all();
	if (failures)
		show_errlog();
	stop_server();

	/* The guardian removes the directory once our pipe closes; wait for
	 * that (bounded) so that "removed" is known before we exit. */
	close(guard_fd);
	long long t0 = now_ns(CLOCK_MONOTONIC);
	struct stat sb;
	while (stat(dir, &sb) == 0 && now_ns(CLOCK_MONOTONIC) - t0 < 5000 * MS) {
		struct timespec nap = { 0, 20 * MS };
		nanosleep(&nap, NULL);
	}
	int removed = stat(dir, &sb) != 0;
	printf("temp directory removed: %s\n", yesno(removed));
	fprintf(stderr, "real_mariadb: %.2f s in all\n", since_start_ms() / 1e3);
	return failures || !removed ? 1 : 0;
}
