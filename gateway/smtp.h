/*
 * smtp: one SMTP client session to the relay, for the outbox worker.
 *
 * A session is one connection to cfg.smtp_relay_host:cfg.smtp_relay_port
 * that carries any number of transactions, one message each, one after the
 * other.  It is built on libetpan's mailsmtp, with these parts done here:
 *
 *   - the TCP connection (so that cfg.smtp_timeout also covers the
 *     greeting and every reply; libetpan applies its own timeout to the
 *     connect only), with TCP_NODELAY set and SIGPIPE ignored;
 *   - EHLO and HELO, sent with cfg.smtp_helo_name (libetpan can only send
 *     gethostname() or the address literal of the local end);
 *   - the check of the relay's certificate after STARTTLS (libetpan does
 *     none), against cfg.smtp_tls_ca_file and cfg.smtp_relay_host;
 *   - per-recipient outcomes from the numeric reply code, never from
 *     libetpan's error enum (which maps 450 and 550 alike);
 *   - the check of every address before it reaches libetpan, which builds
 *     commands with snprintf and no validation (CR LF in an address would
 *     inject commands).
 *
 * smtp_open() returns a session or NULL; smtp_send() returns 0 while the
 * session is usable (the outcome of each recipient is in its result) and
 * -1 once the connection is gone (the caller closes it and opens a new
 * one); smtp_close() ends and frees it.  Errors are in LB_ERROR:
 * EX_TEMPFAIL for anything on the network, EX_CONFIG for a bad setting.
 * Nothing is logged but debug lines; the caller logs the outcome.
 *
 * Limits: no SMTPUTF8 (libetpan has none: addresses must be ASCII), no
 * AUTH, no DSN parameters, no BODY=8BITMIME (8-bit messages are sent as
 * they are), no pipelining (libetpan waits for each reply).  A session
 * belongs to one thread.  The relay host name is resolved with
 * getaddrinfo(), which cfg.smtp_timeout does not bound.
 */
#ifndef SMTP_H
#define SMTP_H

#include <glib.h>

/* The longest address smtp_send() accepts (RFC 5321's path limit less
 * the angle brackets). */
#define SMTP_ADDRESS_MAX 254

/* Room for a reply text in a result, with its terminating NUL. */
#define SMTP_TEXT_SIZE 512

/* The outcome of one recipient: the reply code divided by 100. */
enum smtp_status {
	SMTP_SENT = 2,	    /* the relay took the message for it */
	SMTP_TEMPORARY = 4, /* try again later */
	SMTP_PERMANENT = 5  /* give up: a bounce */
};

struct smtp_result {
	enum smtp_status status;
	/* The relay's reply code (250, 451, 550 ...), or 0 when the relay
	 * gave no answer for this recipient: refused here, or the connection
	 * was lost first. */
	int code;
	/* The reply text after the code, enhanced status code first, lines
	 * joined with spaces, control characters replaced; or our reason
	 * when code is 0.  Untrusted: clean it before logging. */
	char text[SMTP_TEXT_SIZE];
};

struct smtp_session;

/* smtp_open: connect to the relay, read its greeting, send EHLO (HELO
 * when the relay does not know EHLO), and with smtp_starttls = required
 * switch to TLS, check the relay's certificate and send EHLO again.
 * Returns the session, or NULL with err set: EX_CONFIG for a bad
 * smtp_helo_name or an unreadable smtp_tls_ca_file, EX_TEMPFAIL for
 * everything else (no connection, a refusing relay, no STARTTLS, a
 * certificate that does not verify).  Ignores SIGPIPE process-wide when
 * it has its default action.  Free the session with smtp_close(). */
struct smtp_session *smtp_open(GError **err);

/* smtp_send: one transaction: msg (len bytes, line ends LF or CRLF; they
 * are sent as CRLF, and dot-stuffed) from envelope_from ("" for the null
 * sender) to the nrcpt addresses in rcpts.  results has nrcpt entries and
 * receives each recipient's outcome: the RCPT reply when it was refused,
 * else the reply to the message.  An address that fails
 * smtp_address_valid() is never sent: its recipient (or, for the sender,
 * every recipient) is SMTP_PERMANENT with code 0.  The message is sent
 * only when the relay accepted at least one recipient; otherwise the
 * transaction is reset.
 * Returns 0 while the session is still usable.  Returns -1 with err
 * (EX_TEMPFAIL) when the connection broke or the relay closed it (421);
 * results then still hold what is known: permanent refusals are final,
 * every other recipient is SMTP_TEMPORARY.  After -1, only smtp_close()
 * is left to do. */
int smtp_send(struct smtp_session *s, const char *envelope_from,
	      const char *const *rcpts, int nrcpt, const char *msg, gsize len,
	      struct smtp_result *results, GError **err);

/* smtp_close: send QUIT and wait for its reply (unless the connection is
 * gone), close the connection, free s.  NULL is allowed. */
void smtp_close(struct smtp_session *s);

/* smtp_address_valid: whether addr may go into MAIL FROM (null_ok: ""
 * is allowed) or RCPT TO: at most SMTP_ADDRESS_MAX bytes, printable ASCII
 * without spaces, '<' or '>', exactly one '@' with text on both sides. */
int smtp_address_valid(const char *addr, int null_ok);

/* smtp_fd: the socket of the session, for tests and poll(); -1 when the
 * connection is gone. */
int smtp_fd(struct smtp_session *s);

#endif
