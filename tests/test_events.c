// SPDX-License-Identifier: GPL-2.0
/* The event stream's formatting: records to text and JSON lines, without root or BPF. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "output/events.h"
#include "output/json.h"
#include "harness.h"
#include "output/names.h"
#include "policy/sha256.h"

static int fake_meta(void *ctx, const struct pg_event *e, struct pg_rule_meta *out)
{
	(void)ctx;
	memset(out, 0, sizeof(*out));
	if (e->gen == 1 && e->rule_id == 7) {
		snprintf(out->src, sizeof(out->src), "policy/x.policy:12");
		return 0;
	}
	return -ENOENT;
}

static int fake_ifname(void *ctx, __u32 ifindex, char *buf, size_t size)
{
	(void)ctx;
	if (ifindex != 4)
		return -ENODEV;
	snprintf(buf, size, "veth0");
	return 0;
}

static int fake_cgroup(void *ctx, __u64 id, char *buf, size_t size)
{
	(void)ctx;
	if (id != 99)
		return -ENOENT;
	snprintf(buf, size, "/system.slice/postgresql.service");
	return 0;
}

/* 2026-11-29T21:15:03.123456Z as monotonic 5 s + an offset. */
#define WALL_NS 1795986903123456789LL

static struct pg_event_fmt fmt(bool json)
{
	return (struct pg_event_fmt){
		.json = json,
		.clock_offset_ns = WALL_NS - 5000000000LL,
		.gen_mode = { PG_MODE_ENFORCE, PG_MODE_DRY_RUN },
		.rule_meta = fake_meta,
		.ifname = fake_ifname,
		.cgroup_path = fake_cgroup,
	};
}

static void map4(__u8 a[16], const char *s)
{
	memset(a, 0, 16);
	a[10] = a[11] = 0xff;
	inet_pton(AF_INET, s, a + 12);
}

static struct pg_event xdp_event(void)
{
	struct pg_event e = {
		.ts_ns = 5000000000ULL,
		.hook = PG_HOOK_XDP,
		.reason = PG_R_NOT_ALLOWED,
		.gen = 1,
		.rule_id = PG_RULE_DEFAULT_IN,
		.ifindex = 4,
		.action = PG_EV_BLOCKED,
		.dir = PG_DIR_IN,
		.proto = IPPROTO_TCP,
		.family = 4,
		.sport = 40000,
		.dport = 5432,
	};

	map4(e.saddr, "198.18.0.2");
	map4(e.daddr, "198.18.0.1");
	return e;
}

TEST(json_xdp_blocked)
{
	struct pg_event e = xdp_event();
	struct pg_event_fmt f = fmt(true);
	char buf[1024];

	ASSERT_LT(0, pg_event_format(&e, &f, buf, sizeof(buf)));
	ASSERT_STREQ("{\"timestamp\":\"2026-11-29T21:15:03.123456Z\",\"event_type\":\"violation\","
		     "\"action\":\"blocked\",\"mode\":\"enforce\",\"hook\":\"xdp\","
		     "\"direction\":\"in\",\"proto\":\"TCP\",\"src_ip\":\"198.18.0.2\","
		     "\"src_port\":40000,\"dest_ip\":\"198.18.0.1\",\"dest_port\":5432,"
		     "\"in_iface\":\"veth0\",\"rule\":\"default in\",\"reason\":\"not-allowed\"}",
		     buf);
}

TEST(text_xdp_blocked)
{
	struct pg_event e = xdp_event();
	struct pg_event_fmt f = fmt(false);
	char buf[1024];

	ASSERT_LT(0, pg_event_format(&e, &f, buf, sizeof(buf)));
	ASSERT_STREQ("2026-11-29T21:15:03.123456Z blocked xdp in TCP 198.18.0.2:40000 -> "
		     "198.18.0.1:5432 iface veth0 rule default in reason not-allowed",
		     buf);
}

