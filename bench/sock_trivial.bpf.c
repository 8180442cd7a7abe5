// SPDX-License-Identifier: GPL-2.0
/* The trivial socket hooks: allow everything. Their cost is the cost of having any cgroup
 * sock_addr program attached; portguard's hooks are judged against it. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("cgroup/bind4")
int bench_bind4(struct bpf_sock_addr *ctx)
{
	return 1;
}

SEC("cgroup/bind6")
int bench_bind6(struct bpf_sock_addr *ctx)
{
	return 1;
}

SEC("cgroup/connect4")
int bench_connect4(struct bpf_sock_addr *ctx)
{
	return 1;
}

SEC("cgroup/connect6")
int bench_connect6(struct bpf_sock_addr *ctx)
{
	return 1;
}

SEC("cgroup/sendmsg4")
int bench_sendmsg4(struct bpf_sock_addr *ctx)
{
	return 1;
}

SEC("cgroup/sendmsg6")
int bench_sendmsg6(struct bpf_sock_addr *ctx)
{
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
