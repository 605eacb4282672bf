/*
 * inbound: one message for one recipient (see inbound.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "compose.h"
#include "config.h"
#include "inbound.h"
#include "outbox.h"
#include "log.h"
#include "token.h"
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

static int is_reply_address(const char *recipient);
static int unsubscribe(PGconn *conn, const struct msg *m, const char *recipient,
		       struct inbound_result *res, GError **err);
static void answer_held(PGconn *conn, const struct msg *m, const char *sender,
			const char *group_id, const char *list_address,
			const char *reason);
static int reply_lookup(PGconn *conn, const struct msg *m,
			const char *recipient, PGresult **out,
			struct inbound_result *res, GError **err);

/* is_reply_address: "reply+TOKEN@...", any case. */
static int
is_reply_address(const char *recipient)
{
	return g_ascii_strncasecmp(recipient, "reply+", 6) == 0 &&
	       strchr(recipient, '@') != NULL;
}

/*
 * reply_lookup: the post and member a reply address names, in the shape
 * of the list query (group, list address, policy, author id or NULL,
 * author name, thread, parent).  A token that is not authentic names
 * nobody: EX_NOUSER, logged as tampering when its MAC is wrong.  A token
 * that is authentic but expired, or used by another sender, is held:
 * res->reason says why.  Returns 0 or a sysexits code with err set.
 */
static int
reply_lookup(PGconn *conn, const struct msg *m, const char *recipient,
	     PGresult **out, struct inbound_result *res, GError **err)
{
	struct token tok;
	GError *terr = NULL;
	const char *params[3];
	char post[32], member[32], *text;
	const char *at = strchr(recipient, '@');

	/* Without keys nothing can be told: a setup fault, so the MTA
	 * keeps the mail. */
	text = token_make(TOKEN_REPLY, 1, 1, NULL);
	if (text == NULL) {
		g_set_error(err, LB_ERROR, EX_TEMPFAIL,
			    "no token keys loaded (token_key_file)");
		return EX_TEMPFAIL;
	}
	g_free(text);

	/* The token: between "reply+" and "@".  A refusal reaches the
	 * sender in the MTA's bounce, which is safest in ASCII. */
	text = g_strndup(recipient + 6, (gsize)(at - recipient - 6));
	if (token_check(TOKEN_REPLY, text, &tok, &terr) < 0 &&
	    tok.reason != TOKEN_EXPIRED) {
		char *clean = log_clean(recipient, 120);

		if (tok.reason == TOKEN_TAMPERED)
			log_warn("msgid=<%s> to=<%s> status=tampered_token",
				 m->message_id, clean);
		g_set_error(err, LB_ERROR, EX_NOUSER,
			    "Diese Antwortadresse ist nicht gueltig; bitte "
			    "antworten Sie im Intranet. This reply address "
			    "is not valid; please answer in the intranet.");
		g_free(clean);
		g_free(text);
		g_clear_error(&terr);
		return EX_NOUSER;
	}
	g_free(text);
	if (tok.reason == TOKEN_EXPIRED)
		res->reason = g_strdup("reply address expired");
	g_clear_error(&terr);

	/* The post, its group, and whether the sender is that member. */
	snprintf(post, sizeof(post), "%" G_GUINT64_FORMAT, tok.post);
	snprintf(member, sizeof(member), "%" G_GUINT64_FORMAT, tok.member);
	params[0] = post;
	params[1] = member;
	params[2] = m->from_addr;
	*out = db_exec(conn,
		       "SELECT t.group_id, (SELECT address FROM gateway.list"
		       " WHERE group_id = t.group_id ORDER BY id LIMIT 1),"
		       " 'hold', CASE WHEN EXISTS (SELECT 1 FROM"
		       " portal.member_address a WHERE a.member_id = mb.id"
		       " AND lower(a.address) = lower($3)) THEN mb.id END,"
		       " mb.name, p.thread_id, p.id"
		       " FROM portal.post p"
		       " JOIN portal.thread t ON t.id = p.thread_id"
		       " JOIN portal.membership ms ON ms.group_id = t.group_id"
		       " AND ms.member_id = $2"
		       " JOIN portal.member mb ON mb.id = ms.member_id"
		       " WHERE p.id = $1",
		       3, params, err);
	if (*out == NULL)
		return EX_TEMPFAIL;
	if (PQntuples(*out) == 0 || PQgetisnull(*out, 0, 1)) {
		g_set_error(err, LB_ERROR, EX_NOUSER,
			    "the post this reply address names is gone, or "
			    "its writer left the group");
		return EX_NOUSER;
	}
	if (res->reason == NULL && PQgetisnull(*out, 0, 3))
		res->reason = g_strdup("reply address of another member");
	return 0;
}

