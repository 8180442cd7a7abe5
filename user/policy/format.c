// SPDX-License-Identifier: GPL-2.0
/*
 * The normalized form of a policy: what `check` prints and what rule metadata shows. It is
 * itself a policy: mode, defaults and interfaces written out, one line per rule in source
 * order, ports as sorted merged ranges, sets expanded into peer lists, comments dropped.
 * Parsing it gives a policy equal (pg_policy_equal) to the one it came from.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"
#include "policy/policy_internal.h"

void pg_sb_printf(struct pg_strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (sb->oom || pg_sb_full(sb))
		return;
	for (;;) {
		size_t room = sb->cap - sb->len;

		va_start(ap, fmt);
		n = vsnprintf(sb->s ? sb->s + sb->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			sb->oom = true;
			return;
		}
		if ((size_t)n < room) {
			sb->len += (size_t)n;
			return;
		}
		{
			size_t cap = sb->cap ? sb->cap : 128;
			char *s;

			while (cap < sb->len + (size_t)n + 1)
				cap *= 2;
			s = realloc(sb->s, cap);
			if (!s) {
				sb->oom = true;
				return;
			}
			sb->s = s;
			sb->cap = cap;
		}
	}
}

void pg_sb_free(struct pg_strbuf *sb)
{
	free(sb->s);
	memset(sb, 0, sizeof(*sb));
}

void pg_range_to_sb(const struct pg_range *r, struct pg_strbuf *sb)
{
	if (r->lo == r->hi)
		pg_sb_printf(sb, "%u", r->lo);
	else
		pg_sb_printf(sb, "%u-%u", r->lo, r->hi);
}

void pg_rule_to_sb(const struct pg_rule *r, struct pg_strbuf *sb)
{
	static const char *const kinds[] = { "allow", "deny", "local" };
	const char *protos = r->protos == (PG_PROTO_TCP | PG_PROTO_UDP) ? "tcp,udp" :
			     r->protos == PG_PROTO_UDP			? "udp" :
									  "tcp";

	if (r->kind == PG_RULE_LOCAL)
		pg_sb_printf(sb, "local %s ", protos);
	else
		pg_sb_printf(sb, "%s %s %s ", kinds[r->kind], r->dir == PG_DIR_IN ? "in" : "out",
			     protos);
	for (size_t i = 0; i < r->nports; i++) {
		if (i)
			pg_sb_printf(sb, ",");
		pg_range_to_sb(&r->ports[i], sb);
	}
	/* A rule over a 100,000-prefix set formatted for a 160-byte field: stop at the cut. */
	for (size_t i = 0; i < r->npeers && !pg_sb_full(sb); i++) {
		char buf[64];

		pg_peer_format(&r->peers[i], buf, sizeof(buf));
		if (i == 0)
			pg_sb_printf(sb, " %s ", r->dir == PG_DIR_IN ? "from" : "to");
		else
			pg_sb_printf(sb, ",");
		pg_sb_printf(sb, "%s", buf);
	}
	if (r->log)
		pg_sb_printf(sb, " log");
	if (r->dry_run)
		pg_sb_printf(sb, " dry-run");
}

int pg_rule_format(const struct pg_rule *r, char *buf, size_t size)
{
	struct pg_strbuf sb = { .limit = size };
	int err = 0;

	if (!size)
		return -ENOSPC;
	pg_rule_to_sb(r, &sb);
	if (sb.oom) {
		buf[0] = '\0';
		err = -ENOMEM;
	} else if (sb.len >= size) {
		memcpy(buf, sb.s, size - 1);
		buf[size - 1] = '\0';
		err = -ENOSPC;
	} else {
		memcpy(buf, sb.s, sb.len + 1);
	}
	pg_sb_free(&sb);
	return err;
}

int pg_policy_format(const struct pg_policy *p, FILE *f)
{
	struct pg_strbuf sb = { 0 };
	int err = 0;

	pg_sb_printf(&sb, "mode %s\n", p->mode == PG_MODE_DRY_RUN ? "dry-run" : "enforce");
	pg_sb_printf(&sb, "default in %s\n", p->default_in == PG_DEFAULT_DENY ? "deny" : "allow");
	pg_sb_printf(&sb, "default out %s\n",
		     p->default_out == PG_DEFAULT_DENY ? "deny" : "allow");
	if (p->nifaces) {
		pg_sb_printf(&sb, "interface");
		for (size_t i = 0; i < p->nifaces; i++)
			pg_sb_printf(&sb, " %s", p->ifaces[i]);
		pg_sb_printf(&sb, "\n");
	} else {
		/* Still explicit: the reader learns that inbound enforcement needs --iface. */
		pg_sb_printf(&sb, "# interface: none named (run --iface names them)\n");
	}
	if (p->deny_raw)
		pg_sb_printf(&sb, "deny raw%s\n", p->deny_raw_dry_run ? " dry-run" : "");
	for (size_t i = 0; i < p->nrules; i++) {
		pg_rule_to_sb(&p->rules[i], &sb);
		pg_sb_printf(&sb, "\n");
	}
	if (sb.oom)
		err = -ENOMEM;
	else if (fwrite(sb.s, 1, sb.len, f) != sb.len)
		err = -EIO;
	pg_sb_free(&sb);
	return err;
}
