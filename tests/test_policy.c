// SPDX-License-Identifier: GPL-2.0
/*
 * Parser unit tests: malformed policies with their exact FILE:LINE:COL and message, valid
 * policies field by field, every warning, and the normalized form parsing back to an equal
 * policy (for the shipped policies and for hand-written ones).
 */
#include <errno.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "shipped_policy.h"
#include "policy/policy.h"

/* Everything the parser said, as `check` prints it. */
static char *diags_text(const struct pg_diags *d)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		exit(PG_EXIT_FAIL);
	pg_diags_print(d, f);
	fclose(f);
	return buf;
}

static char *format(const struct pg_policy *p)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		exit(PG_EXIT_FAIL);
	if (pg_policy_format(p, f))
		exit(PG_EXIT_FAIL);
	fclose(f);
	return buf;
}

/* Parse text named "t"; returns the parser's result, the diagnostics in *out. */
static int parse(const char *text, size_t len, struct pg_policy **p, char **out)
{
	struct pg_diags d = { 0 };
	int err = pg_policy_parse("t", text, len, p, &d);

	*out = diags_text(&d);
	pg_diags_free(&d);
	return err;
}

/* A valid policy: no error, and exactly the warnings given ("" for none). */
static struct pg_policy *parse_ok(const char *text, const char *warnings)
{
	struct pg_policy *p = NULL;
	char *out;
	int err = parse(text, strlen(text), &p, &out);

	if (err)
		printf("# unexpected diagnostics for:\n# %s\n# %s", text, out);
	ASSERT_EQ(0, err);
	ASSERT_STREQ(warnings, out);
	free(out);
	return p;
}

/* A policy text with an SSH rule and nothing else noteworthy, to prefix cases with. */
#define SSH "allow in tcp 22\n"

struct bad {
	const char *text;
	const char *diag; /* every line the parser prints */
};

static void run_bad(const struct bad *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct pg_policy *p = (struct pg_policy *)1;
		char *out;
		int err = parse(cases[i].text, strlen(cases[i].text), &p, &out);

		if (err != -EINVAL || p || strcmp(cases[i].diag, out)) {
			printf("# case %zu: %s\n#   expected: %s#   seen:     %s", i, cases[i].text,
			       cases[i].diag, out);
		}
		EXPECT_EQ(-EINVAL, err);
		EXPECT_TRUE(p == NULL);
		EXPECT_STREQ(cases[i].diag, out);
		free(out);
	}
}

#define RUN_BAD(cases) run_bad(cases, sizeof(cases) / sizeof(cases[0]))

TEST(malformed_mode_and_defaults)
{
	static const struct bad cases[] = {
		{ "mode\n", "t:1:5: error: expected 'enforce' or 'dry-run' after 'mode'\n" },
		{ "mode fast\n",
		  "t:1:6: error: unknown mode 'fast' (expected enforce or dry-run)\n" },
		{ "mode enforce extra\n",
		  "t:1:14: error: unexpected 'extra' at end of statement\n" },
		{ SSH "mode enforce\n  mode dry-run\n",
		  "t:3:3: error: duplicate 'mode' (already set at line 2)\n" },
		{ "default\n", "t:1:8: error: expected 'in' or 'out' after 'default'\n" },
		{ "default up deny\n",
		  "t:1:9: error: unknown direction 'up' (expected in or out)\n" },
		{ "default in\n",
		  "t:1:11: error: expected 'allow' or 'deny' after 'default in'\n" },
		{ "default out drop\n",
		  "t:1:13: error: unknown default 'drop' (expected allow or deny)\n" },
		{ "default in allow\ndefault in deny\n",
		  "t:2:1: error: duplicate 'default in' (already set at line 1)\n" },
		{ "default out deny\n\tdefault out deny\n",
		  "t:2:2: error: duplicate 'default out' (already set at line 1)\n" },
		{ "firewall on\n", "t:1:1: error: unknown statement 'firewall' (expected mode, "
				   "default, interface, set, allow, deny or local)\n" },
		{ "Allow in tcp 22\n", "t:1:1: error: unknown statement 'Allow' (expected mode, "
				       "default, interface, set, allow, deny or local)\n" },
		{ ", allow\n", "t:1:1: error: expected a statement, found ','\n" },
	};

	RUN_BAD(cases);
}

TEST(malformed_interfaces)
{
	static const struct bad cases[] = {
		{ "interface\n", "t:1:10: error: expected an interface name after 'interface'\n" },
		{ "interface eth0, eth1\n",
		  "t:1:15: error: interface names are separated by spaces, found ','\n" },
		{ "interface abcdefghijklmnop\n", "t:1:11: error: interface name "
						  "'abcdefghijklmnop' is too long (at most 15 "
						  "characters)\n" },
		{ "interface eth0/1\n", "t:1:11: error: invalid interface name 'eth0/1'\n" },
		{ "interface ..\n", "t:1:11: error: invalid interface name '..'\n" },
		{ "interface eth0:1\n", "t:1:11: error: invalid interface name 'eth0:1'\n" },
		{ "interface eth0\ninterface eth1 eth0\n",
		  "t:2:16: error: interface 'eth0' already named at line 1\n" },
		{ "interface a b a\n", "t:1:15: error: interface 'a' named twice\n" },
		{ "interface a b c d e f g h i j k l m n o p q\n",
		  "t:1:11: error: too many interfaces (at most 16)\n" },
	};

	RUN_BAD(cases);
}

TEST(malformed_sets)
{
	static const struct bad cases[] = {
		{ "set\n", "t:1:4: error: expected a set name after 'set'\n" },
		{ "set = 198.18.0.1\n",
		  "t:1:5: error: expected a set name after 'set', found '='\n" },
		{ "set 9x = 198.18.0.1\n",
		  "t:1:5: error: invalid set name '9x' (a letter or '_', then letters, digits, "
		  "'_', '-' or '.', at most 63 characters)\n" },
		{ "set x 198.18.0.1\n",
		  "t:1:7: error: expected '=' after set name 'x', found '198.18.0.1'\n" },
		{ "set x\n", "t:1:6: error: expected '=' after set name 'x'\n" },
		{ "set x =\n", "t:1:8: error: expected a peer after '='\n" },
		{ "set x = 198.18.0.1,\n", "t:1:20: error: expected a peer after ','\n" },
		{ "set x = @y\n",
		  "t:1:9: error: a set cannot contain another set ('@y'); list its addresses\n" },
		{ "set x = 198.18.0.1 extra\n",
		  "t:1:20: error: unexpected 'extra' at end of statement\n" },
		{ "set x = 198.18.0.1\nset x = 198.18.0.2\n" SSH "allow in tcp 80 from @x\n",
		  "t:2:5: error: set 'x' already defined at line 1\n" },
		{ "set x = 198.18.0.1\nset y = 198.18.0.9\nset x = 198.18.0.2\nset x = 198.18.0.3\n"
		  SSH "allow in tcp 80 from @x, @y\n",
		  "t:3:5: error: set 'x' already defined at line 1\n"
		  "t:4:5: error: set 'x' already defined at line 1\n" },
		{ SSH "allow in tcp 80 from @nosuch\n",
		  "t:2:22: error: unknown set '@nosuch'\n" },
		{ SSH "allow in tcp 80 from @\n", "t:2:22: error: invalid set name '@'\n" },
		/* A reference before its definition is fine; one to nothing is an error, at each
		 * place it is made. */
		{ SSH "allow in tcp 80 from @a, @b\nallow out tcp 80 to @b\nset a = 198.18.0.1\n",
		  "t:2:26: error: unknown set '@b'\nt:3:21: error: unknown set '@b'\n" },
	};

	RUN_BAD(cases);
}

