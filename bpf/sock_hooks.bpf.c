// SPDX-License-Identifier: GPL-2.0
/* cgroup socket hooks. (placeholder until the socket issue lands) */
#include "decide.bpf.h"
#include "events.bpf.h"

SEC("cgroup/bind4")
int pg_bind4(struct bpf_sock_addr *ctx) { return 1; }
SEC("cgroup/bind6")
int pg_bind6(struct bpf_sock_addr *ctx) { return 1; }
SEC("cgroup/connect4")
int pg_connect4(struct bpf_sock_addr *ctx) { return 1; }
SEC("cgroup/connect6")
int pg_connect6(struct bpf_sock_addr *ctx) { return 1; }
SEC("cgroup/sendmsg4")
int pg_sendmsg4(struct bpf_sock_addr *ctx) { return 1; }
SEC("cgroup/sendmsg6")
int pg_sendmsg6(struct bpf_sock_addr *ctx) { return 1; }
SEC("cgroup/sock_create")
int pg_sock_create(struct bpf_sock *ctx) { return 1; }

char LICENSE[] SEC("license") = "GPL";
