/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The ABI shared by the BPF programs and userspace: map keys and values, event records and
 * the enums that name hooks, actions and reasons. No maps and no logic live here. Every
 * struct is defined once, here, with explicit padding, and its size is asserted so that the
 * BPF side and userspace cannot drift apart.
 *
 * Byte order: addresses are network order, always 16 bytes, IPv4 stored IPv4-mapped
 * (::ffff:a.b.c.d) so that one LPM trie and one flow table serve both families. Ports are
 * host order everywhere in maps and events.
 */
#ifndef PORTGUARD_H
#define PORTGUARD_H

#ifdef __bpf__
#include "vmlinux.h"
#else
#include <linux/types.h>
#endif

/* Policy generations. Every policy map holds two generations; a packet reads the active
 * generation once and decides entirely within it, so a reload is one atomic map write. */
#define PG_NGEN 2
/* Rule slots per generation. Slot 0 and 1 are the defaults; rules start at PG_RULE_FIRST. */
#define PG_MAX_RULES 16384
#define PG_RULE_DEFAULT_IN 0
#define PG_RULE_DEFAULT_OUT 1
#define PG_RULE_DENY_RAW 2
#define PG_RULE_FIRST 3
/* rule_id of a verdict no rule reached: parse-level drops (malformed, fragments without a
 * first fragment), replies, ICMP and non-IP passes. Counted per reason only. */
#define PG_RULE_NONE 0xffffffffu
/* Capacity, per generation (each policy map holds two). `check` enforces them, naming the
 * limit at the line that overflows it, so that a policy check accepts is one load loads.
 * Peer prefixes: distinct prefixes of the whole policy (a set shared by many rules and ports
 * is stored once), sized for blocklists of 1,000,000 prefixes and more. The trie allocates
 * per entry: the limit costs no memory until it is used. */
#define PG_MAX_PREFIXES (1u << 21)
#define PG_MAX_PEER_ENTRIES (PG_NGEN * PG_MAX_PREFIXES)
/* (port class, peer group) verdicts: one for each class a peer group changes. */
#define PG_MAX_CLASS_PEERS (1u << 20)
/* Flow table size when --max-flows does not say (the map's max_entries is set at load):
 * 262144 flows this host opened is a busy server's worth (conntrack's default maximum on a
 * host with 4 GiB or more), about 30 MB of preallocated LRU entries. */
#define PG_MAX_FLOWS_DEFAULT 262144
#define PG_MAX_FLOWS_MIN 1024
#define PG_MAX_FLOWS_MAX (1 << 24)
#define PG_MAX_FRAGS 8192
/* Slots of the rate limiter's per-CPU direct-mapped table of recent keys (a power of 2). */
#define PG_RL_SLOTS 4096
/* Slots of the socket hooks' per-CPU direct-mapped decision cache (a power of 2). */
#define PG_SOCK_CACHE_SLOTS 256
#define PG_RINGBUF_BYTES (1 << 20)
/* IPv6 extension headers walked before the chain is declared too long. */
#define PG_MAX_EXT_HDRS 6
/* VLAN tags parsed (802.1ad outer + 802.1Q inner); a deeper stack is dropped. */
#define PG_MAX_VLAN 2

enum pg_dir {
	PG_DIR_IN = 0,
	PG_DIR_OUT = 1,
};

/* Index of a protocol in the port array; not an IPPROTO_* value. */
enum pg_proto_idx {
	PG_PIDX_TCP = 0,
	PG_PIDX_UDP = 1,
};

#define PG_PORT_SPACE 65536
/* Port array: one slot per (generation, direction, protocol, port). */
#define PG_PORT_SLOTS (PG_NGEN * 2 * 2 * PG_PORT_SPACE)

static inline __u32 pg_port_index(__u32 gen, __u32 dir, __u32 pidx, __u32 port)
{
	return ((gen * 2 + dir) * 2 + pidx) * PG_PORT_SPACE + (port & 0xffff);
}