TEST(malformed_rules)
{
	static const struct bad cases[] = {
		{ "allow\n", "t:1:6: error: expected 'in' or 'out' after 'allow'\n" },
		{ "deny\n", "t:1:5: error: expected 'in', 'out' or 'raw' after 'deny'\n" },
		{ "allow sideways tcp 80\n",
		  "t:1:7: error: unknown direction 'sideways' (expected in or out)\n" },
		{ "deny up tcp 1\n",
		  "t:1:6: error: unknown direction 'up' (expected in, out or raw)\n" },
		{ "allow in\n",
		  "t:1:9: error: expected a protocol (tcp, udp or tcp,udp) after 'in'\n" },
		{ "allow in icmp 80\n",
		  "t:1:10: error: unknown protocol 'icmp' (expected tcp or udp)\n" },
		{ "allow in TCP 80\n",
		  "t:1:10: error: unknown protocol 'TCP' (expected tcp or udp)\n" },
		{ "allow in tcp,tcp 80\n", "t:1:14: error: duplicate protocol 'tcp'\n" },
		{ "allow in tcp, 80\n",
		  "t:1:15: error: unknown protocol '80' (expected tcp or udp)\n" },
		{ "allow in ,tcp 80\n", "t:1:10: error: expected a protocol, found ','\n" },
		{ "allow in tcp\n", "t:1:13: error: expected a port after 'tcp'\n" },
		{ "local udp\n", "t:1:10: error: expected a port after 'udp'\n" },
		{ "allow in tcp from 198.18.0.1\n",
		  "t:1:14: error: invalid port 'from' (expected a port 1-65535 or a range "
		  "LO-HI)\n" },
		{ "local in tcp 5432\n",
		  "t:1:7: error: a local rule has no direction (write 'local PROTO PORTS')\n" },
		{ "allow in tcp 80 from 198.18.0.1 from 198.18.0.2\n",
		  "t:1:33: error: duplicate 'from'\n" },
		{ "allow in tcp 80 to 198.18.0.1\n",
		  "t:1:17: error: 'to' is for outbound rules; an "
						     "inbound rule names its peers with 'from'\n" },
		{ "allow out tcp 80 from 198.18.0.1\n",
		  "t:1:18: error: 'from' is for inbound rules; an outbound rule names its peers "
		  "with 'to'\n" },
		{ "deny out udp 53 from 198.18.0.1\n",
		  "t:1:17: error: 'from' is for inbound rules; an outbound rule names its peers "
		  "with 'to'\n" },
		{ "local tcp 5432 from 127.0.0.1\n",
		  "t:1:16: error: a local rule takes no peers: only loopback may reach a local "
		  "port\n" },
		{ SSH "allow in tcp 80 dry-run\n",
		  "t:2:17: error: 'dry-run' is only valid on deny and local rules (an allow rule "
		  "blocks nothing)\n" },
		{ "deny in tcp 80 log\n",
		  "t:1:16: error: 'log' is only valid on allow rules (a deny rule reports what it "
		  "blocks)\n" },
		{ "local tcp 80 log\n",
		  "t:1:14: error: 'log' is only valid on allow rules (a local rule reports what it "
		  "blocks)\n" },
		{ "allow in tcp 80 log log\n", "t:1:21: error: duplicate 'log'\n" },
		{ "deny in tcp 80 dry-run dry-run\n", "t:1:24: error: duplicate 'dry-run'\n" },
		{ "allow out tcp 80 quickly\n",
		  "t:1:18: error: unexpected 'quickly' (expected 'to' or 'log')\n" },
		{ "deny in tcp 80 now\n",
		  "t:1:16: error: unexpected 'now' (expected 'from' or 'dry-run')\n" },
		{ "local tcp 80 = 1\n", "t:1:14: error: unexpected '=' (expected 'dry-run')\n" },
		{ "deny raw log\n",
		  "t:1:10: error: unexpected 'log' after 'deny raw' (expected dry-run)\n" },
		{ "deny raw dry-run dry-run\n", "t:1:18: error: duplicate 'dry-run'\n" },
		{ "deny raw\ndeny raw dry-run\n",
		  "t:2:1: error: duplicate 'deny raw' (already given at line 1)\n" },
	};

	RUN_BAD(cases);
}

TEST(malformed_ports)
{
	static const struct bad cases[] = {
		{ "allow in tcp 80,\n", "t:1:17: error: expected a port after ','\n" },
		{ "allow in tcp 80,,81\n", "t:1:17: error: expected a port, found ','\n" },
		{ "allow in tcp http\n",
		  "t:1:14: error: invalid port 'http' (expected a port 1-65535 or a range "
		  "LO-HI)\n" },
		{ "allow in tcp 0\n", "t:1:14: error: port 0 out of range (1-65535)\n" },
		{ "allow in tcp 65536\n", "t:1:14: error: port 65536 out of range (1-65535)\n" },
		{ "allow in tcp 1-70000\n", "t:1:16: error: port 70000 out of range (1-65535)\n" },
		{ "allow in udp 0-10\n", "t:1:14: error: port 0 out of range (1-65535)\n" },
		{ "allow in tcp 90-80\n",
		  "t:1:14: error: port range 90-80 is reversed (write 80-90)\n" },
		{ "allow in tcp 80-\n",
		  "t:1:14: error: invalid port range '80-' (expected LO-HI)\n" },
		{ "allow in tcp -80\n",
		  "t:1:14: error: invalid port range '-80' (expected LO-HI)\n" },
		{ "allow in tcp 1-2-3\n",
		  "t:1:14: error: invalid port '1-2-3' (expected a port 1-65535 or a range "
		  "LO-HI)\n" },
		/* Strict numbers: no leading zero, no sign, no hex. */
		{ "allow in tcp 080\n",
		  "t:1:14: error: invalid port '080' (expected a port 1-65535 or a range "
		  "LO-HI)\n" },
		{ "allow in tcp +80\n",
		  "t:1:14: error: invalid port '+80' (expected a port 1-65535 or a range "
		  "LO-HI)\n" },
		{ "allow in tcp 0x50\n",
		  "t:1:14: error: invalid port '0x50' (expected a port 1-65535 or a range "
		  "LO-HI)\n" },
		/* A number too long for any integer type, cut in the message. */
		{ "allow in tcp 99999999999999999999999999999999999999999999999999\n",
		  "t:1:14: error: port 9999999999999999999999999999999999999999... out of range "
		  "(1-65535)\n" },
		{ "allow in tcp 80 443\n", "t:1:17: error: unexpected '443' (expected 'from' or "
					   "'log'); separate ports with ','\n" },
		/* No spaces inside a range. */
		{ "allow in tcp 80 - 90\n",
		  "t:1:17: error: unexpected '-' (expected 'from' or 'log')\n" },
	};

	RUN_BAD(cases);
}