/*
 * unsubscribe: "unsubscribe+TOKEN@": the member's delivery for the group
 * becomes "none", recorded in the audit trail, and a confirmation is
 * queued, in one transaction.  Authentic tokens work even when expired.
 * Returns 0 (res->verdict "unsubscribed") or a sysexits code.
 */
static int
unsubscribe(PGconn *conn, const struct msg *m, const char *recipient,
	    struct inbound_result *res, GError **err)
{
	struct token tok;
	const char *at = strchr(recipient, '@'), *params[2];
	char *text, group[32], member[32], *url = NULL;
	GBytes *notice = NULL;
	PGresult *r = NULL;
	int code = EX_TEMPFAIL;

	/* The token: authentic, for unsubscribing.  The refusal reaches
	 * the sender in the MTA's bounce, which is safest in ASCII. */
	text = g_strndup(recipient + 12, (gsize)(at - recipient - 12));
	if (token_check(TOKEN_UNSUBSCRIBE, text, &tok, NULL) < 0 &&
	    tok.reason != TOKEN_EXPIRED) {
		g_free(text);
		if (tok.reason == TOKEN_TAMPERED)
			log_warn("msgid=<%s> status=tampered_token "
				 "purpose=unsubscribe",
				 m->message_id);
		g_set_error(err, LB_ERROR, EX_NOUSER,
			    "Diese Abmeldeadresse ist nicht gueltig; bitte "
			    "aendern Sie Ihre Einstellungen im Intranet. This "
			    "unsubscribe address is not valid; please change "
			    "your settings in the intranet.");
		return EX_NOUSER;
	}
	g_free(text);

	/* Delivery "none", and who did it. */
	snprintf(group, sizeof(group), "%" G_GUINT64_FORMAT, tok.post);
	snprintf(member, sizeof(member), "%" G_GUINT64_FORMAT, tok.member);
	params[0] = group;
	params[1] = member;
	if (db_begin(conn, err) < 0)
		return EX_TEMPFAIL;
	r = db_exec(conn,
		    "WITH u AS (UPDATE portal.membership SET delivery = 'none'"
		    " WHERE group_id = $1 AND member_id = $2"
		    " RETURNING group_id, member_id, locale),"
		    " a AS (INSERT INTO gateway.audit_event"
		    " (actor, action, object, detail)"
		    " SELECT 'member ' || member_id, 'unsubscribe by mail',"
		    " 'group ' || group_id, 'delivery none' FROM u)"
		    " SELECT u.locale, g.name, g.slug, mb.name,"
		    " (SELECT address FROM portal.member_address"
		    " WHERE member_id = u.member_id AND is_primary LIMIT 1),"
		    " (SELECT address FROM gateway.list WHERE group_id ="
		    " u.group_id ORDER BY id LIMIT 1)"
		    " FROM u JOIN portal.\"group\" g ON g.id = u.group_id"
		    " JOIN portal.member mb ON mb.id = u.member_id",
		    2, params, err);
	if (r == NULL)
		goto fail;
	if (PQntuples(r) == 0 || PQgetisnull(r, 0, 4) || PQgetisnull(r, 0, 5)) {
		g_set_error(err, LB_ERROR, EX_NOUSER,
			    "this address belongs to no membership any more");
		code = EX_NOUSER;
		goto fail;
	}

	/* The confirmation, in the member's language. */
	url = g_strdup_printf("%s/settings/groups/%s", cfg.portal_url,
			      PQgetvalue(r, 0, 2));
	{
		const char *kv[] = {"name",
				    PQgetvalue(r, 0, 3),
				    "group",
				    PQgetvalue(r, 0, 1),
				    "settings_url",
				    url,
				    NULL};

		notice = compose_notice(
		    "unsubscribed", PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1),
		    PQgetvalue(r, 0, 5), PQgetvalue(r, 0, 4), kv);
	}
	if (notice != NULL &&
	    outbox_notice(conn, group, (long long)tok.member,
			  PQgetvalue(r, 0, 4), notice, err) < 0)
		goto fail;
	if (db_command(conn, "COMMIT", err) < 0)
		goto fail;
	res->list = g_strdup(PQgetvalue(r, 0, 5));
	res->verdict = "unsubscribed";
	res->thread_how = "";
	code = 0;
	goto out;
