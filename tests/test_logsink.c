// SPDX-License-Identifier: GPL-2.0
/*
 * Log sinks: JSON Lines with size-based rotation and mode 0600, write failures counted (never
 * silent), RFC 5424 records, and a real rsyslogd receiving them on a private socket.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "output/logsink.h"

static void tmpdir(char *dir, size_t size)
{
	snprintf(dir, size, "/tmp/pg-logsink.XXXXXX");
	ASSERT_TRUE(mkdtemp(dir) != NULL);
}

static void rmtree(const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		printf("# failed to remove %s\n", dir);
}

static char *slurp(const char *path)
{
	static char buf[65536];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* A record of exactly 50 bytes with its newline: {"event_type":"violation","n":NNNNNNNNNNNNNNN} */
static void record(char *buf, int n)
{
	snprintf(buf, 64, "{\"event_type\":\"violation\",\"n\":%018d}", n);
	ASSERT_EQ(49, (int)strlen(buf));
}

static void expect_records(const char *path, int first, int last)
{
	char want[4096] = "", rec[64];

	for (int i = first; i <= last; i++) {
		record(rec, i);
		strcat(want, rec);
		strcat(want, "\n");
	}
	ASSERT_TRUE(slurp(path) != NULL);
	ASSERT_STREQ(want, slurp(path));
}

TEST(rotation_keeps_n_files_of_whole_records)
{
	struct pg_logsink_opts o = { .max_size = 200, .keep = 2 };
	char dir[64], path[128], p1[140], p2[140], p3[140], rec[64];
	struct stat st;

	tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/events.json", dir);
	snprintf(p1, sizeof(p1), "%s.1", path);
	snprintf(p2, sizeof(p2), "%s.2", path);
	snprintf(p3, sizeof(p3), "%s.3", path);
	o.file = path;
	umask(022);
	ASSERT_EQ(0, pg_logsink_open(&o));
	/* 4 records of 50 bytes fill 200 bytes; the 5th rotates. 14 records: 1-4 fall off
	 * the end (keep 2), 5-8 in .2, 9-12 in .1, 13-14 in the live file. */
	for (int i = 1; i <= 14; i++) {
		record(rec, i);
		pg_logsink_write(rec);
	}
	ASSERT_EQ(14, pg_logsink_stats()->written[PG_SINK_FILE]);
	ASSERT_EQ(0, pg_logsink_stats()->failed[PG_SINK_FILE]);
	ASSERT_EQ(3, pg_logsink_stats()->rotations);
	pg_logsink_close();
	expect_records(path, 13, 14);
	expect_records(p1, 9, 12);
	expect_records(p2, 5, 8);
	ASSERT_EQ(-1, access(p3, F_OK));
	ASSERT_EQ(0, stat(path, &st));
	ASSERT_EQ(0600, st.st_mode & 07777);
	ASSERT_EQ(0, stat(p1, &st));
	ASSERT_EQ(0600, st.st_mode & 07777);

	/* Reopened, it appends to what is there and keeps rotating at the same size. */
	ASSERT_EQ(0, pg_logsink_open(&o));
	for (int i = 15; i <= 17; i++) {
		record(rec, i);
		pg_logsink_write(rec);
	}
	pg_logsink_close();
	expect_records(path, 17, 17);
	expect_records(p1, 13, 16);
	expect_records(p2, 9, 12);
	rmtree(dir);
}

TEST(keep_zero_starts_over_and_max_size_zero_never_rotates)
{
	struct pg_logsink_opts o = { .max_size = 100, .keep = 0 };
	char dir[64], path[128], p1[140], rec[64];

	tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/e.json", dir);
	snprintf(p1, sizeof(p1), "%s.1", path);
	o.file = path;
	ASSERT_EQ(0, pg_logsink_open(&o));
	for (int i = 1; i <= 5; i++) {
		record(rec, i);
		pg_logsink_write(rec);
	}
	pg_logsink_close();
	expect_records(path, 5, 5);
	ASSERT_EQ(-1, access(p1, F_OK));

	ASSERT_EQ(0, unlink(path));
	o.max_size = 0;
	ASSERT_EQ(0, pg_logsink_open(&o));
	for (int i = 1; i <= 10; i++) {
		record(rec, i);
		pg_logsink_write(rec);
	}
	ASSERT_EQ(0, pg_logsink_stats()->rotations);
	pg_logsink_close();
	expect_records(path, 1, 10);
	rmtree(dir);
}

