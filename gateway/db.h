/*
 * db: the PostgreSQL connection, statements and schema migrations.
 *
 * db_connect() opens one connection with the configured timeouts.
 * db_exec() runs one statement with text parameters and turns a failure
 * into a GError whose code says whether retrying can help: EX_TEMPFAIL for
 * connection loss, timeouts, lack of resources, serialisation failures and
 * anything unknown; EX_SOFTWARE for statements PostgreSQL refused as wrong
 * (our bug).  db_migrate() applies the numbered files of sql/ embedded in
 * the binary.
 */
#ifndef DB_H
#define DB_H

#include <libpq-fe.h>

#include <glib.h>

struct db_migration {
	int version;
	const char *name;
	const char *sql;
};

/* The migrations, in order, ending with a NULL name (sql_embed.c). */
extern const struct db_migration db_migrations[];

/* db_connect: a connection to cfg.database, or NULL with err set
 * (EX_TEMPFAIL). */
PGconn *db_connect(GError **err);

/* db_exec: run sql with n text parameters (NULL for SQL NULL).  Returns a
 * result with status COMMAND_OK or TUPLES_OK (PQclear() it), or NULL with
 * err set. */
PGresult *db_exec(PGconn *conn, const char *sql, int n,
		  const char *const *params, GError **err);

/* db_exec_bin: like db_exec, with lengths and formats per parameter
 * (1 = binary), for bytea values. */
PGresult *db_exec_bin(PGconn *conn, const char *sql, int n,
		      const char *const *params, const int *lengths,
		      const int *formats, GError **err);

/* db_exec_named: db_exec_bin for a statement run often on one
 * connection: prepared under name on first use on that connection
 * (known by its address and backend), then only executed, so that
 * PostgreSQL plans it once per connection.  name must always go with
 * the same sql. */
PGresult *db_exec_named(PGconn *conn, const char *name, const char *sql, int n,
			const char *const *params, const int *lengths,
			const int *formats, GError **err);

/* db_begin: BEGIN, with cfg.db_statement_timeout for each statement of
 * the transaction.  Returns 0 or -1. */
int db_begin(PGconn *conn, GError **err);

/* db_command: run one or more statements without parameters whose result
 * is not needed.
 * Returns 0 or -1. */
int db_command(PGconn *conn, const char *sql, GError **err);

/* db_text_array: items as a PostgreSQL text[] literal, each quoted (a
 * NULL item is SQL NULL).  Returns a new string; g_free() it. */
char *db_text_array(const char *const *items, guint n);

/* db_migrate: apply each pending migration in a transaction of its own,
 * under an advisory lock, recording it in gateway.schema_version.  Safe to
 * run twice and concurrently.  Returns how many were applied, or -1.
 * Logs one line per migration applied. */
int db_migrate(PGconn *conn, GError **err);

/* db_schema_version: the highest applied version, 0 for none, -1 on
 * error. */
int db_schema_version(PGconn *conn, GError **err);

#endif
