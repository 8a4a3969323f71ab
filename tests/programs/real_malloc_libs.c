/*
 * real_malloc_libs — programs whose malloc is jemalloc or tcmalloc rather
 * than glibc's.  Those allocators lock pthread mutexes, create pthread
 * keys, set key values and open files through syscall(2) while they
 * initialise, from inside the first malloc; a shim that mallocs in those
 * calls recurses into an allocator that is not ready (found: the shim did,
 * and jemalloc recursed until the stack ran out, then registered its fork
 * handlers twice and deadlocked in fork).
 *
 * In its parent role (no argument) the program re-runs itself as
 * "/proc/self/exe child" and runs ls and a sort with threads, each with
 * the allocator library appended to the LD_PRELOAD it was given (nothing
 * natively, the shim in the preload runs), once per allocator, and prints
 * what they printed and how they ended.  The child role:
 * - says which library its malloc comes from (dladdr), so that the test
 *   cannot pass on glibc's malloc by mistake;
 * - forks before it has threads, from one of its threads while the others
 *   allocate, and after joining them; each fork child allocates (the one
 *   from a thread in threads of its own) and exits with a known status;
 * - runs 64 threads in 32 pairs: each churns through malloc, calloc,
 *   realloc, posix_memalign and aligned_alloc of sizes from 1 byte to
 *   5 MiB, keeping blocks live out of order and checking their contents;
 *   hands buffers to its partner under a mutex and condvar (so blocks are
 *   freed by another thread than the one that allocated them); sends
 *   256 KiB through a pipe to its partner, in malloc'd chunks; and leaves
 *   malloc'd values in two pthread keys, whose destructors free them (one
 *   sets a new value once, so it runs twice).
 * Everything printed is fixed by the program (sizes come from a generator
 * seeded per thread), so the three runs print the same.
 *
 * A missing allocator library fails the test up front (exit 2), naming
 * its Debian package (.ci/install-deps installs them): the test never
 * passes by skipping.  The paths are Debian's for x86_64, the one
 * architecture the shim supports.  Each command is killed after 8 s, all
 * of them together get at most 18 s, so that the program ends inside the
 * runner's 20 s with a message naming the one that hung.  (ls lists
 * /usr/include/linux/netfilter, which linux-libc-dev, a dependency of
 * build-essential, installs.)
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "runcmd.h"

#define PROG "real_malloc_libs"

/* An allocator the program is run with. */
struct allocator {
	const char *name;    /* printed */
	const char *path;    /* appended to LD_PRELOAD */
	const char *package; /* the Debian package that has path */
};

static const struct allocator allocators[] = {
	{ "jemalloc", "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2", "libjemalloc2" },
	{ "tcmalloc", "/usr/lib/x86_64-linux-gnu/libtcmalloc.so.4", "libgoogle-perftools4" },
	{ "tcmalloc_minimal", "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4",
	  "libtcmalloc-minimal4" },
};
#define N_ALLOCATORS (sizeof allocators / sizeof allocators[0])

/* ---- the child role: a workload on whatever malloc it was given ---- */

#define PAIRS 32
#define THREADS (2 * PAIRS)
#define ROUNDS 300           /* buffers each thread hands to its partner */
#define CHURN_OPS 2000       /* churn calls per thread (besides frees) */
#define LIVE 16              /* blocks a churning thread keeps */
#define PIPE_BYTES (256 * 1024) /* sent through each pair's pipe */

static const size_t small_sizes[] = { 1,    7,    16,    24,    40,    64,    100,
				      255,  512,  1000,  2048,  4000,  8192,  16384,
				      40000, 65536, 131072, 300000 };
static const size_t big_sizes[] = { 1 << 20, 3 << 20, 5 << 20 };
#define N_SMALL (sizeof small_sizes / sizeof small_sizes[0])
#define N_BIG (sizeof big_sizes / sizeof big_sizes[0])

static uint32_t next(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

/* The byte a block with this seed holds at index i. */
static unsigned char pattern(unsigned seed, size_t i) { return (unsigned char)(seed + i * 31); }

/* The next index of a block of n bytes that fill and bad_bytes touch
 * after i: every byte of a small block; of a bigger one the first and
 * last 256 and one in each 4 KiB between (every page), in each 64 KiB of
 * a block of 1 MiB or more. */
static size_t step(size_t i, size_t n)
{
	if (n <= 4096 || i < 255 || i + 1 >= n - 256)
		return i + 1;
	size_t stride = n < (1 << 20) ? 4096 : 65536;
	size_t next = (i | (stride - 1)) + 1;
	return next < n - 256 ? next : n - 256;
}

static void fill(unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i = step(i, n))
		p[i] = pattern(seed, i);
}