TEST(malformed_peers)
{
	static const struct bad cases[] = {
		{ "allow in tcp 22 from\n", "t:1:21: error: expected a peer after 'from'\n" },
		{ "allow in tcp 22 from any,\n", "t:1:26: error: expected a peer after ','\n" },
		{ "allow in tcp 22 from ,\n", "t:1:22: error: expected a peer, found ','\n" },
		{ "allow in tcp 22 from 1.2.3\n",
		  "t:1:22: error: invalid address '1.2.3' (expected an IPv4 or IPv6 address or "
		  "CIDR, 'any' or '@set')\n" },
		{ "allow in tcp 22 from 1.2.3.04\n",
		  "t:1:22: error: invalid address '1.2.3.04' (expected an IPv4 or IPv6 address or "
		  "CIDR, 'any' or '@set')\n" },
		{ "allow in tcp 22 from fe80::1%eth0\n",
		  "t:1:22: error: invalid address 'fe80::1%eth0' (expected an IPv4 or IPv6 address "
		  "or CIDR, 'any' or '@set')\n" },
		{ "allow in tcp 22 from admins\n",
		  "t:1:22: error: invalid address 'admins' (expected an IPv4 or IPv6 address or "
		  "CIDR, 'any' or '@set')\n" },
		{ "allow in tcp 22 from 198.18.0.0/33\n",
		  "t:1:33: error: prefix length 33 out of range for IPv4 (0-32)\n" },
		{ "allow in tcp 22 from 2001:db8::/129\n",
		  "t:1:33: error: prefix length 129 out of range for IPv6 (0-128)\n" },
		{ "allow in tcp 22 from 198.18.0.0/\n",
		  "t:1:33: error: missing prefix length after '/' (expected 0-32)\n" },
		{ "allow in tcp 22 from 198.18.0.0/016\n",
		  "t:1:33: error: invalid prefix length '016' (expected 0-32)\n" },
		{ "allow in tcp 22 from 198.18.0.0/1/2\n",
		  "t:1:33: error: invalid prefix length '1/2' (expected 0-32)\n" },
		/* Host bits set: an error, with the network the author may have meant. */
		{ "allow in tcp 22 from 198.18.0.1/15\n",
		  "t:1:22: error: '198.18.0.1/15' has host bits set (the network is "
		  "198.18.0.0/15)\n" },
		{ "allow in tcp 22 from 198.19.255.255/31\n",
		  "t:1:22: error: '198.19.255.255/31' has host bits set (the network is "
		  "198.19.255.254/31)\n" },
		{ "allow in tcp 22 from 2001:db8::1/32\n",
		  "t:1:22: error: '2001:db8::1/32' has host bits set (the network is "
		  "2001:db8::/32)\n" },
		{ "allow in tcp 22 from ::ffff:198.18.0.1/100\n",
		  "t:1:22: error: '::ffff:198.18.0.1/100' has host bits set (the network is "
		  "::ffff:192.0.0.0/100)\n" },
		{ "allow in tcp 22 from 1.0.0.0/0\n",
		  "t:1:22: error: '1.0.0.0/0' has host bits set (the network is 0.0.0.0/0)\n" },
	};

	RUN_BAD(cases);
}

TEST(malformed_bytes)
{
	static const char nul_rule[] = "allow in tcp 80\0\nallow in tcp 22\n";
	static const char nul_comment[] = "allow in tcp 22 # a\0b\n";
	static const char only_nul[] = "\0";
	static const struct bad cases[] = {
		{ SSH "allow in tcp 80 \x01\n",
		  "t:2:17: error: unexpected byte 0x01 (a policy is ASCII outside comments)\n" },
		{ SSH "allow in tcp 8\xc3\xa9\n",
		  "t:2:15: error: unexpected byte 0xc3 (a policy is ASCII outside comments)\n" },
		{ SSH "\x7f\n",
		  "t:2:1: error: unexpected byte 0x7f (a policy is ASCII outside comments)\n" },
		{ SSH "allow\vin tcp 80\n",
		  "t:2:6: error: unexpected byte 0x0b (a policy is ASCII outside comments)\n" },
	};
	struct pg_policy *p;
	char *out;

	RUN_BAD(cases);
	/* NUL bytes: an error at the byte, inside a rule or inside a comment, never the end of
	 * the input. The line after a NUL is still read. */
	EXPECT_EQ(-EINVAL, parse(nul_rule, sizeof(nul_rule) - 1, &p, &out));
	EXPECT_STREQ("t:1:16: error: NUL byte in policy\n", out);
	free(out);
	EXPECT_EQ(-EINVAL, parse(nul_comment, sizeof(nul_comment) - 1, &p, &out));
	EXPECT_STREQ("t:1:20: error: NUL byte in policy\n", out);
	free(out);
	EXPECT_EQ(-EINVAL, parse(only_nul, 1, &p, &out));
	EXPECT_STREQ("t:1:1: error: NUL byte in policy\n", out);
	free(out);
}

/* Every broken line is reported, in order; one error per line (the first), and a broken
 * line does not stop the next. Unknown-set errors found after the whole file is read take
 * their place in line order. */
TEST(every_error_reported)
{
	static const struct bad cases[] = {
		{ "mode fast\n"
		  "allow in tcp 22 from @nope\n"
		  "# fine\n"
		  "allow in icmp 0\n"
		  "allow in tcp 22\n"
		  "default in sideways\n"
		  "local tcp 5432 from any log\n",
		  "t:1:6: error: unknown mode 'fast' (expected enforce or dry-run)\n"
		  "t:2:22: error: unknown set '@nope'\n"
		  "t:4:10: error: unknown protocol 'icmp' (expected tcp or udp)\n"
		  "t:6:12: error: unknown default 'sideways' (expected allow or deny)\n"
		  "t:7:16: error: a local rule takes no peers: only loopback may reach a local "
		  "port\n" },
	};

	RUN_BAD(cases);
}

