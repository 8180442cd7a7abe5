// SPDX-License-Identifier: GPL-2.0
/*
 * The Prometheus exporter: its exposition of a pinned state (summed over every CPU, the
 * generation in force only), its HTTP answers, and a real Prometheus server from Debian
 * scraping it and answering a query for the series.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "output/logsink.h"
#include "output/metrics.h"
#include "ops_pins.h"

static char *render(const char *dir)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ASSERT_TRUE(f != NULL);
	ASSERT_EQ(0, pg_metrics_render(dir, f, true));
	fclose(f);
	return buf;
}

/* The whole line "name{labels} value" appears in the exposition. */
static int has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)); p++)
		if ((p == text || p[-1] == '\n') && (p[n] == '\n' || !p[n]))
			return 1;
	return 0;
}

#define ASSERT_LINE(text, ...)                                                           \
	do {                                                                             \
		char _l[512];                                                            \
		snprintf(_l, sizeof(_l), __VA_ARGS__);                                   \
		if (!has_line(text, _l))                                                 \
			PG_FAIL_AT(1, "missing line \"%s\" in:\n%s", _l, text);           \
	} while (0)

TEST(render_sums_every_cpu_of_the_active_generation)
{
	struct ops_pins p;
	char *t;

	ops_pins_make(&p);
	t = render(p.dir);
	ASSERT_LINE(t, "portguard_policy_loaded 1");
	ASSERT_LINE(t, "portguard_rule_packets_total{rule=\"t.policy:3\",action=\"allow\"} %llu",
		    (unsigned long long)p.rule3_packets);
	ASSERT_LINE(t, "portguard_rule_bytes_total{rule=\"t.policy:3\",action=\"allow\"} %llu",
		    (unsigned long long)p.rule3_bytes);
	ASSERT_LINE(t, "portguard_rule_packets_total{rule=\"t.policy:4\",action=\"local\"} %llu",
		    (unsigned long long)p.rule4_packets);
	ASSERT_LINE(t, "portguard_rule_packets_total{rule=\"default in\",action=\"default\"} 0");
	ASSERT_LINE(t, "portguard_drops_total{reason=\"not-allowed\"} %llu",
		    (unsigned long long)p.notallowed_packets);
	ASSERT_LINE(t, "portguard_drops_total{reason=\"denied\"} 0");
	ASSERT_LINE(t, "portguard_events_suppressed_total{cause=\"ring_full\"} %llu",
		    (unsigned long long)p.ring_full);
	ASSERT_LINE(t, "portguard_events_suppressed_total{cause=\"budget\"} %llu",
		    (unsigned long long)p.budget);
	ASSERT_LINE(t, "portguard_events_suppressed_total{cause=\"rate_limited\"} 0");
	ASSERT_LINE(t, "portguard_policy_load_seconds 0.001500000");
	ASSERT_LINE(t, "portguard_policy_loaded_timestamp_seconds 1800000000");
	ASSERT_LINE(t, "portguard_policy_info{policy=\"/etc/portguard/t.policy\",sha256=\"%064d\","
		       "mode=\"enforce\"} 1", 7);
	ASSERT_LINE(t, "portguard_log_write_failures_total{sink=\"file\"} 0");
	/* The stale generation and the unused slot stay out. */
	ASSERT_TRUE(strstr(t, "stale.policy") == NULL);
	ASSERT_TRUE(strstr(t, "rule=\"\"") == NULL);
	free(t);
	ops_pins_remove(&p);
}

/* A record the log file cannot take is counted where Prometheus sees it. The file may not
 * grow (RLIMIT_FSIZE, SIGXFSZ ignored: write fails with EFBIG), as on a full disk. */
TEST(render_counts_log_write_failures)
{
	struct rlimit lim = { .rlim_cur = 0, .rlim_max = RLIM_INFINITY };
	char tmp[] = "/tmp/pg-metrics-log.XXXXXX", path[64];
	struct ops_pins p;
	char *t;

	ops_pins_make(&p);
	ASSERT_TRUE(mkdtemp(tmp) != NULL);
	snprintf(path, sizeof(path), "%s/events.json", tmp);
	ASSERT_EQ(0, pg_logsink_open(&(struct pg_logsink_opts){ .file = path, .keep = 1 }));
	signal(SIGXFSZ, SIG_IGN);
	ASSERT_EQ(0, getrlimit(RLIMIT_FSIZE, &lim));
	lim.rlim_cur = 0;
	ASSERT_EQ(0, setrlimit(RLIMIT_FSIZE, &lim));
	pg_logsink_write("{\"event_type\":\"violation\"}");
	pg_logsink_write("{\"event_type\":\"violation\"}");
	pg_logsink_close();
	lim.rlim_cur = lim.rlim_max;
	ASSERT_EQ(0, setrlimit(RLIMIT_FSIZE, &lim));
	t = render(p.dir);
	ASSERT_LINE(t, "portguard_log_write_failures_total{sink=\"file\"} 2");
	free(t);
	unlink(path);
	rmdir(tmp);
	ops_pins_remove(&p);
}

