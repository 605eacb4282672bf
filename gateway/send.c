/*
 * send: the outbox worker (see send.h).
 *
 * One log line per row, the row first:
 *   outbox=ID msgid=<...> to=<...> status=sent|deferred|bounced|expired
 *   attempts=N reply=...
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

#include "compose.h"
#include "config.h"
#include "db.h"
#include "lberror.h"
#include "log.h"
#include "outbox.h"
#include "send.h"
#include "smtp.h"
#include "token.h"

static void on_term(int sig);
static int wait_for_work(PGconn *conn, int seconds);
static int send_row(PGconn *conn, struct smtp_session **session,
		    GArray *outcomes, struct outbox_row *row);
static void record(GArray *outcomes, struct outbox_row *row, const char *msgid,
		   int status, const char *reply);
static void flush(PGconn *conn, const char *worker, GArray *outcomes);

static volatile sig_atomic_t stopping;

/* Outcomes kept before they are written in one commit. */
#define FLUSH_EVERY 20

static void
on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

/*
 * wait_for_work: until a NOTIFY listbridge_outbox arrives or seconds
 * pass.  Returns 0, or -1 when the connection is lost.
 */
static int
wait_for_work(PGconn *conn, int seconds)
{
	struct timeval tv = {seconds, 0};
	PGnotify *n;
	fd_set fds;
	int fd = PQsocket(conn);

	if (fd < 0)
		return -1;
	FD_ZERO(&fds);
	FD_SET(fd, &fds);
	if (select(fd + 1, &fds, NULL, NULL, &tv) < 0 && errno != EINTR)
		return -1;
	if (!PQconsumeInput(conn))
		return -1;
	while ((n = PQnotifies(conn)) != NULL)
		PQfreemem(n);
	return 0;
}

/*
 * record: the outcome of one row, kept for the next flush(), and its
 * log line.  status is an smtp_status.
 */
static void
record(GArray *outcomes, struct outbox_row *row, const char *msgid, int status,
       const char *reply)
{
	char *to = log_clean(row->recipient, 200);
	char *why = log_clean(reply, 300);
	const char *word;

	word = outbox_outcome_add(outcomes, row, status, reply,
				  cfg.outbox_max_age);
	log_info("outbox=%lld msgid=<%s> to=<%s> status=%s attempts=%d "
		 "reply=%s",
		 row->id, msgid != NULL ? msgid : "-", to, word, row->attempts,
		 why);
	g_free(to);
	g_free(why);
}

/*
 * flush: write the kept outcomes in one commit.  A mail sent but not yet
 * recorded when a worker dies goes again: delivery is at least once, and
 * flushing every FLUSH_EVERY rows bounds how many.
 */
static void
flush(PGconn *conn, const char *worker, GArray *outcomes)
{
	GError *err = NULL;
	guint n = outcomes->len;

	if (outbox_record(conn, worker, outcomes, &err) < 0) {
		log_warn("status=not_recorded rows=%u error=%s", n,
			 err->message);
		g_error_free(err);
	}
}

/*
 * send_row: make and send one row's mail.  Returns 0, or -1 when the
 * SMTP connection broke (it is closed and *session set to NULL).
 */
static int
send_row(PGconn *conn, struct smtp_session **session, GArray *outcomes,
	 struct outbox_row *row)
{
	struct compose_mail mail = {NULL, NULL, NULL};
	struct smtp_result result;
	const char *rcpt[1];
	const char *data, *from = "";
	GError *err = NULL;
	gsize len;
	int rc = 0;

	/* The mail: rendered already (notices), or made now. */
	if (row->message != NULL) {
		data = g_bytes_get_data(row->message, &len);
	} else if (compose_post(conn, row->id, row->post_id, row->member_id,
				&mail, &err) < 0) {
		/* Gone for good, or for now. */
		record(outcomes, row, NULL,
		       lb_error_code(err) == EX_NOUSER ? SMTP_PERMANENT
						       : SMTP_TEMPORARY,
		       err->message);
		g_error_free(err);
		return 0;
	} else {
		data = g_bytes_get_data(mail.message, &len);
		from = mail.envelope_from;
	}

