/*
 * thread: which thread a message belongs to.
 *
 * thread_subject_key() is the normalised subject used to match replies
 * whose client dropped In-Reply-To and References.  thread_resolve() asks
 * the database: a Message-ID of one of our notifications (its signed
 * token names the post), then In-Reply-To, then References newest first,
 * then the message's own id (seen before only as a reference of a reply
 * that came earlier), then, for a subject with a reply prefix, a thread
 * of the same subject key active within cfg.thread_subject_window days.
 */
#ifndef THREAD_H
#define THREAD_H

#include <libpq-fe.h>

#include "message.h"

/* thread_subject_key: subject without reply and forward prefixes ("Re:",
 * "AW:", "Fwd:", "WG:", "Re[2]:" ...) and list tags ("[vorstand]"), case
 * folded, white space folded to single spaces, at most 200 bytes.  *reply, when
 * not NULL, is set when a reply prefix (not a forward prefix) was removed.
 * Returns a new string; g_free() it. */
char *thread_subject_key(const char *subject, int *reply);

/* thread_subject_forward: whether subject starts (after list tags) with a
 * forward prefix: "WG:", "Fwd:", "FW:", "TR:" ... */
int thread_subject_forward(const char *subject);

struct thread_match {
	long long thread_id; /* 0: a new thread */
	long long parent_id; /* 0: none */
	int seen_before;     /* the message's own id was stored before */
	const char *how;     /* in-reply-to, references, late-parent,
				subject, new */
};

/* thread_resolve: the thread of m in group_id, into *match.  Returns 0,
 * or -1 with err set. */
int thread_resolve(PGconn *conn, const char *group_id, const struct msg *m,
		   struct thread_match *match, GError **err);

#endif
