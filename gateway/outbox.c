/*
 * outbox: lease, send outcome, back-off (see outbox.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "outbox.h"

static void outcome_clear(gpointer p);

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
	res = db_exec_named(
	    conn, "outbox_claim",
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

static void
outcome_clear(gpointer p)
{
	struct outbox_outcome *o = p;

	g_free(o->reply);
}

GArray *
outbox_outcomes_new(void)
{
	GArray *a = g_array_new(FALSE, TRUE, sizeof(struct outbox_outcome));

	g_array_set_clear_func(a, outcome_clear);
	return a;
}

const char *
outbox_outcome_add(GArray *outcomes, const struct outbox_row *row, int status,
		   const char *reply, int max_age)
{
	struct outbox_outcome o = {row->id, "queued", NULL, 0};

	if (status == 2)
		o.state = "sent";
	else if (status == 5)
		o.state = "bounced";
	else if (row->age > max_age)
		o.state = "expired";
	else
		/* Back-off: 1 minute, doubling, at most 4 hours. */
		o.delay = MIN(60 << MIN(row->attempts - 1, 8), 4 * 3600);
	o.reply = g_strdup(reply != NULL ? reply : "");
	g_array_append_val(outcomes, o);
	return strcmp(o.state, "queued") == 0 ? "deferred" : o.state;
}

int
outbox_record(PGconn *conn, const char *worker, GArray *outcomes, GError **err)
{
	GPtrArray *ids, *states, *replies, *delays;
	char *a_ids = NULL, *a_states = NULL, *a_replies = NULL;
	char *a_delays = NULL;
	const char *params[5];
	PGresult *res;
	guint i;
	int rc = 0;

	if (outcomes->len == 0)
		return 0;

	/* Four parallel arrays, one row each in the statement. */
	ids = g_ptr_array_new_with_free_func(g_free);
	states = g_ptr_array_new();
	replies = g_ptr_array_new();
	delays = g_ptr_array_new_with_free_func(g_free);
	for (i = 0; i < outcomes->len; i++) {
		struct outbox_outcome *o =
		    &g_array_index(outcomes, struct outbox_outcome, i);

		g_ptr_array_add(ids, g_strdup_printf("%lld", o->id));
		g_ptr_array_add(states, (gpointer)o->state);
		g_ptr_array_add(replies, o->reply);
		g_ptr_array_add(delays, g_strdup_printf("%d", o->delay));
	}
	a_ids = db_text_array((const char *const *)ids->pdata, ids->len);
	a_states =
	    db_text_array((const char *const *)states->pdata, states->len);
	a_replies =
	    db_text_array((const char *const *)replies->pdata, replies->len);
	a_delays =
	    db_text_array((const char *const *)delays->pdata, delays->len);
	params[0] = a_ids;
	params[1] = a_states;
	params[2] = a_replies;
	params[3] = a_delays;
	params[4] = worker;

	/* One statement: a retry keeps its state and comes due later, the
	 * others are done. */
	res = db_exec_named(conn, "outbox_record",
			    "UPDATE gateway.outbox o SET state = v.state,"
			    " last_reply = v.reply, lease_until = NULL,"
			    " done_at = CASE WHEN v.state = 'queued' THEN NULL"
			    " ELSE now() END,"
			    " next_attempt_at = CASE WHEN v.state = 'queued'"
			    " THEN now() + make_interval(secs => v.delay)"
			    " ELSE o.next_attempt_at END"
			    " FROM unnest($1::bigint[], $2::text[], $3::text[],"
			    " $4::int[]) AS v(id, state, reply, delay)"
			    " WHERE o.id = v.id AND o.leased_by = $5",
			    5, params, NULL, NULL, err);
	if (res == NULL)
		rc = -1;
	PQclear(res);
	g_array_set_size(outcomes, 0);
	g_ptr_array_free(ids, TRUE);
	g_ptr_array_free(states, TRUE);
	g_ptr_array_free(replies, TRUE);
	g_ptr_array_free(delays, TRUE);
	g_free(a_ids);
	g_free(a_states);
	g_free(a_replies);
	g_free(a_delays);
	return rc;
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