/* Value of the port array (pg_ports). Written by userspace at (re)load, read by every hook.
 * class_id names the set of rules that cover this port; ports covered by the same rules share
 * one class. Class 0 means no rule covers the port. Class ids are unique across generations.
 * The class's base verdict, for every peer no peer group of the class changes, is inlined:
 * a decision reads the peer only on a port whose class has PG_PORT_PEERS. */
struct pg_port_val {
	__u32 class_id;
	__u32 flags;   /* PG_PORT_* */
	__u32 rule_id; /* the base verdict's rule slot within the generation */
};
/*
 * flags, bit by bit:
 *   0      PG_PORT_LOCAL           some `local` rule covers the port (loopback-only)
 *   1      PG_PORT_LOCAL_DRY_RUN   ...and every such rule is dry-run
 *   2      PG_PORT_PEERS           some peers are decided otherwise than the base verdict:
 *                                  look the peer's group up (pg_peers), then (class, group)
 *                                  in pg_class_peers; no entry there means the base verdict
 *   3      unused
 *   4-5    PG_PORT_V_ACTION_SHIFT  the base verdict's enum pg_action
 *   6-7    PG_PORT_V_FLAGS_SHIFT   the base verdict's PG_VF_*
 *   8-15   unused
 *   16-31  the slot of the port's `local` rule (LOCAL only): the first enforcing one, else
 *          the first.
 * The bind hook and XDP's spoofed-loopback check read the local rule from here: the verdict
 * for a peer, under a dry-run rule or a deny, may name another rule (or the default) while
 * the port is still local. A zeroed slot (no rule) is the direction's default.
 */
#define PG_PORT_LOCAL (1u << 0)
#define PG_PORT_LOCAL_DRY_RUN (1u << 1)
#define PG_PORT_PEERS (1u << 2)
#define PG_PORT_V_ACTION_SHIFT 4 /* enum pg_action, 2 bits */
#define PG_PORT_V_FLAGS_SHIFT 6	 /* PG_VF_*, 2 bits */
#define PG_PORT_LOCAL_RULE_SHIFT 16

/*
 * The peer lookup, in two steps whose cost depends on neither the number of prefixes nor the
 * number of rules that share them:
 *
 *   1. the peer's group: the set of the policy's distinct peer lists (and loopback) that
 *      contain the address. Every prefix of the policy is stored once, whatever the number of
 *      rules and port classes that use it, in a multibit structure of fixed depth:
 *        pg_buckets    array, one slot per (generation, family, first 16 bits): the group of
 *                      the longest prefix no longer than the bucket (IPv4 /16, IPv6 /16), and
 *                      the lengths in use under it, longest first (IPv4 /17-/32; IPv6 /33
 *                      and longer, where they fit and no /17-/32 lies under the /16);
 *        pg_buckets32  hash, (generation, first 32 bits of an IPv6 address): the same for an
 *                      IPv6 /32 with longer prefixes under it (at most PG_BUCKET_LENS lengths),
 *                      for the IPv6 /16 slots marked deep: those the /16 cannot describe;
 *        pg_peers      hash, (generation, length, masked address) -> group, for the prefixes
 *                      longer than their bucket: one exact probe per length in use there,
 *                      longest first (ipset's hash:net, per bucket). Prefixes up to the
 *                      bucket's length are expanded into the buckets at compile time.
 *   2. pg_class_peers  hash, (class, group) -> verdict, only where the group changes the
 *                      class's base verdict (the blocklist on every port: one entry per class).
 *                      A group that changes the verdict of at most PG_PEER_INLINE classes
 *                      carries those verdicts in its pg_peers entries too: a peer found by its
 *                      probe is decided without this second lookup, which costs as much as
 *                      the probe itself.
 *
 * Key of pg_peers. Lengths are over the 128-bit mapped form (IPv4 /24 is 120).
 */
