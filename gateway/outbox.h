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

/* What became of a row, to be recorded with outbox_record(). */
struct outbox_outcome {
	long long id;
	const char *state; /* sent, bounced, expired, or queued (retry) */
	char *reply;	   /* the relay's answer, or our reason */
	int delay;	   /* seconds until the retry */
};

/* outbox_outcome_add: the outcome of row for a relay status (2 sent, 4
 * temporary, 5 permanent) with its reply: a temporary failure is due
 * again after a back-off that doubles with each attempt (1 minute to
 * 4 hours); past max_age seconds since the row was queued it expires (a
 * bounce).  Returns the state word (static). */
const char *outbox_outcome_add(GArray *outcomes, const struct outbox_row *row,
			       int status, const char *reply, int max_age);

/* outbox_record: all outcomes in one statement (one commit), on rows
 * this worker still leases; empties outcomes.  Returns 0, or -1 with
 * err set (the rows are then due again when their leases run out). */
int outbox_record(PGconn *conn, const char *worker, GArray *outcomes,
		  GError **err);

/* outbox_outcomes_new: an array for outbox_outcome_add(). */
GArray *outbox_outcomes_new(void);

/* outbox_notice: queue a rendered mail (a notice) to recipient.
 * member_id 0 for none.  Returns 0, or -1 with err set. */
int outbox_notice(PGconn *conn, const char *group_id, long long member_id,
		  const char *recipient, GBytes *message, GError **err);

void outbox_row_free(gpointer row);

#endif
