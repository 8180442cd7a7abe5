/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small kselftest-style harness. TEST(name) registers a case; each case runs in a forked
 * child so that a crash fails one case, not the suite. Output is TAP 13.
 *
 *   ASSERT_*  fails the case and stops it.
 *   EXPECT_*  fails the case and goes on.
 *   SKIP(fmt) ends the case as skipped, with the reason.
 *   FAIL(fmt) fails the case with the reason and stops it.
 *
 * One argument order throughout: ASSERT_EQ(expected, seen).
 */
#ifndef PG_HARNESS_H
#define PG_HARNESS_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

struct pg_test {
	const char *name;
	void (*fn)(void);
	struct pg_test *next;
};

static struct pg_test *pg_tests, **pg_tests_tail = &pg_tests;
static int pg_test_failed;
/* The child writes its skip reason here before exiting with PG_EXIT_SKIP. */
static int pg_test_skip_fd = -1;

#define PG_EXIT_FAIL 1
#define PG_EXIT_SKIP 4

static inline void pg_test_register(struct pg_test *t)
{
	*pg_tests_tail = t;
	pg_tests_tail = &t->next;
}

#define TEST(name)                                                                       \
	static void name(void);                                                          \
	static struct pg_test pg_test_##name = { #name, name, NULL };                    \
	__attribute__((constructor)) static void pg_test_reg_##name(void)                \
	{                                                                                \
		pg_test_register(&pg_test_##name);                                        \
	}                                                                                \
	static void name(void)

static inline void pg_test_skip(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (pg_test_skip_fd >= 0 && write(pg_test_skip_fd, buf, strlen(buf)) < 0)
		exit(PG_EXIT_FAIL);
	exit(PG_EXIT_SKIP);
}

#define SKIP(...) pg_test_skip(__VA_ARGS__)

#define PG_FAIL_AT(abort, ...)                                                           \
	do {                                                                             \
		printf("# %s:%d: ", __FILE__, __LINE__);                                 \
		printf(__VA_ARGS__);                                                     \
		printf("\n");                                                            \
		fflush(stdout);                                                          \
		pg_test_failed = 1;                                                      \
		if (abort)                                                               \
			exit(PG_EXIT_FAIL);                                              \
	} while (0)

#define FAIL(...) PG_FAIL_AT(1, __VA_ARGS__)

#define PG_CMP_INT(abort, exp, seen, op)                                                 \
	do {                                                                             \
		long long _e = (long long)(exp), _s = (long long)(seen);                 \
		if (!(_e op _s))                                                         \
			PG_FAIL_AT(abort, "expected %s (%lld) " #op " %s (%lld)", #exp,   \
				   _e, #seen, _s);                                        \
	} while (0)

#define ASSERT_EQ(e, s) PG_CMP_INT(1, e, s, ==)
#define ASSERT_NE(e, s) PG_CMP_INT(1, e, s, !=)
#define ASSERT_LT(e, s) PG_CMP_INT(1, e, s, <)
#define ASSERT_LE(e, s) PG_CMP_INT(1, e, s, <=)
#define ASSERT_GT(e, s) PG_CMP_INT(1, e, s, >)
#define ASSERT_GE(e, s) PG_CMP_INT(1, e, s, >=)
#define EXPECT_EQ(e, s) PG_CMP_INT(0, e, s, ==)
#define EXPECT_NE(e, s) PG_CMP_INT(0, e, s, !=)
#define EXPECT_GT(e, s) PG_CMP_INT(0, e, s, >)
#define EXPECT_GE(e, s) PG_CMP_INT(0, e, s, >=)
#define ASSERT_TRUE(c) PG_CMP_INT(1, 1, !!(c), ==)
#define ASSERT_FALSE(c) PG_CMP_INT(1, 0, !!(c), ==)
#define EXPECT_TRUE(c) PG_CMP_INT(0, 1, !!(c), ==)
#define EXPECT_FALSE(c) PG_CMP_INT(0, 0, !!(c), ==)

#define PG_CMP_STR(abort, exp, seen)                                                     \
	do {                                                                             \
		const char *_e = (exp), *_s = (seen);                                    \
		if (!_s || strcmp(_e, _s) != 0)                                          \
			PG_FAIL_AT(abort, "expected \"%s\", seen \"%s\"", _e,             \
				   _s ? _s : "(null)");                                   \
	} while (0)

#define ASSERT_STREQ(e, s) PG_CMP_STR(1, e, s)
#define EXPECT_STREQ(e, s) PG_CMP_STR(0, e, s)

/* Run every registered case (or those named in argv), print TAP 13, return the exit code. */
static inline int pg_test_main(int argc, char **argv)
{
	struct pg_test *t;
	int n = 0, i = 0, failed = 0;

	for (t = pg_tests; t; t = t->next)
		n++;
	printf("TAP version 13\n1..%d\n", n);
	fflush(stdout);
	for (t = pg_tests; t; t = t->next) {
		char reason[512] = "";
		int fds[2], status = 0, wanted = argc < 2;
		ssize_t len;
		pid_t pid;

		i++;
		for (int a = 1; a < argc; a++)
			wanted |= !strcmp(argv[a], t->name);
		if (!wanted) {
			printf("ok %d %s # SKIP not selected\n", i, t->name);
			continue;
		}
		if (pipe(fds) < 0) {
			perror("pipe");
			return 1;
		}
		fflush(stdout);
		pid = fork();
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0) {
			close(fds[0]);
			pg_test_skip_fd = fds[1];
			t->fn();
			fflush(stdout);
			exit(pg_test_failed ? PG_EXIT_FAIL : 0);
		}
		close(fds[1]);
		len = read(fds[0], reason, sizeof(reason) - 1);
		reason[len > 0 ? len : 0] = '\0';
		close(fds[0]);
		waitpid(pid, &status, 0);
		if (WIFEXITED(status) && WEXITSTATUS(status) == PG_EXIT_SKIP) {
			printf("ok %d %s # SKIP %s\n", i, t->name, reason);
		} else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			printf("ok %d %s\n", i, t->name);
		} else {
			if (WIFSIGNALED(status))
				printf("# %s: killed by signal %d\n", t->name, WTERMSIG(status));
			printf("not ok %d %s\n", i, t->name);
			failed++;
		}
		fflush(stdout);
	}
	return failed ? 1 : 0;
}

#define TEST_MAIN()                                                                      \
	int main(int argc, char **argv)                                                  \
	{                                                                                \
		return pg_test_main(argc, argv);                                         \
	}

#endif /* PG_HARNESS_H */