#define PG_BUCKET_LENS 16
struct pg_peer_key {
	__u32 prefixlen; /* 0..128, mapped */
	__u32 gen;
	__u8 addr[16];	 /* mapped, network order, host bits zero */
};

/* Value of pg_buckets and pg_buckets32. Written by userspace. */
struct pg_bucket {
	__u32 group;			/* longest prefix up to the bucket's length; 0: none */
	__u8 nlens;			/* lengths used in lens */
	__u8 lens[PG_BUCKET_LENS];	/* mapped prefix lengths in use under it, longest first */
	__u8 deep;			/* an IPv6 /16 slot: look in pg_buckets32 instead (its
					 * nlens and lens are not used) */
	__u8 pad[2];
};

/* pg_buckets index: (gen * 2 + family) * 65536 + the address's first 16 bits, family 0 for
 * IPv4 (bits of the IPv4 address), 1 for IPv6. */
#define PG_BUCKET_SLOTS (PG_NGEN * 2 * 65536)
static inline __u32 pg_bucket_index(__u32 gen, __u32 v6, __u32 top16)
{
	return ((gen & 1) * 2 + (v6 & 1)) * 65536 + (top16 & 0xffff);
}

/* Key of pg_buckets32. */
struct pg_bucket32_key {
	__u32 gen;
	__u32 top32; /* the IPv6 address's first word, network order */
};
/* IPv6 /32 buckets with longer prefixes under them, per generation. */
#define PG_MAX_BUCKETS32 (1u << 20)

/* Key of pg_class_peers; value struct pg_verdict. Host order. */
struct pg_class_peer_key {
	__u32 class_id;
	__u32 group;
};

enum pg_action {
	PG_ACT_DEFAULT = 0, /* no rule covers it: the direction's default decides */
	PG_ACT_ALLOW = 1,
	PG_ACT_DENY = 2,
	PG_ACT_LOCAL = 3, /* a `local` port reached from off-host */
};

#define PG_VF_LOG (1u << 0)	/* allow ... log: report allowed traffic too */
#define PG_VF_DRY_RUN (1u << 1) /* the deciding rule is dry-run: report, do not block */

/* Value of pg_class_peers, and the base verdict inlined in pg_port_val: the effective verdict,
 * already combined by userspace from all rules that cover it (deny > local > allow). */
struct pg_verdict {
	__u32 rule_id; /* slot in this generation, without the generation offset */
	__u8 action;   /* enum pg_action */
	__u8 flags;    /* PG_VF_* */
	__u16 pad;
};

/* Value of pg_peers: the peer group, with its generation in bit 30 as class ids (group ids
 * restart at each compile). 0 is never stored: no match means no group. When complete is
 * set, class_id[0..ninline) and verdict[] are every (class, group) entry of pg_class_peers
 * for this group, and a class not listed keeps its base verdict; else the decision looks
 * (class, group) up there. */
#define PG_PEER_INLINE 2
struct pg_peer_val {
	__u32 group;
	__u8 ninline;
	__u8 complete;
	__u16 pad;
	__u32 class_id[PG_PEER_INLINE];
	struct pg_verdict verdict[PG_PEER_INLINE];
};

enum pg_mode {
	PG_MODE_ENFORCE = 0,
	PG_MODE_DRY_RUN = 1,
};

enum pg_default {
	PG_DEFAULT_ALLOW = 0,
	PG_DEFAULT_DENY = 1,
};