TEST(long_tokens_are_cut_in_messages)
{
	size_t n = 100000;
	char *text = malloc(n + 64), *out;
	struct pg_policy *p;

	ASSERT_TRUE(text);
	strcpy(text, "allow in tcp 22 from ");
	memset(text + strlen(text), 'a', n);
	strcpy(text + 21 + n, "\n");
	ASSERT_EQ(-EINVAL, parse(text, strlen(text), &p, &out));
	ASSERT_STREQ("t:1:22: error: invalid address 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...' "
		     "(expected an IPv4 or IPv6 address or CIDR, 'any' or '@set')\n",
		     out);
	free(out);
	free(text);
}

TEST(empty_policy_has_the_defaults)
{
	struct pg_policy *p = parse_ok("", "t:1:1: warning: inbound default is deny and no rule "
					   "allows tcp/22 (SSH): enforcing this policy would lock "
					   "administrators out\n");

	EXPECT_EQ(PG_MODE_ENFORCE, p->mode);
	EXPECT_EQ(PG_DEFAULT_DENY, p->default_in);
	EXPECT_EQ(PG_DEFAULT_ALLOW, p->default_out);
	EXPECT_EQ(0, p->default_in_loc.line);
	EXPECT_EQ(0, p->nrules);
	EXPECT_EQ(0, p->nifaces);
	EXPECT_FALSE(p->deny_raw);
	pg_policy_free(p);
}

TEST(full_policy_fields)
{
	struct pg_policy *p = parse_ok("# a comment\n"
				       "mode dry-run\n"
				       "default in allow   # trailing comment\n"
				       "default out deny\n"
				       "interface veth0 eth1\n"
				       "interface lo\n"
				       "deny raw dry-run\n"
				       "set admins = 198.51.100.0/24, 2001:db8::/32\n"
				       "allow in tcp 22 from @admins log\n"
				       "deny out udp 53,5353 to 198.18.0.1 dry-run\n"
				       "\tlocal tcp,udp 5432\r\n"
				       "allow out tcp 1-1024\n",
				       "");
	const struct pg_rule *r;
	char buf[64];

	EXPECT_EQ(PG_MODE_DRY_RUN, p->mode);
	EXPECT_EQ(PG_DEFAULT_ALLOW, p->default_in);
	EXPECT_EQ(PG_DEFAULT_DENY, p->default_out);
	EXPECT_EQ(3, p->default_in_loc.line);
	EXPECT_EQ(1, p->default_in_loc.col);
	ASSERT_EQ(3, p->nifaces);
	EXPECT_STREQ("veth0", p->ifaces[0]);
	EXPECT_STREQ("eth1", p->ifaces[1]);
	EXPECT_STREQ("lo", p->ifaces[2]);
	EXPECT_TRUE(p->deny_raw);
	EXPECT_TRUE(p->deny_raw_dry_run);
	EXPECT_EQ(7, p->deny_raw_loc.line);
	ASSERT_EQ(1, p->nsets);
	EXPECT_STREQ("admins", p->sets[0].name);
	EXPECT_EQ(2, p->sets[0].npeers);
	EXPECT_TRUE(p->sets[0].used);
	EXPECT_EQ(8, p->sets[0].loc.line);
	EXPECT_EQ(5, p->sets[0].loc.col);
	ASSERT_EQ(4, p->nrules);

	r = &p->rules[0];
	EXPECT_EQ(PG_RULE_ALLOW, r->kind);
	EXPECT_EQ(PG_DIR_IN, r->dir);
	EXPECT_EQ(PG_PROTO_TCP, r->protos);
	ASSERT_EQ(1, r->nports);
	EXPECT_EQ(22, r->ports[0].lo);
	EXPECT_EQ(22, r->ports[0].hi);
	ASSERT_EQ(2, r->npeers);
	pg_peer_format(&r->peers[0], buf, sizeof(buf));
	EXPECT_STREQ("198.51.100.0/24", buf);
	EXPECT_TRUE(r->peers[0].v4);
	EXPECT_EQ(96 + 24, r->peers[0].prefixlen);
	EXPECT_EQ(0xff, r->peers[0].addr[10]);
	EXPECT_EQ(198, r->peers[0].addr[12]);
	pg_peer_format(&r->peers[1], buf, sizeof(buf));
	EXPECT_STREQ("2001:db8::/32", buf);
	EXPECT_FALSE(r->peers[1].v4);
	EXPECT_TRUE(r->log);
	EXPECT_FALSE(r->dry_run);
	EXPECT_EQ(9, r->loc.line);
	EXPECT_EQ(1, r->loc.col);
	EXPECT_STREQ("t", r->loc.file);

	r = &p->rules[1];
	EXPECT_EQ(PG_RULE_DENY, r->kind);
	EXPECT_EQ(PG_DIR_OUT, r->dir);
	EXPECT_EQ(PG_PROTO_UDP, r->protos);
	ASSERT_EQ(2, r->nports);
	EXPECT_EQ(5353, r->ports[1].lo);
	EXPECT_EQ(1, r->npeers);
	EXPECT_TRUE(r->dry_run);

	r = &p->rules[2];
	EXPECT_EQ(PG_RULE_LOCAL, r->kind);
	EXPECT_EQ(PG_DIR_IN, r->dir);
	EXPECT_EQ(PG_PROTO_TCP | PG_PROTO_UDP, r->protos);
	EXPECT_EQ(0, r->npeers);
	EXPECT_TRUE(r->peers == NULL);
	EXPECT_EQ(11, r->loc.line);
	EXPECT_EQ(2, r->loc.col);

	r = &p->rules[3];
	EXPECT_EQ(1, r->ports[0].lo);
	EXPECT_EQ(1024, r->ports[0].hi);
	pg_policy_free(p);
}

TEST(ports_are_sorted_and_merged)
{
	struct pg_policy *p = parse_ok(SSH "allow in tcp 443 , 80,81,82,80-81,8000-8100,8050-9000,"
					   "9001,65535,1\n",
				       "");
	char buf[128];

	ASSERT_EQ(2, p->nrules);
	ASSERT_EQ(0, pg_rule_format(&p->rules[1], buf, sizeof(buf)));
	EXPECT_STREQ("allow in tcp 1,80-82,443,8000-9001,65535", buf);
	pg_policy_free(p);
}