TEST(render_nothing_loaded)
{
	struct ops_pins p;
	char *t;

	ops_pins_make(&p);
	{
		char path[256];

		snprintf(path, sizeof(path), "%s/pg_info", p.dir);
		ASSERT_EQ(0, unlink(path));
	}
	t = render(p.dir);
	ASSERT_LINE(t, "portguard_policy_loaded 0");
	ASSERT_TRUE(strstr(t, "portguard_rule_packets_total{") == NULL);
	free(t);
	ops_pins_remove(&p);
}

/*
 * A port that is free now and stays free until the test binds it: as root the test process
 * moves to a network namespace of its own first (its loopback is then ours alone, whatever
 * else runs on the host); without root a process elsewhere could still take it in between.
 */
static void private_loopback(void)
{
	static bool done;
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd;

	if (done || geteuid() != 0)
		return;
	done = true;
	ASSERT_EQ(0, unshare(CLONE_NEWNET));
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, SIOCGIFFLAGS, &ifr));
	ifr.ifr_flags |= IFF_UP;
	ASSERT_EQ(0, ioctl(fd, SIOCSIFFLAGS, &ifr));
	close(fd);
}

static int free_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	int fd, port;

	private_loopback();
	fd = socket(AF_INET, SOCK_STREAM, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, bind(fd, (struct sockaddr *)&sin, sizeof(sin)));
	ASSERT_EQ(0, getsockname(fd, (struct sockaddr *)&sin, &len));
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

/* Send req to 127.0.0.1:port and serve it in this same process until the answer is whole. */
static char *http(int port, const char *req, const char *pin_dir)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	static char resp[65536];
	size_t len = 0;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	ASSERT_LE(0, fd);
	connect(fd, (struct sockaddr *)&sin, sizeof(sin)); /* EINPROGRESS */
	for (int i = 0; i < 200; i++) {
		struct pollfd pfd[2] = { { pg_metrics_fd(), POLLIN, 0 }, { fd, POLLIN, 0 } };
		ssize_t n;

		if (i == 1)
			ASSERT_EQ((ssize_t)strlen(req), send(fd, req, strlen(req), 0));
		poll(pfd, 2, 50);
		pg_metrics_serve(pin_dir);
		n = recv(fd, resp + len, sizeof(resp) - 1 - len, MSG_DONTWAIT);
		if (n == 0)
			break; /* Connection: close */
		if (n > 0)
			len += n;
	}
	close(fd);
	resp[len] = '\0';
	return resp;
}

TEST(http_answers_metrics_404_405_and_bad_addresses)
{
	struct ops_pins p;
	char addr[32];
	const char *r;
	int port;

	ops_pins_make(&p);
	ASSERT_EQ(-EINVAL, pg_metrics_open("127.0.0.1"));
	ASSERT_EQ(-EINVAL, pg_metrics_open("127.0.0.1:0"));
	ASSERT_EQ(-EINVAL, pg_metrics_open("127.0.0.1:65536"));
	ASSERT_EQ(-EINVAL, pg_metrics_open("[::1:9"));
	port = free_port();
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	ASSERT_EQ(0, pg_metrics_open(addr));
	ASSERT_LE(0, pg_metrics_fd());

	r = http(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", p.dir);
	ASSERT_TRUE(!strncmp(r, "HTTP/1.1 200 OK\r\n", 17));
	ASSERT_TRUE(strstr(r, "Content-Type: text/plain; version=0.0.4") != NULL);
	ASSERT_TRUE(strstr(r, "\nportguard_policy_loaded 1\n") != NULL);
	/* Content-Length matches the body. */
	{
		const char *body = strstr(r, "\r\n\r\n") + 4;
		unsigned long cl = strtoul(strstr(r, "Content-Length: ") + 16, NULL, 10);

		ASSERT_EQ(strlen(body), cl);
	}
	r = http(port, "GET / HTTP/1.1\r\n\r\n", p.dir);
	ASSERT_TRUE(!strncmp(r, "HTTP/1.1 404 ", 13));
	r = http(port, "POST /metrics HTTP/1.1\r\n\r\n", p.dir);
	ASSERT_TRUE(!strncmp(r, "HTTP/1.1 405 ", 13));
	r = http(port, "HEAD /metrics HTTP/1.1\r\n\r\n", p.dir);
	ASSERT_TRUE(!strncmp(r, "HTTP/1.1 200 OK\r\n", 17));
	ASSERT_EQ(0, strlen(strstr(r, "\r\n\r\n") + 4));
	pg_metrics_close();
	ASSERT_EQ(-1, pg_metrics_fd());
	ops_pins_remove(&p);
}

TEST(idle_clients_cannot_starve_a_scrape)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct ops_pins p;
	char addr[32];
	int idle[40], port;
	const char *r;

	ops_pins_make(&p);
	port = free_port();
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	ASSERT_EQ(0, pg_metrics_open(addr));
	sin.sin_port = htons(port);
	/* More silent connections than the server keeps: each is accepted, says nothing. */
	for (int i = 0; i < 40; i++) {
		idle[i] = socket(AF_INET, SOCK_STREAM, 0);
		ASSERT_LE(0, idle[i]);
		ASSERT_EQ(0, connect(idle[i], (struct sockaddr *)&sin, sizeof(sin)));
		pg_metrics_serve(p.dir);
	}
	r = http(port, "GET /metrics HTTP/1.1\r\n\r\n", p.dir);
	ASSERT_TRUE(!strncmp(r, "HTTP/1.1 200 OK\r\n", 17));
	ASSERT_TRUE(strstr(r, "\nportguard_policy_loaded 1\n") != NULL);
	for (int i = 0; i < 40; i++)
		close(idle[i]);
	pg_metrics_close();
	ops_pins_remove(&p);
}

