// SPDX-License-Identifier: GPL-2.0
/*
 * The reference evaluator. It reads the rules as the language defines them (deny, then local,
 * then allow, then the default) and shares no code with compile.c on purpose: the tests hold
 * the two against each other, so a bug in one is not silently repeated in the other.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "evaluate.h"

int pg_addr_parse(const char *s, __u8 addr[16])
{
	struct in_addr a4;

	memset(addr, 0, 16);
	if (inet_pton(AF_INET, s, &a4) == 1) {
		addr[10] = addr[11] = 0xff;
		memcpy(addr + 12, &a4, 4);
		return 0;
	}
	if (inet_pton(AF_INET6, s, addr) == 1)
		return 0;
	return -EINVAL;
}

bool pg_addr_loopback(const __u8 addr[16])
{
	static const __u8 mapped[12] = { [10] = 0xff, [11] = 0xff };
	static const __u8 one[16] = { [15] = 1 };

	if (!memcmp(addr, mapped, 12))
		return addr[12] == 127;
	return !memcmp(addr, one, 16);
}

/* The first len bits of a and b are equal. */
static bool prefix_match(const __u8 *a, const __u8 *b, unsigned len)
{
	unsigned bytes = len / 8, bits = len % 8;

	if (len > 128)
		return false;
	if (memcmp(a, b, bytes))
		return false;
	return !bits || !((a[bytes] ^ b[bytes]) & (0xff00 >> bits));
}

static bool rule_covers(const struct pg_rule *r, enum pg_dir dir, enum pg_proto_idx pidx,
			__u16 port, const __u8 addr[16], bool need_peer)
{
	enum pg_dir rdir = r->kind == PG_RULE_LOCAL ? PG_DIR_IN : r->dir;
	bool in_ports = false;
	size_t i;

	if (rdir != dir || !(r->protos & (1u << pidx)))
		return false;
	for (i = 0; i < r->nports && !in_ports; i++)
		in_ports = port >= r->ports[i].lo && port <= r->ports[i].hi;
	if (!in_ports)
		return false;
	/* `local` is about every peer: loopback passes, the rest is refused. No peers: any. */
	if (!need_peer || r->kind == PG_RULE_LOCAL || !r->npeers)
		return true;
	for (i = 0; i < r->npeers; i++)
		if (prefix_match(r->peers[i].addr, addr, r->peers[i].prefixlen))
			return true;
	return false;
}

/*
 * The rule of kind k that decides among the covering ones. Tie-breaks (the language leaves
 * them open; compile.c resolves them the same way): among denies and locals, the first that is
 * not dry-run, else the first; among allows, the first with `log`, else the first.
 */
static const struct pg_rule *pick(const struct pg_eval *r, enum pg_rule_kind k, size_t *count)
{
	const struct pg_rule *first = NULL, *pref = NULL;
	size_t i;

	*count = 0;
	for (i = 0; i < r->ncovering; i++) {
		const struct pg_rule *c = r->covering[i];

		if (c->kind != k)
			continue;
		(*count)++;
		if (!first)
			first = c;
		if (!pref && (k == PG_RULE_ALLOW ? c->log : !c->dry_run))
			pref = c;
	}
	return pref ? pref : first;
}