TEST(peers_are_sorted_deduplicated_and_covered_ones_dropped)
{
	struct pg_policy *p = parse_ok(SSH "allow in tcp 80 from 2001:db8::1, 198.18.0.7, "
					   "198.18.0.0/24, ::ffff:198.18.0.9, 2001:db8::/48, "
					   "198.19.0.1, 198.19.0.1/32, 2001:db8::1\n",
				       "");
	char buf[256];

	ASSERT_EQ(0, pg_rule_format(&p->rules[1], buf, sizeof(buf)));
	EXPECT_STREQ("allow in tcp 80 from 198.18.0.0/24,198.19.0.1,2001:db8::/48", buf);
	pg_policy_free(p);
}

TEST(mapped_ipv6_is_the_ipv4_address)
{
	struct pg_policy *p = parse_ok(SSH "allow in tcp 80 from ::ffff:198.18.0.9\n"
					   "allow in tcp 81 from ::ffff:0:0/96\n",
				       "");
	char buf[64];

	ASSERT_EQ(1, p->rules[1].npeers);
	EXPECT_TRUE(p->rules[1].peers[0].v4);
	pg_peer_format(&p->rules[1].peers[0], buf, sizeof(buf));
	EXPECT_STREQ("198.18.0.9", buf);
	pg_peer_format(&p->rules[2].peers[0], buf, sizeof(buf));
	EXPECT_STREQ("0.0.0.0/0", buf);
	pg_policy_free(p);
}

/* "any", ::/0 (which covers IPv4 too over the mapped form) and a set holding any all mean
 * any: the empty peer list. 0.0.0.0/0 is every IPv4 address only. */
TEST(any_peers)
{
	struct pg_policy *p = parse_ok(SSH "set all = any\n"
					   "allow in tcp 80 from 198.18.0.1, any\n"
					   "allow in tcp 81 from ::/0\n"
					   "allow in tcp 82 from @all, 198.18.0.1\n"
					   "allow in tcp 83 from 0.0.0.0/0\n",
				       "");

	for (int i = 1; i <= 3; i++) {
		EXPECT_EQ(0, p->rules[i].npeers);
		EXPECT_TRUE(p->rules[i].peers == NULL);
	}
	ASSERT_EQ(1, p->rules[4].npeers);
	EXPECT_EQ(96, p->rules[4].peers[0].prefixlen);
	pg_policy_free(p);
}

TEST(sets_expand_in_any_order)
{
	struct pg_policy *p = parse_ok(SSH "allow in tcp 80 from @b, 198.18.0.1, @a\n"
					   "set a = 198.18.1.0/24\n"
					   "set b = 2001:db8::5, 198.18.1.7\n",
				       "");
	char buf[128];

	ASSERT_EQ(0, pg_rule_format(&p->rules[1], buf, sizeof(buf)));
	EXPECT_STREQ("allow in tcp 80 from 198.18.0.1,198.18.1.0/24,2001:db8::5", buf);
	EXPECT_TRUE(p->sets[0].used);
	EXPECT_TRUE(p->sets[1].used);
	pg_policy_free(p);
}

TEST(whitespace_comments_and_line_endings)
{
	struct pg_policy *p = parse_ok("allow in tcp 22#glued comment\r\n"
				       "   \t  \r\n"
				       "allow\tin\ttcp\t80\t,\t81 # caf\xc3\xa9, \x01 anything\n"
				       "#\n"
				       "allow in tcp,udp 82", /* no final newline */
				       "");

	ASSERT_EQ(3, p->nrules);
	EXPECT_EQ(3, p->rules[1].loc.line);
	EXPECT_EQ(81, p->rules[1].ports[0].hi);
	EXPECT_EQ(5, p->rules[2].loc.line);
	pg_policy_free(p);
}

TEST(deny_raw)
{
	struct pg_policy *p = parse_ok(SSH "deny raw\n", "");

	EXPECT_TRUE(p->deny_raw);
	EXPECT_FALSE(p->deny_raw_dry_run);
	EXPECT_EQ(2, p->deny_raw_loc.line);
	EXPECT_EQ(0, p->nrules - 1);
	pg_policy_free(p);
}

TEST(rule_format_truncates)
{
	struct pg_policy *p = parse_ok(SSH "allow out tcp 80,443 to 198.18.0.0/15 log\n", "");
	char buf[12];

	EXPECT_EQ(-ENOSPC, pg_rule_format(&p->rules[1], buf, sizeof(buf)));
	EXPECT_STREQ("allow out t", buf);
	EXPECT_EQ(-ENOSPC, pg_rule_format(&p->rules[1], buf, 0));
	pg_policy_free(p);
}

TEST(load_errors)
{
	struct pg_diags d = { 0 };
	struct pg_policy *p = (struct pg_policy *)1;
	char *out;

	EXPECT_EQ(-EINVAL, pg_policy_load("/nonexistent/x.policy", &p, &d));
	EXPECT_TRUE(p == NULL);
	ASSERT_EQ(1, d.nerrors);
	EXPECT_EQ(0, d.v[0].loc.line);
	EXPECT_EQ(0, d.v[0].loc.col);
	out = diags_text(&d);
	EXPECT_STREQ("/nonexistent/x.policy: error: failed to read policy: No such file or "
		     "directory\n",
		     out);
	free(out);
	pg_diags_free(&d);

	EXPECT_EQ(-EINVAL, pg_policy_load("/", &p, &d));
	out = diags_text(&d);
	EXPECT_STREQ("/: error: failed to read policy: Is a directory\n", out);
	free(out);
	pg_diags_free(&d);
}

/* One reader for every command: a FIFO (which would block) and a device (which would never
 * end) are refused before a byte is read. */
TEST(load_refuses_what_is_not_a_regular_file)
{
	char fifo[] = "/tmp/pg-test-fifo-XXXXXX";
	struct pg_diags d = { 0 };
	struct pg_policy *p;
	char *out, *text;
	size_t len;

	ASSERT_TRUE(mkdtemp(fifo) != NULL);
	strcat(fifo, "/p");
	ASSERT_EQ(0, mkfifo(fifo, 0600));
	EXPECT_EQ(-PG_POLICY_ENOTREG, pg_policy_read_text(fifo, &text, &len));
	EXPECT_EQ(-EINVAL, pg_policy_load(fifo, &p, &d));
	out = diags_text(&d);
	EXPECT_TRUE(strstr(out, "failed to read policy: not a regular file") != NULL);
	free(out);
	pg_diags_free(&d);
	unlink(fifo);
	*strrchr(fifo, '/') = '\0';
	rmdir(fifo);

	EXPECT_EQ(-PG_POLICY_ENOTREG, pg_policy_read_text("/dev/zero", &text, &len));
	EXPECT_EQ(-EINVAL, pg_policy_load("/dev/zero", &p, &d));
	pg_diags_free(&d);
}