/* How many of the touched bytes below `upto` of a block of n bytes do not
 * hold the pattern (zero instead with seed -1). */
static long bad_bytes(const unsigned char *p, size_t n, int seed, size_t upto)
{
	long bad = 0;
	for (size_t i = 0; i < n && i < upto; i = step(i, n))
		bad += p[i] != (seed < 0 ? 0 : pattern((unsigned)seed, i));
	return bad;
}

/* What one churn run did. */
struct churn {
	long calls;   /* allocator calls */
	long long asked; /* bytes asked for */
	long bad;     /* bytes or alignments found wrong */
	long failed;  /* calls that returned NULL or an error */
};

/* ops allocator calls (and the frees they need) of sizes and kinds from a
 * generator seeded by seed, added up in *c; LIVE blocks stay live between
 * calls, big ones are freed at once, all are freed at the end. */
static void churn(uint32_t seed, int ops, struct churn *c)
{
	struct {
		unsigned char *p;
		size_t n;
		unsigned seed;
	} live[LIVE] = { { 0 } };
	uint32_t s = seed;
	for (int op = 0; op < ops; op++) {
		int k = next(&s) % LIVE;
		size_t n = op % 50 == 49 ? big_sizes[next(&s) % N_BIG] : small_sizes[next(&s) % N_SMALL];
		unsigned bseed = next(&s) & 0xff;
		unsigned char *p = NULL;
		c->calls++;
		c->asked += n;
		if (live[k].p && op % 5 == 0) { /* realloc keeps the prefix */
			p = realloc(live[k].p, n);
			if (!p) {
				c->failed++;
				continue;
			}
			c->bad += bad_bytes(p, live[k].n, (int)live[k].seed, n);
			live[k].p = NULL;
			bseed = live[k].seed;
		} else {
			if (live[k].p) {
				c->bad += bad_bytes(live[k].p, live[k].n, (int)live[k].seed, SIZE_MAX);
				free(live[k].p);
				live[k].p = NULL;
				c->calls++;
			}
			switch (op % 5) {
			case 1:
				p = malloc(n);
				break;
			case 2:
				p = calloc(n, 1);
				if (p)
					c->bad += bad_bytes(p, n, -1, SIZE_MAX);
				break;
			case 3: {
				size_t align = next(&s) % 2 ? 64 : 4096;
				void *q;
				if (posix_memalign(&q, align, n) == 0) {
					p = q;
					c->bad += ((uintptr_t)p & (align - 1)) != 0;
				}
				break;
			}
			default:
				n = (n + 255) & ~(size_t)255; /* a multiple of the alignment */
				p = aligned_alloc(256, n);
				c->bad += ((uintptr_t)p & 255) != 0;
				break;
			}
			if (!p) {
				c->failed++;
				continue;
			}
		}
		fill(p, n, bseed);
		if (n >= big_sizes[0]) { /* big blocks do not stay */
			c->bad += bad_bytes(p, n, (int)bseed, SIZE_MAX);
			free(p);
			c->calls++;
			continue;
		}
		live[k].p = p;
		live[k].n = n;
		live[k].seed = bseed;
	}
	for (int k = 0; k < LIVE; k++)
		if (live[k].p) {
			c->bad += bad_bytes(live[k].p, live[k].n, (int)live[k].seed, SIZE_MAX);
			free(live[k].p);
			c->calls++;
		}
}

/* Two threads that hand each other buffers and pipe bytes. */
struct pair {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned char *box[2]; /* box[side]: a buffer for that side, or NULL */
	size_t len[2];         /* its size */
	unsigned seed[2];      /* its pattern's seed */
	int pipe[2];           /* side 0 writes, side 1 reads */
};

/* What one thread did, printed by main after the joins. */
struct worker {
	int pair, side;
	struct churn churn;
	long long handed;    /* bytes received from the partner */
	long hand_bad;       /* of them not as sent */
	long long piped;     /* bytes through the pipe */
	long pipe_bad;       /* of them not as sent */
	int fork_status;     /* the thread that forks: its child's exit status */
};