TEST(write_failures_are_counted_and_reported)
{
	struct pg_logsink_opts o = { .file = "/dev/full", .max_size = 0 };
	char rec[64], err[4096];
	int fds[2], saved;
	ssize_t n;

	/* /dev/full fails every write with ENOSPC: the file sink of a full disk. */
	ASSERT_EQ(0, pipe(fds));
	saved = dup(2);
	dup2(fds[1], 2);
	ASSERT_EQ(0, pg_logsink_open(&o));
	for (int i = 1; i <= 3; i++) {
		record(rec, i);
		pg_logsink_write(rec);
	}
	ASSERT_EQ(0, pg_logsink_stats()->written[PG_SINK_FILE]);
	ASSERT_EQ(3, pg_logsink_stats()->failed[PG_SINK_FILE]);
	pg_logsink_close();
	dup2(saved, 2);
	close(fds[1]);
	n = read(fds[0], err, sizeof(err) - 1);
	err[n > 0 ? n : 0] = '\0';
	/* Reported once when the outage starts, and the total at close. */
	ASSERT_TRUE(strstr(err, "failed to write log record to /dev/full: No space left on "
				"device") != NULL);
	ASSERT_TRUE(strstr(err, "3 log records could not be written to /dev/full") != NULL);
	ASSERT_TRUE(strstr(strstr(err, "failed to write") + 1, "failed to write") == NULL);

	/* A log file that cannot be created fails at open, naming it. */
	o.file = "/nonexistent-dir/events.json";
	ASSERT_EQ(-ENOENT, pg_logsink_open(&o));
}

TEST(syslog_records_are_rfc5424)
{
	char buf[1024], host[256] = "", want[512];
	int n;

	n = pg_syslog_format("{\"event_type\":\"violation\",\"x\":1}\n", buf, sizeof(buf));
	ASSERT_LT(0, n);
	ASSERT_EQ(0, gethostname(host, sizeof(host) - 1));
	/* <daemon.warning>1 TIMESTAMP HOST portguard PID violation - MSG */
	ASSERT_TRUE(!strncmp(buf, "<28>1 20", 8));
	ASSERT_EQ('Z', buf[6 + 26]);
	snprintf(want, sizeof(want), "Z %s portguard %d violation - {\"event_type\":\"violation\","
				     "\"x\":1}", host, (int)getpid());
	ASSERT_STREQ(want, buf + 6 + 26);
	n = pg_syslog_format("{\"event_type\":\"start\"}", buf, sizeof(buf));
	ASSERT_TRUE(!strncmp(buf, "<30>1 ", 6)); /* daemon.info */
	ASSERT_TRUE(strstr(buf, " portguard ") && strstr(buf, " start - {"));
	ASSERT_EQ(-ENOSPC, pg_syslog_format("{\"event_type\":\"start\"}", buf, 20));
}

TEST(syslog_to_a_socket_and_failures_when_it_is_gone)
{
	struct pg_logsink_opts o = { .syslog = true };
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char dir[64], buf[1024];
	int fd, saved, devnull;
	ssize_t n;

	tmpdir(dir, sizeof(dir));
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/log", dir);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, bind(fd, (struct sockaddr *)&sun, sizeof(sun)));
	o.syslog_path = sun.sun_path;
	ASSERT_EQ(0, pg_logsink_open(&o));
	pg_logsink_write("{\"event_type\":\"violation\",\"n\":1}");
	n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	ASSERT_LT(0, n);
	buf[n] = '\0';
	ASSERT_TRUE(strstr(buf, " violation - {\"event_type\":\"violation\",\"n\":1}") != NULL);
	ASSERT_EQ(1, pg_logsink_stats()->written[PG_SINK_SYSLOG]);

	/* The daemon goes away: records are lost, and counted. */
	close(fd);
	unlink(sun.sun_path);
	devnull = open("/dev/null", O_WRONLY);
	saved = dup(2);
	dup2(devnull, 2);
	pg_logsink_write("{\"event_type\":\"violation\",\"n\":2}");
	pg_logsink_write("{\"event_type\":\"violation\",\"n\":3}");
	ASSERT_EQ(2, pg_logsink_stats()->failed[PG_SINK_SYSLOG]);
	/* It comes back (a restart): the next record reconnects. */
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	ASSERT_EQ(0, bind(fd, (struct sockaddr *)&sun, sizeof(sun)));
	pg_logsink_write("{\"event_type\":\"violation\",\"n\":4}");
	n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	ASSERT_LT(0, n);
	buf[n] = '\0';
	ASSERT_TRUE(strstr(buf, "\"n\":4}") != NULL);
	ASSERT_EQ(2, pg_logsink_stats()->written[PG_SINK_SYSLOG]);
	pg_logsink_close();
	dup2(saved, 2);
	close(fd);
	rmtree(dir);
}