TEST(load_reads_a_file)
{
	char path[] = "/tmp/pg-test-policy-XXXXXX";
	const char text[] = "allow in tcp 22\nallow in tcp 0\n";
	struct pg_diags d = { 0 };
	struct pg_policy *p;
	int fd = mkstemp(path);
	char *out, want[128];

	ASSERT_GE(fd, 0);
	ASSERT_EQ((long)sizeof(text) - 1, write(fd, text, sizeof(text) - 1));
	close(fd);
	EXPECT_EQ(-EINVAL, pg_policy_load(path, &p, &d));
	out = diags_text(&d);
	snprintf(want, sizeof(want), "%s:2:14: error: port 0 out of range (1-65535)\n", path);
	EXPECT_STREQ(want, out);
	free(out);
	pg_diags_free(&d);
	unlink(path);
}

/* --- warnings ------------------------------------------------------------------------- */

TEST(warn_ssh_lockout)
{
	struct pg_policy *p;

	p = parse_ok("mode enforce\n  default in deny\nallow in tcp 80\n",
		     "t:2:3: warning: inbound default is deny and no rule allows tcp/22 (SSH): "
		     "enforcing this policy would lock administrators out\n");
	pg_policy_free(p);
	/* Implicit default deny: the warning goes to 1:1. udp/22 is not SSH. */
	p = parse_ok("allow in udp 22\n",
		     "t:1:1: warning: inbound default is deny and no rule allows tcp/22 (SSH): "
		     "enforcing this policy would lock administrators out\n");
	pg_policy_free(p);
	/* None when inbound defaults to allow, or when a rule (even a narrow one) lets SSH in. */
	pg_policy_free(parse_ok("default in allow\n", ""));
	pg_policy_free(parse_ok("set admins = 198.51.100.0/24\n"
				"allow in tcp,udp 20-30 from @admins\n",
				""));
}

TEST(warn_allowed_and_local)
{
	struct pg_policy *p;

	p = parse_ok(SSH "allow in tcp 8090\nlocal tcp 8090\n",
		     "t:2:1: warning: port tcp/8090 is allowed in here and local at line 3: local "
		     "wins, only loopback reaches it\n");
	pg_policy_free(p);
	/* Only where protocols meet; outbound allows are not about local ports. */
	pg_policy_free(parse_ok(SSH "allow in udp 8090\nallow out tcp 8090\nlocal tcp 8090\n", ""));
}

TEST(warn_range_swallows_local)
{
	struct pg_policy *p;

	p = parse_ok(SSH "local tcp,udp 5432,9000\nallow in udp 5000-6000\n",
		     "t:3:1: warning: port range 5000-6000 swallows local port udp/5432 (line 2): "
		     "local wins there, only loopback reaches it\n");
	pg_policy_free(p);
	p = parse_ok(SSH "allow in tcp 1-65535 from 198.18.0.0/15\nlocal tcp 100-200\n",
		     "t:2:1: warning: port range 1-65535 swallows local port tcp/100-200 (line 3): "
		     "local wins there, only loopback reaches it\n");
	pg_policy_free(p);
}

TEST(warn_overlap_different_actions)
{
	struct pg_policy *p;

	p = parse_ok(SSH "allow in tcp 400-500\ndeny in tcp,udp 450 from 198.18.0.0/15\n",
		     "t:3:1: warning: deny rule overlaps the allow rule at line 2 (tcp port 450): "
		     "deny wins where they overlap\n");
	pg_policy_free(p);
	/* The warning is at the later rule, whichever action it has; outbound too. */
	p = parse_ok(SSH "deny out udp 53 to 198.18.0.0/24\n"
			 "allow out udp 1-100 to 198.18.0.128/25, 2001:db8::1\n",
		     "t:3:1: warning: allow rule overlaps the deny rule at line 2 (udp port 53): "
		     "deny wins where they overlap\n");
	pg_policy_free(p);
	/* One warning per rule, at the later rule of its first conflict in port order, however
	 * many ports, protocols and rules it overlaps. */
	p = parse_ok(SSH "deny in tcp 90-100\ndeny in tcp 50-60\nallow in tcp 1-1000\n"
			 "allow in tcp 95\n",
		     "t:4:1: warning: allow rule overlaps the deny rule at line 3 (tcp port 50): "
		     "deny wins where they overlap\n"
		     "t:5:1: warning: allow rule overlaps the deny rule at line 2 (tcp port 95): "
		     "deny wins where they overlap\n");
	pg_policy_free(p);
	p = parse_ok(SSH "allow in tcp,udp 30,40,50\ndeny in tcp,udp 25-100\n",
		     "t:3:1: warning: deny rule overlaps the allow rule at line 2 (tcp port 30): "
		     "deny wins where they overlap\n");
	pg_policy_free(p);
	/* A dry-run deny reports where it overlaps an allow; it does not win. */
	p = parse_ok(SSH "allow in tcp 80\ndeny in tcp 80 from 198.18.0.0/15 dry-run\n",
		     "t:3:1: warning: deny rule overlaps the allow rule at line 2 (tcp port 80): "
		     "the deny is dry-run, so where they overlap it only reports\n");
	pg_policy_free(p);
	/* No overlap: disjoint peers, other direction, other protocol, other ports, same
	 * action, or a local rule. */
	pg_policy_free(parse_ok(SSH "allow in tcp 80 from 198.18.0.0/24\n"
				    "deny in tcp 80 from 198.18.1.0/24, 2001:db8::/32\n"
				    "deny out tcp 80\n"
				    "deny in udp 80\n"
				    "deny in tcp 81-90\n"
				    "allow in tcp 81-85 from 198.18.2.0/24\n"
				    "local tcp 81\n"
				    "deny in tcp 86-89\n",
				"t:7:1: warning: port range 81-85 swallows local port tcp/81 "
				"(line 8): "
				"local wins there, only loopback reaches it\n"
				"t:7:1: warning: allow rule overlaps the deny rule at line 6 (tcp "
				"port "
				"81): deny wins where they overlap\n"));
	/* An allow from any overlaps a deny from some peers. */
	p = parse_ok(SSH "deny in tcp 80 from 198.18.1.0/24\nallow in tcp 79-85\n",
		     "t:3:1: warning: allow rule overlaps the deny rule at line 2 (tcp port 80): "
		     "deny wins where they overlap\n");
	pg_policy_free(p);
}

TEST(warn_unused_set)
{
	struct pg_policy *p;

	p = parse_ok(SSH "set   spare = 198.18.0.1\nset used = 198.18.0.2\n"
			 "allow out tcp 80 to @used\n",
		     "t:2:7: warning: set 'spare' is defined but never used\n");
	EXPECT_FALSE(p->sets[0].used);
	EXPECT_TRUE(p->sets[1].used);
	pg_policy_free(p);
}

