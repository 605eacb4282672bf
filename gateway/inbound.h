/*
 * inbound: what happens to one message for one recipient address.
 *
 * inbound_deliver() finds the list the recipient names (case-insensitive,
 * "list+anything@" is still the list), the member who wrote it (any of
 * their addresses, a member of that group), applies the list's policy for
 * other senders (hold, reject, accept as guest) and stores the message.
 * It knows nothing of the MTA: the hooks in mta-hooks/ call it.
 */
#ifndef INBOUND_H
#define INBOUND_H

#include <libpq-fe.h>

#include "message.h"

struct inbound_result {
	const char *verdict; /* posted, held, duplicate, rejected */
	char *list;	     /* the list address matched, or NULL */
	long long post_id;
	long long thread_id;
	const char *thread_how;
	char *reason; /* why held or rejected */
};

/* inbound_deliver: handle m (raw: len bytes) sent by sender to recipient.
 * Returns 0 with res filled (EX_OK: stored or deliberately dropped), or
 * the sysexits code with err set: EX_NOUSER (no list), EX_NOPERM
 * (refused by policy), EX_TEMPFAIL (anything transient).  Free res with
 * inbound_result_clear(). */
int inbound_deliver(PGconn *conn, const struct msg *m, const char *raw,
		    gsize len, const char *sender, const char *recipient,
		    struct inbound_result *res, GError **err);

void inbound_result_clear(struct inbound_result *res);

/* inbound_list_address: recipient without its "+extension", lower case.
 * Returns a new string, or NULL when it is no address. */
char *inbound_list_address(const char *recipient);

#endif