TEST(json_dry_run_rule_source_ipv6)
{
	struct pg_event e = xdp_event();
	struct pg_event_fmt f = fmt(true);
	char buf[1024];

	e.action = PG_EV_ALLOWED;
	e.rule_id = 7;
	e.reason = PG_R_DENIED;
	e.proto = IPPROTO_UDP;
	e.family = 6;
	e.ifindex = 77; /* gone: named by its index */
	inet_pton(AF_INET6, "2001:db8::2", e.saddr);
	inet_pton(AF_INET6, "2001:db8::1", e.daddr);
	ASSERT_LT(0, pg_event_format(&e, &f, buf, sizeof(buf)));
	ASSERT_TRUE(strstr(buf, "\"action\":\"allowed\",\"mode\":\"dry-run\""));
	ASSERT_TRUE(strstr(buf, "\"proto\":\"UDP\",\"src_ip\":\"2001:db8::2\""));
	ASSERT_TRUE(strstr(buf, "\"dest_ip\":\"2001:db8::1\""));
	ASSERT_TRUE(strstr(buf, "\"in_iface\":\"if77\""));
	ASSERT_TRUE(strstr(buf, "\"rule\":\"policy/x.policy:12\",\"reason\":\"denied\"}"));

	f.json = false;
	ASSERT_LT(0, pg_event_format(&e, &f, buf, sizeof(buf)));
	ASSERT_TRUE(strstr(buf, " allowed (dry-run) xdp in UDP [2001:db8::2]:40000 -> "
				"[2001:db8::1]:5432 "));
}

TEST(logged_takes_the_generation_mode)
{
	struct pg_event e = xdp_event();
	struct pg_event_fmt f = fmt(true);
	char buf[1024];

	e.action = PG_EV_LOGGED;
	e.gen = 0;
	ASSERT_LT(0, pg_event_format(&e, &f, buf, sizeof(buf)));
	ASSERT_TRUE(strstr(buf, "\"action\":\"logged\",\"mode\":\"enforce\""));
	e.gen = 1;
	ASSERT_LT(0, pg_event_format(&e, &f, buf, sizeof(buf)));
	ASSERT_TRUE(strstr(buf, "\"action\":\"logged\",\"mode\":\"dry-run\""));
}

TEST(socket_hook_attribution_and_escaping)
{
	struct pg_event e = xdp_event();
	struct pg_event_fmt f = fmt(true);
	char buf[1024];

	e.hook = PG_HOOK_BIND;
	e.dir = PG_DIR_IN;
	e.reason = PG_R_LOCAL_ONLY;
	e.rule_id = 7;
	e.pid = 4242;
	e.uid = 106;
	e.cgroup_id = 99;
	/* A comm may hold any byte: quotes, control characters, invalid UTF-8. */
	memcpy(e.comm, "pg\"\\\x01\xff\xc3\xa9", 8);
	ASSERT_LT(0, pg_event_format(&e, &f, buf, sizeof(buf)));
	ASSERT_TRUE(strstr(buf, "\"hook\":\"bind\""));
	ASSERT_FALSE(strstr(buf, "in_iface"));
	ASSERT_TRUE(strstr(buf, "\"reason\":\"local-only\",\"pid\":4242,"
				"\"comm\":\"pg\\\"\\\\\\u0001\\ufffd\xc3\xa9\",\"uid\":106,"
				"\"cgroup\":\"/system.slice/postgresql.service\"}"));

	f.json = false;
	ASSERT_LT(0, pg_event_format(&e, &f, buf, sizeof(buf)));
	ASSERT_TRUE(strstr(buf, " pid 4242 comm pg\"\\x5c\\x01\\xff\\xc3\\xa9 uid 106 "));

	e.cgroup_id = 5; /* unknown: its id */
	f.json = true;
	ASSERT_LT(0, pg_event_format(&e, &f, buf, sizeof(buf)));
	ASSERT_TRUE(strstr(buf, "\"cgroup\":\"cgroup-id:5\"}"));
}

