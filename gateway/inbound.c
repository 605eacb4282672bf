/*
 * inbound: one message for one recipient (see inbound.h).
 */
#include <string.h>

#include "db.h"
#include "inbound.h"
#include "lberror.h"
#include "html.h"
#include "store.h"
#include "thread.h"
#include "trim.h"

char *
inbound_list_address(const char *recipient)
{
	const char *at, *plus;
	char *local, *domain, *out;

	at = recipient != NULL ? strrchr(recipient, '@') : NULL;
	if (at == NULL || at == recipient || at[1] == '\0')
		return NULL;
	plus = memchr(recipient, '+', (gsize)(at - recipient));
	if (plus == recipient)
		return NULL;
	local =
	    g_ascii_strdown(recipient, (plus != NULL ? plus : at) - recipient);
	domain = g_ascii_strdown(at + 1, -1);
	out = g_strconcat(local, "@", domain, NULL);
	g_free(local);
	g_free(domain);
	return out;
}

void
inbound_result_clear(struct inbound_result *res)
{
	g_free(res->list);
	g_free(res->reason);
	memset(res, 0, sizeof(*res));
}

int
inbound_deliver(PGconn *conn, const struct msg *m, const char *raw, gsize len,
		const char *sender, const char *recipient,
		struct inbound_result *res, GError **err)
{
	struct store_in in;
	struct store_out out;
	PGresult *list = NULL;
	struct trim_result trim = {NULL, NULL, NULL, NULL};
	char *shown = NULL, *html = NULL;
	const char *params[2], *policy;
	char *address = NULL;
	int code = EX_TEMPFAIL;

	memset(res, 0, sizeof(*res));

	/* The list the recipient names. */
	address = inbound_list_address(recipient);
	if (address == NULL) {
		g_set_error(err, LB_ERROR, EX_NOUSER,
			    "recipient is no address");
		code = EX_NOUSER;
		goto out;
	}
	/* The list, and in the same query the author: a member of its
	 * group, by any of their addresses. */
	params[0] = address;
	params[1] = m->from_addr;
	list = db_exec(conn,
		       "SELECT l.group_id, l.address, l.unknown_sender_policy,"
		       " mb.id, mb.name FROM gateway.list l"
		       " LEFT JOIN (portal.member_address a"
		       " JOIN portal.member mb ON mb.id = a.member_id"
		       " JOIN portal.membership ms ON ms.member_id = mb.id)"
		       " ON ms.group_id = l.group_id"
		       " AND lower(a.address) = lower($2)"
		       " WHERE lower(l.address) = $1",
		       2, params, err);
	if (list == NULL)
		goto out;
	if (PQntuples(list) == 0) {
		g_set_error(err, LB_ERROR, EX_NOUSER,
			    "no list has the address %s", address);
		code = EX_NOUSER;
		goto out;
	}
	res->list = g_strdup(PQgetvalue(list, 0, 1));
	policy = PQgetvalue(list, 0, 2);

	memset(&in, 0, sizeof(in));
	in.group_id = PQgetvalue(list, 0, 0);
	in.m = m;
	in.raw = raw;
	in.len = len;
	in.envelope_from = sender != NULL ? sender : "";
	in.envelope_to = recipient;
	in.kind = STORE_POST;
	if (!PQgetisnull(list, 0, 3)) {
		in.author_id = PQgetvalue(list, 0, 3);
		in.author_name = PQgetvalue(list, 0, 4);
	} else if (strcmp(policy, "accept") == 0) {
		/* A guest: shown under the name the mail gives. */
		in.author_name =
		    *m->from_name != '\0' ? m->from_name : m->from_addr;
	} else if (strcmp(policy, "reject") == 0) {
		res->verdict = "rejected";
		res->reason = g_strdup("sender is no member of the list");
		g_set_error(err, LB_ERROR, EX_NOPERM,
			    "%s accepts mail from its members only", res->list);
		code = EX_NOPERM;
		goto out;
	} else {
		in.kind = STORE_HOLD;
		in.hold_reason = *m->from_addr == '\0'
				     ? "message has no From address"
				     : "sender is no member of the list";
		res->reason = g_strdup(in.hold_reason);
	}

	/* What the member wrote, apart from quotes and signature; a
	 * forwarded message stays with it. */
	if (thread_subject_forward(m->subject))
		trim_forward(m->text, &trim);
	else
		trim_text(m->text, &trim);
	shown = *trim.forwarded == '\0'
		    ? g_strdup(trim.text)
		    : g_strconcat(trim.text, *trim.text ? "\n\n" : "",
				  trim.forwarded, NULL);
	in.text = shown;
	in.cut = trim.cut;

	/* HTML rebuilt from an allow-list, client-marked quotes cut. */
	if (m->html != NULL)
		html = html_clean(m->html, strlen(m->html), NULL);
	in.html = html;

	/* Store, once. */
	if (store_message(conn, &in, &out, err) < 0)
		goto out;
	if (out.duplicate)
		res->verdict = "duplicate";
	else
		res->verdict = in.kind == STORE_POST ? "posted" : "held";
	res->post_id = out.post_id;
	res->thread_id = out.thread_id;
	res->thread_how = out.thread_how;
	code = 0;
out:
	if (code != 0 && err != NULL && *err == NULL)
		g_set_error(err, LB_ERROR, code, "delivery failed");
	if (code != 0 && err != NULL && *err != NULL)
		code = lb_error_code(*err);
	PQclear(list);
	if (trim.text != NULL)
		trim_result_clear(&trim);
	g_free(shown);
	g_free(html);
	g_free(address);
	return code;
}
