/*
 * deliver: read one message from the MTA, hand it to the core for each
 * recipient, and turn the outcome into an exit code (see deliver.h).
 *
 * One log line per message and recipient, message id first:
 *   msgid=<...> list=... from=<...> size=N verdict=... post=N delay=S
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../gateway/config.h"
#include "../gateway/db.h"
#include "../gateway/inbound.h"
#include "../gateway/lberror.h"
#include "../gateway/log.h"
#include "../gateway/message.h"
#include "../gateway/token.h"
#include "../gateway/trim.h"
#include "deliver.h"

static void on_alarm(int sig);
static int read_message(GByteArray *buf, GError **err);
static int hook_code(int code);
static int worse(int a, int b);
static void log_attachments(const char *msgid, const struct msg *m);
static void print_reason(const char *reason);
static int needs_keys(int n, char **rcpts, const struct msg *m);

static gint64 started;
static char timeout_line[512] = "listbridge/deliver: error: msgid=<-> "
				"status=timeout exit=75\n";

/* Waiting on a stuck database or a slow pipe is a transient fault: the
 * MTA keeps the message and tries again.  Only async-signal-safe calls. */
static void
on_alarm(int sig)
{
	(void)sig;
	if (write(STDERR_FILENO, timeout_line, strlen(timeout_line)) < 0) {
		/* Nothing more can be done. */
	}
	_exit(EX_TEMPFAIL);
}

/*
 * read_message: stdin into buf, refusing more than message_size_limit.
 * Returns 0, or a sysexits code with err set.
 */
static int
read_message(GByteArray *buf, GError **err)
{
	guint8 chunk[65536];
	ssize_t n;

	for (;;) {
		n = read(STDIN_FILENO, chunk, sizeof(chunk));
		if (n == 0)
			break;
		if (n < 0) {
			g_set_error(err, LB_ERROR, EX_TEMPFAIL,
				    "reading the message: %s",
				    g_strerror(errno));
			return EX_TEMPFAIL;
		}
		if (buf->len + (gsize)n > (gsize)cfg.message_size_limit) {
			g_set_error(err, LB_ERROR, EX_NOPERM,
				    "message larger than %d bytes "
				    "(message_size_limit)",
				    cfg.message_size_limit);
			return EX_NOPERM;
		}
		g_byte_array_append(buf, chunk, (guint)n);
	}
	if (buf->len == 0) {
		g_set_error(err, LB_ERROR, EX_DATAERR, "empty message");
		return EX_DATAERR;
	}
	return 0;
}

/*
 * hook_code: only the documented codes leave the hook; anything else,
 * our own bugs included, becomes EX_TEMPFAIL so that the message stays
 * with the MTA.
 */
static int
hook_code(int code)
{
	switch (code) {
	case EX_OK:
	case EX_DATAERR:
	case EX_NOUSER:
	case EX_TEMPFAIL:
	case EX_NOPERM:
	case EX_CONFIG:
		return code;
	default:
		return EX_TEMPFAIL;
	}
}

/* worse: of two recipients' codes, the one the MTA must hear: a transient
 * fault first (retrying is harmless, delivery is idempotent), then
 * success (a stored message must not bounce), then the refusals. */
static int
worse(int a, int b)
{
	static const int order[] = {EX_TEMPFAIL, EX_CONFIG,  EX_OK,
				    EX_NOPERM,	 EX_DATAERR, EX_NOUSER};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(order); i++)
		if (a == order[i] || b == order[i])
			return order[i];
	return EX_TEMPFAIL;
}

/* needs_keys: whether delivering m to rcpts checks a token. */
static int
needs_keys(int n, char **rcpts, const struct msg *m)
{
	guint i;
	int k;

	for (k = 0; k < n; k++)
		if (g_ascii_strncasecmp(rcpts[k], "reply+", 6) == 0 ||
		    g_ascii_strncasecmp(rcpts[k], "unsubscribe+", 12) == 0)
			return 1;
	if (m->in_reply_to != NULL && g_str_has_prefix(m->in_reply_to, "lb."))
		return 1;
	for (i = 0; i < m->references->len; i++)
		if (g_str_has_prefix(m->references->pdata[i], "lb."))
			return 1;
	return 0;
}

/* print_reason: the reason for a refusal on stdout, where the MTA quotes
 * it in its bounce: one line, printable. */
