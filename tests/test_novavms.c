// SPDX-License-Identifier: GPL-2.0
/*
 * The shipped NovaVMS policies against the NovaVMS port table ("Ports and protocols",
 * ../shared/novavms-ports-and-protocols.txt, encoded below so that the test does not depend
 * on that file). Each policy is parsed, normalized, and the normalized text parsed again;
 * every row and every firewall rule of the table is then decided on the normalized policy by
 * a small evaluator written here from the language's semantics (deny, then local, then
 * allow, then the default), independent of the compiler. A sweep over every port also checks
 * that nothing beyond the table is open.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "shipped_policy.h"
#include "policy/policy.h"

enum host { CLOUD, DEV, GATEWAY, NHOSTS };

static const char *const policy_files[NHOSTS] = {
	"novavms-cloud.policy",
	"novavms-cloud-dev.policy",
	"novavms-gateway.policy",
};

/* What a host does with inbound traffic to a port. */
enum want {
	CLOSED = 0,  /* not allowed in, not local: the default (deny) decides */
	OPEN,	     /* allowed in from anywhere */
	LOCAL,	     /* loopback only */
	ADMINS,	     /* allowed in from the admins set only */
	CAMERAS,     /* allowed in from the camera LAN only */
};

struct row {
	const char *component;
	unsigned proto;
	__u16 lo, hi;
	enum want want[NHOSTS]; /* cloud, dev, gateway */
};

#define T PG_PROTO_TCP
#define U PG_PROTO_UDP

/* The component table, row by row, plus the rows its firewall text adds (SSH is not NovaVMS
 * but keeps the operators in; the gateway's camera ports come from "Camera -> gateway"). */
static const struct row rows[] = {
	/* 443 TCP: Frontend / API ingress (Caddy), inbound from browsers and gateways. */
	{ "Caddy", T, 443, 443, { OPEN, OPEN, CLOSED } },
	/* 5200 TCP: Frontend dev server (Vite), inbound, dev only. */
	{ "Vite", T, 5200, 5200, { CLOSED, OPEN, CLOSED } },
	/* 8090 TCP: Cloud backend; production default 127.0.0.1:8090 behind Caddy. */
	{ "backend", T, 8090, 8090, { LOCAL, OPEN, CLOSED } },
	/* 8554 TCP: RTSP server (go2rtc), inbound from cameras and playback clients. */
	{ "go2rtc RTSP", T, 8554, 8554, { OPEN, OPEN, CLOSED } },
	/* 8555 UDP: WebRTC media (go2rtc), bidirectional with browsers. */
	{ "go2rtc WebRTC", U, 8555, 8555, { OPEN, OPEN, CLOSED } },
	/* 11984 TCP: go2rtc HTTP API, loopback only. */
	{ "go2rtc API", T, 11984, 11984, { LOCAL, LOCAL, CLOSED } },
	/* 3478 UDP: TURN relay control (Pion), inbound from browsers behind strict NAT. */
	{ "TURN control", U, 3478, 3478, { OPEN, OPEN, CLOSED } },
	/* 49152-49252 UDP: TURN relay media ports, bidirectional; allocate the whole range. */
	{ "TURN media", U, 49152, 49252, { OPEN, OPEN, CLOSED } },
	/* 5432 TCP: PostgreSQL, loopback only (prod). */
	{ "PostgreSQL", T, 5432, 5432, { LOCAL, LOCAL, CLOSED } },
	/* 5434 TCP: PostgreSQL dev override, loopback only, dev hosts only. */
	{ "PostgreSQL dev", T, 5434, 5434, { CLOSED, LOCAL, CLOSED } },
	/* 9000 TCP: MinIO S3 API, loopback only (planned for v2). */
	{ "MinIO", T, 9000, 9000, { LOCAL, LOCAL, CLOSED } },
	/* Camera -> gateway: inbound TCP 554 (RTSP) and UDP 3702 (WS-Discovery), LAN only. */
	{ "camera RTSP", T, 554, 554, { CLOSED, CLOSED, CAMERAS } },
	{ "ONVIF WS-Discovery", U, 3702, 3702, { CLOSED, CLOSED, CAMERAS } },
	/* SSH for the administrators on every host. */
	{ "SSH", T, 22, 22, { ADMINS, ADMINS, ADMINS } },
};