	/* One transaction, one recipient. */
	rcpt[0] = row->recipient;
	if (smtp_send(*session, from, rcpt, 1, data, len, &result, &err) < 0) {
		record(outcomes, row, mail.message_id, SMTP_TEMPORARY,
		       err->message);
		g_error_free(err);
		smtp_close(*session);
		*session = NULL;
		rc = -1;
	} else {
		char *reply =
		    result.code != 0
			? g_strdup_printf("%d %s", result.code, result.text)
			: g_strdup(result.text);

		record(outcomes, row, mail.message_id, result.status, reply);
		g_free(reply);
	}
	compose_mail_clear(&mail);
	return rc;
}

int
send_main(int argc, char **argv)
{
	gboolean once = FALSE;
	char *worker = NULL;
	GOptionEntry entries[] = {{"once", 0, 0, G_OPTION_ARG_NONE, &once,
				   "send what is due, then stop", NULL},
				  {"worker", 0, 0, G_OPTION_ARG_STRING, &worker,
				   "name in the leases (default host:pid)",
				   "NAME"},
				  {NULL, 0, 0, 0, NULL, NULL, NULL}};
	GOptionContext *ctx;
	GPtrArray *rows = NULL;
	GArray *outcomes = NULL;
	struct smtp_session *session = NULL;
	GError *err = NULL;
	PGconn *conn = NULL;
	int rc = EX_OK, n, unreachable = 0;
	guint i;

	/* Options, keys, database. */
	ctx = g_option_context_new("- send the outbox");
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &err) || argc != 1) {
		fprintf(stderr, "listbridge: %s\n",
			err != NULL ? err->message : "send takes no argument");
		rc = EX_USAGE;
		goto out;
	}
	if (worker == NULL)
		worker =
		    g_strdup_printf("%s:%d", g_get_host_name(), (int)getpid());
	if (token_keys_load(cfg.token_key_file, &err) < 0) {
		log_error("status=no_keys error=%s", err->message);
		rc = EX_CONFIG;
		goto out;
	}
	conn = db_connect(&err);
	if (conn == NULL) {
		log_error("status=no_database error=%s", err->message);
		rc = EX_TEMPFAIL;
		goto out;
	}
	if (!once && db_command(conn, "LISTEN listbridge_outbox", &err) < 0) {
		log_error("status=no_listen error=%s", err->message);
		rc = EX_TEMPFAIL;
		goto out;
	}
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);

	/* Claim, send, record; wait when nothing is due. */
	rows = g_ptr_array_new_with_free_func(outbox_row_free);
	outcomes = outbox_outcomes_new();
	while (!stopping) {
		g_ptr_array_set_size(rows, 0);
		n = outbox_claim(conn, worker, cfg.outbox_batch,
				 cfg.outbox_lease, rows, &err);
		if (n < 0) {
			log_error("status=claim_failed error=%s", err->message);
			rc = EX_TEMPFAIL;
			goto out;
		}
		if (n == 0) {
			if (once) {
				/* For cron: the relay was not there. */
				if (unreachable)
					rc = EX_TEMPFAIL;
				break;
			}
			if (wait_for_work(conn, cfg.send_interval) < 0) {
				rc = EX_TEMPFAIL;
				goto out;
			}
			continue;
		}
		for (i = 0; i < rows->len && !stopping; i++) {
			struct outbox_row *row = rows->pdata[i];

			/* The relay, connected once and kept. */
			if (session == NULL &&
			    (session = smtp_open(&err)) == NULL) {
				guint j;

				/* Once per batch: the rest waits too. */
				log_warn("status=relay_unreachable error=%s",
					 err->message);
				for (j = i; j < rows->len; j++)
					record(outcomes, rows->pdata[j], NULL,
					       SMTP_TEMPORARY, err->message);
				g_clear_error(&err);
				unreachable = 1;
				break;
			}
			send_row(conn, &session, outcomes, row);
			if (outcomes->len >= FLUSH_EVERY)
				flush(conn, worker, outcomes);
		}
		flush(conn, worker, outcomes);
	}
out:
	if (err != NULL)
		g_error_free(err);
	if (session != NULL)
		smtp_close(session);
	if (rows != NULL)
		g_ptr_array_free(rows, TRUE);
	if (outcomes != NULL)
		g_array_free(outcomes, TRUE);
	PQfinish(conn);
	g_option_context_free(ctx);
	g_free(worker);
	return rc;
}