TEST(warnings_in_line_order)
{
	struct pg_policy *p;

	p = parse_ok("set a = 198.18.0.1\n"
		     "local tcp 8090\n"
		     "allow in tcp 8090\n"
		     "default in deny\n",
		     "t:1:5: warning: set 'a' is defined but never used\n"
		     "t:3:1: warning: port tcp/8090 is allowed in here and local at line 2: local "
		     "wins, only loopback reaches it\n"
		     "t:4:1: warning: inbound default is deny and no rule allows tcp/22 (SSH): "
		     "enforcing this policy would lock administrators out\n");
	pg_policy_free(p);
}

/* Like a compiler's -fmax-errors: a binary file must not become gigabytes of messages. */
TEST(error_cap)
{
	size_t n = 3000, len = 0;
	char *text = malloc(n * 16), *out, *last;
	struct pg_policy *p;
	int lines = 0;

	ASSERT_TRUE(text);
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(text + len, "allow in tcp 0\n");
	ASSERT_EQ(-EINVAL, parse(text, len, &p, &out));
	for (char *c = out; *c; c++)
		lines += *c == '\n';
	EXPECT_EQ(1001, lines);
	last = strstr(out, "t:1001:");
	ASSERT_TRUE(last != NULL);
	EXPECT_STREQ("t:1001:14: error: too many errors (1000), stopping here\n", last);
	free(out);
	free(text);
}

/* A policy with errors runs no lint: the warnings would be about a policy that is not. */
TEST(no_warnings_with_errors)
{
	struct pg_policy *p;
	char *out;

	const char *text = "set a = 198.18.0.1\nallow in tcp 0\n";

	EXPECT_EQ(-EINVAL, parse(text, strlen(text), &p, &out));
	EXPECT_STREQ("t:2:14: error: port 0 out of range (1-65535)\n", out);
	free(out);
}

/* --- round trip ----------------------------------------------------------------------- */

static void round_trip(const char *name, const char *text, size_t len)
{
	struct pg_policy *p = NULL, *q = NULL;
	char *out, *norm, *norm2;
	int err;

	err = parse(text, len, &p, &out);
	if (err)
		printf("# %s: %s", name, out);
	ASSERT_EQ(0, err);
	free(out);
	norm = format(p);
	err = parse(norm, strlen(norm), &q, &out);
	if (err || !pg_policy_equal(p, q))
		printf("# %s: normalized form does not parse back equal:\n%s# %s", name, norm,
		       out);
	ASSERT_EQ(0, err);
	EXPECT_TRUE(pg_policy_equal(p, q));
	EXPECT_TRUE(pg_policy_equal(q, p));
	/* The normalized form is a fixed point. */
	norm2 = format(q);
	EXPECT_STREQ(norm, norm2);
	free(out);
	free(norm);
	free(norm2);
	pg_policy_free(p);
	pg_policy_free(q);
}

TEST(round_trip_hand_written)
{
	static const char *const texts[] = {
		"",
		"mode dry-run\n",
		"default in allow\ndefault out deny\n",
		"interface eth0 veth-a_1.2 x\n",
		"deny raw\n",
		"deny raw dry-run\nmode dry-run\n",
		"allow in tcp 22\n",
		"allow in tcp,udp 1-65535\n",
		"allow in udp, tcp 1,2,3,5,7-9,8\n",
		"allow out tcp 443 to 198.18.0.0/15, 2001:db8::/32 log\n",
		"deny in tcp 5432 from 198.18.0.0/15 dry-run\n",
		"deny out udp 53 to ::ffff:198.18.0.1\n",
		"local tcp 5432\nlocal udp 5353 dry-run\nlocal tcp,udp 9000-9010\n",
		"set a = 198.18.0.0/16\nset b = 2001:db8::/32, 198.19.0.0/16\n"
		"allow in tcp 22 from @a, @b\nallow out tcp 22 to @b log\n",
		"set everyone = any\nallow in tcp 22 from @everyone\n",
		"allow in tcp 22 from 0.0.0.0/0\nallow in tcp 22 from ::/1\n",
		"allow in tcp 22 from 2001:db8::/128, 198.18.0.1/32, 198.18.0.0/31\n",
		"allow in tcp 80\nallow in tcp 80\ndeny in tcp 80\n",
		"allow in tcp 22\r\n\r\n#x\r\nallow out udp 123\r\n",
		"default in deny\nallow in tcp 22 from 198.51.100.0/24\nallow in tcp 443\n"
		"local tcp 8090\nallow in udp 49152-49252\nallow out tcp,udp 53\n",
		"allow in tcp 65535\nallow in udp 1\nallow out tcp 1-2,4-5\n",
		"allow in tcp 22 from ::ffff:0:0/96\nallow in tcp 23 from ::/95\n",
	};

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		char name[32];

		snprintf(name, sizeof(name), "text %zu", i);
		round_trip(name, texts[i], strlen(texts[i]));
	}
}

/* A generated policy of thousands of rules, sets and ports. */
TEST(round_trip_large)
{
	size_t cap = 1 << 20, len = 0;
	char *text = malloc(cap);

	ASSERT_TRUE(text);
	len += (size_t)snprintf(text + len, cap - len, "set many = ");
	for (int i = 0; i < 200; i++)
		len += (size_t)snprintf(text + len, cap - len, "%s198.18.%d.%d", i ? ", " : "",
					i / 50, i % 250);
	len += (size_t)snprintf(text + len, cap - len, "\n");
	for (int i = 0; i < 3000; i++) {
		const char *kinds[] = { "allow in", "allow out", "deny in", "deny out" };

		if (i % 7 == 0)
			len += (size_t)snprintf(text + len, cap - len, "local tcp %d\n", 60000 + i);
		else
			len += (size_t)snprintf(text + len, cap - len,
						"%s %s %d,%d-%d from @many\n",
						kinds[i % 4], i % 2 ? "udp" : "tcp,udp", 1 + i,
						10000 + i, 10010 + i);
	}
	/* "from" on outbound rules is an error; these say "to". */
	for (char *s = text; (s = strstr(s, " out ")); s++) {
		char *e = strchr(s, '\n'), *f = strstr(s, " from ");

		if (f && f < e)
			memcpy(f, "   to ", 6);
	}
	round_trip("large", text, len);
	free(text);
}


TEST(round_trip_shipped_policies)
{
	static const char *const names[] = {
		"novavms-cloud.policy",
		"novavms-cloud-dev.policy",
		"novavms-gateway.policy",
	};

	for (size_t i = 0; i < 3; i++) {
		size_t len;
		char *text = shipped_policy_read(names[i], &len);

		if (!text)
			SKIP("policy/%s not found (run from the checkout)", names[i]);
		round_trip(names[i], text, len);
		free(text);
	}
}

