// SPDX-License-Identifier: GPL-2.0
/*
 * `portguard explain [--json] POLICY DIRECTION PROTO PEER PORT`: the verdict for one piece of
 * traffic, the rule that decides it with its FILE:LINE, every rule that covers it, and why the
 * deciding one wins. It reads the policy file, not the pins: it answers "what would this
 * policy do", before or after it is loaded. tests/test_explain.c holds it to the datapath.
 *
 * PORT is this host's port for `in`, the remote port for `out`, as in the policy language.
 * Exit status: 0 whatever the verdict (the verdict is the output), 1 for an invalid policy,
 * 2 for a command line it cannot use.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/command.h"
#include "policy/evaluate.h"
#include "output/opsfmt.h"
#include "policy/policy.h"
#include "policy/query.h"
#include "kernel/snapshot.h"

static const char *verdict_text(const struct pg_eval *e)
{
	if (e->drop && !e->dry_run)
		return "blocked";
	if (e->drop)
		return "allowed"; /* dry-run: would be blocked, reported */
	return "allowed";
}

static void rule_src(const struct pg_policy *p, const struct pg_eval *e, enum pg_dir dir,
		     char *src, size_t ssize, char *text, size_t tsize)
{
	if (e->rule) {
		snprintf(src, ssize, "%s:%d", e->rule->loc.file, e->rule->loc.line);
		if (pg_rule_format(e->rule, text, tsize))
			snprintf(text, tsize, "(rule too long to show)");
		return;
	}
	/* The default decides. Its name is "default in" / "default out", as events, status and
	 * metrics name it; the line that wrote it, if any, goes with the text. */
	const struct pg_loc *loc = dir == PG_DIR_IN ? &p->default_in_loc : &p->default_out_loc;
	enum pg_default d = dir == PG_DIR_IN ? p->default_in : p->default_out;
	const char *dname = dir == PG_DIR_IN ? "in" : "out";

	snprintf(src, ssize, "default %s", dname);
	if (loc->line)
		snprintf(text, tsize, "default %s %s (%s:%d)", dname,
			 d == PG_DEFAULT_DENY ? "deny" : "allow", loc->file, loc->line);
	else
		snprintf(text, tsize, "default %s %s (not written: the language's default)", dname,
			 d == PG_DEFAULT_DENY ? "deny" : "allow");
}

