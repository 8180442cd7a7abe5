/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Prometheus text exposition (format 0.0.4) at /metrics (metrics.c renders it), served by a
 * small single-threaded HTTP server (metrics_http.c) that the run/monitor event loop polls
 * next to the ring buffer. Every scrape
 * reads the pinned maps afresh (snapshot.h), so it is exact whatever reloaded the policy.
 *
 * How run/monitor integrate it:
 *
 *   if (metrics_addr && (err = pg_metrics_open(metrics_addr)))   // "127.0.0.1:9464"
 *           goto cleanup;                                         // message printed
 *   struct pollfd pfd[] = {
 *           { ring_buffer__epoll_fd(rb), POLLIN },
 *           { pg_metrics_fd(), POLLIN },          // -1 when --metrics is off: poll skips it
 *   };
 *   while (!exiting) {
 *           if (poll(pfd, 2, 1000) < 0 && errno != EINTR) ...;
 *           ring_buffer__consume(rb);
 *           if (pfd[1].revents)
 *                   pg_metrics_serve(pin_dir);   // never blocks
 *   }
 *   pg_metrics_close();
 *
 * pg_metrics_fd() is an epoll fd holding the listener and every open connection, so one
 * pollable fd covers them all and pg_metrics_serve() never waits on a slow client.
 *
 * Stable metric names (portguard(8) lists them):
 *   portguard_rule_packets_total{rule="FILE:LINE",action="allow|deny|local|default"}
 *   portguard_rule_bytes_total{rule,action}
 *   portguard_rule_last_hit_timestamp_seconds{rule,action}
 *   portguard_drops_total{reason}              portguard_drop_bytes_total{reason}
 *   portguard_passes_total{reason}
 *   portguard_events_submitted_total
 *   portguard_events_suppressed_total{cause="ring_full|rate_limited|budget"}
 *   portguard_policy_info{policy,sha256,mode}  (always 1)
 *   portguard_policy_loaded                     (1, or 0 when nothing is loaded)
 *   portguard_enforcing{iface="IF"|cgroup="DIR"}   (1 when the kernel runs portguard there;
 *                                                  {load="incomplete"} 0 after a cut load)
 *   portguard_policy_load_seconds
 *   portguard_policy_loaded_timestamp_seconds
 *   portguard_log_write_failures_total{sink="file|syslog"}
 *   portguard_log_records_total{sink}
 */
#ifndef PG_METRICS_H
#define PG_METRICS_H

#include <stdbool.h>
#include <stdio.h>

/* Check an --metrics ADDR:PORT without listening: 0, or -EINVAL after a message. */
int pg_metrics_addr_check(const char *addr_port);
/* Listen on "ADDR:PORT": "127.0.0.1:9464", "[::1]:9464", "0.0.0.0:9464", ":9464" (every
 * address, IPv4 and IPv6). Returns 0 or -errno; the message is printed. */
int pg_metrics_open(const char *addr_port);
/* The fd to poll for POLLIN, or -1 when not open. */
int pg_metrics_fd(void);
/* Accept, read and answer whatever is ready; never blocks. pin_dir: NULL for the default. */
void pg_metrics_serve(const char *pin_dir);
void pg_metrics_close(void);

/* The exposition of the state pinned under pin_dir, as /metrics answers it (log_stats: with
 * this process's log sink counters). Returns 0 or -errno (nothing loaded is not an error:
 * portguard_policy_loaded 0); -EINVAL when a pin is not the map this build defines, which
 * is said on stderr already. */
int pg_metrics_render(const char *pin_dir, FILE *f, bool log_stats);

#endif /* PG_METRICS_H */
