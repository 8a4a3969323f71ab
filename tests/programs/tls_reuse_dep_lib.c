/* Not a program: libtls_reuse_dep.so, which tls_reuse dlopens (global)
 * and leaves untouched: its variable has dynamic TLS (the default model)
 * until libtls_reuse_user.so, loaded next, refers to it with the
 * initial-exec model, and glibc moves it into static TLS then. */
__thread int dep_var = 55;

int dep_get(void) { return dep_var; }
void dep_set(int v) { dep_var = v; }
void *dep_addr(void) { return &dep_var; }