/* pg_config, one per generation. Written by userspace before the generation is activated. */
struct pg_config {
	__u8 mode;	      /* enum pg_mode */
	__u8 default_in;      /* enum pg_default */
	__u8 default_out;     /* enum pg_default */
	__u8 deny_raw;	      /* `deny raw`: refuse AF_PACKET and SOCK_RAW sockets */
	__u8 deny_raw_dry_run;
	__u8 events;	      /* 0 turns violation events off (counters stay exact) */
	__u16 pad;
	__u32 events_per_sec; /* global event budget, per CPU; 0 = unlimited */
	__u32 version;	      /* policy version: each (re)load gives the generation it writes
			       * one more than either generation had; 0 = none (older build).
			       * Events carry it, so that a record names its rule exactly. */
	__u64 ratelimit_ns;   /* repeats of one (source, port, reason) within this are suppressed */
	__u64 flow_tcp_idle_ns; /* an open TCP flow: idle time in either direction */
	__u64 flow_udp_idle_ns;
	__u64 flow_tcp_fin_ns;	/* a TCP flow that saw a FIN (either way) */
	__u64 flow_tcp_rst_ns;	/* a TCP flow that saw a RST (either way) */
};

/* pg_active, one entry: the generation in force. The single atomic switch of a reload.
 * version is that generation's pg_config.version, written with it (0 from an older build:
 * nothing is cached then), so that the socket hooks' decision cache answers from this one
 * entry (bpf/sock_hooks.bpf.c). */
struct pg_active {
	__u32 gen;
	__u32 version;
};

/* Reasons a verdict was reached. Index of the per-CPU pg_reason_stats array. Drop reasons
 * come first so that PG_R_IS_DROP() is one compare. Dry-run counts would-be drops under
 * their drop reason. */
enum pg_reason {
	PG_R_NOT_ALLOWED = 0,	/* no allow rule and default deny */
	PG_R_DENIED,		/* a deny rule */
	PG_R_LOCAL_ONLY,	/* a `local` port reached from off-host, or bound off loopback */
	PG_R_FRAGMENT,		/* a non-first fragment whose first fragment was not allowed */
	PG_R_FRAG_SHORT,	/* a first fragment too short to hold the L4 header */
	PG_R_FRAG_OVERLAP,	/* a fragment that overlaps the L4 header of its first fragment */
	PG_R_MALFORMED,		/* a truncated header */
	PG_R_BAD_IHL,		/* IPv4 IHL < 5 or beyond the total length */
	PG_R_BAD_DOFF,		/* TCP data offset < 5 or beyond the packet */
	PG_R_EXT_HDR_LIMIT,	/* more IPv6 extension headers than PG_MAX_EXT_HDRS */
	PG_R_VLAN_DEPTH,	/* more than PG_MAX_VLAN VLAN tags */
	PG_R_PROTO,		/* an IP protocol other than TCP/UDP/ICMP under default deny */
	PG_R_RAW_SOCKET,	/* `deny raw`: a raw or packet socket */
	PG_R_HDR_SPLIT,		/* a multi-buffer frame whose headers cross into a fragment */
	PG_R_DROP_MAX,
	/* pass reasons */
	PG_R_PASS_RULE = PG_R_DROP_MAX, /* an allow rule */
	PG_R_PASS_DEFAULT,	/* no rule, default allow */
	PG_R_PASS_REPLY,	/* answers a flow this host opened */
	PG_R_PASS_NON_IP,	/* ARP and other non-IP ethertypes */
	PG_R_PASS_ICMP,		/* ICMP, ICMPv6 and IGMP: not subject to port rules */
	PG_R_PASS_FRAGMENT,	/* a non-first fragment of an allowed datagram */
	PG_R_PASS_LOOPBACK,	/* a `local` port reached from loopback */
	PG_R_MAX,
};
#define PG_R_IS_DROP(r) ((r) < PG_R_DROP_MAX)

/* Per-CPU counters, value of pg_reason_stats[reason] and pg_rule_stats[gen * PG_MAX_RULES +
 * rule_id]. Written by the datapath only. */
struct pg_counter {
	__u64 packets;
	__u64 bytes;
	__u64 last_ns; /* CLOCK_MONOTONIC ns of the last hit, at tick resolution (the
			* datapath's clock, bpf/clock.bpf.h) */
};

