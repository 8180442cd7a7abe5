// SPDX-License-Identifier: GPL-2.0
/*
 * `portguard audit POLICY`: the sockets listening on this host against the policy, to catch
 * drift before it becomes an incident or gate a deployment.
 *
 * Decisions (documented in portguard(8)):
 * - A listener is "exposed" when it is bound to a non-loopback address (a wildcard, or one of
 *   the host's addresses) on a port that the policy does not let in from off-host: a `local`
 *   port, a port denied to every peer, or a port no rule allows under `default in deny`.
 *   Either the service is misconfigured (PostgreSQL on 0.0.0.0:5432 under `local tcp 5432`) or
 *   the policy lacks a rule; both must be looked at before the policy is enforced, so any
 *   exposed listener makes audit exit 1.
 * - An unconnected UDP socket on an ephemeral port (ip_local_port_range) is a client's (a
 *   resolver, an NTP client): its replies pass through the flow table, so it is listed as a
 *   client and never exposed.
 * - "unused": ports an `allow in` rule opens that nothing listens on off loopback. They widen
 *   the attack surface for nothing; listed, but not a failure.
 * - Only this network namespace is seen (sock_diag is per namespace), as the XDP program on
 *   this namespace's interfaces would judge it.
 */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/command.h"
#include "common/addr.h"
#include "output/json.h"
#include "policy/evaluate.h"
#include "policy/policy.h"
#include "kernel/sockdiag.h"

static void rule_src(const struct pg_policy *p, const struct pg_port_exposure *v, char *buf, size_t size)
{
	if (v->rule)
		snprintf(buf, size, "%s:%d", v->rule->loc.file, v->rule->loc.line);
	else if (p->default_in_loc.line)
		snprintf(buf, size, "%s:%d", p->default_in_loc.file, p->default_in_loc.line);
	else
		snprintf(buf, size, "default in");
}

static const char *judgement_text(enum pg_exposure j)
{
	switch (j) {
	case PG_EXP_ALLOWED:
		return "allowed";
	case PG_EXP_ALLOWED_DEFAULT:
		return "allowed by default";
	case PG_EXP_LOCAL:
		return "local-only";
	case PG_EXP_DENIED:
		return "denied";
	case PG_EXP_NOT_ALLOWED:
		return "not-allowed";
	}
	return "?";
}

static void ephemeral_range(unsigned *lo, unsigned *hi)
{
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");

	*lo = 32768;
	*hi = 60999;
	if (!f)
		return;
	if (fscanf(f, "%u %u", lo, hi) != 2) {
		*lo = 32768;
		*hi = 60999;
	}
	fclose(f);
}

struct audit {
	const struct pg_policy *p;
	struct pg_sock *socks;
	size_t nsocks;
	struct pg_sock_owners owners;
	bool json;
	unsigned eph_lo, eph_hi;
	size_t exposed, ok, clients, unused;
};

static const char *proto_name(int proto)
{
	return proto == IPPROTO_TCP ? "tcp" : "udp";
}

static void report_socket(struct audit *a, const struct pg_sock *s)
{
	enum pg_proto_idx pidx = s->proto == IPPROTO_TCP ? PG_PIDX_TCP : PG_PIDX_UDP;
	struct pg_port_exposure v = pg_port_exposure(a->p, pidx, s->lport);
	const struct pg_sock_owner *o = pg_sock_owner_find(&a->owners, s->inode);
	bool loopback = pg_addr_loopback(s->laddr);
	bool blocked = v.j == PG_EXP_LOCAL || v.j == PG_EXP_DENIED || v.j == PG_EXP_NOT_ALLOWED;
	char addr[INET6_ADDRSTRLEN], src[160], proc[80], ep[INET6_ADDRSTRLEN + 16];
	const char *status, *why;
	struct pg_out out;
	struct pg_json j;

	pg_addr_format(s->laddr, addr, sizeof(addr));
	rule_src(a->p, &v, src, sizeof(src));
	/* The process names itself: escaped, spaces too, so that it cannot pass for columns. */
	pg_out_buf(&out, proc, sizeof(proc));
	if (o) {
		pg_escape_text(&out, o->comm, true);
		pg_out_printf(&out, "[%d]", (int)o->pid);
	} else {
		pg_out_write(&out, "-", 1);
	}
	if (loopback) {
		status = "ok";
		why = v.j == PG_EXP_ALLOWED || v.j == PG_EXP_ALLOWED_DEFAULT
			      ? "loopback only: not reachable from off-host"
			      : "loopback only";
		a->ok++;
	} else if (!blocked) {
		status = "ok";
		why = "reachable as the policy allows";
		a->ok++;
	} else if (s->proto == IPPROTO_UDP && s->lport >= a->eph_lo && s->lport <= a->eph_hi) {
		status = "client";
		why = "ephemeral UDP port: replies pass, nothing else";
		a->clients++;
	} else {
		status = "EXPOSED";
		why = v.j == PG_EXP_LOCAL ? "a loopback-only port listening off loopback"
				     : "the policy blocks this port inbound";
		a->exposed++;
	}
	if (a->json) {
		pg_out_file(&out, stdout);
		pg_json_init(&j, &out);
		pg_json_object_start(&j);
		pg_json_str_field(&j, "finding", status[0] == 'E' ? "exposed" : status);
		pg_json_str_field(&j, "proto", proto_name(s->proto));
		pg_json_str_field(&j, "addr", addr);
		pg_json_uint_field(&j, "port", s->lport);
		pg_json_str_field(&j, "policy", judgement_text(v.j));
		pg_json_str_field(&j, "rule", src);
		if (o) {
			pg_json_int_field(&j, "pid", o->pid);
			pg_json_str_field(&j, "comm", o->comm);
		}
		pg_json_uint_field(&j, "uid", s->uid);
		pg_json_object_end(&j);
		putchar('\n');
		return;
	}
	snprintf(ep, sizeof(ep), s->family == AF_INET6 && !strchr(addr, '.') ? "[%s]:%u" : "%s:%u",
		 addr, s->lport);
	printf("%-8s %s %-28s %-20s %s (", status, proto_name(s->proto), ep, proc, why);
	pg_out_file(&out, stdout);
	pg_escape_text(&out, src, false);
	printf(": %s)\n", judgement_text(v.j));
}