/* Peers: someone on the internet, an administrator, a camera, the cloud (as the gateway's
 * policy names it), all from the ranges the policies use as placeholders. */
#define OUTSIDE4 "198.18.7.7"
#define OUTSIDE6 "2001:db8:99::7"
#define ADMIN4 "198.51.100.20"
#define ADMIN6 "2001:db8:ad::20"
#define CAMERA4 "192.0.2.10"
#define CAMERA6 "2001:db8:ca::10"
#define CLOUD4 "203.0.113.10"
#define CLOUD6 "2001:db8:c1::10"

enum verdict {
	V_PASS,	     /* an allow rule, or a default allow */
	V_BLOCK,     /* a deny rule, or a default deny */
	V_LOCAL,     /* a local port reached from off-host */
};

static void mapped(const char *s, __u8 addr[16])
{
	memset(addr, 0, 16);
	if (strchr(s, ':')) {
		if (inet_pton(AF_INET6, s, addr) != 1)
			exit(PG_EXIT_FAIL);
		return;
	}
	addr[10] = addr[11] = 0xff;
	if (inet_pton(AF_INET, s, addr + 12) != 1)
		exit(PG_EXIT_FAIL);
}

static bool peer_match(const struct pg_rule *r, const __u8 addr[16])
{
	if (!r->npeers)
		return true;
	for (size_t i = 0; i < r->npeers; i++) {
		const struct pg_peer *p = &r->peers[i];
		unsigned b;

		for (b = 0; b < p->prefixlen; b++)
			if ((p->addr[b / 8] ^ addr[b / 8]) & (0x80 >> (b % 8)))
				break;
		if (b == p->prefixlen)
			return true;
	}
	return false;
}

static bool port_match(const struct pg_rule *r, unsigned proto, unsigned port)
{
	if (!(r->protos & proto))
		return false;
	for (size_t i = 0; i < r->nports; i++)
		if (r->ports[i].lo <= port && port <= r->ports[i].hi)
			return true;
	return false;
}

/* The language's semantics, for traffic from (in) or to (out) an off-host peer. */
static enum verdict decide(const struct pg_policy *p, enum pg_dir dir, unsigned proto,
			   unsigned port, const char *peer)
{
	bool allow = false, local = false;
	__u8 addr[16];

	mapped(peer, addr);
	for (size_t i = 0; i < p->nrules; i++) {
		const struct pg_rule *r = &p->rules[i];

		if (!port_match(r, proto, port))
			continue;
		if (r->kind == PG_RULE_LOCAL) {
			local |= dir == PG_DIR_IN;
			continue;
		}
		if (r->dir != dir || !peer_match(r, addr))
			continue;
		if (r->kind == PG_RULE_DENY)
			return V_BLOCK;
		allow = true;
	}
	if (local)
		return V_LOCAL;
	if (allow)
		return V_PASS;
	return (dir == PG_DIR_IN ? p->default_in : p->default_out) == PG_DEFAULT_DENY ? V_BLOCK :
											V_PASS;
}


/* The source policy (with its sets) and the policy its normalized form parses to. */
struct loaded {
	char *text;
	struct pg_policy *src, *norm;
	char *normtext;
	char *warnings;
};

static void load(enum host h, struct loaded *l)
{
	struct pg_diags d = { 0 }, d2 = { 0 };
	size_t len, nlen = 0;
	FILE *f;

	memset(l, 0, sizeof(*l));
	l->text = shipped_policy_read(policy_files[h], &len);
	if (!l->text)
		SKIP("policy/%s not found (run from the checkout)", policy_files[h]);
	ASSERT_EQ(0, pg_policy_parse(policy_files[h], l->text, len, &l->src, &d));
	{
		char *buf = NULL;
		size_t blen = 0;
		FILE *w = open_memstream(&buf, &blen);

		ASSERT_TRUE(w);
		pg_diags_print(&d, w);
		fclose(w);
		l->warnings = buf;
	}
	f = open_memstream(&l->normtext, &nlen);
	ASSERT_TRUE(f);
	ASSERT_EQ(0, pg_policy_format(l->src, f));
	fclose(f);
	ASSERT_EQ(0, pg_policy_parse("normalized", l->normtext, nlen, &l->norm, &d2));
	ASSERT_EQ(0, d2.nerrors);
	ASSERT_TRUE(pg_policy_equal(l->src, l->norm));
	pg_diags_free(&d);
	pg_diags_free(&d2);
}

