/* A library whose thread-local variable uses the initial-exec model, so
 * dlopen places it in static TLS (tls_review loads it after its threads
 * exist).  Not a program: built by its own Makefile rule. */
__thread int ie_var __attribute__((tls_model("initial-exec"))) = 42;

int ie_get(void)
{
	return ie_var;
}

void ie_set(int v)
{
	ie_var = v;
}