static struct pair pairs[PAIRS];
static struct worker workers[THREADS];
static pthread_key_t k_free, k_again;
static atomic_int freed_values, again_first, again_second;

static void free_value(void *v)
{
	free(v);
	atomic_fetch_add(&freed_values, 1);
}

/* The first call sets a new value (so that it is called again), the
 * second frees it. */
static void again(void *v)
{
	int *gen = v;
	if (*gen == 1) {
		int *more = malloc(sizeof *more);
		if (!more)
			die("malloc");
		*more = 2;
		pthread_setspecific(k_again, more);
		atomic_fetch_add(&again_first, 1);
	} else {
		atomic_fetch_add(&again_second, 1);
	}
	free(v);
}

static void put(struct pair *p, int to, unsigned char *buf, size_t n, unsigned seed)
{
	pthread_mutex_lock(&p->mu);
	while (p->box[to])
		pthread_cond_wait(&p->cv, &p->mu);
	p->box[to] = buf;
	p->len[to] = n;
	p->seed[to] = seed;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

static unsigned char *take(struct pair *p, int side, size_t *n, unsigned *seed)
{
	pthread_mutex_lock(&p->mu);
	while (!p->box[side])
		pthread_cond_wait(&p->cv, &p->mu);
	unsigned char *buf = p->box[side];
	*n = p->len[side];
	*seed = p->seed[side];
	p->box[side] = NULL;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return buf;
}

/* The byte at offset off of pair's pipe stream. */
static unsigned char piped_byte(int pair, long long off) { return (unsigned char)(off * 7 + pair); }

static void pipe_send(struct worker *w, int fd)
{
	uint32_t s = 77 + w->pair;
	for (long long off = 0; off < PIPE_BYTES;) {
		size_t n = small_sizes[next(&s) % N_SMALL];
		if (n > (size_t)(PIPE_BYTES - off))
			n = PIPE_BYTES - off;
		unsigned char *buf = malloc(n);
		if (!buf)
			die("malloc");
		for (size_t i = 0; i < n; i++)
			buf[i] = piped_byte(w->pair, off + i);
		for (size_t done = 0; done < n;) {
			ssize_t k = write(fd, buf + done, n - done);
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0)
				die("write to the pipe");
			done += k;
		}
		free(buf);
		off += n;
	}
}

static void pipe_receive(struct worker *w, int fd)
{
	uint32_t s = 99 + w->pair;
	while (w->piped < PIPE_BYTES) {
		size_t n = small_sizes[next(&s) % N_SMALL];
		unsigned char *buf = malloc(n);
		if (!buf)
			die("malloc");
		ssize_t k = read(fd, buf, n);
		if (k < 0 && errno == EINTR) {
			free(buf);
			continue;
		}
		if (k <= 0)
			die("read from the pipe");
		for (ssize_t i = 0; i < k; i++)
			w->pipe_bad += buf[i] != piped_byte(w->pair, w->piped + i);
		w->piped += k;
		free(buf);
	}
}

static void *forked_churn(void *arg)
{
	struct churn c = { 0 };
	churn((uint32_t)(uintptr_t)arg, 300, &c);
	return (void *)(intptr_t)(c.bad == 0 && c.failed == 0);
}

/* Forks; the child allocates (in `threads` threads of its own too, when
 * not 0) and exits with 40 plus the number of them whose blocks were
 * right, or 1.  Returns the child's exit status (see exit_code). */
static int fork_and_allocate(uint32_t seed, int threads)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		struct churn c = { 0 };
		churn(seed, 500, &c);
		if (c.bad || c.failed)
			_exit(1);
		pthread_t t[8];
		int ok = 0;
		for (int i = 0; i < threads; i++)
			if (pthread_create(&t[i], NULL, forked_churn, (void *)(uintptr_t)(seed + i)) != 0)
				_exit(1);
		for (int i = 0; i < threads; i++) {
			void *r;
			pthread_join(t[i], &r);
			ok += r != NULL;
		}
		_exit(40 + ok);
	}
	return exit_code(reap(pid));
}