static void
print_reason(const char *reason)
{
	char *valid = g_utf8_make_valid(reason, -1), *p;

	for (p = valid; *p != '\0'; p++)
		if ((guchar)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	printf("%.300s\n", valid);
	g_free(valid);
}

/* log_attachments: a line for each attachment whose bytes were not
 * kept (too large, too many, blocked type). */
static void
log_attachments(const char *msgid, const struct msg *m)
{
	guint i;

	for (i = 0; i < m->attachments->len; i++) {
		const struct msg_attachment *a = m->attachments->pdata[i];
		char *name;

		if (a->state == MSG_ATT_STORED)
			continue;
		name = log_clean(a->filename, 200);
		log_info(
		    "msgid=<%s> attachment=%s type=%s size=%" G_GSIZE_FORMAT
		    " verdict=not_stored reason=%s",
		    msgid, name, a->content_type, a->size,
		    msg_attachment_state_name(a->state));
		g_free(name);
	}
}

int
deliver_main(int argc, char **argv)
{
	GByteArray *buf = NULL;
	GError *err = NULL, *kerr = NULL;
	struct msg *m = NULL;
	PGconn *conn = NULL;
	const char *sender = "";
	char *msgid = NULL, *from = NULL;
	int code = EX_TEMPFAIL, have = 0, c, i;

	started = g_get_monotonic_time();

	/* Arguments: the envelope, as the MTA's pipe transport gives it.
	 * A mistake here is in the MTA's configuration: EX_CONFIG, which
	 * keeps the mail queued, not EX_USAGE, which would bounce it. */
	opterr = 0;
	while ((c = getopt(argc, argv, "+f:")) != -1) {
		switch (c) {
		case 'f':
			sender = optarg;
			break;
		default:
			log_error("status=bad_arguments exit=78 hint=usage: "
				  "listbridge deliver [-f SENDER] RECIPIENT... "
				  "< message");
			return EX_CONFIG;
		}
	}
	if (optind >= argc) {
		log_error("status=no_recipient exit=78 hint=usage: "
			  "listbridge deliver [-f SENDER] RECIPIENT... "
			  "< message");
		return EX_CONFIG;
	}

	/* Least privilege: parsing hostile mail is no job for root. */
	if (geteuid() == 0 && !cfg.hook_allow_root) {
		log_error("status=refused reason=running_as_root exit=75 "
			  "hint=run the hook as an unprivileged user");
		return EX_TEMPFAIL;
	}

	/* A hard stop for everything below. */
	signal(SIGALRM, on_alarm);
	alarm((unsigned)cfg.deliver_timeout);

	/* The trim patterns: a bad one is a configuration error. */
	if (trim_load(cfg.trim_patterns_file, &err) < 0) {
		code = EX_CONFIG;
		goto out;
	}

	/* Read and parse. */
	buf = g_byte_array_new();
	code = read_message(buf, &err);
	if (code != 0)
		goto out;
	msg_init();
	m = msg_parse((const char *)buf->data, buf->len, &err);
	if (m == NULL) {
		code = EX_DATAERR;
		goto out;
	}
	/* The token keys, read only when a token is to be checked: a reply
	 * or unsubscribe address, or an answer to one of our notifications.
	 * List mail goes on without them. */
	if (needs_keys(argc - optind, argv + optind, m) &&
	    token_keys_load(cfg.token_key_file, &kerr) < 0) {
		log_debug("status=no_token_keys error=%s", kerr->message);
		g_clear_error(&kerr);
	}
	msgid = log_clean(m->message_id, 200);
	from = log_clean(m->from_addr, 200);
	snprintf(timeout_line, sizeof(timeout_line),
		 "listbridge/deliver: error: msgid=<%s> status=timeout "
		 "exit=75\n",
		 msgid);
	if (m->nwarnings > 0)
		log_debug("msgid=<%s> mime_warnings=%d first=%s", msgid,
			  m->nwarnings, m->warnings->str);

	/* Store it for each recipient. */
	conn = db_connect(&err);
	if (conn == NULL) {
		code = EX_TEMPFAIL;
		goto out;
	}
	for (i = optind; i < argc; i++) {
		struct inbound_result res;
		GError *rerr = NULL;
		char *rcpt = log_clean(argv[i], 200), *why = NULL;
		int rc;

		rc = hook_code(inbound_deliver(conn, m, (const char *)buf->data,
					       buf->len, sender, argv[i], &res,
					       &rerr));
		if (rc == 0)
			log_info("msgid=<%s> list=%s from=<%s> size=%u "
				 "verdict=%s post=%lld thread=%lld via=%s "
				 "delay=%.3f mime_warnings=%d%s%s%s",
				 msgid, res.list, from, buf->len, res.verdict,
				 res.post_id, res.thread_id,
				 *res.thread_how ? res.thread_how : "-",
				 (g_get_monotonic_time() - started) / 1e6,
				 m->nwarnings,
				 m->html_skipped ? " html=not_read" : "",
				 res.reason ? " reason=" : "",
				 res.reason ? (why = log_clean(res.reason, 100))
					    : "");
		else {
			why = log_clean(rerr->message, 300);
			log_info("msgid=<%s> to=<%s> from=<%s> size=%u "
				 "verdict=%s exit=%d delay=%.3f error=%s",
				 msgid, rcpt, from, buf->len,
				 rc == EX_NOUSER   ? "unknown_address"
				 : rc == EX_NOPERM ? "rejected"
						   : "deferred",
				 rc, (g_get_monotonic_time() - started) / 1e6,
				 why);
		}
		/* Attachments not kept, and why. */
		if (rc == 0 && res.post_id != 0)
			log_attachments(msgid, m);

		/* The MTA quotes what we print in its bounce. */
		if (rc != 0 && rc != EX_TEMPFAIL)
			print_reason(rerr->message);
		code = have ? worse(code, rc) : rc;
		have = 1;
		g_clear_error(&rerr);
		inbound_result_clear(&res);
		g_free(rcpt);
		g_free(why);
	}
out:
	if (err != NULL) {
		char *why = log_clean(err->message, 300);

		code = hook_code(code);
		log_info("msgid=<%s> from=<%s> size=%u verdict=%s exit=%d "
			 "delay=%.3f error=%s",
			 msgid != NULL ? msgid : "-", from != NULL ? from : "",
			 buf != NULL ? buf->len : 0,
			 code == EX_TEMPFAIL ? "deferred" : "refused", code,
			 (g_get_monotonic_time() - started) / 1e6, why);
		g_free(why);
		if (code != EX_TEMPFAIL)
			print_reason(err->message);
		g_error_free(err);
	}
	PQfinish(conn);
	msg_free(m);
	if (buf != NULL)
		g_byte_array_free(buf, TRUE);
	g_free(msgid);
	g_free(from);
	return hook_code(code);
}
