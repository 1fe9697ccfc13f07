// SPDX-License-Identifier: GPL-2.0
/*
 * Checks of the test tooling itself, runnable anywhere: the asserts compare
 * mixed signed/unsigned values by their mathematical value, failing asserts
 * really fail, and observation logs report any difference. A comparison
 * test that could never fail would prove nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "observations.h"

/* Runs body in a forked child with output silenced; returns its status. */
static int run_silenced(void (*body)(void))
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		if (!freopen("/dev/null", "w", stdout))
			_exit(99);
		body();
		_exit(0);
	}
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	return status;
}

static void expect_failure(void (*body)(void), const char *what)
{
	int status = run_silenced(body);

	if (!WIFEXITED(status) || WEXITSTATUS(status) != 1)
		FAIL("'%s' did not fail the test (status 0x%x)", what, status);
}

TEST_NAMED(compare_mixed_signedness, "selftest.compare_mixed_signedness",
	   TEST_DEFAULT_TIMEOUT_S)
{
	unsigned int u_max = 0xffffffffu;
	uint64_t big = UINT64_MAX;
	int minus_one = -1;

	ASSERT_NE(minus_one, u_max);
	ASSERT_LT(minus_one, u_max);
	ASSERT_LT(minus_one, 0u);
	ASSERT_GT(big, minus_one);
	ASSERT_EQ(5, 5u);
	ASSERT_EQ((uint8_t)200, 200);
	ASSERT_LE(-5L, -5);
	ASSERT_GE((short)-3, -4LL);
}

static void assert_eq_minus_one_u32_max(void)
{
	int minus_one = -1;

	ASSERT_EQ(minus_one, 0xffffffffu);
}

static void assert_ok_negative_errno(void)
{
	ASSERT_OK(-22);
}

static void assert_mem_eq_different(void)
{
	char a[8] = "abcdefg", b[8] = "abcdefG";

	ASSERT_MEM_EQ(a, b, sizeof(a));
}

static void assert_true_false(void)
{
	ASSERT_TRUE(1 == 2);
}

TEST_NAMED(failing_asserts_fail, "selftest.failing_asserts_fail",
	   TEST_DEFAULT_TIMEOUT_S)
{
	expect_failure(assert_eq_minus_one_u32_max, "ASSERT_EQ(-1, 0xffffffff)");
	expect_failure(assert_ok_negative_errno, "ASSERT_OK(-22)");
	expect_failure(assert_mem_eq_different, "ASSERT_MEM_EQ on different");
	expect_failure(assert_true_false, "ASSERT_TRUE(1 == 2)");
}

static void fill(struct observation_log *log, uint32_t value, const char *key,
		 int extra)
{
	uint32_t bytes[4] = { 1, 2, value, 4 };

	obs_init(log);
	obs_result(log, -22, "an error");
	obs_bytes(log, bytes, sizeof(bytes), "%s", key);
	obs_u64(log, value, "a value");
	for (int i = 0; i < extra; i++)
		obs_result(log, 0, "extra %d", i);
}

/* obs_equal prints its finding; keep it out of the TAP stream's way. */
static bool equal_quietly(const struct observation_log *a,
			  const struct observation_log *b)
{
	bool equal;

	fflush(stdout);
	int saved = dup(STDOUT_FILENO);
	FILE *null = fopen("/dev/null", "w");

	ASSERT_TRUE(saved >= 0 && null != NULL);
	dup2(fileno(null), STDOUT_FILENO);
	equal = obs_equal(a, "a", b, "b");
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	fclose(null);
	return equal;
}

TEST_NAMED(observations_find_differences, "selftest.observations_differ",
	   TEST_DEFAULT_TIMEOUT_S)
{
	struct observation_log a, b;

	fill(&a, 3, "bytes", 0);
	fill(&b, 3, "bytes", 0);
	ASSERT_TRUE(equal_quietly(&a, &b));
	obs_free(&b);

	fill(&b, 7, "bytes", 0);
	ASSERT_FALSE(equal_quietly(&a, &b));
	obs_free(&b);

	fill(&b, 3, "other key", 0);
	ASSERT_FALSE(equal_quietly(&a, &b));
	obs_free(&b);

	fill(&b, 3, "bytes", 1);
	ASSERT_FALSE(equal_quietly(&a, &b));
	ASSERT_FALSE(equal_quietly(&b, &a));
	obs_free(&b);
	obs_free(&a);
}