static void *work(void *arg)
{
	struct worker *w = arg;
	struct pair *p = &pairs[w->pair];
	int id = 2 * w->pair + w->side;

	int *gen = malloc(sizeof *gen);
	char *value = malloc(1000 + id);
	if (!gen || !value)
		die("malloc");
	*gen = 1;
	memset(value, id, 1000 + id);
	must(pthread_setspecific(k_free, value), "pthread_setspecific");
	must(pthread_setspecific(k_again, gen), "pthread_setspecific");

	uint32_t s = 1000 + id;
	for (int r = 0; r < ROUNDS; r++) {
		size_t n = small_sizes[next(&s) % (N_SMALL - 3)];
		unsigned seed = next(&s) & 0xff;
		unsigned char *buf = malloc(n);
		if (!buf)
			die("malloc");
		fill(buf, n, seed);
		put(p, !w->side, buf, n, seed);
		size_t got;
		unsigned got_seed;
		buf = take(p, w->side, &got, &got_seed);
		w->hand_bad += bad_bytes(buf, got, (int)got_seed, SIZE_MAX);
		w->handed += got;
		free(buf);
		if (id == 0 && r == ROUNDS / 2)
			w->fork_status = fork_and_allocate(4242, 4);
		if (r % 10 == 0)
			churn(s + r, CHURN_OPS / (ROUNDS / 10), &w->churn);
	}
	if (w->side == 0)
		pipe_send(w, p->pipe[1]);
	else
		pipe_receive(w, p->pipe[0]);
	return NULL;
}

/* The file name of the library the program's malloc comes from. */
static const char *malloc_library(void)
{
	Dl_info info;
	void *f = dlsym(RTLD_DEFAULT, "malloc");
	if (!f || !dladdr(f, &info) || !info.dli_fname)
		return "?";
	const char *slash = strrchr(info.dli_fname, '/');
	return slash ? slash + 1 : info.dli_fname;
}

static int child(void)
{
	printf("malloc from: %s\n", malloc_library());
	printf("fork before threads: child status %d\n", fork_and_allocate(11, 0));

	must(pthread_key_create(&k_free, free_value), "pthread_key_create");
	must(pthread_key_create(&k_again, again), "pthread_key_create");
	for (int i = 0; i < PAIRS; i++) {
		must(pthread_mutex_init(&pairs[i].mu, NULL), "pthread_mutex_init");
		must(pthread_cond_init(&pairs[i].cv, NULL), "pthread_cond_init");
		if (pipe2(pairs[i].pipe, O_CLOEXEC) != 0)
			die("pipe2");
	}
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++) {
		workers[i] = (struct worker){ .pair = i / 2, .side = i % 2, .fork_status = -1 };
		must(pthread_create(&t[i], NULL, work, &workers[i]), "pthread_create");
	}
	for (int i = 0; i < THREADS; i++)
		must(pthread_join(t[i], NULL), "pthread_join");

	struct churn c = { 0 };
	long long handed = 0, piped = 0;
	long hand_bad = 0, pipe_bad = 0;
	for (int i = 0; i < THREADS; i++) {
		c.calls += workers[i].churn.calls;
		c.asked += workers[i].churn.asked;
		c.bad += workers[i].churn.bad;
		c.failed += workers[i].churn.failed;
		handed += workers[i].handed;
		hand_bad += workers[i].hand_bad;
		piped += workers[i].piped;
		pipe_bad += workers[i].pipe_bad;
	}
	printf("threads: %d joined\n", THREADS);
	printf("churn: %ld allocator calls, %lld bytes asked for, %ld wrong, %ld failed\n",
	       c.calls, c.asked, c.bad, c.failed);
	printf("handed between partners: %d buffers, %lld bytes, %ld wrong\n", THREADS * ROUNDS,
	       handed, hand_bad);
	printf("through %d pipes: %lld bytes, %ld wrong\n", PAIRS, piped, pipe_bad);
	printf("fork from a thread (its child with 4 threads): child status %d\n",
	       workers[0].fork_status);
	printf("key destructors: freeing %d, re-setting %d then freeing %d\n",
	       atomic_load(&freed_values), atomic_load(&again_first), atomic_load(&again_second));
	printf("fork after joining: child status %d\n", fork_and_allocate(12, 2));
	int ok = c.bad == 0 && c.failed == 0 && hand_bad == 0 && pipe_bad == 0 &&
		 piped == (long long)PAIRS * PIPE_BYTES && workers[0].fork_status == 44 &&
		 atomic_load(&freed_values) == THREADS && atomic_load(&again_first) == THREADS &&
		 atomic_load(&again_second) == THREADS;
	return ok ? 0 : 1;
}