/* Index of the per-CPU pg_event_stats array. submitted + ring_full + rate_limited + budget
 * equals the violations (and logged allows) that wanted an event. */
enum pg_event_stat {
	PG_EVS_SUBMITTED = 0,
	PG_EVS_RING_FULL,
	PG_EVS_RATE_LIMITED,
	PG_EVS_BUDGET,
	PG_EVS_MAX,
};

/* Per-CPU state of the global event budget (pg_budget, one entry). */
struct pg_budget {
	__u64 window_start_ns;
	__u32 count;
	__u32 pad;
};

/* Key of the rate limiter: what makes two violations "the same" for reporting. */
struct pg_rl_key {
	__u8 addr[16]; /* the source (XDP) or the remote peer (socket hooks) */
	__u16 port;    /* the port the rule judged */
	__u8 reason;
	__u8 hook;
};

/* A slot of the rate limiter (pg_ratelimit, per-CPU array of PG_RL_SLOTS, indexed by a hash
 * of the key): the last key let through there on this CPU and when. Written by the datapath. */
struct pg_rl_slot {
	struct pg_rl_key key;
	__u32 pad;
	__u64 last_ns;
};

/* What the socket hooks' decision cache is keyed by: one pg_decide() question. */
struct pg_sock_cache_key {
	__u8 addr[16]; /* the peer, mapped, network order */
	__u16 port;    /* host order: the remote port (out), the bound port (a UDP reply's in) */
	__u8 dir;      /* PG_DIR_* */
	__u8 pidx;     /* PG_PIDX_* */
};

/* A slot of the socket hooks' decision cache (pg_sock_cache, per-CPU array of
 * PG_SOCK_CACHE_SLOTS, indexed by a hash of the key): the last answer pg_decide() gave on this
 * CPU for that key, and the policy version it holds for. Written and read by the socket hooks
 * only (bpf/sock_hooks.bpf.c says how); userspace never reads it. */
struct pg_sock_cache_slot {
	struct pg_sock_cache_key key;
	__u32 version; /* pg_active.version of the generation that decided; 0: empty */
	__u32 busy;    /* hook runs on this CPU inside the slot (a preempted one included) */
	__u32 gen;     /* the generation that decided: its rule slots count the hits */
	__u64 answer;  /* the pg_decision, less its gen (the version implies it), packed as
			* bpf/sock_hooks.bpf.c's sock_pack() packs it */
};

/* Key of the flow table (pg_flows, LRU hash), written at egress by the host's own traffic,
 * read at XDP ingress to let replies in. "local" is this host's side. */
struct pg_flow_key {
	__u8 laddr[16];
	__u8 raddr[16];
	__u16 lport;
	__u16 rport;
	__u8 proto; /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 pad[3];
};

struct pg_flow_val {
	__u64 last_ns; /* CLOCK_MONOTONIC ns (tick resolution) of the last packet either way */
	__u8 state;    /* enum pg_flow_state: written by the datapath, 0 by seeding */
	__u8 pad[7];
};

/*
 * pg_flow_ports: the local ports some flow in pg_flows may use, per protocol (TCP, then UDP):
 * value 1 once a flow of this host used the port. Every writer of
 * pg_flows marks the port first (tc egress, the seeding from sock_diag), so that ingress
 * asks the flow table only about packets to a marked port: a flood to a port this host
 * never spoke from (a service port, a scanned one) costs one array read, not a hash lookup
 * of the 40-byte flow key. Marks are never cleared while the maps live: a port marked in
 * vain costs that lookup again, never a reply.
 */
#define PG_FLOW_PORT_SLOTS (2 * 65536)
static inline __u32 pg_flow_port_index(__u8 proto, __u16 lport)
{
	return (proto == 17) * 65536 + lport;
}

/* How far a TCP flow got towards its end; it picks the idle timeout (pg_config). A bare SYN
 * this host sends starts the flow over (a new connection on the same ports). UDP stays OPEN. */
