/*
 * store: one inbound message in one transaction (see store.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "lberror.h"
#include "store.h"
#include "thread.h"

static int insert_post(PGconn *conn, const struct store_in *in,
		       struct store_out *out, int *seen_before, GError **err);
static int adopt_replies(PGconn *conn, const struct store_in *in,
			 const char *post, GError **err);
static int insert_attachments(PGconn *conn, const struct store_in *in,
			      const char *post, GError **err);
static long long first_id(PGresult *res);

static long long
first_id(PGresult *res)
{
	if (res == NULL || PQntuples(res) == 0)
		return 0;
	return strtoll(PQgetvalue(res, 0, 0), NULL, 10);
}

/*
 * insert_attachments: a row per attachment; the bytes of those kept go to
 * attachment_content once per group and content.
 */
static int
insert_attachments(PGconn *conn, const struct store_in *in, const char *post,
		   GError **err)
{
	const struct msg *m = in->m;
	guint i;

	for (i = 0; i < m->attachments->len; i++) {
		const struct msg_attachment *a = m->attachments->pdata[i];
		const char *params[8];
		int lengths[8] = {0}, formats[8] = {0};
		char size[32];
		gsize clen = 0;
		PGresult *res;

		snprintf(size, sizeof(size), "%" G_GSIZE_FORMAT, a->size);
		params[0] = post;
		params[1] = a->filename;
		params[2] = a->content_type;
		params[3] = size;
		params[4] = a->sha256;
		params[5] = a->content_id;
		params[6] = msg_attachment_state_name(a->state);
		params[7] = NULL;
		if (a->content != NULL) {
			params[7] = g_bytes_get_data(a->content, &clen);
			if (params[7] == NULL)
				params[7] = "";
			lengths[7] = (int)clen;
			formats[7] = 1;
		}
		res = db_exec_bin(
		    conn,
		    "WITH bytes AS (INSERT INTO portal.attachment_content"
		    " (group_id, sha256, content)"
		    " SELECT p.group_id, $5, $8 FROM portal.post po"
		    " JOIN portal.thread p ON p.id = po.thread_id"
		    " WHERE po.id = $1 AND $8::bytea IS NOT NULL"
		    " ON CONFLICT DO NOTHING)"
		    " INSERT INTO portal.attachment (post_id, filename,"
		    " content_type, size, sha256, content_id, state)"
		    " VALUES ($1, $2, $3, $4, $5, $6, $7)",
		    8, params, lengths, formats, err);
		if (res == NULL)
			return -1;
		PQclear(res);
	}
	return 0;
}

/*
 * insert_post: thread (found or new) and post in one statement.  Sets
 * out->thread_id, out->post_id, and *seen_before (replies to this
 * message came first).
 */
static int
insert_post(PGconn *conn, const struct store_in *in, struct store_out *out,
	    int *seen_before, GError **err)
{
	const struct msg *m = in->m;
	struct thread_match match;
	const char *params[12];
	char thread[32], parent[32], *key = NULL, *date = NULL;
	PGresult *res = NULL;
	int rc = -1;

	/* Which thread; a new one when nothing matches.
	 * XXX: two related messages delivered at the same instant may
	 * each start a thread of their own (no lock spans resolution and
	 * insert); later messages join the first thread their ids name. */
	if (in->thread_id != 0) {
		/* A reply address names its thread and parent. */
		memset(&match, 0, sizeof(match));
		match.thread_id = in->thread_id;
		match.parent_id = in->parent_id;
		match.how = "reply-address";
	} else if (thread_resolve(conn, in->group_id, m, &match, err) < 0)
		goto out;
	out->thread_how = match.how;
	*seen_before = match.seen_before;
	snprintf(thread, sizeof(thread), "%lld", match.thread_id);
	snprintf(parent, sizeof(parent), "%lld", match.parent_id);
	if (m->date != NULL)
		date = g_date_time_format_iso8601(m->date);
	key = thread_subject_key(m->subject, NULL);

	/* The post, with its thread made or touched in the same statement;
	 * written_at is the Date header when there is one. */
	params[0] = match.thread_id != 0 ? thread : NULL;
	params[1] = match.parent_id != 0 ? parent : NULL;
	params[2] = in->author_id;
	params[3] = in->author_name;
	params[4] = m->from_addr;
	params[5] = m->subject;
	params[6] = in->text;
	params[7] = in->html;
	params[8] = date;
	params[9] = in->group_id;
	params[10] = key;
	params[11] = in->cut;
	res =
	    db_exec(conn,
		    "WITH made AS (INSERT INTO portal.thread"
		    " (group_id, subject, subject_key)"
		    " SELECT $10, $6, $11 WHERE $1::bigint IS NULL"
		    " RETURNING id),"
		    " touched AS (UPDATE portal.thread SET last_post_at = now()"
		    " WHERE id = $1::bigint RETURNING id),"
		    " t AS (SELECT id FROM made UNION ALL"
		    " SELECT id FROM touched)"
		    " INSERT INTO portal.post (thread_id, parent_id,"
		    " author_id, author_name, author_address, source,"
		    " subject, text, cut_text, html, written_at)"
		    " SELECT t.id, $2, $3, $4, $5, 'mail', $6, $7, $12, $8,"
		    " coalesce($9::timestamptz, now()) FROM t"
		    " RETURNING id, thread_id",
		    12, params, err);
	if (res == NULL)
		goto out;
	if (PQntuples(res) != 1) {
		g_set_error(err, LB_ERROR, EX_TEMPFAIL,
			    "thread %s vanished while posting", thread);
		goto out;
	}
	out->post_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	out->thread_id = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	rc = 0;
out:
	PQclear(res);
	g_free(key);
	g_free(date);
	return rc;
}

