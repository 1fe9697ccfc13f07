/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small kselftest-style test harness that prints TAP 13.
 *
 * Each TEST() body runs in its own forked child so that a failed assert, a
 * crash or a hang ends only that test. Asserts are fail-fast: they print
 * file:line, both expressions, both values and errno, run the test's
 * cleanups and end the child.
 *
 * The harness provides main(); a test file only defines TESTs. Tests run in
 * the order they appear in the file.
 */
#ifndef TESTS_LIB_HARNESS_H
#define TESTS_LIB_HARNESS_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TEST_DEFAULT_TIMEOUT_S 120

struct test_case {
	const char *name;
	void (*body)(void);
	unsigned int timeout_s;
	struct test_case *next;
};

void test_register(struct test_case *test);
int test_harness_main(int argc, char **argv);

/* Define a test named like its C identifier. */
#define TEST(ident) TEST_NAMED(ident, #ident, TEST_DEFAULT_TIMEOUT_S)

/* Define a test with its own timeout in seconds. */
#define TEST_TIMEOUT(ident, seconds) TEST_NAMED(ident, #ident, seconds)

/* Define a test whose printed name is not a C identifier ("edu.config"). */
#define TEST_NAMED(ident, display_name, seconds)                             \
	static void test_body_##ident(void);                                  \
	static struct test_case test_case_##ident = {                         \
		.name = display_name,                                         \
		.body = test_body_##ident,                                    \
		.timeout_s = seconds,                                         \
	};                                                                    \
	__attribute__((constructor)) static void test_register_##ident(void)  \
	{                                                                     \
		test_register(&test_case_##ident);                            \
	}                                                                     \
	static void test_body_##ident(void)

/*
 * Cleanups run in reverse order when the test ends in any way the child can
 * still act on: normal return, failed assert, SKIP, timeout or a crash
 * signal. A cleanup returning a negative value fails the test, so a test that
 * cannot put the machine back the way it found it is reported.
 */
typedef int (*test_cleanup_fn)(void *arg);
void test_add_cleanup(test_cleanup_fn fn, void *arg, const char *what);

/* A "# "-prefixed TAP diagnostic line. */
void test_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* End the test as skipped, with a reason that goes onto its TAP line. */
#define SKIP(...) test_skip(__VA_ARGS__)
void test_skip(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

/* End the test as failed after printing a message with file:line. */
#define FAIL(...) test_fail(__FILE__, __LINE__, __VA_ARGS__)
void test_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));

/* --- integer comparison asserts --------------------------------------- */

/*
 * A value remembers whether its type was signed so that comparisons are
 * mathematically right for any mix of signed and unsigned operands (no
 * -Wsign-compare surprises, -1 is never equal to 0xffffffff).
 */
struct test_value {
	bool is_signed;
	uintmax_t bits;
};

enum test_op { TEST_OP_EQ, TEST_OP_NE, TEST_OP_LT, TEST_OP_LE, TEST_OP_GT,
	       TEST_OP_GE };

/* Integer promotion ("+ 0") maps char/short/bool/enum to int or unsigned. */
#define TEST_IS_SIGNED(x)                                                    \
	_Generic((x) + 0, int: true, long: true, long long: true,            \
		 default: false)

#define TEST_VALUE(x)                                                        \
	((struct test_value){ .is_signed = TEST_IS_SIGNED(x),                 \
			      .bits = (uintmax_t)(x) })

bool test_compare(struct test_value a, enum test_op op, struct test_value b);
void test_fail_compare(const char *file, int line, const char *a_expr,
		       const char *op_text, const char *b_expr,
		       struct test_value a, struct test_value b, int saved_errno)
	__attribute__((noreturn));

#define TEST_ASSERT_OP(a, op, op_text, b)                                    \
	do {                                                                  \
		__auto_type test_a_ = (a);                                    \
		__auto_type test_b_ = (b);                                    \
		int test_errno_ = errno;                                      \
		struct test_value test_va_ = TEST_VALUE(test_a_);             \
		struct test_value test_vb_ = TEST_VALUE(test_b_);             \
		if (!test_compare(test_va_, op, test_vb_))                    \
			test_fail_compare(__FILE__, __LINE__, #a, op_text,    \
					  #b, test_va_, test_vb_,             \
					  test_errno_);                       \
	} while (0)

#define ASSERT_EQ(a, b) TEST_ASSERT_OP(a, TEST_OP_EQ, "==", b)
#define ASSERT_NE(a, b) TEST_ASSERT_OP(a, TEST_OP_NE, "!=", b)
#define ASSERT_LT(a, b) TEST_ASSERT_OP(a, TEST_OP_LT, "<", b)
#define ASSERT_LE(a, b) TEST_ASSERT_OP(a, TEST_OP_LE, "<=", b)
#define ASSERT_GT(a, b) TEST_ASSERT_OP(a, TEST_OP_GT, ">", b)
#define ASSERT_GE(a, b) TEST_ASSERT_OP(a, TEST_OP_GE, ">=", b)

/* --- boolean, errno and memory asserts -------------------------------- */

void test_fail_bool(const char *file, int line, const char *expr,
		    bool expected, int saved_errno) __attribute__((noreturn));

#define TEST_ASSERT_BOOL(expr, expected)                                     \
	do {                                                                  \
		bool test_v_ = (expr);                                        \
		int test_errno_ = errno;                                      \
		if (test_v_ != (expected))                                    \
			test_fail_bool(__FILE__, __LINE__, #expr, expected,   \
				       test_errno_);                          \
	} while (0)

#define ASSERT_TRUE(expr) TEST_ASSERT_BOOL(expr, true)
#define ASSERT_FALSE(expr) TEST_ASSERT_BOOL(expr, false)

void test_fail_ok(const char *file, int line, const char *expr,
		  intmax_t value, int saved_errno) __attribute__((noreturn));

/*
 * expr must be >= 0. Works both for libc calls (-1 + errno) and for
 * functions that return a negative errno; the message shows both readings.
 */
#define ASSERT_OK(expr)                                                      \
	do {                                                                  \
		intmax_t test_r_ = (intmax_t)(expr);                          \
		int test_errno_ = errno;                                      \
		if (test_r_ < 0)                                              \
			test_fail_ok(__FILE__, __LINE__, #expr, test_r_,      \
				     test_errno_);                            \
	} while (0)

void test_fail_mem(const char *file, int line, const char *a_expr,
		   const char *b_expr, const void *a, const void *b,
		   size_t len, size_t first_diff) __attribute__((noreturn));

/* Returns the first offset where a and b differ, or len if none. */
size_t test_mem_first_diff(const void *a, const void *b, size_t len);

#define ASSERT_MEM_EQ(a, b, len)                                             \
	do {                                                                  \
		const void *test_pa_ = (a);                                   \
		const void *test_pb_ = (b);                                   \
		size_t test_len_ = (len);                                     \
		size_t test_d_ =                                              \
			test_mem_first_diff(test_pa_, test_pb_, test_len_);   \
		if (test_d_ != test_len_)                                     \
			test_fail_mem(__FILE__, __LINE__, #a, #b, test_pa_,   \
				      test_pb_, test_len_, test_d_);          \
	} while (0)

/* Print a hex dump as TAP diagnostics, labelled. */
void test_hexdump(const char *label, const void *data, size_t len);

#endif
