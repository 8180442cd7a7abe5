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

#include "common/addr.h"
#include "policy/evaluate.h"

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
 * The first covering rule of kind k, in source order; among allows the first with `log` comes
 * before the others, so that logging is never lost. with_dry_run: whether dry-run rules count.
 */
static const struct pg_rule *first_of(const struct pg_eval *r, enum pg_rule_kind k,
				      bool with_dry_run, size_t *count)
{
	const struct pg_rule *first = NULL, *logged = NULL;
	size_t i;

	*count = 0;
	for (i = 0; i < r->ncovering; i++) {
		const struct pg_rule *c = r->covering[i];

		if (c->kind != k || (c->dry_run && !with_dry_run))
			continue;
		(*count)++;
		if (!first)
			first = c;
		if (!logged && c->log)
			logged = c;
	}
	return logged ? logged : first;
}

/* One reading of the language: 1. a deny blocks; 2. a local port is for loopback only; 3. an
 * allow passes; 4. the direction's default (the order is pg_precedence()'s). */
struct judgement {
	const struct pg_rule *rule; /* NULL: the default */
	enum pg_action action;
	bool blocks;
};

const struct pg_rule *pg_precedence(const struct pg_rule *deny, const struct pg_rule *local,
				    const struct pg_rule *allow)
{
	return deny ? deny : local ? local : allow;
}