static void unload(struct loaded *l)
{
	free(l->text);
	free(l->normtext);
	free(l->warnings);
	pg_policy_free(l->src);
	pg_policy_free(l->norm);
}

static const char *host_name(enum host h)
{
	return h == CLOUD ? "cloud" : h == DEV ? "cloud-dev" : "gateway";
}

TEST(shipped_policies_have_no_errors_or_warnings)
{
	for (enum host h = CLOUD; h < NHOSTS; h++) {
		struct loaded l;

		load(h, &l);
		EXPECT_STREQ("", l.warnings);
		EXPECT_EQ(PG_MODE_ENFORCE, l.norm->mode);
		EXPECT_EQ(PG_DEFAULT_DENY, l.norm->default_in);
		/* Shipped policies name no interface: attaching is the operator's choice (and a
		 * test attaching to a host's eth0 by accident is not possible). */
		EXPECT_EQ(0, l.norm->nifaces);
		unload(&l);
	}
}

/* Every row of the table, decided on the normalized policy, for each kind of peer. */
TEST(port_table_row_by_row)
{
	for (enum host h = CLOUD; h < NHOSTS; h++) {
		struct loaded l;

		load(h, &l);
		for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
			const struct row *r = &rows[i];
			enum want w = r->want[h];

			/* Every port of a range: the whole TURN range, not just its ends. */
			for (unsigned port = r->lo; port <= r->hi; port++) {
				const struct pg_policy *n = l.norm;
				enum verdict out4 = decide(n, PG_DIR_IN, r->proto, port, OUTSIDE4);
				enum verdict out6 = decide(n, PG_DIR_IN, r->proto, port, OUTSIDE6);
				enum verdict adm = decide(n, PG_DIR_IN, r->proto, port, ADMIN4);
				enum verdict adm6 = decide(n, PG_DIR_IN, r->proto, port, ADMIN6);
				enum verdict cam = decide(n, PG_DIR_IN, r->proto, port, CAMERA4);
				enum verdict cam6 = decide(n, PG_DIR_IN, r->proto, port, CAMERA6);
				enum verdict want_out, want_adm, want_cam;

				switch (w) {
				case OPEN:
					want_out = want_adm = want_cam = V_PASS;
					break;
				case LOCAL:
					want_out = want_adm = want_cam = V_LOCAL;
					break;
				case ADMINS:
					want_out = want_cam = V_BLOCK;
					want_adm = V_PASS;
					break;
				case CAMERAS:
					want_out = want_adm = V_BLOCK;
					want_cam = V_PASS;
					break;
				default:
					want_out = want_adm = want_cam = V_BLOCK;
					break;
				}
				if (want_out != out4 || want_out != out6 || want_adm != adm ||
				    want_adm != adm6 || want_cam != cam || want_cam != cam6)
					printf("# %s: %s %s/%u: outside %d/%d admin %d/%d "
					       "camera %d/%d, want %d %d %d\n",
					       host_name(h), r->component,
					       r->proto == T ? "tcp" : "udp", port, out4, out6, adm,
					       adm6, cam, cam6, want_out, want_adm, want_cam);
				EXPECT_EQ(want_out, out4);
				EXPECT_EQ(want_out, out6);
				EXPECT_EQ(want_adm, adm);
				EXPECT_EQ(want_adm, adm6);
				EXPECT_EQ(want_cam, cam);
				EXPECT_EQ(want_cam, cam6);
			}
		}
		unload(&l);
	}
}

/* Nothing beyond the table: every inbound port that is open or local on a host is one of its
 * rows. One past each end of the TURN range is closed. */
