/*
 * tls_dso — not a program: the shared library libtls_dso.so that tls_vars
 * dlopen()s at run time (the Makefile builds it from this file; the
 * runner's table check skips it).
 *
 * A module loaded by dlopen gets its TLS dynamically: each thread's block
 * is allocated on its first access, through __tls_get_addr and that
 * thread's DTV (dynamic thread vector), which glibc also has to bring up
 * to date with the modules loaded since the thread started.  So these
 * variables are per green thread only when each green thread has its own
 * DTV; with one DTV per OS thread every green thread sees the same block.
 * Built -fPIC with the default (global-dynamic) TLS model on purpose.
 */
__thread long tls_dso_tdata = 77; /* .tdata: every thread starts at 77 */
__thread long tls_dso_tbss;       /* .tbss: every thread starts at 0 */

long tls_dso_initial(void) { return tls_dso_tdata; }

void tls_dso_set(long v)
{
	tls_dso_tdata = v;
	tls_dso_tbss = -v;
}

/* 1 if both variables still hold what tls_dso_set(v) stored */
int tls_dso_check(long v) { return tls_dso_tdata == v && tls_dso_tbss == -v; }

/* the calling thread's copy (compared between threads, never printed) */
void *tls_dso_addr(void) { return &tls_dso_tbss; }
