/*
 * db: PostgreSQL connection, statements, migrations (see db.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "db.h"
#include "lberror.h"
#include "log.h"

static int sqlstate_code(const char *state);
static int set_db_error(PGconn *conn, PGresult *res, GError **err);
static int prepare(PGconn *conn, const char *name, const char *sql, int n,
		   GError **err);

/* An arbitrary constant: the advisory lock that serialises migrations. */
#define MIGRATE_LOCK "7406331"

PGconn *
db_connect(GError **err)
{
	const char *keys[] = {"dbname", "connect_timeout", "application_name",
			      "client_encoding", NULL};
	const char *vals[5];
	char timeout[16];
	PGconn *conn;

	/* No "options": connection poolers (pgbouncer) refuse it; the
	 * statement timeout goes with each transaction (db_begin()). */
	snprintf(timeout, sizeof(timeout), "%d", cfg.db_connect_timeout);
	vals[0] = cfg.database;
	vals[1] = timeout;
	vals[2] = "listbridge";
	vals[3] = "UTF8";
	vals[4] = NULL;
	conn = PQconnectdbParams(keys, vals, 1);
	if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
		char *why = g_strdup(conn != NULL ? PQerrorMessage(conn)
						  : "out of memory");

		g_set_error(err, LB_ERROR, EX_TEMPFAIL, "database: %s",
			    g_strchomp(why));
		g_free(why);
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

/*
 * sqlstate_code: the exit code for an SQLSTATE.  Classes 42 (syntax,
 * undefined object) and 22/23 (data, constraint) mean the statement or its
 * data is wrong, which retrying will not mend; everything else, above all
 * 08 connection, 40 serialisation, 53 resources, 57 operator/timeout,
 * 58 system, may pass.
 */
static int
sqlstate_code(const char *state)
{
	if (state == NULL)
		return EX_TEMPFAIL;
	if (strncmp(state, "42", 2) == 0 || strncmp(state, "22", 2) == 0 ||
	    strncmp(state, "23", 2) == 0)
		return EX_SOFTWARE;
	return EX_TEMPFAIL;
}

static int
set_db_error(PGconn *conn, PGresult *res, GError **err)
{
	const char *state = NULL;
	char *why;

	if (res != NULL)
		state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	why = g_strdup(res != NULL ? PQresultErrorMessage(res)
				   : PQerrorMessage(conn));
	if (*why == '\0') {
		g_free(why);
		why = g_strdup(PQerrorMessage(conn));
	}
	g_set_error(err, LB_ERROR, sqlstate_code(state), "database: %s%s%s",
		    state != NULL ? state : "", state != NULL ? " " : "",
		    g_strchomp(why));
	g_free(why);
	return -1;
}

PGresult *
db_exec_bin(PGconn *conn, const char *sql, int n, const char *const *params,
	    const int *lengths, const int *formats, GError **err)
{
	PGresult *res;
	ExecStatusType st;

	res = PQexecParams(conn, sql, n, NULL, params, lengths, formats, 0);
	st = PQresultStatus(res);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return res;
	set_db_error(conn, res, err);
	PQclear(res);
	return NULL;
}

/*
 * prepare: make sql the prepared statement name on conn.  Returns 0 or
 * -1 with err set.
 */
static int
prepare(PGconn *conn, const char *name, const char *sql, int n, GError **err)
{
	PGresult *res = PQprepare(conn, name, sql, n, NULL);

	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		set_db_error(conn, res, err);
		PQclear(res);
		return -1;
	}
	PQclear(res);
	return 0;
}

PGresult *
db_exec_named(PGconn *conn, const char *name, const char *sql, int n,
	      const char *const *params, const int *lengths, const int *formats,
	      GError **err)
{
	static GHashTable *prepared;
	PGresult *res;
	ExecStatusType st;
	char *key;

	/* Prepared on this connection before?  (A failed EXECUTE would
	 * spoil a transaction, so ask our own memory first.) */
	if (prepared == NULL)
		prepared = g_hash_table_new_full(g_str_hash, g_str_equal,
						 g_free, NULL);
	key =
	    g_strdup_printf("%p/%d/%s", (void *)conn, PQbackendPID(conn), name);
	if (!g_hash_table_contains(prepared, key)) {
		if (prepare(conn, name, sql, n, err) < 0) {
			g_free(key);
			return NULL;
		}
		g_hash_table_add(prepared, key);
	} else
		g_free(key);

	/* Run it. */
	res = PQexecPrepared(conn, name, n, params, lengths, formats, 0);
	st = PQresultStatus(res);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return res;
	set_db_error(conn, res, err);
	PQclear(res);
	return NULL;
}

