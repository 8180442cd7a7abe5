// SPDX-License-Identifier: GPL-2.0
/*
 * stderr as our stream of lines (output/stderr.h): text as printed, JSON records under --json
 * with the severity a line was printed with, the journal's priority prefix; lines whole across
 * partial writes; and the daemon's queue, which drops and counts rather than wait on a stderr
 * nobody reads.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "output/stderr.h"

static char buf[PG_STDERR_RENDERED];

static const char *render(const char *line, enum pg_severity sev, bool prefix, bool json)
{
	/* 2026-12-01T00:00:00Z */
	pg_stderr_render(line, strlen(line), sev, prefix, json, 1796083200000000000LL, buf,
			 sizeof(buf));
	return buf;
}

TEST(text_is_the_line_as_printed)
{
	ASSERT_STREQ("portguard: failed to x: y\n",
		     render("portguard: failed to x: y", PG_SEV_ERROR, false, false));
	ASSERT_STREQ("<5>portguard: took over\n",
		     render("portguard: took over", PG_SEV_NOTICE, true, false));
}

TEST(json_records_say_severity_and_escape_the_message)
{
	ASSERT_STREQ("{\"event_type\":\"diagnostic\",\"timestamp\":\"2026-12-01T00:00:00.000000Z\","
		     "\"severity\":\"error\",\"message\":\"a \\\"b\\\"\\tc\\u0001\"}\n",
		     render("portguard: a \"b\"\tc\x01", PG_SEV_ERROR, false, true));
	ASSERT_STREQ(
	    "<4>{\"event_type\":\"diagnostic\",\"timestamp\":\"2026-12-01T00:00:00.000000Z\","
	    "\"severity\":\"warning\",\"message\":\"eth9: awaited\"}\n",
	    render("portguard: eth9: awaited", PG_SEV_WARNING, true, true));
}

/* A line printed as an error may name its kind after the first ": ", as policy diagnostics
 * and "portguard: note:" do. */
TEST(a_policy_warning_is_a_warning_a_note_a_notice)
{
	render("/etc/p.policy:3:9: warning: set 'x' is defined but never used", PG_SEV_ERROR, true,
	       false);
	ASSERT_EQ(0, strncmp(buf, "<4>/etc/p.policy:3:9: warning:", 30));
	render("/etc/p.policy:4:1: error: port 70000 out of range (1-65535)", PG_SEV_ERROR, true,
	       false);
	ASSERT_EQ(0, strncmp(buf, "<3>", 3));
	render("portguard: note: the mode changed", PG_SEV_ERROR, true, false);
	ASSERT_EQ(0, strncmp(buf, "<5>", 3));
	/* The kind of a line printed as a notice is not taken from its text. */
	render("portguard: x: warning: y", PG_SEV_NOTICE, true, false);
	ASSERT_EQ(0, strncmp(buf, "<5>", 3));
}

TEST(a_line_too_long_is_cut_and_still_ends)
{
	static char line[3 * PG_STDERR_LINE];
	size_t n;

	memset(line, 'x', sizeof(line) - 1);
	n = pg_stderr_render(line, sizeof(line) - 1, PG_SEV_ERROR, false, false, 0, buf,
			     sizeof(buf));
	ASSERT_EQ(PG_STDERR_LINE, n);
	ASSERT_EQ('\n', buf[n - 1]);
	n = pg_stderr_render(line, sizeof(line) - 1, PG_SEV_ERROR, false, false, 0, buf, 64);
	ASSERT_EQ(63, n);
	ASSERT_EQ('\n', buf[n - 1]);
}

/* fd 2 a pipe of ours; stderr our stream. */
static int stderr_pipe(int fds[2])
{
	if (pipe2(fds, O_CLOEXEC) || dup2(fds[1], STDERR_FILENO) < 0)
		return -errno;
	close(fds[1]);
	return pg_stderr_open();
}

TEST(the_stream_writes_whole_lines_with_their_severity)
{
	int fds[2];
	ssize_t n;

	ASSERT_EQ(0, stderr_pipe(fds));
	pg_stderr_json(true);
	fprintf(stderr, "portguard: one ");
	fprintf(stderr, "line\n");
	pg_warning("portguard: two\n");
	fprintf(stderr, "portguard: th");
	fprintf(stderr, "ree\n");
	n = read(fds[0], buf, sizeof(buf) - 1);
	ASSERT_LT(0, n);
	buf[n] = '\0';
	ASSERT_TRUE(strstr(buf, "\"severity\":\"error\",\"message\":\"one line\"}\n") != NULL);
	ASSERT_TRUE(strstr(buf, "\"severity\":\"warning\",\"message\":\"two\"}\n") != NULL);
	ASSERT_TRUE(strstr(buf, "\"severity\":\"error\",\"message\":\"three\"}\n") != NULL);
}

/* The daemon's queue: stderr a pipe nobody reads. Printing goes on, lines are dropped and
 * counted; without the queue the first full pipe would hold this thread (the alarm says so). */
TEST(a_stderr_nobody_reads_drops_and_counts)
{
	char line[200];
	int fds[2];

	ASSERT_EQ(0, stderr_pipe(fds));
	ASSERT_EQ(0, pg_stderr_queue());
	memset(line, 'y', sizeof(line) - 2);
	line[sizeof(line) - 2] = '\n';
	line[sizeof(line) - 1] = '\0';
	alarm(20);
	for (size_t i = 0; i < 2 * PG_STDERR_BUFFER / sizeof(line); i++)
		fputs(line, stderr);
	alarm(0);
	ASSERT_LT(0, (long long)pg_stderr_dropped());
	pg_stderr_close(0);
}

TEST_MAIN()
