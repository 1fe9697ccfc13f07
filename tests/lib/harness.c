// SPDX-License-Identifier: GPL-2.0
/*
 * Test runner behind harness.h: registration, forking, TAP output,
 * timeouts, cleanups and the assert failure printers.
 */
#include "harness.h"

#include <fnmatch.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

/* Exit codes of a test child, as in kselftest. */
#define CHILD_PASS 0
#define CHILD_FAIL 1
#define CHILD_SKIP 4

#define MAX_CLEANUPS 32
#define SKIP_REASON_LEN 512
/* Time a hung test's cleanups get before the child is killed outright. */
#define CLEANUP_GRACE_S 60

static struct test_case *tests_head;
static struct test_case **tests_tail = &tests_head;

/* Child-side state. */
static struct test_case *current_test;
static struct {
	test_cleanup_fn fn;
	void *arg;
	const char *what;
} cleanups[MAX_CLEANUPS];
static int cleanup_count;
static bool cleanup_failed;
/* Shared with the parent so that a SKIP reason reaches the TAP line. */
static char *skip_reason;

void test_register(struct test_case *test)
{
	/* Append so that tests run in the order they are written. */
	test->next = NULL;
	*tests_tail = test;
	tests_tail = &test->next;
}

void test_log(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

void test_add_cleanup(test_cleanup_fn fn, void *arg, const char *what)
{
	if (cleanup_count == MAX_CLEANUPS)
		test_fail(__FILE__, __LINE__, "too many cleanups (max %d)",
			  MAX_CLEANUPS);
	cleanups[cleanup_count].fn = fn;
	cleanups[cleanup_count].arg = arg;
	cleanups[cleanup_count].what = what;
	cleanup_count++;
}

/* Runs each cleanup once, newest first; safe to call again afterwards. */
static void run_cleanups(void)
{
	while (cleanup_count > 0) {
		cleanup_count--;
		int ret = cleanups[cleanup_count].fn(cleanups[cleanup_count].arg);

		if (ret < 0) {
			test_log("cleanup '%s' failed: %d (%s)",
				 cleanups[cleanup_count].what, ret,
				 strerror(-ret));
			cleanup_failed = true;
		}
	}
}

static __attribute__((noreturn)) void child_exit(int code)
{
	run_cleanups();
	if (cleanup_failed)
		code = CHILD_FAIL;
	fflush(stdout);
	fflush(stderr);
	_exit(code);
}

void test_skip(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(skip_reason, SKIP_REASON_LEN, fmt, ap);
	va_end(ap);
	child_exit(CHILD_SKIP);
}

static void print_errno(int saved_errno)
{
	printf("#   errno = %d (%s)\n", saved_errno, strerror(saved_errno));
}

void test_fail(const char *file, int line, const char *fmt, ...)
{
	int saved_errno = errno;
	va_list ap;

	printf("# %s:%d: ", file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	print_errno(saved_errno);
	child_exit(CHILD_FAIL);
}

/* Three-way comparison by mathematical value. */
static int value_order(struct test_value a, struct test_value b)
{
	bool a_negative = a.is_signed && (intmax_t)a.bits < 0;
	bool b_negative = b.is_signed && (intmax_t)b.bits < 0;

	if (a_negative != b_negative)
		return a_negative ? -1 : 1;
	if (a_negative) {
		intmax_t sa = (intmax_t)a.bits, sb = (intmax_t)b.bits;

		return sa < sb ? -1 : sa > sb;
	}
	return a.bits < b.bits ? -1 : a.bits > b.bits;
}

bool test_compare(struct test_value a, enum test_op op, struct test_value b)
{
	int order = value_order(a, b);

	switch (op) {
	case TEST_OP_EQ: return order == 0;
	case TEST_OP_NE: return order != 0;
	case TEST_OP_LT: return order < 0;
	case TEST_OP_LE: return order <= 0;
	case TEST_OP_GT: return order > 0;
	case TEST_OP_GE: return order >= 0;
	}
	return false;
}

static void print_value(const char *expr, struct test_value v)
{
	if (v.is_signed)
		printf("#   %s = %jd (0x%jx)\n", expr, (intmax_t)v.bits, v.bits);
	else
		printf("#   %s = %ju (0x%jx)\n", expr, v.bits, v.bits);
}

void test_fail_compare(const char *file, int line, const char *a_expr,
		       const char *op_text, const char *b_expr,
		       struct test_value a, struct test_value b, int saved_errno)
{
	printf("# %s:%d: assert failed: %s %s %s\n", file, line, a_expr,
	       op_text, b_expr);
	print_value(a_expr, a);
	print_value(b_expr, b);
	print_errno(saved_errno);
	child_exit(CHILD_FAIL);
}

void test_fail_bool(const char *file, int line, const char *expr,
		    bool expected, int saved_errno)
{
	printf("# %s:%d: assert failed: %s is %s, expected %s\n", file, line,
	       expr, expected ? "false" : "true", expected ? "true" : "false");
	print_errno(saved_errno);
	child_exit(CHILD_FAIL);
}

void test_fail_ok(const char *file, int line, const char *expr,
		  intmax_t value, int saved_errno)
{
	printf("# %s:%d: assert failed: %s >= 0\n", file, line, expr);
	printf("#   %s = %jd (0x%jx)\n", expr, value, (uintmax_t)value);
	/* -1 is libc's "see errno"; other small negatives are -errno. */
	if (value < -1 && value >= -4095)
		printf("#   as a negative errno: %s\n", strerror((int)-value));
	print_errno(saved_errno);
	child_exit(CHILD_FAIL);
}

size_t test_mem_first_diff(const void *a, const void *b, size_t len)
{
	const unsigned char *pa = a, *pb = b;
	size_t i;

	for (i = 0; i < len; i++)
		if (pa[i] != pb[i])
			break;
	return i;
}

/* Dumps data, labelling rows with offsets counted from base. */
static void hexdump_at(const char *label, const unsigned char *data,
		       size_t len, size_t base)
{
	for (size_t row = 0; row < len; row += 16) {
		printf("#   %s+0x%04zx:", label, base + row);
		for (size_t i = row; i < len && i < row + 16; i++)
			printf(" %02x", data[i]);
		putchar('\n');
	}
}

void test_hexdump(const char *label, const void *data, size_t len)
{
	hexdump_at(label, data, len, 0);
}

void test_fail_mem(const char *file, int line, const char *a_expr,
		   const char *b_expr, const void *a, const void *b,
		   size_t len, size_t first_diff)
{
	/* Show the 16-byte-aligned neighbourhood of the first difference. */
	size_t start = first_diff & ~(size_t)15;
	size_t shown = len - start < 32 ? len - start : 32;

	printf("# %s:%d: assert failed: %s and %s differ (length %zu), first at offset 0x%zx\n",
	       file, line, a_expr, b_expr, len, first_diff);
	hexdump_at(a_expr, (const unsigned char *)a + start, shown, start);
	hexdump_at(b_expr, (const unsigned char *)b + start, shown, start);
	child_exit(CHILD_FAIL);
}

static void on_fatal_signal(int sig)
{
	/*
	 * Not async-signal-safe, knowingly: the child is about to die anyway
	 * and putting devices back on their drivers matters more. A second
	 * alarm during cleanups kills the child (SA_RESETHAND).
	 */
	if (sig == SIGALRM)
		test_log("timeout: test ran longer than %u s",
			 current_test->timeout_s);
	alarm(CLEANUP_GRACE_S);
	run_cleanups();
	fflush(stdout);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void install_child_signals(void)
{
	static const int fatal[] = { SIGALRM, SIGSEGV, SIGBUS, SIGILL, SIGFPE,
				     SIGABRT };
	struct sigaction sa = { .sa_handler = on_fatal_signal,
				.sa_flags = SA_RESETHAND | SA_NODEFER };

	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		sigaction(fatal[i], &sa, NULL);
}

static __attribute__((noreturn)) void run_child(struct test_case *test)
{
	current_test = test;
	install_child_signals();
	alarm(test->timeout_s);
	test->body();
	child_exit(CHILD_PASS);
}

enum test_result { RESULT_PASS, RESULT_FAIL, RESULT_SKIP };

static enum test_result run_one(struct test_case *test, unsigned int number)
{
	int status;
	pid_t pid;

	printf("# RUN %s\n", test->name);
	fflush(stdout);
	skip_reason[0] = '\0';

	pid = fork();
	if (pid < 0) {
		printf("# fork failed: %s\n", strerror(errno));
		printf("not ok %u %s\n", number, test->name);
		return RESULT_FAIL;
	}
	if (pid == 0)
		run_child(test);

	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			printf("# waitpid failed: %s\n", strerror(errno));
			printf("not ok %u %s\n", number, test->name);
			return RESULT_FAIL;
		}
	}

	if (WIFEXITED(status) && WEXITSTATUS(status) == CHILD_PASS) {
		printf("ok %u %s\n", number, test->name);
		return RESULT_PASS;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == CHILD_SKIP) {
		/* A newline would end the TAP line early. */
		for (char *c = skip_reason; *c; c++)
			if (*c == '\n')
				*c = ' ';
		printf("ok %u %s # SKIP %s\n", number, test->name,
		       skip_reason[0] ? skip_reason : "(no reason given)");
		return RESULT_SKIP;
	}
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);

		if (sig == SIGALRM)
			printf("# %s timed out after %u s\n", test->name,
			       test->timeout_s);
		else
			printf("# %s killed by signal %d (SIG%s: %s)\n",
			       test->name, sig,
			       sigabbrev_np(sig) ? sigabbrev_np(sig) : "?",
			       strsignal(sig));
	} else if (WIFEXITED(status) && WEXITSTATUS(status) != CHILD_FAIL) {
		printf("# %s exited with unexpected status %d\n", test->name,
		       WEXITSTATUS(status));
	}
	printf("not ok %u %s\n", number, test->name);
	return RESULT_FAIL;
}