TEST(nothing_else_open_inbound)
{
	for (enum host h = CLOUD; h < NHOSTS; h++) {
		struct loaded l;
		unsigned extra = 0;

		load(h, &l);
		for (unsigned proto = T; proto <= U; proto <<= 1) {
			for (unsigned port = 1; port <= 65535; port++) {
				enum want w = CLOSED;
				enum verdict v = decide(l.norm, PG_DIR_IN, proto, port, OUTSIDE4);
				enum verdict c = decide(l.norm, PG_DIR_IN, proto, port, CAMERA4);
				enum verdict a = decide(l.norm, PG_DIR_IN, proto, port, ADMIN4);

				for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
					if (rows[i].proto == proto && rows[i].lo <= port &&
					    port <= rows[i].hi)
						w = rows[i].want[h];
				if (w != CLOSED)
					continue;
				if (v != V_BLOCK || c != V_BLOCK || a != V_BLOCK) {
					if (extra++ < 10)
						printf("# %s: %s/%u is not closed\n", host_name(h),
						       proto == T ? "tcp" : "udp", port);
				}
			}
		}
		EXPECT_EQ(0, extra);
		EXPECT_EQ(V_BLOCK, decide(l.norm, PG_DIR_IN, U, 49151, OUTSIDE4));
		EXPECT_EQ(V_BLOCK, decide(l.norm, PG_DIR_IN, U, 49253, OUTSIDE4));
		unload(&l);
	}
}

/* "Browser -> WebRTC: allow inbound and outbound UDP 8555 and UDP 49152-49252 on the cloud
 * server", and the cloud keeps outbound open (TURN relays to any port browsers pick). */
TEST(cloud_outbound)
{
	for (enum host h = CLOUD; h <= DEV; h++) {
		struct loaded l;

		load(h, &l);
		EXPECT_EQ(PG_DEFAULT_ALLOW, l.norm->default_out);
		EXPECT_EQ(V_PASS, decide(l.norm, PG_DIR_OUT, U, 8555, OUTSIDE4));
		EXPECT_EQ(V_PASS, decide(l.norm, PG_DIR_OUT, U, 8555, OUTSIDE6));
		for (unsigned port = 49152; port <= 49252; port++)
			EXPECT_EQ(V_PASS, decide(l.norm, PG_DIR_OUT, U, port, OUTSIDE4));
		EXPECT_EQ(V_PASS, decide(l.norm, PG_DIR_OUT, T, 443, OUTSIDE4));
		unload(&l);
	}
}

/* The gateway's outbound traffic goes only to the cameras (tcp 80, 443, 554, 2020, and the
 * WS-Discovery multicast groups) and to the cloud (tcp 443), plus DNS and NTP. Checked over
 * every port, to each kind of peer. */
TEST(gateway_outbound_only_cameras_cloud_dns_ntp)
{
	struct loaded l;
	unsigned bad = 0;

	load(GATEWAY, &l);
	EXPECT_EQ(PG_DEFAULT_DENY, l.norm->default_out);
	for (unsigned proto = T; proto <= U; proto <<= 1) {
		for (unsigned port = 1; port <= 65535; port++) {
			bool any = port == 53 || (proto == U && port == 123);
			bool cam = proto == T && (port == 80 || port == 443 || port == 554 ||
						  port == 2020);
			bool cloud = proto == T && port == 443;
			bool mcast = proto == U && port == 3702;
			struct {
				const char *peer;
				bool want;
			} cases[] = {
				{ OUTSIDE4, any },	    { OUTSIDE6, any },
				{ CAMERA4, any || cam },    { CAMERA6, any || cam },
				{ CLOUD4, any || cloud },   { CLOUD6, any || cloud },
				{ "239.255.255.250", any || mcast },
				{ "ff02::c", any || mcast }, { ADMIN4, any },
			};

			for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
				enum verdict v = decide(l.norm, PG_DIR_OUT, proto, port,
							cases[i].peer);

				if ((v == V_PASS) != cases[i].want && bad++ < 10)
					printf("# gateway out %s/%u to %s: %s\n",
					       proto == T ? "tcp" : "udp", port, cases[i].peer,
					       v == V_PASS ? "passes" : "blocked");
			}
		}
	}
	EXPECT_EQ(0, bad);
	unload(&l);
}