static bool listened(const struct audit *a, int proto, __u16 port)
{
	for (size_t i = 0; i < a->nsocks; i++) {
		const struct pg_sock *s = &a->socks[i];

		if (s->proto == proto && s->lport == port && !pg_addr_loopback(s->laddr))
			return true;
	}
	return false;
}

static void print_unused(struct audit *a, const struct pg_rule *r, int proto, unsigned lo,
			 unsigned hi)
{
	char src[160], ports[16];
	struct pg_out out;
	struct pg_json j;

	snprintf(src, sizeof(src), "%s:%d", r->loc.file, r->loc.line);
	if (lo == hi)
		snprintf(ports, sizeof(ports), "%u", lo);
	else
		snprintf(ports, sizeof(ports), "%u-%u", lo, hi);
	a->unused += hi - lo + 1;
	pg_out_file(&out, stdout);
	if (a->json) {
		pg_json_init(&j, &out);
		pg_json_object_start(&j);
		pg_json_str_field(&j, "finding", "unused");
		pg_json_str_field(&j, "proto", proto_name(proto));
		pg_json_str_field(&j, "ports", ports);
		pg_json_str_field(&j, "rule", src);
		pg_json_object_end(&j);
		putchar('\n');
		return;
	}
	printf("%-8s %s %-28s %-20s allowed in, nothing listens off loopback (", "unused",
	       proto_name(proto), ports, "-");
	pg_escape_text(&out, src, false);
	printf(")\n");
}

/* Allowed inbound ports that nothing listens on, as ranges per rule. */
static void report_unused(struct audit *a)
{
	for (size_t i = 0; i < a->p->nrules; i++) {
		const struct pg_rule *r = &a->p->rules[i];

		if (r->kind != PG_RULE_ALLOW || r->dir != PG_DIR_IN)
			continue;
		for (int pidx = PG_PIDX_TCP; pidx <= PG_PIDX_UDP; pidx++) {
			int proto = pidx == PG_PIDX_TCP ? IPPROTO_TCP : IPPROTO_UDP;

			if (!(r->protos & (1u << pidx)))
				continue;
			for (size_t k = 0; k < r->nports; k++) {
				long start = -1;

				for (unsigned port = r->ports[k].lo; port <= r->ports[k].hi + 1u;
				     port++) {
					bool gap = port <= r->ports[k].hi &&
						   pg_port_exposure(a->p, pidx, port).j == PG_EXP_ALLOWED &&
						   !listened(a, proto, port);

					if (gap && start < 0)
						start = port;
					if (!gap && start >= 0) {
						print_unused(a, r, proto, start, port - 1);
						start = -1;
					}
				}
			}
		}
	}
}

static int cmd_audit(int argc, char **argv)
{
	struct audit a = {};
	struct pg_policy *p = NULL;
	struct pg_diags d = {};
	struct pg_cmdline cl;
	int err, ret = 1;

	err = pg_cmdline_parse(&pg_cmd_audit, argc, argv, &cl);
	if (err)
		return err;
	a.json = cl.json;
	argv = cl.args;

	/* Warnings are `check`'s business; only errors stop an audit. */
	err = pg_policy_load(argv[0], &p, &d);
	if (err) {
		pg_diags_print(&d, stderr);
		fprintf(stderr, "portguard: %s: policy not valid, nothing audited\n", argv[0]);
		goto out;
	}
	a.p = p;
	ephemeral_range(&a.eph_lo, &a.eph_hi);
	err = pg_sockdiag_listeners(&a.socks, &a.nsocks);
	if (err) {
		fprintf(stderr, "portguard: failed to list sockets with sock_diag: %s\n",
			strerror(-err));
		goto out;
	}
	err = pg_sock_owners_read(&a.owners);
	if (err) {
		fprintf(stderr, "portguard: failed to read socket owners from /proc: %s\n",
			strerror(-err));
		goto out;
	}
	if (!a.json) {
		struct pg_out out;

		pg_out_file(&out, stdout);
		printf("audit of %zu listening sockets against ", a.nsocks);
		pg_escape_text(&out, p->file, false);
		printf(" (%s)\n", p->mode == PG_MODE_DRY_RUN ? "mode dry-run" : "mode enforce");
	}
	for (size_t i = 0; i < a.nsocks; i++)
		report_socket(&a, &a.socks[i]);
	report_unused(&a);
	if (!a.json)
		printf("%zu exposed, %zu ok, %zu clients, %zu allowed ports unused\n", a.exposed,
		       a.ok, a.clients, a.unused);
	ret = a.exposed ? 1 : 0;
out:
	pg_sock_owners_free(&a.owners);
	free(a.socks);
	pg_policy_free(p);
	pg_diags_free(&d);
	return ret;
}

static const enum pg_opt_id audit_opts[] = { PG_OPT_JSON, PG_OPT_END };

const struct pg_command pg_cmd_audit = {
	.name = "audit",
	.args = "POLICY",
	.min_args = 1,
	.max_args = 1,
	.opts = audit_opts,
	.summary = "compare the sockets listening here with a policy; exit 1 if one is exposed",
	.run = cmd_audit,
};
