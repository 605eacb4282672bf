/*
 * store: write one inbound message, and the post made of it, in one
 * transaction.
 *
 * Raw message, gateway.message row, thread, post, Message-ID references and
 * attachments are committed together or not at all; success is reported
 * only after COMMIT.  The same Message-ID for the same group is stored
 * once: a second store finds the first and reports a duplicate.
 */
#ifndef STORE_H
#define STORE_H

#include <libpq-fe.h>

#include "message.h"

enum store_kind { STORE_POST, STORE_HOLD };

struct store_in {
	const char *group_id;
	const struct msg *m;
	const char *raw;
	gsize len;
	const char *envelope_from;
	const char *envelope_to;
	enum store_kind kind;
	const char *author_id;	 /* member id, NULL for a guest */
	const char *author_name; /* shown name */
	const char *hold_reason; /* STORE_HOLD */
	const char *text;	 /* the post's text, trimmed */
	const char *cut;	 /* what trimming cut from it */
	const char *html;	 /* safe HTML of the post, or NULL */
	long long thread_id;	 /* the thread, when known (0: resolve) */
	long long parent_id;	 /* the parent post, when known */
};

struct store_out {
	int duplicate;	       /* the message was stored before */
	long long message_row; /* gateway.message id */
	long long post_id;     /* 0 when held */
	long long thread_id;
	const char *thread_how; /* how the thread was found */
};

/* store_message: store in as described.  Returns 0 (out filled; for a
 * duplicate nothing was written), or -1 with err set; the transaction is
 * then rolled back. */
int store_message(PGconn *conn, const struct store_in *in,
		  struct store_out *out, GError **err);

#endif