static bool selected(const struct test_case *test, char **patterns,
		     int pattern_count)
{
	if (pattern_count == 0)
		return true;
	for (int i = 0; i < pattern_count; i++)
		if (fnmatch(patterns[i], test->name, 0) == 0)
			return true;
	return false;
}

static void usage(const char *argv0)
{
	fprintf(stderr,
		"usage: %s [-l] [-t PATTERN]...\n"
		"  -l          list test names and exit\n"
		"  -t PATTERN  run only tests whose name matches the glob\n",
		argv0);
}

int test_harness_main(int argc, char **argv)
{
	char **patterns = calloc(argc > 0 ? argc : 1, sizeof(*patterns));
	int pattern_count = 0, opt;
	unsigned int total = 0, number = 0, failed = 0, skipped = 0;
	bool list = false;

	while ((opt = getopt(argc, argv, "lt:h")) != -1) {
		switch (opt) {
		case 'l':
			list = true;
			break;
		case 't':
			patterns[pattern_count++] = optarg;
			break;
		default:
			usage(argv[0]);
			return opt == 'h' ? 0 : 2;
		}
	}

	for (struct test_case *t = tests_head; t; t = t->next)
		if (selected(t, patterns, pattern_count))
			total++;

	if (list) {
		for (struct test_case *t = tests_head; t; t = t->next)
			if (selected(t, patterns, pattern_count))
				printf("%s\n", t->name);
		return 0;
	}

	/* Line buffering keeps our lines and the children's in order. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	skip_reason = mmap(NULL, SKIP_REASON_LEN, PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (skip_reason == MAP_FAILED) {
		perror("mmap");
		return 1;
	}

	printf("TAP version 13\n");
	printf("1..%u\n", total);
	for (struct test_case *t = tests_head; t; t = t->next) {
		if (!selected(t, patterns, pattern_count))
			continue;
		number++;
		switch (run_one(t, number)) {
		case RESULT_PASS:
			break;
		case RESULT_FAIL:
			failed++;
			break;
		case RESULT_SKIP:
			skipped++;
			break;
		}
	}
	printf("# Totals: pass:%u fail:%u skip:%u\n",
	       total - failed - skipped, failed, skipped);
	free(patterns);
	return failed ? 1 : 0;
}

/* Test files define only TESTs; this is their main. */
int main(int argc, char **argv)
{
	return test_harness_main(argc, argv);
}