TEST(sock_create_has_no_addresses)
{
	struct pg_event e = xdp_event();
	struct pg_event_fmt f = fmt(true);
	char buf[1024];

	e.hook = PG_HOOK_SOCK_CREATE;
	e.reason = PG_R_RAW_SOCKET;
	e.rule_id = PG_RULE_DENY_RAW;
	e.proto = IPPROTO_RAW;
	ASSERT_LT(0, pg_event_format(&e, &f, buf, sizeof(buf)));
	ASSERT_FALSE(strstr(buf, "src_ip"));
	ASSERT_TRUE(strstr(buf, "\"hook\":\"sock_create\",\"direction\":\"in\",\"proto\":\"RAW\","
				"\"rule\":\"deny raw\",\"reason\":\"raw-socket\""));
	e.proto = 0x88;
	ASSERT_LT(0, pg_event_format(&e, &f, buf, sizeof(buf)));
	ASSERT_TRUE(strstr(buf, "\"proto\":\"136\""));
}

TEST(too_small_buffer)
{
	struct pg_event e = xdp_event();
	struct pg_event_fmt f = fmt(true);
	char buf[64];

	ASSERT_EQ(-ENOSPC, pg_event_format(&e, &f, buf, sizeof(buf)));
}

TEST(start_and_suppressed_records)
{
	const char *ifaces[] = { "veth0", "eth\"1" };
	struct pg_stream_info i = {
		.policy = "/etc/portguard/cloud.policy",
		.sha256 = "ab",
		.mode = PG_MODE_DRY_RUN,
		.nrules = 9,
		.ifaces = ifaces,
		.nifaces = 2,
		.cgroup = "/sys/fs/cgroup",
		.pin_dir = "/sys/fs/bpf/portguard",
		.takeover = true,
		.seeded = 3,
		.load_ms = 1.5,
	};
	__u64 delta[PG_EVS_MAX] = { [PG_EVS_SUBMITTED] = 100, [PG_EVS_RING_FULL] = 3,
				    [PG_EVS_RATE_LIMITED] = 40, [PG_EVS_BUDGET] = 2 };
	struct pg_event_fmt f = fmt(true);
	char buf[1024];

	ASSERT_LT(0, pg_event_format_info("start", &i, WALL_NS, &f, buf, sizeof(buf)));
	ASSERT_STREQ("{\"timestamp\":\"2026-11-29T21:15:03.123456Z\",\"event_type\":\"start\","
		     "\"policy\":\"/etc/portguard/cloud.policy\",\"sha256\":\"ab\","
		     "\"mode\":\"dry-run\",\"rules\":9,\"interfaces\":[\"veth0\",\"eth\\\"1\"],"
		     "\"cgroup\":\"/sys/fs/cgroup\",\"pin_dir\":\"/sys/fs/bpf/portguard\","
		     "\"takeover\":true,\"flows_seeded\":3,\"load_ms\":1.500}",
		     buf);
	ASSERT_LT(0, pg_event_format_suppressed(delta, WALL_NS, &f, buf, sizeof(buf)));
	ASSERT_STREQ("{\"timestamp\":\"2026-11-29T21:15:03.123456Z\",\"event_type\":\"suppressed\","
		     "\"count\":45,\"ring_full\":3,\"rate_limited\":40,\"budget\":2}",
		     buf);
}

TEST(timestamp_is_rfc3339_utc_microseconds)
{
	char buf[40];

	ASSERT_EQ(0, pg_rfc3339(0, buf, sizeof(buf)));
	ASSERT_STREQ("1970-01-01T00:00:00.000000Z", buf);
	ASSERT_EQ(0, pg_rfc3339(951782400999999999LL, buf, sizeof(buf)));
	ASSERT_STREQ("2000-02-29T00:00:00.999999Z", buf);
}

TEST(clock_offset_is_realtime_minus_monotonic)
{
	long long off = pg_clock_offset_ns(), now = pg_realtime_ns();
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	/* offset + monotonic is wall time, within a second of scheduling noise either way */
	ASSERT_GT(1000000000LL, llabs(now - (off + ts.tv_sec * 1000000000LL + ts.tv_nsec)));
}