static int explain_one(const struct pg_policy *p, const struct pg_query *q, bool json)
{
	char src[300], text[1024], csrc[300], ctext[1024];
	struct pg_eval e = {};
	int err;

	err = pg_policy_evaluate(p, q->dir, q->pidx, q->port, q->addr, &e);
	if (err) {
		fprintf(stderr, "portguard: failed to evaluate the policy: %s\n", strerror(-err));
		return err;
	}
	rule_src(p, &e, q->dir, src, sizeof(src), text, sizeof(text));
	if (json) {
		printf("{\"direction\":\"%s\",\"proto\":\"%s\",\"peer\":", q->dir_s, q->proto_s);
		pg_ops_json_str(stdout, q->peer_s);
		printf(",\"port\":%u,\"verdict\":\"%s\",\"dry_run\":%s,\"log\":%s,\"reason\":\"%s\","
		       "\"rule\":", q->port, verdict_text(&e), e.dry_run ? "true" : "false",
		       e.log ? "true" : "false", pg_snapshot_reason_name(e.reason));
		pg_ops_json_str(stdout, src);
		printf(",\"rule_slot\":%u,\"text\":", e.rule_slot);
		pg_ops_json_str(stdout, text);
		printf(",\"covering\":[");
		for (size_t i = 0; i < e.ncovering; i++) {
			const struct pg_rule *r = e.covering[i];

			snprintf(csrc, sizeof(csrc), "%s:%d", r->loc.file, r->loc.line);
			if (pg_rule_format(r, ctext, sizeof(ctext)))
				ctext[0] = '\0';
			printf("%s{\"rule\":", i ? "," : "");
			pg_ops_json_str(stdout, csrc);
			printf(",\"text\":");
			pg_ops_json_str(stdout, ctext);
			printf(",\"decides\":%s}", r == e.rule ? "true" : "false");
		}
		printf("],\"why\":");
		pg_ops_json_str(stdout, e.why);
		printf("}\n");
	} else {
		printf("%s %s from %s to port %u\n", q->dir_s, q->proto_s, q->peer_s, q->port);
		if (q->dir == PG_DIR_OUT)
			printf("  (out: %s is the remote peer, %u its port)\n", q->peer_s, q->port);
		if (e.dry_run)
			printf("verdict: allowed by dry-run (would be blocked: %s; reported)\n",
			       pg_snapshot_reason_name(e.reason));
		else
			printf("verdict: %s (%s)%s\n", verdict_text(&e),
			       pg_snapshot_reason_name(e.reason), e.log ? ", logged" : "");
		printf("rule:    %s: %s\n", src, text);
		if (e.ncovering > 1) {
			printf("covering rules (%zu):\n", e.ncovering);
			for (size_t i = 0; i < e.ncovering; i++) {
				const struct pg_rule *r = e.covering[i];

				snprintf(csrc, sizeof(csrc), "%s:%d", r->loc.file, r->loc.line);
				if (pg_rule_format(r, ctext, sizeof(ctext)))
					ctext[0] = '\0';
				printf("  %s %s: %s\n", r == e.rule ? "*" : " ", csrc, ctext);
			}
		}
		printf("why:     %s\n", e.why);
	}
	pg_eval_free(&e);
	return 0;
}

/* `explain POLICY -`: one query per line of stdin ("in tcp 203.0.113.7 5432"; blank lines
 * and # comments skipped), the policy parsed once. A bad line is reported and skipped; the
 * exit status is then 1. */
static int explain_batch(const struct pg_policy *p, bool json)
{
	char *line = NULL, why[160];
	size_t cap = 0;
	int lineno = 0, bad = 0, err;
	struct pg_query q;

	while (getline(&line, &cap, stdin) > 0) {
		lineno++;
		err = pg_query_parse_line(line, &q, why, sizeof(why));
		if (err == 1)
			continue;
		if (err) {
			fprintf(stderr, "portguard: stdin:%d: %s\n", lineno, why);
			bad = 1;
			continue;
		}
		if (!json && lineno > 1)
			printf("\n");
		err = explain_one(p, &q, json);
		if (err) {
			free(line);
			return err;
		}
	}
	free(line);
	return bad ? -EINVAL : 0;
}

static int cmd_explain(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{},
	};
	struct pg_policy *p = NULL;
	struct pg_diags d = {};
	struct pg_query q;
	char why[160];
	bool json = false, batch;
	int c, err, ret = 1;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		default:
			return pg_usage("explain");
		}
	}
	argv += optind;
	argc -= optind;
	batch = argc == 2 && !strcmp(argv[1], "-");
	if (argc != 5 && !batch)
		return pg_usage("explain");
	if (!batch && pg_query_parse(argv + 1, &q, why, sizeof(why))) {
		fprintf(stderr, "portguard: %s\n", why);
		return 2;
	}

	/* Warnings are `check`'s business; only errors stop an explanation. */
	err = pg_policy_load(argv[0], &p, &d);
	if (err) {
		pg_diags_print(&d, stderr);
		fprintf(stderr, "portguard: %s: policy not valid, nothing explained\n", argv[0]);
		goto out;
	}
	err = batch ? explain_batch(p, json) : explain_one(p, &q, json);
	ret = err ? 1 : 0;
out:
	pg_policy_free(p);
	pg_diags_free(&d);
	return ret;
}

PG_COMMAND(explain, 55, "[--json] POLICY {in|out tcp|udp PEER PORT | -}",
	   "show the verdict of a policy for some traffic, the deciding rule and why", cmd_explain)
