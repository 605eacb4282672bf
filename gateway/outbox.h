/*
 * outbox: mail waiting to go out (gateway.outbox), claimed by workers.
 *
 * outbox_claim() leases due rows to one worker: rows are picked with
 * FOR UPDATE SKIP LOCKED, so concurrent workers never take the same row,
 * and a row whose lease ran out (its worker died) is due again.  The
 * outcome calls (sent, retry, bounced) only touch a row while the caller
 * still holds its lease.
 */
#ifndef OUTBOX_H
#define OUTBOX_H

#include <libpq-fe.h>

#include <glib.h>

struct outbox_row {
	long long id;
	char *kind; /* post, notice, digest */
	long long group_id;
	long long post_id;   /* 0 when none */
	long long member_id; /* 0 when none */
	char *recipient;
	GBytes *message; /* rendered already (notices), or NULL */
	int attempts;	 /* including this one */
	double age;	 /* seconds since it was queued */
};

/* outbox_claim: lease up to limit due rows to worker for lease seconds.
 * Appends struct outbox_row * to rows (free with outbox_row_free).
 * Returns how many, or -1 with err set. */
int outbox_claim(PGconn *conn, const char *worker, int limit, int lease,
		 GPtrArray *rows, GError **err);

/* outbox_sent: the relay took the row's mail; reply is its answer. */
int outbox_sent(PGconn *conn, const char *worker, const struct outbox_row *row,
		const char *reply, GError **err);

/* outbox_retry: a temporary failure: due again after a back-off that
 * doubles with each attempt (1 minute to 4 hours); past max_age seconds
 * since it was queued, the row expires (a bounce). */
int outbox_retry(PGconn *conn, const char *worker, const struct outbox_row *row,
		 const char *reply, int max_age, GError **err);

/* outbox_bounced: a permanent failure, with the relay's reply. */
int outbox_bounced(PGconn *conn, const char *worker,
		   const struct outbox_row *row, const char *reply,
		   GError **err);

/* outbox_notice: queue a rendered mail (a notice) to recipient.
 * member_id 0 for none.  Returns 0, or -1 with err set. */
int outbox_notice(PGconn *conn, const char *group_id, long long member_id,
		  const char *recipient, GBytes *message, GError **err);

void outbox_row_free(gpointer row);

#endif
