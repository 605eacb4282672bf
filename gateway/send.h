/*
 * send: the outbox worker, "listbridge send [--once]".
 *
 * Claims due outbox rows (outbox.c), renders each post's mail for its
 * member (compose.c) and hands it to the relay over one reused SMTP
 * connection (smtp.c).  Per recipient: 2xx sent, 4xx retried with
 * back-off until cfg.outbox_max_age, 5xx a bounce with the relay's reply.
 * With --once it stops when nothing is due; otherwise it waits for the
 * next NOTIFY listbridge_outbox or cfg.send_interval seconds.  Several
 * workers on several hosts never send one row twice while leases hold.
 */
#ifndef SEND_H
#define SEND_H

/* send_main: the command; returns a sysexits code. */
int send_main(int argc, char **argv);

#endif