TEST(names_are_the_stable_ones)
{
	static const char *const drop[] = { "not-allowed", "denied", "local-only", "fragment",
					    "fragment-short", "fragment-overlap", "malformed",
					    "bad-ihl", "bad-doff", "ext-hdr-limit", "vlan-depth",
					    "proto", "raw-socket" };
	unsigned i;

	ASSERT_EQ(PG_R_DROP_MAX, sizeof(drop) / sizeof(drop[0]));
	for (i = 0; i < PG_R_DROP_MAX; i++)
		EXPECT_STREQ(drop[i], pg_reason_name(i));
	for (i = 0; i < PG_R_MAX; i++)
		EXPECT_FALSE(!strcmp("unknown", pg_reason_name(i)));
	EXPECT_STREQ("unknown", pg_reason_name(PG_R_MAX));
	EXPECT_STREQ("sock_create", pg_hook_name(PG_HOOK_SOCK_CREATE));
	EXPECT_STREQ("sendmsg", pg_hook_name(PG_HOOK_SENDMSG));
	EXPECT_STREQ("dry-run", pg_mode_name(PG_MODE_DRY_RUN));
}

TEST(sha256_known_answers)
{
	char hex[PG_SHA256_HEX_LEN];
	char big[1000];

	pg_sha256_hex("", 0, hex);
	ASSERT_STREQ("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", hex);
	pg_sha256_hex("abc", 3, hex);
	ASSERT_STREQ("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", hex);
	/* 56 bytes: the padding spills into a second block */
	pg_sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, hex);
	ASSERT_STREQ("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1", hex);
	memset(big, 'a', sizeof(big));
	pg_sha256_hex(big, sizeof(big), hex);
	ASSERT_STREQ("41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3", hex);
}

/* The one writer: every escaper on the same hostile bytes, and the JSON writer's commas. */
TEST(escapers_and_json_writer)
{
	const char *bad = "a\"b\\c\x1b[31m \xff\xc3\xa9\n";
	struct pg_out o;
	struct pg_json j;
	char buf[256];

	pg_out_buf(&o, buf, sizeof(buf));
	pg_escape_json(&o, bad);
	EXPECT_STREQ("\"a\\\"b\\\\c\\u001b[31m \\ufffd\xc3\xa9\\n\"", buf);
	pg_out_buf(&o, buf, sizeof(buf));
	pg_escape_text(&o, bad, true);
	EXPECT_STREQ("a\"b\\x5cc\\x1b[31m\\x20\\xff\\xc3\\xa9\\x0a", buf);
	pg_out_buf(&o, buf, sizeof(buf));
	pg_escape_text(&o, "default in", false);
	EXPECT_STREQ("default in", buf);
	pg_out_buf(&o, buf, sizeof(buf));
	pg_escape_label(&o, bad);
	EXPECT_STREQ("a\\\"b\\\\c\xef\xbf\xbd[31m \xef\xbf\xbd\xc3\xa9\\n", buf);

	pg_out_buf(&o, buf, sizeof(buf));
	pg_json_init(&j, &o);
	pg_json_object_start(&j);
	pg_json_str_field(&j, "s", "x");
	pg_json_name(&j, "a");
	pg_json_array_start(&j);
	pg_json_uint(&j, 1);
	pg_json_object_start(&j);
	pg_json_bool_field(&j, "t", true);
	pg_json_str_or_null_field(&j, "n", "");
	pg_json_object_end(&j);
	pg_json_int(&j, -2);
	pg_json_array_end(&j);
	pg_json_name(&j, "e");
	pg_json_object_start(&j);
	pg_json_object_end(&j);
	pg_json_object_end(&j);
	EXPECT_STREQ("{\"s\":\"x\",\"a\":[1,{\"t\":true,\"n\":null},-2],\"e\":{}}", buf);

	/* A buffer too small says so and stays terminated. */
	pg_out_buf(&o, buf, 4);
	pg_escape_json(&o, "abcdef");
	EXPECT_TRUE(o.full);
	EXPECT_EQ(strlen(buf) < 4, 1);
}

TEST_MAIN()
