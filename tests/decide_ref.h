/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The last step of bpf/decide.bpf.h's pg_decide() in userspace, from a compiled verdict and the
 * config: what test_compile.c and fuzz_compile.c hold against the reference evaluator.
 */
#ifndef PG_TESTS_DECIDE_REF_H
#define PG_TESTS_DECIDE_REF_H

#include <stdbool.h>

#include "common/addr.h"
#include "policy/compile.h"
#include "policy/evaluate.h"

static inline void pg_ref_decide(const struct pg_config *cfg, enum pg_dir dir, const __u8 *a,
				 const struct pg_verdict *v, int *reason, bool *drop,
				 bool *dry_run)
{
	switch (v->action) {
	case PG_ACT_DENY:
		*reason = PG_R_DENIED;
		*drop = true;
		break;
	case PG_ACT_LOCAL:
		*drop = !pg_addr_loopback(a);
		*reason = *drop ? PG_R_LOCAL_ONLY : PG_R_PASS_LOOPBACK;
		break;
	case PG_ACT_ALLOW:
		*reason = PG_R_PASS_RULE;
		*drop = false;
		break;
	default:
		*drop = (dir == PG_DIR_IN ? cfg->default_in : cfg->default_out) == PG_DEFAULT_DENY;
		*reason = *drop ? PG_R_NOT_ALLOWED : PG_R_PASS_DEFAULT;
		break;
	}
	*dry_run = *drop && (cfg->mode == PG_MODE_DRY_RUN || (v->flags & PG_VF_DRY_RUN));
}

#endif /* PG_TESTS_DECIDE_REF_H */
