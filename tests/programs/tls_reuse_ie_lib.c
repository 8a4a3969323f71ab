/* Not a program: libtls_reuse_ie.so, which tls_reuse dlopens after
 * closing libtls_dso_ie.so: another initial-exec variable, so dlopen puts
 * it in static TLS (maybe where the closed library's block was), with
 * another initial value. */
__thread int ie2_var __attribute__((tls_model("initial-exec"))) = 99;

int ie2_get(void) { return ie2_var; }
void ie2_set(int v) { ie2_var = v; }