PGresult *
db_exec(PGconn *conn, const char *sql, int n, const char *const *params,
	GError **err)
{
	return db_exec_bin(conn, sql, n, params, NULL, NULL, err);
}

int
db_begin(PGconn *conn, GError **err)
{
	char sql[96];

	/* One round trip; SET LOCAL ends with the transaction, so a pooled
	 * connection passes on nothing. */
	snprintf(sql, sizeof(sql),
		 "BEGIN; SET LOCAL statement_timeout = %d;"
		 " SET LOCAL client_min_messages = warning",
		 cfg.db_statement_timeout * 1000);
	return db_command(conn, sql, err);
}

int
db_command(PGconn *conn, const char *sql, GError **err)
{
	PGresult *res;
	ExecStatusType st;

	/* PQexec, not PQexecParams: sql may hold several statements. */
	res = PQexec(conn, sql);
	st = PQresultStatus(res);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		PQclear(res);
		return 0;
	}
	set_db_error(conn, res, err);
	PQclear(res);
	return -1;
}

char *
db_text_array(const char *const *items, guint n)
{
	GString *s = g_string_new("{");
	const char *p;
	guint i;

	for (i = 0; i < n; i++) {
		if (i > 0)
			g_string_append_c(s, ',');
		if (items[i] == NULL) {
			g_string_append(s, "NULL");
			continue;
		}
		g_string_append_c(s, '"');
		for (p = items[i]; *p != '\0'; p++) {
			if (*p == '"' || *p == '\\')
				g_string_append_c(s, '\\');
			g_string_append_c(s, *p);
		}
		g_string_append_c(s, '"');
	}
	g_string_append_c(s, '}');
	return g_string_free(s, FALSE);
}

int
db_schema_version(PGconn *conn, GError **err)
{
	PGresult *res;
	int v;

	res = db_exec(conn,
		      "SELECT CASE WHEN to_regclass('gateway.schema_version')"
		      " IS NULL THEN 0 ELSE (SELECT coalesce(max(version), 0)"
		      " FROM gateway.schema_version) END",
		      0, NULL, err);
	if (res == NULL)
		return -1;
	v = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return v;
}

int
db_migrate(PGconn *conn, GError **err)
{
	const struct db_migration *m;
	int applied = 0;

	/* The bookkeeping table, created once. */
	if (db_command(conn,
		       "BEGIN; SET LOCAL client_min_messages = warning;"
		       "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK ");"
		       "CREATE SCHEMA IF NOT EXISTS gateway;"
		       "CREATE TABLE IF NOT EXISTS gateway.schema_version ("
		       " version integer PRIMARY KEY,"
		       " name text NOT NULL,"
		       " applied_at timestamptz NOT NULL DEFAULT now());"
		       "COMMIT",
		       err) < 0)
		goto fail;

	/* Each pending migration in its own transaction, under the lock, so
	 * that two concurrent runs apply it once. */
	for (m = db_migrations; m->name != NULL; m++) {
		char version[16];
		const char *params[2];
		PGresult *res;
		int done;

		snprintf(version, sizeof(version), "%d", m->version);
		params[0] = version;
		params[1] = m->name;
		if (db_command(
			conn,
			"BEGIN; SELECT pg_advisory_xact_lock(" MIGRATE_LOCK ")",
			err) < 0)
			goto fail;
		res = db_exec(conn,
			      "SELECT 1 FROM gateway.schema_version"
			      " WHERE version = $1",
			      1, params, err);
		if (res == NULL)
			goto fail;
		done = PQntuples(res) > 0;
		PQclear(res);
		if (done) {
			if (db_command(conn, "COMMIT", err) < 0)
				goto fail;
			continue;
		}
		if (db_command(conn, m->sql, err) < 0) {
			g_prefix_error(err, "%s: ", m->name);
			goto fail;
		}
		res = db_exec(conn,
			      "INSERT INTO gateway.schema_version"
			      " (version, name) VALUES ($1, $2)",
			      2, params, err);
		if (res == NULL)
			goto fail;
		PQclear(res);
		if (db_command(conn, "COMMIT", err) < 0)
			goto fail;
		log_info("migration=%s version=%d status=applied", m->name,
			 m->version);
		applied++;
	}
	return applied;
fail:
	PQclear(PQexec(conn, "ROLLBACK"));
	return -1;
}