/* pg_policy_equal must see every difference the round trip could lose, or the round-trip
 * tests could not fail. */
TEST(equal_sees_every_field)
{
	static const char *const variants[] = {
		"allow in tcp 22\n",
		"mode dry-run\nallow in tcp 22\n",
		"default in allow\nallow in tcp 22\n",
		"default out deny\nallow in tcp 22\n",
		"interface eth0\nallow in tcp 22\n",
		"interface eth1\nallow in tcp 22\n",
		"deny raw\nallow in tcp 22\n",
		"deny raw dry-run\nallow in tcp 22\n",
		"allow in tcp 22 log\n",
		"deny in tcp 22\n",
		"local tcp 22\n",
		"allow out tcp 22\n",
		"allow in udp 22\n",
		"allow in tcp,udp 22\n",
		"allow in tcp 23\n",
		"allow in tcp 22-23\n",
		"allow in tcp 22,24\n",
		"allow in tcp 22 from 198.18.0.1\n",
		"allow in tcp 22 from 198.18.0.2\n",
		"allow in tcp 22 from 198.18.0.0/31\n",
		"allow in tcp 22 from 198.18.0.1, 198.18.0.3\n",
		"allow in tcp 22 from ::ffff:c612:1\n", /* same as 198.18.0.1: equal */
		"deny in tcp 22 dry-run\n",
		"allow in tcp 22\nallow in tcp 22\n",
	};
	size_t n = sizeof(variants) / sizeof(variants[0]);
	struct pg_policy *p[sizeof(variants) / sizeof(variants[0])];

	for (size_t i = 0; i < n; i++) {
		struct pg_diags d = { 0 };

		ASSERT_EQ(0, pg_policy_parse("t", variants[i], strlen(variants[i]), &p[i], &d));
		pg_diags_free(&d);
	}
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++) {
			bool same = i == j || (i == 17 && j == 21) || (i == 21 && j == 17);

			if (pg_policy_equal(p[i], p[j]) != same)
				printf("# variants %zu and %zu\n", i, j);
			EXPECT_EQ(same, pg_policy_equal(p[i], p[j]));
		}
	for (size_t i = 0; i < n; i++)
		pg_policy_free(p[i]);
}

/* Inputs that once were (or could be) hard: nothing crashes, nothing is quadratic enough to
 * matter here. */
TEST(hostile_inputs)
{
	/* Each input, and the first line of what the parser says about it: an error at the
	 * right place, or (for the empty-looking ones) a valid policy with only its warning. */
	static const struct {
		const char *text;
		int err;
		const char *first;
	} cases[] = {
		{ "\n\n\n\n\n\n\n\n\n\n", 0, "t:1:1: warning: inbound default is deny" },
		{ ",,,,,,,,,,,,,,,,,,,,", -EINVAL, "t:1:1: error: expected a statement, found ','" },
		{ "==========", -EINVAL, "t:1:1: error: expected a statement, found '='" },
		{ "set a = @", -EINVAL, "t:1:9: error: a set cannot contain another set ('@')" },
		{ "allow in tcp 1-", -EINVAL, "t:1:14: error: invalid port range '1-'" },
		{ "allow in tcp -", -EINVAL, "t:1:14: error: invalid port range '-'" },
		{ "allow in tcp 22 from /", -EINVAL, "t:1:22: error: invalid address '/'" },
		{ "allow in tcp 22 from 1.2.3.4/", -EINVAL,
		  "t:1:30: error: missing prefix length after '/' (expected 0-32)" },
		{ "allow in tcp 22 from :", -EINVAL, "t:1:22: error: invalid address ':'" },
		{ "allow in tcp 22 from @@", -EINVAL, "t:1:22: error: invalid set name '@@'" },
		{ "deny raw raw", -EINVAL, "t:1:10: error: unexpected 'raw' after 'deny raw'" },
		{ "#\0", -EINVAL, "t:1:2: error: NUL byte in policy" }, /* the NUL is read too */
		{ "\r\r\r", 0, "t:1:1: warning: inbound default is deny" },
	};
	size_t big = 1 << 20;
	char *line = malloc(big + 1);
	struct pg_policy *p;
	char *out;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *t = cases[i].text;

		EXPECT_EQ(cases[i].err, parse(t, strlen(t) + (t[0] == '#'), &p, &out));
		if (strncmp(cases[i].first, out, strlen(cases[i].first)))
			printf("# input %zu: %s", i, out);
		EXPECT_EQ(0, strncmp(cases[i].first, out, strlen(cases[i].first)));
		EXPECT_EQ(cases[i].err == 0, p != NULL);
		free(out);
		pg_policy_free(p);
	}
	/* A 1 MiB line of commas after a rule, and a 1 MiB port list. */
	ASSERT_TRUE(line);
	memset(line, ',', big);
	memcpy(line, "allow in tcp 22", 15);
	EXPECT_EQ(-EINVAL, parse(line, big, &p, &out));
	EXPECT_STREQ("t:1:17: error: expected a port, found ','\n", out);
	free(out);
	for (size_t i = 15; i + 2 < big; i += 2)
		memcpy(line + i, ",1", 2);
	line[big - 1] = '\n';
	EXPECT_EQ(0, parse(line, big, &p, &out));
	free(out);
	ASSERT_EQ(1, p->nrules);
	EXPECT_EQ(2, p->rules[0].nports);
	pg_policy_free(p);
	free(line);
}

/* Sizes that a quadratic step would turn into minutes, and so into the suite's timeout (this
 * checks what they parse to; `make bench` times the parser): a line of a million interface
 * names, and 100,000 sets. */
TEST(large_inputs_parse)
{
	size_t cap = 16 << 20, len = 0;
	char *text = malloc(cap), *out;
	struct pg_policy *p;

	ASSERT_TRUE(text);
	len = (size_t)sprintf(text, "interface");
	for (int i = 0; i < 1000000; i++)
		len += (size_t)sprintf(text + len, " i%d", i);
	EXPECT_EQ(-EINVAL, parse(text, len, &p, &out));
	EXPECT_STREQ("t:1:11: error: too many interfaces (at most 16)\n", out);
	free(out);

	len = 0;
	for (int i = 0; i < 100000; i++)
		len += (size_t)sprintf(text + len, "set s%d = 2001:db8::%x:%x\n", i, i >> 16,
				       i & 0xffff);
	len += (size_t)sprintf(text + len, "set s7 = 198.18.0.1\nallow in tcp 22 from @s99999\n");
	EXPECT_EQ(-EINVAL, parse(text, len, &p, &out));
	EXPECT_STREQ("t:100001:5: error: set 's7' already defined at line 8\n", out);
	free(out);
	free(text);
}

TEST_MAIN()
