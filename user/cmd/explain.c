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
#include "common/addr.h"
#include "policy/evaluate.h"
#include "output/json.h"
#include "policy/policy.h"
#include "output/names.h"
#include "policy/query.h"

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

/* A file name on the terminal: escaped. */
static void print_text(const char *s)
{
	struct pg_out out;

	pg_out_file(&out, stdout);
	pg_escape_text(&out, s, false);
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
		struct pg_out out;
		struct pg_json j;

		pg_out_file(&out, stdout);
		pg_json_init(&j, &out);
		pg_json_object_start(&j);
		pg_json_str_field(&j, "direction", q->dir_s);
		pg_json_str_field(&j, "proto", q->proto_s);
		pg_json_str_field(&j, "peer", q->peer_s);
		pg_json_uint_field(&j, "port", q->port);
		pg_json_str_field(&j, "verdict", verdict_text(&e));
		pg_json_bool_field(&j, "dry_run", e.dry_run);
		pg_json_bool_field(&j, "log", e.log);
		pg_json_str_field(&j, "reason", pg_reason_name(e.reason));
		pg_json_str_field(&j, "rule", src);
		pg_json_uint_field(&j, "rule_slot", e.rule_slot);
		pg_json_str_field(&j, "text", text);
		pg_json_name(&j, "covering");
		pg_json_array_start(&j);
		for (size_t i = 0; i < e.ncovering; i++) {
			const struct pg_rule *r = e.covering[i];

			snprintf(csrc, sizeof(csrc), "%s:%d", r->loc.file, r->loc.line);
			if (pg_rule_format(r, ctext, sizeof(ctext)))
				ctext[0] = '\0';
			pg_json_object_start(&j);
			pg_json_str_field(&j, "rule", csrc);
			pg_json_str_field(&j, "text", ctext);
			pg_json_bool_field(&j, "decides", r == e.rule);
			pg_json_object_end(&j);
		}
		pg_json_array_end(&j);
		pg_json_str_field(&j, "why", e.why);
		pg_json_object_end(&j);
		putchar('\n');
	} else {
		printf("%s %s from %s to port %u\n", q->dir_s, q->proto_s, q->peer_s, q->port);
		if (q->dir == PG_DIR_OUT)
			printf("  (out: %s is the remote peer, %u its port)\n", q->peer_s, q->port);
		if (e.dry_run)
			printf("verdict: allowed by dry-run (would be blocked: %s; reported)\n",
			       pg_reason_name(e.reason));
		else
			printf("verdict: %s (%s)%s\n", verdict_text(&e),
			       pg_reason_name(e.reason), e.log ? ", logged" : "");
		printf("rule:    ");
		print_text(src);
		printf(": %s\n", text);
		if (e.ncovering > 1) {
			printf("covering rules (%zu):\n", e.ncovering);
			for (size_t i = 0; i < e.ncovering; i++) {
				const struct pg_rule *r = e.covering[i];

				snprintf(csrc, sizeof(csrc), "%s:%d", r->loc.file, r->loc.line);
				if (pg_rule_format(r, ctext, sizeof(ctext)))
					ctext[0] = '\0';
				printf("  %s ", r == e.rule ? "*" : " ");
				print_text(csrc);
				printf(": %s\n", ctext);
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
	struct pg_policy *p = NULL;
	struct pg_diags d = {};
	struct pg_cmdline cl;
	struct pg_query q;
	char why[160];
	bool json, batch;
	int err, ret = 1;

	err = pg_cmdline_parse(&pg_cmd_explain, argc, argv, &cl);
	if (err)
		return err;
	json = cl.json;
	argv = cl.args;
	argc = cl.nargs;
	batch = argc == 2 && !strcmp(argv[1], "-");
	if (argc != 5 && !batch) {
		pg_usage_print(&pg_cmd_explain, stderr);
		return 2;
	}
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

static const enum pg_opt_id explain_opts[] = { PG_OPT_JSON, PG_OPT_END };

const struct pg_command pg_cmd_explain = {
	.name = "explain",
	.args = "POLICY {in|out tcp|udp PEER PORT | -}",
	.min_args = 2,
	.max_args = 5,
	.opts = explain_opts,
	.summary = "show the verdict of a policy for some traffic, the deciding rule and why",
	.run = cmd_explain,
};
