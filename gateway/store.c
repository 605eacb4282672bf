/*
 * store: one inbound message in one transaction (see store.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "store.h"
#include "thread.h"

static int insert_post(PGconn *conn, const struct store_in *in,
		       struct store_out *out, const char *row, GError **err);
static int insert_attachments(PGconn *conn, const struct msg *m,
			      const char *post, GError **err);
static long long first_id(PGresult *res);

static long long
first_id(PGresult *res)
{
	if (res == NULL || PQntuples(res) == 0)
		return 0;
	return strtoll(PQgetvalue(res, 0, 0), NULL, 10);
}

static int
insert_attachments(PGconn *conn, const struct msg *m, const char *post,
		   GError **err)
{
	guint i;

	for (i = 0; i < m->attachments->len; i++) {
		const struct msg_attachment *a = m->attachments->pdata[i];
		const char *params[6];
		int lengths[6] = {0}, formats[6] = {0};
		char size[32];
		gsize clen = 0;
		PGresult *res;

		snprintf(size, sizeof(size), "%" G_GSIZE_FORMAT, a->size);
		params[0] = post;
		params[1] = a->filename;
		params[2] = a->content_type;
		params[3] = size;
		params[4] = a->sha256;
		params[5] = NULL;
		if (a->content != NULL) {
			params[5] = g_bytes_get_data(a->content, &clen);
			if (params[5] == NULL)
				params[5] = "";
			lengths[5] = (int)clen;
			formats[5] = 1;
		}
		res = db_exec_bin(conn,
				  "INSERT INTO portal.attachment"
				  " (post_id, filename, content_type, size,"
				  " sha256, content)"
				  " VALUES ($1, $2, $3, $4, $5, $6)",
				  6, params, lengths, formats, err);
		if (res == NULL)
			return -1;
		PQclear(res);
	}
	return 0;
}

/*
 * insert_post: thread (found or new), post, references, attachments, and
 * the message row pointed at the post.
 */
