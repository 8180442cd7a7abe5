// SPDX-License-Identifier: GPL-2.0
/* Name tables for hooks, reasons, actions and modes (see names.h). */
#include <netinet/in.h>
#include <stddef.h>

#include "output/names.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Stable: SIEM rules, dashboards (status, metrics labels) match on these strings. Append,
 * never rename. */
static const char *const reason_names[PG_R_MAX] = {
	[PG_R_NOT_ALLOWED] = "not-allowed",
	[PG_R_DENIED] = "denied",
	[PG_R_LOCAL_ONLY] = "local-only",
	[PG_R_FRAGMENT] = "fragment",
	[PG_R_FRAG_SHORT] = "fragment-short",
	[PG_R_FRAG_OVERLAP] = "fragment-overlap",
	[PG_R_MALFORMED] = "malformed",
	[PG_R_BAD_IHL] = "bad-ihl",
	[PG_R_BAD_DOFF] = "bad-doff",
	[PG_R_EXT_HDR_LIMIT] = "ext-hdr-limit",
	[PG_R_VLAN_DEPTH] = "vlan-depth",
	[PG_R_PROTO] = "proto",
	[PG_R_RAW_SOCKET] = "raw-socket",
	[PG_R_PASS_RULE] = "allowed-rule",
	[PG_R_PASS_DEFAULT] = "allowed-default",
	[PG_R_PASS_REPLY] = "reply",
	[PG_R_PASS_NON_IP] = "non-ip",
	[PG_R_PASS_ICMP] = "icmp",
	[PG_R_PASS_FRAGMENT] = "fragment-allowed",
	[PG_R_PASS_LOOPBACK] = "loopback",
};

static const char *const hook_names[PG_HOOK_MAX] = {
	[PG_HOOK_XDP] = "xdp",
	[PG_HOOK_BIND] = "bind",
	[PG_HOOK_CONNECT] = "connect",
	[PG_HOOK_SENDMSG] = "sendmsg",
	[PG_HOOK_SOCK_CREATE] = "sock_create",
};

static const char *const action_names[] = {
	[PG_EV_BLOCKED] = "blocked",
	[PG_EV_ALLOWED] = "allowed",
	[PG_EV_LOGGED] = "logged",
};

static const char *const stat_names[PG_EVS_MAX] = {
	[PG_EVS_SUBMITTED] = "submitted",
	[PG_EVS_RING_FULL] = "ring_full",
	[PG_EVS_RATE_LIMITED] = "rate_limited",
	[PG_EVS_BUDGET] = "budget",
};

static const char *lookup(const char *const *tab, size_t n, __u32 i)
{
	return i < n && tab[i] ? tab[i] : "unknown";
}

const char *pg_reason_name(__u32 reason)
{
	return lookup(reason_names, ARRAY_SIZE(reason_names), reason);
}

const char *pg_hook_name(__u32 hook)
{
	return lookup(hook_names, ARRAY_SIZE(hook_names), hook);
}

const char *pg_ev_action_name(__u32 action)
{
	return lookup(action_names, ARRAY_SIZE(action_names), action);
}

const char *pg_event_stat_name(__u32 stat)
{
	return lookup(stat_names, ARRAY_SIZE(stat_names), stat);
}

const char *pg_mode_name(__u32 mode)
{
	return mode == PG_MODE_DRY_RUN ? "dry-run" : "enforce";
}

const char *pg_dir_name(__u32 dir)
{
	return dir == PG_DIR_OUT ? "out" : "in";
}

const char *pg_proto_name(__u32 proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "TCP";
	case IPPROTO_UDP:
		return "UDP";
	case IPPROTO_ICMP:
		return "ICMP";
	case IPPROTO_ICMPV6:
		return "ICMPv6";
	case IPPROTO_RAW:
		return "RAW";
	default:
		return NULL;
	}
}