static struct judgement judge(const struct pg_eval *r, bool with_dry_run, bool loopback,
			      bool default_deny)
{
	const struct pg_rule *rule;
	size_t n;

	rule = pg_precedence(first_of(r, PG_RULE_DENY, with_dry_run, &n),
			     first_of(r, PG_RULE_LOCAL, with_dry_run, &n),
			     first_of(r, PG_RULE_ALLOW, with_dry_run, &n));
	if (!rule)
		return (struct judgement){ NULL, PG_ACT_DEFAULT, default_deny };
	if (rule->kind == PG_RULE_DENY)
		return (struct judgement){ rule, PG_ACT_DENY, true };
	if (rule->kind == PG_RULE_LOCAL)
		return (struct judgement){ rule, PG_ACT_LOCAL, !loopback };
	return (struct judgement){ rule, PG_ACT_ALLOW, false };
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

static const char *const kind_name[] = { "allow", "deny", "local" };

/* Why the deciding rule wins: over the other kinds, and over the rules of its own kind. */
static void why_rule(struct pg_eval *r, bool loopback)
{
	const struct pg_rule *d = r->rule;
	size_t ndeny, nlocal, nallow, nsame;
	bool outranks = false;

	first_of(r, PG_RULE_DENY, true, &ndeny);
	first_of(r, PG_RULE_LOCAL, true, &nlocal);
	first_of(r, PG_RULE_ALLOW, true, &nallow);
	if (d->kind == PG_RULE_DENY && (nlocal || nallow))
		why_add(r, "deny takes precedence over %s",
			nlocal && nallow ? "local and allow" : nlocal ? "local" : "allow");
	if (d->kind == PG_RULE_LOCAL) {
		why_add(r, "local: only loopback may reach this port%s",
			loopback ? ", and this peer is loopback" : "");
		if (nallow)
			why_add(r, "local takes precedence over allow");
	}
	nsame = d->kind == PG_RULE_DENY ? ndeny : d->kind == PG_RULE_LOCAL ? nlocal : nallow;
	for (size_t i = 0; i < r->ncovering; i++) {
		const struct pg_rule *c = r->covering[i];

		if (c != d && c->kind == d->kind && d->kind == PG_RULE_ALLOW)
			outranks |= d->log && !c->log;
	}
	if (nsame > 1 && outranks)
		why_add(r, "of %zu allow rules, the first with log decides, so the traffic is still "
			   "logged", nsame);
	else if (nsame > 1)
		why_add(r, "of %zu %s rules, the earliest %sdecides", nsame, kind_name[d->kind],
			d->kind != PG_RULE_ALLOW && !d->dry_run && nsame > 1 ? "enforcing one " : "");
	if (r->ncovering == 1)
		why_add(r, "it is the only rule that covers this traffic");
}

int pg_policy_evaluate(const struct pg_policy *p, enum pg_dir dir, enum pg_proto_idx pidx,
		       __u16 port, const __u8 addr[16], struct pg_eval *r)
{
	bool loopback = pg_addr_loopback(addr), default_deny, some_dry_run = false;
	size_t nlocal_port = 0, nlocal_port_dry = 0, i;
	struct judgement e, f, d;
	const char *dname = dir == PG_DIR_IN ? "in" : "out";

	memset(r, 0, sizeof(*r));
	r->covering = calloc(p->nrules ? p->nrules : 1, sizeof(*r->covering));
	if (!r->covering)
		return -ENOMEM;
	for (i = 0; i < p->nrules; i++) {
		const struct pg_rule *rule = &p->rules[i];

		if (rule_covers(rule, dir, pidx, port, addr, true)) {
			r->covering[r->ncovering++] = rule;
			some_dry_run |= rule->dry_run;
		}
		if (rule->kind == PG_RULE_LOCAL && rule_covers(rule, dir, pidx, port, addr, false)) {
			/* the port's local rule: the first enforcing one, else the first */
			if (!nlocal_port || (nlocal_port == nlocal_port_dry && !rule->dry_run))
				r->port_local_slot = PG_RULE_FIRST + i;
			nlocal_port++;
			nlocal_port_dry += rule->dry_run;
		}
	}
	r->port_local = nlocal_port > 0;
	r->port_local_dry_run = nlocal_port && nlocal_port == nlocal_port_dry;
	default_deny = (dir == PG_DIR_IN ? p->default_in : p->default_out) == PG_DEFAULT_DENY;

	/*
	 * Dry-run rules never change what is blocked; they report what they would block. So: what
	 * the enforcing rules decide (e) stands when it blocks; when it lets the traffic through,
	 * the policy read with its dry-run rules enforcing (f) says whether one of them would
	 * block it, and that rule is reported.
	 */
	e = judge(r, false, loopback, default_deny);
	f = e.blocks ? e : judge(r, true, loopback, default_deny);
	d = f.blocks && !e.blocks ? f : e;

	r->rule = d.rule;
	r->action = d.action;
	r->drop = d.blocks;
	switch (d.action) {
	case PG_ACT_DENY:
		r->reason = PG_R_DENIED;
		break;
	case PG_ACT_LOCAL:
		r->reason = loopback ? PG_R_PASS_LOOPBACK : PG_R_LOCAL_ONLY;
		break;
	case PG_ACT_ALLOW:
		r->reason = PG_R_PASS_RULE;
		r->log = d.rule->log;
		break;
	default:
		r->reason = default_deny ? PG_R_NOT_ALLOWED : PG_R_PASS_DEFAULT;
		break;
	}
	if (d.rule) {
		r->rule_index = d.rule - p->rules;
		r->rule_slot = PG_RULE_FIRST + r->rule_index;
		if (d.rule->kind == PG_RULE_ALLOW && d.rule->log)
			r->flags |= PG_VF_LOG;
		if (d.rule->kind != PG_RULE_ALLOW && d.rule->dry_run)
			r->flags |= PG_VF_DRY_RUN;
	} else {
		r->rule_slot = dir == PG_DIR_IN ? PG_RULE_DEFAULT_IN : PG_RULE_DEFAULT_OUT;
	}
	r->dry_run = r->drop && (p->mode == PG_MODE_DRY_RUN || (r->flags & PG_VF_DRY_RUN));

	if (r->flags & PG_VF_DRY_RUN) {
		why_add(r, "the dry-run %s would block it: reported, let through",
			kind_name[d.rule->kind]);
		if (e.rule && e.action == PG_ACT_LOCAL)
			why_add(r, "without it, loopback may reach this local port");
		else if (e.rule)
			why_add(r, "without it, the allow at line %d lets it through",
				e.rule->loc.line);
		else
			why_add(r, "without it, `default %s allow` lets it through", dname);
	} else if (d.rule) {
		why_rule(r, loopback);
	} else {
		why_add(r, "no %srule covers it: `default %s %s` decides",
			r->ncovering ? "enforcing " : "", dname, default_deny ? "deny" : "allow");
	}
	if (r->drop && !(r->flags & PG_VF_DRY_RUN) && some_dry_run)
		why_add(r, "dry-run rules only report, they never let through what the rest blocks");
	if (!r->drop && some_dry_run)
		why_add(r, "the dry-run rules that cover it would not block it either");
	if (r->dry_run && p->mode == PG_MODE_DRY_RUN && !(r->flags & PG_VF_DRY_RUN))
		why_add(r, "mode dry-run: reported, not blocked");
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

/* ---- a port's exposure, for audit ---- */

static bool port_rule_covers(const struct pg_rule *r, enum pg_proto_idx pidx, __u16 port)
{
	if (r->dir != PG_DIR_IN || !(r->protos & (1u << pidx)))
		return false;
	for (size_t i = 0; i < r->nports; i++)
		if (port >= r->ports[i].lo && port <= r->ports[i].hi)
			return true;
	return false;
}

static bool rule_any_peer(const struct pg_rule *r)
{
	for (size_t i = 0; i < r->npeers; i++)
		if (r->peers[i].prefixlen == 0)
			return true;
	return r->npeers == 0;
}

/* What the policy does to inbound traffic from off-host to (pidx, port), by the language's
 * precedence: deny > local > allow > default. */
static struct pg_port_exposure exposure(const struct pg_policy *p, enum pg_proto_idx pidx,
				       __u16 port, bool with_dry_run)
{
	const struct pg_rule *allow = NULL, *local = NULL, *deny = NULL, *rule;

	for (size_t i = 0; i < p->nrules; i++) {
		const struct pg_rule *r = &p->rules[i];

		if (!port_rule_covers(r, pidx, port) || (r->dry_run && !with_dry_run))
			continue;
		/* Only a deny of every peer closes the port to everyone off-host. */
		if (r->kind == PG_RULE_DENY && rule_any_peer(r) && !deny)
			deny = r;
		if (r->kind == PG_RULE_LOCAL && !local)
			local = r;
		if (r->kind == PG_RULE_ALLOW && !allow)
			allow = r;
	}
	rule = pg_precedence(deny, local, allow);
	if (!rule)
		return (struct pg_port_exposure){ p->default_in == PG_DEFAULT_ALLOW
							  ? PG_EXP_ALLOWED_DEFAULT
							  : PG_EXP_NOT_ALLOWED, NULL };
	if (rule == deny)
		return (struct pg_port_exposure){ PG_EXP_DENIED, rule };
	if (rule == local)
		return (struct pg_port_exposure){ PG_EXP_LOCAL, rule };
	return (struct pg_port_exposure){ PG_EXP_ALLOWED, rule };
}

struct pg_port_exposure pg_port_exposure(const struct pg_policy *p, enum pg_proto_idx pidx,
					 __u16 port)
{
	/* As the evaluator reads dry-run rules: what the enforcing rules decide stands when it
	 * blocks; otherwise a dry-run rule that would block it is what is reported. */
	struct pg_port_exposure e = exposure(p, pidx, port, false);

	if (e.j == PG_EXP_ALLOWED || e.j == PG_EXP_ALLOWED_DEFAULT) {
		struct pg_port_exposure f = exposure(p, pidx, port, true);

		if (f.j != PG_EXP_ALLOWED && f.j != PG_EXP_ALLOWED_DEFAULT)
			return f;
	}
	return e;
}