static int
insert_post(PGconn *conn, const struct store_in *in, struct store_out *out,
	    const char *row, GError **err)
{
	const struct msg *m = in->m;
	const char *params[10];
	char thread[32], parent[32], post[32], *key = NULL, *date = NULL;
	char *refs = NULL;
	long long parent_id;
	PGresult *res = NULL;
	int rc = -1;

	/* Which thread; a new one when nothing matches.
	 * XXX: two related messages delivered at the same instant may
	 * each start a thread of their own (no lock spans resolution and
	 * insert); later messages join the first thread their ids name. */
	if (thread_resolve(conn, in->group_id, m, &out->thread_id, &parent_id,
			   &out->thread_how, err) < 0)
		goto out;
	if (out->thread_id == 0) {
		key = thread_subject_key(m->subject, NULL);
		params[0] = in->group_id;
		params[1] = m->subject;
		params[2] = key;
		res = db_exec(conn,
			      "INSERT INTO portal.thread"
			      " (group_id, subject, subject_key)"
			      " VALUES ($1, $2, $3) RETURNING id",
			      3, params, err);
		if (res == NULL)
			goto out;
		out->thread_id = first_id(res);
		PQclear(res);
	} else {
		snprintf(thread, sizeof(thread), "%lld", out->thread_id);
		params[0] = thread;
		res = db_exec(conn,
			      "UPDATE portal.thread SET last_post_at = now()"
			      " WHERE id = $1",
			      1, params, err);
		if (res == NULL)
			goto out;
		PQclear(res);
	}
	snprintf(thread, sizeof(thread), "%lld", out->thread_id);
	snprintf(parent, sizeof(parent), "%lld", parent_id);

	/* The post; written_at is the Date header when there is one. */
	if (m->date != NULL)
		date = g_date_time_format_iso8601(m->date);
	params[0] = thread;
	params[1] = parent_id != 0 ? parent : NULL;
	params[2] = in->author_id;
	params[3] = in->author_name;
	params[4] = m->from_addr;
	params[5] = m->subject;
	params[6] = m->text;
	params[7] = m->html;
	params[8] = date;
	res = db_exec(conn,
		      "INSERT INTO portal.post (thread_id, parent_id,"
		      " author_id, author_name, author_address, source,"
		      " subject, text, html, written_at)"
		      " VALUES ($1, $2, $3, $4, $5, 'mail', $6, $7, $8,"
		      " coalesce($9::timestamptz, now())) RETURNING id",
		      9, params, err);
	if (res == NULL)
		goto out;
	out->post_id = first_id(res);
	PQclear(res);
	snprintf(post, sizeof(post), "%lld", out->post_id);

	/* The message row points at its post. */
	params[0] = post;
	params[1] = row;
	res = db_exec(conn,
		      "UPDATE gateway.message SET post_id = $1"
		      " WHERE id = $2",
		      2, params, err);
	if (res == NULL)
		goto out;
	PQclear(res);

	/* Our own id names this post now; the ids we refer to are
	 * remembered for this thread, so that a parent arriving later joins
	 * it.  XXX: an id already remembered for another thread keeps that
	 * thread; two threads that turn out to be one are not merged. */
	refs = thread_id_array((char *const *)m->references->pdata,
			       m->references->len);
	params[0] = in->group_id;
	params[1] = m->message_id;
	params[2] = thread;
	params[3] = post;
	params[4] = m->in_reply_to;
	params[5] = refs;
	res = db_exec(conn,
		      "INSERT INTO gateway.message_ref"
		      " (group_id, message_id, thread_id, post_id)"
		      " SELECT $1, id, $3, CASE WHEN id = $2 THEN $4::bigint"
		      " END FROM (SELECT DISTINCT unnest(array[$2::text,"
		      " $5::text]"
		      " || $6::text[]) AS id) ids WHERE id IS NOT NULL"
		      " ON CONFLICT (group_id, message_id) DO UPDATE"
		      " SET post_id = EXCLUDED.post_id"
		      " WHERE message_ref.post_id IS NULL"
		      " AND EXCLUDED.post_id IS NOT NULL",
		      6, params, err);
	if (res == NULL)
		goto out;
	PQclear(res);

	/* Replies that arrived before this post answer it now. */
	params[0] = post;
	params[1] = in->group_id;
	params[2] = m->message_id;
	res = db_exec(conn,
		      "UPDATE portal.post p SET parent_id = $1"
		      " FROM gateway.message gm WHERE gm.post_id = p.id"
		      " AND gm.group_id = $2 AND gm.in_reply_to = $3"
		      " AND p.id <> $1",
		      3, params, err);
	if (res == NULL)
		goto out;
	PQclear(res);
	res = NULL;

	rc = insert_attachments(conn, m, post, err);
out:
	PQclear(res);
	g_free(key);
	g_free(date);
	g_free(refs);
	return rc;
}

int
store_message(PGconn *conn, const struct store_in *in, struct store_out *out,
	      GError **err)
{
	const struct msg *m = in->m;
	const char *params[8];
	int lengths[8] = {0}, formats[8] = {0};
	char size[32], row[32];
	PGresult *res;

	memset(out, 0, sizeof(*out));
	out->thread_how = "";
	if (db_command(conn, "BEGIN", err) < 0)
		return -1;

	/* The raw message first: its unique key makes delivery
	 * idempotent. */
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
	res = db_exec_bin(conn,
			  "INSERT INTO gateway.message (group_id, message_id,"
			  " raw, size, envelope_from, envelope_to, verdict,"
			  " in_reply_to)"
			  " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
			  " ON CONFLICT (group_id, message_id) DO NOTHING"
			  " RETURNING id",
			  8, params, lengths, formats, err);
	if (res == NULL)
		goto fail;
	out->message_row = first_id(res);
	PQclear(res);
	if (out->message_row == 0) {
		out->duplicate = 1;
		if (db_command(conn, "ROLLBACK", err) < 0)
			return -1;
		return 0;
	}
	snprintf(row, sizeof(row), "%lld", out->message_row);

	/* A post, or a held message waiting for a moderator. */
	if (in->kind == STORE_POST) {
		if (insert_post(conn, in, out, row, err) < 0)
			goto fail;
	} else {
		params[0] = row;
		params[1] = in->group_id;
		params[2] = in->hold_reason;
		res = db_exec(conn,
			      "INSERT INTO gateway.held_message"
			      " (message, group_id, reason)"
			      " VALUES ($1, $2, $3)",
			      3, params, err);
		if (res == NULL)
			goto fail;
		PQclear(res);
	}

	/* Success only after COMMIT. */
	if (db_command(conn, "COMMIT", err) < 0)
		goto fail;
	return 0;
fail:
	PQclear(PQexec(conn, "ROLLBACK"));
	return -1;
}
