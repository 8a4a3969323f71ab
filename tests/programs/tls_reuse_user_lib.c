/* Not a program: libtls_reuse_user.so, which refers to libtls_reuse_dep.so's
 * variable with the initial-exec model (a TPOFF relocation: dlopen gives
 * that variable static TLS, without a TLS segment of this library's own). */
extern __thread int dep_var __attribute__((tls_model("initial-exec")));

int user_get(void) { return dep_var; }
void *user_addr(void) { return &dep_var; }