fail:
	PQclear(PQexec(conn, "ROLLBACK"));
out:
	if (notice != NULL)
		g_bytes_unref(notice);
	PQclear(r);
	g_free(url);
	return code;
}

/*
 * answer_held: tell the sender of a held reply why (when the sender is a
 * member of the association), in German unless the
 * mail says it is English (Content-Language): the sender may be no
 * member, so no locale of theirs is known.  Nothing goes to the null
 * sender or to a machine (Auto-Submitted).  Failures are logged only.
 */
static void
answer_held(PGconn *conn, const struct msg *m, const char *sender,
	    const char *group_id, const char *list_address, const char *reason)
{
	const char *params[2];
	const char *to = *m->from_addr != '\0' ? m->from_addr : sender;
	const char *lang;
	PGresult *r;
	GBytes *notice;
	GError *err = NULL;

	if (sender == NULL || *sender == '\0' || m->auto_submitted ||
	    to == NULL || *to == '\0')
		return;
	lang =
	    g_mime_object_get_header(GMIME_OBJECT(m->mime), "Content-Language");
	params[0] = group_id;
	/* Only members hear back: a stranger holding a leaked reply address
	 * must not make the list write to anyone it likes. */
	params[1] = to;
	r = db_exec(conn,
		    "SELECT g.name FROM portal.\"group\" g WHERE g.id = $1"
		    " AND EXISTS (SELECT 1 FROM portal.member_address a"
		    " WHERE lower(a.address) = lower($2))",
		    2, params, &err);
	if (r == NULL || PQntuples(r) == 0)
		goto out;
	{
		const char *kv[] = {
		    "group",
		    PQgetvalue(r, 0, 0),
		    "subject",
		    m->subject,
		    "portal_url",
		    cfg.portal_url,
		    "reason_de",
		    strstr(reason, "expired") != NULL
			? "die Antwortadresse ist abgelaufen"
			: "die Antwortadresse gehört einem anderen Mitglied",
		    "reason_en",
		    strstr(reason, "expired") != NULL
			? "the reply address has expired"
			: "the reply address belongs to another member",
		    NULL};

		notice = compose_notice(
		    "reply-held",
		    lang != NULL && g_ascii_strncasecmp(lang, "en", 2) == 0
			? "en"
			: "de",
		    PQgetvalue(r, 0, 0), list_address, to, kv);
	}
	if (notice != NULL) {
		outbox_notice(conn, group_id, 0, to, notice, &err);
		g_bytes_unref(notice);
	}
out:
	if (err != NULL) {
		log_warn("msgid=<%s> status=notice_not_queued error=%s",
			 m->message_id, err->message);
		g_error_free(err);
	}
	PQclear(r);
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
	/* An unsubscribe address: that member's mail from the group ends. */
	if (g_ascii_strncasecmp(recipient, "unsubscribe+", 12) == 0 &&
	    strchr(recipient, '@') != NULL) {
		code = unsubscribe(conn, m, recipient, res, err);
		goto out;
	}

	/* A reply address names post and member; a list address names the
	 * list, and the same query finds the author: a member of its group,
	 * by any of their addresses. */
	if (is_reply_address(recipient)) {
		code = reply_lookup(conn, m, recipient, &list, res, err);
		if (code != 0)
			goto out;
	} else {
		params[0] = address;
		params[1] = m->from_addr;
		list = db_exec(conn,
			       "SELECT l.group_id, l.address,"
			       " l.unknown_sender_policy, mb.id, mb.name,"
			       " 0, 0 FROM gateway.list l"
			       " LEFT JOIN (portal.member_address a"
			       " JOIN portal.member mb ON mb.id = a.member_id"
			       " JOIN portal.membership ms"
			       " ON ms.member_id = mb.id)"
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
	in.thread_id = strtoll(PQgetvalue(list, 0, 5), NULL, 10);
	in.parent_id = strtoll(PQgetvalue(list, 0, 6), NULL, 10);
	if (res->reason != NULL) {
		/* A reply address that does not fit the sender. */
		in.kind = STORE_HOLD;
		in.hold_reason = res->reason;
	} else if (!PQgetisnull(list, 0, 3)) {
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

	/* A held reply: its sender hears why, unless a machine sent it. */
	if (is_reply_address(recipient) && in.kind == STORE_HOLD &&
	    !out.duplicate)
		answer_held(conn, m, sender, PQgetvalue(list, 0, 0),
			    PQgetvalue(list, 0, 1), res->reason);
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
