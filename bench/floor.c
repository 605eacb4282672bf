/*
 * floor: the least a delivery hook can do, for bench/deliver.sh.  One
 * process per message, like "listbridge deliver": read the message from
 * stdin, parse it with GMime, connect to PostgreSQL and store its
 * Message-ID and raw bytes in one transaction.  Linked with GMime and
 * libpq only.  What deliver costs beyond this is what its own work and
 * libraries add.
 *
 *   floor CONNINFO < message
 *
 * The table must exist:
 *   CREATE TABLE bench_floor (id bigserial PRIMARY KEY,
 *                             message_id text UNIQUE, raw bytea);
 *
 * Exits 0 after COMMIT, 65 (EX_DATAERR) for an empty message or one
 * without a Message-ID, 75 (EX_TEMPFAIL) when reading or the database
 * fails, 64 on a usage error.  Errors go to stderr.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <gmime/gmime.h>
#include <libpq-fe.h>

static int read_message(GByteArray *buf);
static int store(PGconn *conn, const char *msgid, const GByteArray *raw);
static int command_ok(PGconn *conn, PGresult *res, const char *what);

/* read_message: all of stdin into buf.  Returns 0 or EX_TEMPFAIL. */
static int
read_message(GByteArray *buf)
{
	guint8 chunk[65536];
	ssize_t n;

	while ((n = read(STDIN_FILENO, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "floor: reading stdin: %s\n",
				strerror(errno));
			return EX_TEMPFAIL;
		}
		g_byte_array_append(buf, chunk, (guint)n);
	}
	return 0;
}

/* command_ok: 1 when res succeeded; else 0 with a message on stderr.
 * Clears res. */
static int
command_ok(PGconn *conn, PGresult *res, const char *what)
{
	ExecStatusType st = PQresultStatus(res);
	int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;

	if (!ok)
		fprintf(stderr, "floor: %s: %s", what,
			res != NULL ? PQresultErrorMessage(res)
				    : PQerrorMessage(conn));
	PQclear(res);
	return ok;
}

/* store: one row in one transaction.  Returns 0 or EX_TEMPFAIL. */
static int
store(PGconn *conn, const char *msgid, const GByteArray *raw)
{
	const char *params[2];
	int lengths[2] = {0, (int)raw->len}, formats[2] = {0, 1};

	if (!command_ok(conn, PQexec(conn, "BEGIN"), "BEGIN"))
		return EX_TEMPFAIL;
	params[0] = msgid;
	params[1] = (const char *)raw->data;
	if (!command_ok(conn,
			PQexecParams(conn,
				     "INSERT INTO bench_floor (message_id, raw)"
				     " VALUES ($1, $2)",
				     2, NULL, params, lengths, formats, 0),
			"INSERT")) {
		PQclear(PQexec(conn, "ROLLBACK"));
		return EX_TEMPFAIL;
	}
	if (!command_ok(conn, PQexec(conn, "COMMIT"), "COMMIT"))
		return EX_TEMPFAIL;
	return 0;
}

int
main(int argc, char **argv)
{
	GByteArray *buf = NULL;
	GMimeStream *stream = NULL;
	GMimeParser *parser = NULL;
	GMimeMessage *m = NULL;
	PGconn *conn = NULL;
	const char *msgid;
	int code = EX_TEMPFAIL;

	if (argc != 2) {
		fprintf(stderr, "usage: floor CONNINFO < message\n");
		return EX_USAGE;
	}

	/* Read and parse. */
	buf = g_byte_array_new();
	code = read_message(buf);
	if (code != 0)
		goto out;
	code = EX_DATAERR;
	if (buf->len == 0) {
		fprintf(stderr, "floor: empty message\n");
		goto out;
	}
	g_mime_init();
	stream = g_mime_stream_mem_new_with_buffer((const char *)buf->data,
						   buf->len);
	parser = g_mime_parser_new_with_stream(stream);
	m = g_mime_parser_construct_message(parser, NULL);
	msgid = m != NULL ? g_mime_message_get_message_id(m) : NULL;
	if (msgid == NULL) {
		fprintf(stderr, "floor: no message or no Message-ID\n");
		goto out;
	}

	/* Connect and store, once. */
	code = EX_TEMPFAIL;
	conn = PQconnectdb(argv[1]);
	if (PQstatus(conn) != CONNECTION_OK) {
		fprintf(stderr, "floor: %s", PQerrorMessage(conn));
		goto out;
	}
	code = store(conn, msgid, buf);
out:
	PQfinish(conn);
	if (m != NULL)
		g_object_unref(m);
	if (parser != NULL)
		g_object_unref(parser);
	if (stream != NULL)
		g_object_unref(stream);
	g_byte_array_free(buf, TRUE);
	return code;
}