/*
 * adopt_replies: replies stored before this post, whose In-Reply-To
 * names it, answer it now.
 */
static int
adopt_replies(PGconn *conn, const struct store_in *in, const char *post,
	      GError **err)
{
	const char *params[3];
	PGresult *res;

	params[0] = post;
	params[1] = in->group_id;
	params[2] = in->m->message_id;
	res = db_exec(conn,
		      "UPDATE portal.post p SET parent_id = $1"
		      " FROM gateway.message gm WHERE gm.post_id = p.id"
		      " AND gm.group_id = $2 AND gm.in_reply_to = $3"
		      " AND p.id <> $1",
		      3, params, err);
	if (res == NULL)
		return -1;
	PQclear(res);
	return 0;
}

int
store_message(PGconn *conn, const struct store_in *in, struct store_out *out,
	      GError **err)
{
	const struct msg *m = in->m;
	const char *params[12];
	int lengths[12] = {0}, formats[12] = {0};
	char size[32], post[32], thread[32], *refs = NULL;
	int seen_before = 0;
	PGresult *res = NULL;

	memset(out, 0, sizeof(*out));
	out->thread_how = "";
	if (db_begin(conn, err) < 0)
		return -1;

	/* A post first, when the message is posted. */
	if (in->kind == STORE_POST &&
	    insert_post(conn, in, out, &seen_before, err) < 0)
		goto fail;
	snprintf(post, sizeof(post), "%lld", out->post_id);
	snprintf(thread, sizeof(thread), "%lld", out->thread_id);

	/* The raw message, pointing at its post, and the Message-IDs it
	 * names: its own now names the post; the ones it refers to are
	 * remembered for the thread, so that a parent arriving later joins
	 * it.  The unique key on (group, Message-ID) makes delivery
	 * idempotent: a conflict is a duplicate, and all is rolled back.
	 * XXX: an id already remembered for another thread keeps that
	 * thread; two threads that turn out to be one are not merged. */
	refs = db_text_array((const char *const *)m->references->pdata,
			     m->references->len);
	snprintf(size, sizeof(size), "%" G_GSIZE_FORMAT, in->len);
	params[0] = in->group_id;
	params[1] = m->message_id;
	params[2] = in->raw;
	lengths[2] = (int)in->len;
	formats[2] = 1;
	params[3] = size;
	params[4] = in->envelope_from;
	params[5] = in->envelope_to;
	params[6] = in->kind == STORE_POST ? "posted" : "held";
	params[7] = m->in_reply_to;
	params[8] = in->kind == STORE_POST ? post : NULL;
	params[9] = in->kind == STORE_POST ? thread : NULL;
	params[10] = refs;
	params[11] = in->kind == STORE_HOLD ? in->hold_reason : NULL;
	res = db_exec_bin(
	    conn,
	    "WITH msg AS (INSERT INTO gateway.message (group_id, message_id,"
	    " raw, size, envelope_from, envelope_to, verdict, in_reply_to,"
	    " post_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
	    " ON CONFLICT (group_id, message_id) DO NOTHING RETURNING id),"
	    " refs AS (INSERT INTO gateway.message_ref"
	    " (group_id, message_id, thread_id, post_id)"
	    " SELECT $1, id, $10::bigint, CASE WHEN id = $2 THEN $9::bigint"
	    " END FROM (SELECT DISTINCT unnest(array[$2::text, $8::text]"
	    " || $11::text[]) AS id) ids"
	    " WHERE id IS NOT NULL AND $10::bigint IS NOT NULL"
	    " AND EXISTS (SELECT 1 FROM msg)"
	    " ON CONFLICT (group_id, message_id) DO UPDATE"
	    " SET post_id = EXCLUDED.post_id"
	    " WHERE message_ref.post_id IS NULL"
	    " AND EXCLUDED.post_id IS NOT NULL),"
	    " held AS (INSERT INTO gateway.held_message"
	    " (message, group_id, reason)"
	    " SELECT id, $1, $12 FROM msg WHERE $12::text IS NOT NULL)"
	    " SELECT id FROM msg",
	    12, params, lengths, formats, err);
	if (res == NULL)
		goto fail;
	out->message_row = first_id(res);
	PQclear(res);
	res = NULL;
	if (out->message_row == 0) {
		memset(out, 0, sizeof(*out));
		out->thread_how = "";
		out->duplicate = 1;
		g_free(refs);
		return db_command(conn, "ROLLBACK", err);
	}

	/* Replies that came first; attachments. */
	if (in->kind == STORE_POST) {
		if (seen_before && adopt_replies(conn, in, post, err) < 0)
			goto fail;
		if (insert_attachments(conn, in, post, err) < 0)
			goto fail;
	}

	/* Success only after COMMIT. */
	if (db_command(conn, "COMMIT", err) < 0)
		goto fail;
	g_free(refs);
	return 0;
fail:
	PQclear(res);
	g_free(refs);
	PQclear(PQexec(conn, "ROLLBACK"));
	return -1;
}