enum pg_flow_state {
	PG_FLOW_OPEN = 0, /* flow_tcp_idle_ns */
	PG_FLOW_FIN = 1,  /* a FIN either way: flow_tcp_fin_ns */
	PG_FLOW_RST = 2,  /* a RST either way: flow_tcp_rst_ns */
};

/* Index of the per-CPU pg_flow_stats array: flows written to pg_flows. The table never
 * deletes (an expired flow stays until the LRU reuses it), so recorded + rerecorded + seeded
 * minus the entries present is what the LRU evicted. */
enum pg_flow_stat {
	PG_FLS_RECORDED = 0, /* tc egress: a bare SYN or a UDP datagram of a new flow */
	PG_FLS_RERECORDED,   /* tc egress: an established connection of ours not in the table */
	PG_FLS_SEEDED,	     /* userspace: from the sockets open at (re)load (CPU 0's slot) */
	PG_FLS_MAX,
};

/* Key of the fragment table (pg_frags, LRU hash): one datagram as IP identifies it. */
struct pg_frag_key {
	__u8 saddr[16];
	__u8 daddr[16];
	__u32 id; /* IPv4: 16-bit id; IPv6: 32-bit fragment id; host order */
	__u8 proto;
	__u8 pad[3];
};

struct pg_frag_val {
	__u32 rule_id;
	__u8 allowed; /* the first fragment was allowed (or dry-run let it through) */
	__u8 reason;  /* the first fragment's reason */
	__u16 l4_end; /* bytes of the datagram's payload the L4 header occupies */
};

enum pg_hook {
	PG_HOOK_XDP = 0,
	PG_HOOK_BIND,
	PG_HOOK_CONNECT,
	PG_HOOK_SENDMSG,
	PG_HOOK_SOCK_CREATE,
	PG_HOOK_MAX,
};

enum pg_ev_action {
	PG_EV_BLOCKED = 0,
	PG_EV_ALLOWED = 1, /* dry-run let it through */
	PG_EV_LOGGED = 2,  /* an allow rule with `log` */
};

/* A record of the pg_events ring buffer. */
struct pg_event {
	__u64 ts_ns;	 /* bpf_ktime_get_ns(), CLOCK_MONOTONIC */
	__u64 cgroup_id; /* socket hooks: the task's cgroup v2 id; XDP: 0 */
	__u32 hook;	 /* enum pg_hook */
	__u32 reason;	 /* enum pg_reason */
	__u32 gen;	 /* generation that decided */
	__u32 rule_id;	 /* slot within that generation */
	__u32 ifindex;	 /* XDP: ingress interface */
	__u32 pid;	 /* socket hooks: tgid */
	__u32 uid;
	__u8 action;	 /* enum pg_ev_action */
	__u8 dir;	 /* enum pg_dir */
	__u8 proto;	 /* IPPROTO_TCP / IPPROTO_UDP, or the raw socket's protocol */
	__u8 family;	 /* 4 or 6: the family on the wire */
	__u16 sport;	 /* host order */
	__u16 dport;	 /* host order */
	__u8 saddr[16];	 /* mapped, network order */
	__u8 daddr[16];
	char comm[16];
	__u32 version;	 /* pg_config.version of gen when it decided: (version, rule_id)
			  * names the rule whatever reloads came since */
};

/* How an interface is enforced (pg_info.ifmode). */
enum pg_ifmode {
	PG_IFMODE_AWAITED = 0, /* named but absent: not enforced until it appears (run) */
	PG_IFMODE_XDP,	       /* native XDP */
	PG_IFMODE_XDP_FRAGS,   /* native XDP, multi-buffer (xdp.frags): MTU beyond a page */
	PG_IFMODE_XDP_SKB,     /* generic XDP */
	PG_IFMODE_TC,	       /* tc ingress: where XDP cannot attach */
	PG_IFMODE_MAX,
};