static void why_add(struct pg_eval *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void why_add(struct pg_eval *r, const char *fmt, ...)
{
	size_t len = strlen(r->why);
	va_list ap;

	if (len && len + 2 < sizeof(r->why)) {
		strcpy(r->why + len, "; ");
		len += 2;
	}
	va_start(ap, fmt);
	vsnprintf(r->why + len, sizeof(r->why) - len, fmt, ap);
	va_end(ap);
}

static const char *over(size_t nlocal, size_t nallow)
{
	if (nlocal && nallow)
		return "local and allow";
	return nlocal ? "local" : "allow";
}

static const char *const kind_name[] = { "allow", "deny", "local" };

/* Why `chosen` wins among the n covering rules of its own kind. */
static void why_tie(struct pg_eval *r, const struct pg_rule *chosen, size_t n)
{
	const char *k = kind_name[chosen->kind];
	bool outranks = false;
	size_t i;

	if (n < 2)
		return;
	for (i = 0; i < r->ncovering; i++) {
		const struct pg_rule *c = r->covering[i];

		if (c != chosen && c->kind == chosen->kind)
			outranks |= chosen->kind == PG_RULE_ALLOW ? chosen->log && !c->log :
								    !chosen->dry_run && c->dry_run;
	}
	if (outranks && chosen->kind == PG_RULE_ALLOW)
		why_add(r, "of %zu allow rules, the first with log decides, so the traffic is "
			   "still logged", n);
	else if (outranks)
		why_add(r, "of %zu %s rules, the first that is not dry-run decides: a dry-run "
			   "rule never weakens an enforcing one", n, k);
	else
		why_add(r, "of %zu %s rules, the earliest decides", n, k);
}

int pg_policy_evaluate(const struct pg_policy *p, enum pg_dir dir, enum pg_proto_idx pidx,
		       __u16 port, const __u8 addr[16], struct pg_eval *r)
{
	const struct pg_rule *deny, *local, *allow;
	size_t ndeny, nlocal, nallow, nlocal_port = 0, nlocal_port_dry = 0, i;
	bool loopback = pg_addr_loopback(addr);

	memset(r, 0, sizeof(*r));
	r->covering = calloc(p->nrules ? p->nrules : 1, sizeof(*r->covering));
	if (!r->covering)
		return -ENOMEM;
	for (i = 0; i < p->nrules; i++) {
		const struct pg_rule *rule = &p->rules[i];

		if (rule_covers(rule, dir, pidx, port, addr, true))
			r->covering[r->ncovering++] = rule;
		if (rule->kind == PG_RULE_LOCAL && rule_covers(rule, dir, pidx, port, addr, false)) {
			nlocal_port++;
			nlocal_port_dry += rule->dry_run;
		}
	}
	r->port_local = nlocal_port > 0;
	r->port_local_dry_run = nlocal_port && nlocal_port == nlocal_port_dry;

	deny = pick(r, PG_RULE_DENY, &ndeny);
	local = pick(r, PG_RULE_LOCAL, &nlocal);
	allow = pick(r, PG_RULE_ALLOW, &nallow);

	/* 1. a deny blocks; 2. a local port is for loopback only; 3. an allow passes; 4. the
	 * direction's default. */
	if (deny) {
		r->rule = deny;
		r->action = PG_ACT_DENY;
		r->reason = PG_R_DENIED;
		r->drop = true;
		if (nlocal || nallow)
			why_add(r, "deny takes precedence over %s", over(nlocal, nallow));
		why_tie(r, deny, ndeny);
	} else if (local) {
		r->rule = local;
		r->action = PG_ACT_LOCAL;
		r->reason = loopback ? PG_R_PASS_LOOPBACK : PG_R_LOCAL_ONLY;
		r->drop = !loopback;
		why_add(r, "local: only loopback may reach this port%s",
			loopback ? ", and this peer is loopback" : "");
		if (nallow)
			why_add(r, "local takes precedence over allow");
		why_tie(r, local, nlocal);
	} else if (allow) {
		r->rule = allow;
		r->action = PG_ACT_ALLOW;
		r->reason = PG_R_PASS_RULE;
		r->log = allow->log;
		why_tie(r, allow, nallow);
	} else {
		bool deny_default = (dir == PG_DIR_IN ? p->default_in : p->default_out) ==
				    PG_DEFAULT_DENY;

		r->action = PG_ACT_DEFAULT;
		r->rule_slot = dir == PG_DIR_IN ? PG_RULE_DEFAULT_IN : PG_RULE_DEFAULT_OUT;
		r->reason = deny_default ? PG_R_NOT_ALLOWED : PG_R_PASS_DEFAULT;
		r->drop = deny_default;
		why_add(r, "no rule covers it: `default %s %s` decides",
			dir == PG_DIR_IN ? "in" : "out", deny_default ? "deny" : "allow");
	}
	if (r->rule) {
		r->rule_index = r->rule - p->rules;
		r->rule_slot = PG_RULE_FIRST + r->rule_index;
		if (r->rule->kind == PG_RULE_ALLOW && r->rule->log)
			r->flags |= PG_VF_LOG;
		if (r->rule->kind != PG_RULE_ALLOW && r->rule->dry_run)
			r->flags |= PG_VF_DRY_RUN;
		if (r->ncovering == 1)
			why_add(r, "it is the only rule that covers this traffic");
	}
	r->dry_run = r->drop && (p->mode == PG_MODE_DRY_RUN || (r->flags & PG_VF_DRY_RUN));
	if (r->dry_run)
		why_add(r, "%s: reported, not blocked",
			p->mode == PG_MODE_DRY_RUN ? "mode dry-run" : "the rule is dry-run");
	return 0;
}

void pg_eval_free(struct pg_eval *r)
{
	if (!r)
		return;
	free(r->covering);
	r->covering = NULL;
	r->ncovering = 0;
}
