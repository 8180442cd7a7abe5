/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Interfaces that come and go: an rtnetlink socket subscribed to link events (RTMGRP_LINK),
 * which `run` drains in its loop. It only says that something changed; what changed is read
 * back by name (pg_up_sync_ifaces), so a lost message (the socket's buffer overran) costs
 * nothing but a resync.
 */
#ifndef PG_LINKS_WATCH_H
#define PG_LINKS_WATCH_H

/* A non-blocking rtnetlink socket on link events, or -errno. */
int pg_links_watch_open(void);
/* Read what is pending. Returns 1 when a link was created, changed or deleted (or messages
 * were lost), 0 when nothing came, -errno on a failure of the socket. */
int pg_links_watch_drain(int fd);
void pg_links_watch_close(int fd);

#endif /* PG_LINKS_WATCH_H */