/* Shown by `status` and filled by the loader (pg_info, one entry). */
#define PG_MAX_IFACES 16
struct pg_info {
	__u64 loaded_at;     /* CLOCK_REALTIME seconds of the last (re)load */
	__u64 load_ns;	     /* time the last (re)load took */
	__u32 nrules;	     /* rule slots used in the active generation */
	__u32 nifaces;
	__u32 ifindex[PG_MAX_IFACES]; /* 0 while awaited */
	char policy[256];    /* path of the policy file */
	char sha256[72];     /* hex digest of the policy text, NUL-terminated */
	char cgroup[256];    /* path of the cgroup the socket hooks are attached to, or "" */
	char ifname[PG_MAX_IFACES][16]; /* the names, as given (IF_NAMESIZE) */
	__u8 ifmode[PG_MAX_IFACES];	/* enum pg_ifmode */
	__u32 max_flows;		/* pg_flows' max_entries */
	__u32 ifaces_appeared;		/* awaited interfaces attached as they appeared (run) */
	__u32 ifaces_gone;		/* attached interfaces that disappeared */
	__u32 pad;
};

/* Source of every rule slot, so that `status` and `monitor` need nothing but the pins
 * (pg_rule_meta[gen * PG_MAX_RULES + rule_id]). */
struct pg_rule_meta {
	char src[96];	/* "policy/x.policy:12", "default in" */
	char text[160]; /* the rule as `check` normalizes it */
};

#ifndef __bpf__
_Static_assert(sizeof(struct pg_port_val) == 12, "pg_port_val");
_Static_assert(PG_MAX_RULES <= 1u << (32 - PG_PORT_LOCAL_RULE_SHIFT), "rule slot in pg_port_val");
_Static_assert(sizeof(struct pg_peer_key) == 24, "pg_peer_key");
_Static_assert(sizeof(struct pg_peer_val) == 8 + 12 * PG_PEER_INLINE, "pg_peer_val");
_Static_assert(sizeof(struct pg_bucket) == 24, "pg_bucket");
_Static_assert(sizeof(struct pg_bucket32_key) == 8, "pg_bucket32_key");
_Static_assert(sizeof(struct pg_class_peer_key) == 8, "pg_class_peer_key");
_Static_assert(sizeof(struct pg_verdict) == 8, "pg_verdict");
_Static_assert(sizeof(struct pg_config) == 56, "pg_config");
_Static_assert(sizeof(struct pg_counter) == 24, "pg_counter");
_Static_assert(sizeof(struct pg_rl_key) == 20, "pg_rl_key");
_Static_assert(sizeof(struct pg_rl_slot) == 32, "pg_rl_slot");
_Static_assert((PG_RL_SLOTS & (PG_RL_SLOTS - 1)) == 0, "PG_RL_SLOTS is a power of 2");
_Static_assert(sizeof(struct pg_sock_cache_key) == 20, "pg_sock_cache_key");
_Static_assert(sizeof(struct pg_sock_cache_slot) == 40, "pg_sock_cache_slot");
_Static_assert((PG_SOCK_CACHE_SLOTS & (PG_SOCK_CACHE_SLOTS - 1)) == 0,
	       "PG_SOCK_CACHE_SLOTS is a power of 2");
_Static_assert(sizeof(struct pg_flow_key) == 40, "pg_flow_key");
_Static_assert(sizeof(struct pg_flow_val) == 16, "pg_flow_val");
_Static_assert(sizeof(struct pg_frag_key) == 40, "pg_frag_key");
_Static_assert(sizeof(struct pg_frag_val) == 8, "pg_frag_val");
_Static_assert(sizeof(struct pg_event) == 104, "pg_event");
_Static_assert(sizeof(struct pg_rule_meta) == 256, "pg_rule_meta");
#endif

#endif /* PORTGUARD_H */