/* The camera LAN and the cloud are named sets in the gateway's source, which the operator
 * edits: the camera rules take exactly the camera_lan set's addresses, the cloud rule the
 * cloud set's. */
TEST(gateway_sets_are_named_and_used)
{
	const struct pg_set *cams = NULL, *cloud = NULL;
	struct loaded l;
	int cam_rules = 0, cloud_rules = 0;

	load(GATEWAY, &l);
	for (size_t i = 0; i < l.src->nsets; i++) {
		if (!strcmp(l.src->sets[i].name, "camera_lan"))
			cams = &l.src->sets[i];
		if (!strcmp(l.src->sets[i].name, "cloud"))
			cloud = &l.src->sets[i];
	}
	ASSERT_TRUE(cams != NULL);
	ASSERT_TRUE(cloud != NULL);
	for (size_t i = 0; i < l.src->nrules; i++) {
		const struct pg_rule *r = &l.src->rules[i];
		const struct pg_set *s = NULL;

		if (r->dir == PG_DIR_IN && (port_match(r, T, 554) || port_match(r, U, 3702)))
			s = cams, cam_rules++;
		else if (r->dir == PG_DIR_OUT && port_match(r, T, 2020))
			s = cams, cam_rules++;
		else if (r->dir == PG_DIR_OUT && r->nports == 1 && r->ports[0].lo == 443 &&
			 r->ports[0].hi == 443)
			s = cloud, cloud_rules++;
		if (!s)
			continue;
		ASSERT_EQ(s->npeers, r->npeers);
		for (size_t j = 0; j < r->npeers; j++) {
			EXPECT_EQ(0, memcmp(s->peers[j].addr, r->peers[j].addr, 16));
			EXPECT_EQ(s->peers[j].prefixlen, r->peers[j].prefixlen);
		}
	}
	EXPECT_EQ(3, cam_rules);
	EXPECT_EQ(1, cloud_rules);
	unload(&l);
}

/* Each rule carries a comment naming the component it serves: the line above every rule is
 * a comment. */
TEST(every_rule_is_commented)
{
	for (enum host h = CLOUD; h < NHOSTS; h++) {
		struct loaded l;

		load(h, &l);
		for (size_t i = 0; i < l.src->nrules; i++) {
			int want = l.src->rules[i].loc.line - 1, line = 1;
			const char *s = l.text;

			while (line < want && (s = strchr(s, '\n'))) {
				s++;
				line++;
			}
			ASSERT_TRUE(s != NULL);
			if (s[0] != '#')
				printf("# %s:%d: the rule has no comment above it\n",
				       policy_files[h], want + 1);
			EXPECT_EQ('#', s[0]);
		}
		unload(&l);
	}
}

/* 8090: local in production, reachable on a development host; 5200 and 5434 only on the
 * development host; both cloud policies otherwise agree. */
TEST(dev_differs_from_production_only_where_the_table_says)
{
	struct loaded prod, dev;
	unsigned diff = 0;

	load(CLOUD, &prod);
	load(DEV, &dev);
	for (unsigned proto = T; proto <= U; proto <<= 1)
		for (unsigned port = 1; port <= 65535; port++) {
			bool expect_diff =
				proto == T && (port == 8090 || port == 5200 || port == 5434);
			bool d = decide(prod.norm, PG_DIR_IN, proto, port, OUTSIDE4) !=
				 decide(dev.norm, PG_DIR_IN, proto, port, OUTSIDE4);

			if (d != expect_diff && diff++ < 10)
				printf("# cloud vs dev at %s/%u\n", proto == T ? "tcp" : "udp",
				       port);
		}
	EXPECT_EQ(0, diff);
	EXPECT_EQ(V_LOCAL, decide(prod.norm, PG_DIR_IN, T, 8090, OUTSIDE4));
	EXPECT_EQ(V_PASS, decide(dev.norm, PG_DIR_IN, T, 8090, OUTSIDE4));
	unload(&prod);
	unload(&dev);
}

TEST_MAIN()