TEST(rsyslog_receives_the_records)
{
	char dir[64], conf[128], sock[128], out[128], pidf[128], work[128], cmd[256], want[256];
	struct pg_logsink_opts o = { .syslog = true };
	const char *text = NULL;
	char host[256] = "";
	pid_t pid;
	FILE *f;

	if (access("/usr/sbin/rsyslogd", X_OK))
		SKIP("rsyslogd not installed (make deps)");
	if (geteuid() != 0)
		SKIP("needs root to run rsyslogd");
	tmpdir(dir, sizeof(dir));
	snprintf(conf, sizeof(conf), "%s/rsyslog.conf", dir);
	snprintf(sock, sizeof(sock), "%s/log.sock", dir);
	snprintf(out, sizeof(out), "%s/received.log", dir);
	snprintf(pidf, sizeof(pidf), "%s/rsyslogd.pid", dir);
	snprintf(work, sizeof(work), "%s/work", dir);
	ASSERT_EQ(0, mkdir(work, 0700));
	f = fopen(conf, "w");
	ASSERT_TRUE(f != NULL);
	/* Our own socket only (not /dev/log), parsed as RFC 5424 (the special local parser
	 * would rewrite the header), written field by field so that the test sees what a
	 * collector sees. */
	fprintf(f,
		"global(workDirectory=\"%s\")\n"
		"module(load=\"imuxsock\" SysSock.Use=\"off\")\n"
		"input(type=\"imuxsock\" Socket=\"%s\" UseSpecialParser=\"off\" "
		"ParseHostname=\"on\" RateLimit.Interval=\"0\")\n"
		"template(name=\"fields\" type=\"string\" "
		"string=\"%%pri%%|%%hostname%%|%%app-name%%|%%procid%%|%%msgid%%|%%msg%%\\n\")\n"
		"action(type=\"omfile\" file=\"%s\" template=\"fields\")\n",
		work, sock, out);
	fclose(f);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);

		dup2(devnull, 0);
		dup2(devnull, 1);
		dup2(devnull, 2);
		execl("/usr/sbin/rsyslogd", "rsyslogd", "-n", "-f", conf, "-i", pidf, NULL);
		_exit(127);
	}
	for (int i = 0; i < 100 && access(sock, F_OK); i++)
		usleep(100000);
	if (access(sock, F_OK)) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
		rmtree(dir);
		PG_FAIL_AT(1, "rsyslogd did not create %s within 10 s", sock);
	}
	o.syslog_path = sock;
	ASSERT_EQ(0, pg_logsink_open(&o));
	pg_logsink_write("{\"event_type\":\"start\",\"mode\":\"enforce\"}");
	pg_logsink_write("{\"event_type\":\"violation\",\"dest_port\":5432}");
	pg_logsink_write("{\"event_type\":\"violation\",\"dest_port\":9999}");
	ASSERT_EQ(3, pg_logsink_stats()->written[PG_SINK_SYSLOG]);
	ASSERT_EQ(0, pg_logsink_stats()->failed[PG_SINK_SYSLOG]);
	pg_logsink_close();

	/* Bounded wait for rsyslog's omfile to flush the last of them. */
	for (int i = 0; i < 100; i++) {
		text = slurp(out);
		if (text && strstr(text, "9999"))
			break;
		usleep(100000);
	}
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	ASSERT_TRUE(text != NULL);
	gethostname(host, sizeof(host) - 1);
	snprintf(want, sizeof(want), "30|%s|portguard|%d|start|{\"event_type\":\"start\","
				     "\"mode\":\"enforce\"}\n", host, (int)getpid());
	if (!strstr(text, want))
		PG_FAIL_AT(1, "missing \"%s\" in:\n%s", want, text);
	snprintf(want, sizeof(want), "28|%s|portguard|%d|violation|{\"event_type\":\"violation\","
				     "\"dest_port\":5432}\n", host, (int)getpid());
	if (!strstr(text, want))
		PG_FAIL_AT(1, "missing \"%s\" in:\n%s", want, text);
	ASSERT_TRUE(strstr(text, "\"dest_port\":9999}") != NULL);
	snprintf(cmd, sizeof(cmd), "%s", dir);
	rmtree(cmd);
}

TEST_MAIN()