static int run_quiet(const char *cmd, char *out, size_t size)
{
	FILE *f = popen(cmd, "r");
	size_t n;

	if (!f)
		return -1;
	n = fread(out, 1, size - 1, f);
	out[n] = '\0';
	return pclose(f);
}

TEST(prometheus_scrapes_the_series)
{
	char tmp[] = "/tmp/pg-prom.XXXXXX", cfg[128], cmd[1024], out[16384], addr[32], want[64];
	struct ops_pins p;
	pid_t server, prom;
	int port, prom_port, found = 0;
	FILE *f;

	if (system("command -v prometheus >/dev/null 2>&1") != 0)
		SKIP("prometheus not installed (make deps)");
	if (system("command -v curl >/dev/null 2>&1") != 0)
		SKIP("curl not installed (make deps)");
	ops_pins_make(&p);
	ASSERT_TRUE(mkdtemp(tmp) != NULL);
	port = free_port();
	prom_port = free_port();
	ASSERT_NE(port, prom_port);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	ASSERT_EQ(0, pg_metrics_open(addr));

	server = fork();
	ASSERT_LE(0, server);
	if (server == 0) {
		/* The exporter's loop, as run/monitor poll it; bounded in case we are orphaned. */
		alarm(90);
		for (;;) {
			struct pollfd pfd = { pg_metrics_fd(), POLLIN, 0 };

			if (poll(&pfd, 1, 1000) > 0)
				pg_metrics_serve(p.dir);
		}
	}
	pg_metrics_close();

	snprintf(cfg, sizeof(cfg), "%s/prometheus.yml", tmp);
	f = fopen(cfg, "w");
	ASSERT_TRUE(f != NULL);
	fprintf(f, "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
		   "scrape_configs:\n  - job_name: portguard\n    static_configs:\n"
		   "      - targets: ['127.0.0.1:%d']\n", port);
	fclose(f);
	prom = fork();
	ASSERT_LE(0, prom);
	if (prom == 0) {
		char a1[256], a2[256], a3[64];

		snprintf(a1, sizeof(a1), "--config.file=%s", cfg);
		snprintf(a2, sizeof(a2), "--storage.tsdb.path=%s/data", tmp);
		snprintf(a3, sizeof(a3), "--web.listen-address=127.0.0.1:%d", prom_port);
		if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr))
			_exit(127);
		execlp("prometheus", "prometheus", a1, a2, a3, "--log.level=error", NULL);
		_exit(127);
	}

	/* Bounded wait: Prometheus starts, scrapes every second; 60 s is far beyond both. */
	snprintf(cmd, sizeof(cmd),
		 "curl -s -m 2 -G 'http://127.0.0.1:%d/api/v1/query' --data-urlencode "
		 "'query=portguard_rule_packets_total{rule=\"t.policy:3\",action=\"allow\"}'",
		 prom_port);
	snprintf(want, sizeof(want), ",\"%llu\"]", (unsigned long long)p.rule3_packets);
	for (int i = 0; i < 120 && !found; i++) {
		if (run_quiet(cmd, out, sizeof(out)) == 0 && strstr(out, "\"job\":\"portguard\"") &&
		    strstr(out, want))
			found = 1;
		else
			usleep(500000);
	}
	if (!found)
		printf("# last answer: %s\n", out);
	EXPECT_TRUE(found);
	if (found) {
		/* A second series of another family, through the same scrape. */
		snprintf(cmd, sizeof(cmd),
			 "curl -s -m 2 -G 'http://127.0.0.1:%d/api/v1/query' --data-urlencode "
			 "'query=portguard_drops_total{reason=\"not-allowed\"}'", prom_port);
		snprintf(want, sizeof(want), ",\"%llu\"]", (unsigned long long)p.notallowed_packets);
		EXPECT_EQ(0, run_quiet(cmd, out, sizeof(out)));
		EXPECT_TRUE(strstr(out, want) != NULL);
		snprintf(cmd, sizeof(cmd),
			 "curl -s -m 2 -G 'http://127.0.0.1:%d/api/v1/query' --data-urlencode "
			 "'query=up{job=\"portguard\"}'", prom_port);
		EXPECT_EQ(0, run_quiet(cmd, out, sizeof(out)));
		EXPECT_TRUE(strstr(out, ",\"1\"]") != NULL);
	}
	kill(prom, SIGTERM);
	waitpid(prom, NULL, 0);
	kill(server, SIGKILL);
	waitpid(server, NULL, 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	ASSERT_EQ(0, system(cmd));
	ops_pins_remove(&p);
}

TEST_MAIN()
