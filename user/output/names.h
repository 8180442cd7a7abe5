/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The names of hooks, reasons, actions and modes as they appear in the event stream, status
 * and metrics. One table each, here, so that every output spells them the same way.
 */
#ifndef PG_NAMES_H
#define PG_NAMES_H

#include "portguard.h"

/* "not-allowed", "local-only", ... ("allowed-rule", "reply", "loopback", ... for pass
 * reasons); "unknown" out of range. status and metrics print these too. */
const char *pg_reason_name(__u32 reason);
/* "xdp", "bind", "connect", "sendmsg", "sock_create". */
const char *pg_hook_name(__u32 hook);
/* "blocked", "allowed", "logged". */
const char *pg_ev_action_name(__u32 action);
/* "enforce", "dry-run". */
const char *pg_mode_name(__u32 mode);
/* "in", "out". */
const char *pg_dir_name(__u32 dir);
/* "submitted", "ring_full", "rate_limited", "budget". */
const char *pg_event_stat_name(__u32 stat);
/* "TCP", "UDP", "ICMP", "ICMPv6", "RAW"; NULL for other protocol numbers. */
const char *pg_proto_name(__u32 proto);

#endif /* PG_NAMES_H */
