/*
 * outbox: lease, send outcome, back-off (see outbox.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "outbox.h"

static int finish(PGconn *conn, const char *worker,
		  const struct outbox_row *row, const char *sql,
		  const char *reply, const char *extra, GError **err);

void
outbox_row_free(gpointer p)
{
	struct outbox_row *row = p;

	if (row == NULL)
		return;
	g_free(row->kind);
	g_free(row->recipient);
	if (row->message != NULL)
		g_bytes_unref(row->message);
	g_free(row);
}

int
outbox_claim(PGconn *conn, const char *worker, int limit, int lease,
	     GPtrArray *rows, GError **err)
{
	const char *params[3];
	char nlimit[16], nlease[16];
	PGresult *res;
	int i, n;

	/* One statement: the row locks last while it runs, the lease
	 * after. */
	snprintf(nlimit, sizeof(nlimit), "%d", limit);
	snprintf(nlease, sizeof(nlease), "%d", lease);
	params[0] = worker;
	params[1] = nlimit;
	params[2] = nlease;
	res = db_exec_bin(
	    conn,
	    "UPDATE gateway.outbox o SET leased_by = $1,"
	    " lease_until = now() + make_interval(secs => $3::int),"
	    " attempts = o.attempts + 1"
	    " WHERE o.id IN (SELECT id FROM gateway.outbox"
	    " WHERE state = 'queued' AND next_attempt_at <= now()"
	    " AND (lease_until IS NULL OR lease_until < now())"
	    " ORDER BY next_attempt_at, id LIMIT $2"
	    " FOR UPDATE SKIP LOCKED)"
	    " RETURNING o.id, o.kind, o.group_id, coalesce(o.post_id, 0),"
	    " coalesce(o.member_id, 0), o.recipient, o.message,"
	    " o.attempts, extract(epoch FROM now() - o.created_at)",
	    3, params, NULL, NULL, err);
	if (res == NULL)
		return -1;

	/* Each row as the worker needs it; the message as bytes. */
	n = PQntuples(res);
	for (i = 0; i < n; i++) {
		struct outbox_row *row = g_new0(struct outbox_row, 1);

		row->id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
		row->kind = g_strdup(PQgetvalue(res, i, 1));
		row->group_id = strtoll(PQgetvalue(res, i, 2), NULL, 10);
		row->post_id = strtoll(PQgetvalue(res, i, 3), NULL, 10);
		row->member_id = strtoll(PQgetvalue(res, i, 4), NULL, 10);
		row->recipient = g_strdup(PQgetvalue(res, i, 5));
		if (!PQgetisnull(res, i, 6)) {
			size_t len = 0;
			unsigned char *raw = PQunescapeBytea(
			    (const unsigned char *)PQgetvalue(res, i, 6), &len);

			row->message = g_bytes_new(raw, len);
			PQfreemem(raw);
		}
		row->attempts = atoi(PQgetvalue(res, i, 7));
		row->age = g_ascii_strtod(PQgetvalue(res, i, 8), NULL);
		g_ptr_array_add(rows, row);
	}
	PQclear(res);
	return n;
}

/*
 * finish: run sql (with $1 row id, $2 worker, $3 reply, and $4 extra when
 * not NULL) on a
 * row this worker still leases.  A row whose lease passed to another
 * worker is left alone (logged by the caller through the count).
 */
static int
finish(PGconn *conn, const char *worker, const struct outbox_row *row,
       const char *sql, const char *reply, const char *extra, GError **err)
{
	const char *params[4];
	char id[32];
	PGresult *res;

	snprintf(id, sizeof(id), "%lld", row->id);
	params[0] = id;
	params[1] = worker;
	params[2] = reply != NULL ? reply : "";
	params[3] = extra;
	res = db_exec(conn, sql, extra != NULL ? 4 : 3, params, err);
	if (res == NULL)
		return -1;
	PQclear(res);
	return 0;
}

int
outbox_sent(PGconn *conn, const char *worker, const struct outbox_row *row,
	    const char *reply, GError **err)
{
	return finish(conn, worker, row,
		      "UPDATE gateway.outbox SET state = 'sent',"
		      " done_at = now(), last_reply = $3, lease_until = NULL"
		      " WHERE id = $1 AND leased_by = $2",
		      reply, NULL, err);
}

int
outbox_retry(PGconn *conn, const char *worker, const struct outbox_row *row,
	     const char *reply, int max_age, GError **err)
{
	char extra[32];

	/* Too old to try again: it expires, as a bounce would. */
	if (row->age > max_age)
		return finish(conn, worker, row,
			      "UPDATE gateway.outbox SET state = 'expired',"
			      " done_at = now(), last_reply = $3,"
			      " lease_until = NULL"
			      " WHERE id = $1 AND leased_by = $2"
			      "",
			      reply, NULL, err);

	/* Back-off: 1 minute, doubling, at most 4 hours. */
	snprintf(extra, sizeof(extra), "%d",
		 MIN(60 << MIN(row->attempts - 1, 8), 4 * 3600));
	return finish(conn, worker, row,
		      "UPDATE gateway.outbox SET last_reply = $3,"
		      " lease_until = NULL, next_attempt_at = now()"
		      " + make_interval(secs => $4::int)"
		      " WHERE id = $1 AND leased_by = $2",
		      reply, extra, err);
}

int
outbox_bounced(PGconn *conn, const char *worker, const struct outbox_row *row,
	       const char *reply, GError **err)
{
	return finish(conn, worker, row,
		      "UPDATE gateway.outbox SET state = 'bounced',"
		      " done_at = now(), last_reply = $3, lease_until = NULL"
		      " WHERE id = $1 AND leased_by = $2",
		      reply, NULL, err);
}

int
outbox_notice(PGconn *conn, const char *group_id, long long member_id,
	      const char *recipient, GBytes *message, GError **err)
{
	const char *params[4];
	int lengths[4] = {0, 0, 0, 0}, formats[4] = {0, 0, 0, 1};
	char member[32];
	gsize len;
	PGresult *res;

	snprintf(member, sizeof(member), "%lld", member_id);
	params[0] = group_id;
	params[1] = member_id != 0 ? member : NULL;
	params[2] = recipient;
	params[3] = g_bytes_get_data(message, &len);
	lengths[3] = (int)len;
	res = db_exec_bin(conn,
			  "INSERT INTO gateway.outbox (kind, group_id,"
			  " member_id, recipient, message)"
			  " VALUES ('notice', $1, $2, $3, $4)",
			  4, params, lengths, formats, err);
	if (res == NULL)
		return -1;
	PQclear(res);
	return 0;
}