/* ---- the parent role ---- */

static long long start_ns;
static int failures;

/* Runs argv with LD_PRELOAD the one given to us plus a->path, stdout into
 * a pipe, killed after 8 s; returns its output (caller frees), *status as
 * run_capture's, and counts a failure when it is not 0. */
static char *run_with(const struct allocator *a, const char *label, char *const argv[],
		      int *status)
{
	const char *given = getenv("LD_PRELOAD");
	char *saved = given ? strdup(given) : NULL, preload[4096];
	snprintf(preload, sizeof preload, "%s%s%s", saved && *saved ? saved : "",
		 saved && *saved ? " " : "", a->path);
	setenv("LD_PRELOAD", preload, 1);
	char *out = run_capture(&(struct runcmd){ .argv = argv, .fd = 1,
						  .deadline = deadline_after(8000, start_ns + 18000 * MS) },
				status);
	if (saved)
		setenv("LD_PRELOAD", saved, 1);
	else
		unsetenv("LD_PRELOAD");
	free(saved);
	if (*status == -1)
		fprintf(stderr, PROG ": %s %s: killed, no end of output after %.1f s\n", a->name,
			label, (now_ns(CLOCK_MONOTONIC) - start_ns) / 1e9);
	char what[128];
	snprintf(what, sizeof what, "%s %s", a->name, label);
	if (report_status(PROG, what, *status, out))
		failures++;
	return out;
}

/* Prints a command's status, its line count, first and last lines and an
 * FNV-1a hash of all of it. */
static void summarise(const struct allocator *a, const char *label, char *const argv[])
{
	int st;
	char *out = run_with(a, label, argv, &st);
	uint32_t h = 2166136261u;
	long lines = 0;
	for (const char *c = out; *c; c++) {
		h = (h ^ (unsigned char)*c) * 16777619u;
		lines += *c == '\n';
	}
	size_t first = strcspn(out, "\n");
	const char *last = out;
	for (const char *c = out; *c; c++)
		if (c[0] == '\n' && c[1])
			last = c + 1;
	printf("%s %s: status %d, %ld lines, first \"%.*s\", last \"%.*s\", fnv1a %08x\n",
	       a->name, label, st, lines, (int)first, out, (int)strcspn(last, "\n"), last, h);
	if (st == 0 && lines == 0) {
		fprintf(stderr, PROG ": %s %s printed nothing\n", a->name, label);
		failures++;
	}
	free(out);
}

static void run_allocator(const struct allocator *a)
{
	int st;
	char *out = run_with(a, "child", (char *[]){ "/proc/self/exe", "child", NULL }, &st);
	char want[256];
	const char *lib = strrchr(a->path, '/') + 1;
	snprintf(want, sizeof want, "malloc from: %s\n", lib);
	if (st == 0 && strncmp(out, want, strlen(want)) != 0) {
		fprintf(stderr, PROG ": %s: the child's malloc does not come from %s; its output:\n%s",
			a->name, lib, out);
		failures++;
	}
	printf("%s child: status %d\n", a->name, st);
	for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n"))
		printf("%s child: %s\n", a->name, line);
	free(out);

	summarise(a, "ls -l", (char *[]){ "ls", "-l", "/usr/include/linux/netfilter", NULL });
	summarise(a, "sort --parallel=4",
		  (char *[]){ "sh", "-c", "seq 1 300000 | sort --parallel=4 -S 64M -r", NULL });
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "child") == 0)
		return child();
	setvbuf(stdout, NULL, _IOLBF, 0);
	start_ns = now_ns(CLOCK_MONOTONIC);
	int missing = 0;
	for (size_t i = 0; i < N_ALLOCATORS; i++)
		if (access(allocators[i].path, R_OK) != 0) {
			fprintf(stderr, PROG ": %s not found: install the Debian package %s "
					"(bash .ci/install-deps does)\n",
				allocators[i].path, allocators[i].package);
			missing++;
		}
	if (missing)
		return 2;
	for (size_t i = 0; i < N_ALLOCATORS; i++)
		run_allocator(&allocators[i]);
	return failures ? 1 : 0;
}
