/*
 * smtp: one SMTP client session to the relay (smtp.h).
 *
 * libetpan does the commands of a transaction (MAIL, RCPT, DATA and the
 * message, RSET) and STARTTLS.  What it does not do well is done here:
 *
 * Connection.  mailsmtp_socket_connect() applies the session timeout to
 * connect() only: the greeting and every later reply wait for the global
 * mailstream_network_delay (300 s).  So the socket is connected here
 * (non-blocking, as libetpan's own connect leaves it) and handed to
 * mailstream_socket_open_timeout(), which bounds every read and write.
 *
 * EHLO.  mailesmtp_ehlo() sends gethostname() ("vm" on a test machine)
 * and mailesmtp_ehlo_with_ip() the local address as "[addr]" (without the
 * "IPv6:" tag RFC 5321 wants); neither takes a name.  mailesmtp_lhlo()
 * does, but sends LHLO.  So EHLO and HELO are written with the public
 * mailstream_write()/mailstream_flush() and their replies read with
 * mailstream_read_line_remove_eol(), the same buffered stream libetpan
 * reads from; the extensions are parsed here into the public fields
 * libetpan consults (esmtp, smtp_max_msg_size).  DSN is deliberately not
 * recorded, so libetpan adds no RET= parameter.
 *
 * Message.  mailsmtp_data_message() converts bare LF and bare CR to CRLF
 * and dot-stuffs, but always ends with "\r\n.\r\n": a message that ends
 * with a line end would arrive with an extra empty line.  The final line
 * end is therefore left out of what it is given.  SIZE= is the size on
 * the wire (RFC 1870: CRLF line ends, no stuffing), not len.
 *
 * End of input.  libetpan 1.9.4 (Debian 12) reads, and may write, the byte
 * before its line buffer when a reply line is empty because the relay
 * closed the connection (remove_trailing_eol(), fixed in libetpan 1.10 by
 * "Fix buffer overwrite for empty string in remove_trailing_eol", #408).
 * The session's stream therefore sits on a thin mailstream_low that
 * reports end of input as a read error, so that the line reader returns
 * NULL instead; every reply, libetpan's and ours, is read through it.
 *
 * Certificates.  libetpan's STARTTLS accepts any certificate.  After the
 * handshake the relay's chain (mailstream_get_certificate_chain()) is
 * checked with GnuTLS against cfg.smtp_tls_ca_file, and the leaf against
 * cfg.smtp_relay_host with gnutls_x509_crt_check_hostname().  The host
 * name is also sent as SNI.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <libetpan/carray.h>
#include <libetpan/mailsmtp.h>
#include <libetpan/mailstream.h>
#include <libetpan/mmapstring.h>

#include "config.h"
#include "lberror.h"
#include "log.h"
#include "smtp.h"

/* A reply longer than this is not SMTP: the connection is dropped. */
#define REPLY_MAX 65536

/* Certificates of the relay's chain that are looked at. */
#define CHAIN_MAX 16

struct smtp_session {
	mailsmtp *smtp;
	MMAPString *line; /* line buffer of read_reply() */
	GString *reply;	  /* last reply of read_reply(), lines joined by \n */
	char *host;	  /* cfg.smtp_relay_host when opened */
	char *relay;	  /* "host:port", for messages */
	int broken;	  /* the connection is gone */
};

static ssize_t eof_read(mailstream_low *s, void *buf, size_t count);
static ssize_t eof_write(mailstream_low *s, const void *buf, size_t count);
static int eof_close(mailstream_low *s);
static int eof_get_fd(mailstream_low *s);
static void eof_free(mailstream_low *s);
static void eof_cancel(mailstream_low *s);
static struct mailstream_cancel *eof_get_cancel(mailstream_low *s);
static carray *eof_chain(mailstream_low *s);
static void eof_wrap(mailstream *stream);
static void ignore_sigpipe(void);
static int wait_connected(int fd, int timeout);
static int connect_relay(struct smtp_session *s, int port, GError **err);
static void set_nodelay(struct smtp_session *s);
static int helo_name_valid(const char *name);
static char *helo_name(struct smtp_session *s, GError **err);
static int read_reply(struct smtp_session *s);
static int command(struct smtp_session *s, const char *line);
static void parse_ehlo(struct smtp_session *s);
static int greet(struct smtp_session *s, const char *name, GError **err);
static void tls_callback(struct mailstream_ssl_context *ctx, void *data);
static int verify_peer(struct smtp_session *s, GError **err);
static int start_tls(struct smtp_session *s, const char *name, GError **err);
static int lost(struct smtp_session *s, const char *after, int code,
		GError **err);
static int reply_code(struct smtp_session *s, int r);
static void set_result(struct smtp_result *res, int code, const char *text);
static gsize wire_size(const char *msg, gsize len);
static gsize without_final_eol(const char *msg, gsize len);

/*
 * The eof_ driver: each call goes to the wrapped mailstream_low (data),
 * but a read of 0 bytes (end of input) returns -1.
 */
static ssize_t
eof_read(mailstream_low *s, void *buf, size_t count)
{
	ssize_t r = mailstream_low_read(s->data, buf, count);

	return r == 0 ? -1 : r;
}

static ssize_t
eof_write(mailstream_low *s, const void *buf, size_t count)
{
	return mailstream_low_write(s->data, buf, count);
}

static int
eof_close(mailstream_low *s)
{
	return mailstream_low_close(s->data);
}

static int
eof_get_fd(mailstream_low *s)
{
	return mailstream_low_get_fd(s->data);
}

static void
eof_free(mailstream_low *s)
{
	mailstream_low_free(s->data);
	free(s);
}

static void
eof_cancel(mailstream_low *s)
{
	mailstream_low_cancel(s->data);
}

static struct mailstream_cancel *
eof_get_cancel(mailstream_low *s)
{
	return mailstream_low_get_cancel(s->data);
}

static carray *
eof_chain(mailstream_low *s)
{
	return mailstream_low_get_certificate_chain(s->data);
}

static mailstream_low_driver eof_driver = {
    .mailstream_read = eof_read,
    .mailstream_write = eof_write,
    .mailstream_close = eof_close,
    .mailstream_get_fd = eof_get_fd,
    .mailstream_free = eof_free,
    .mailstream_cancel = eof_cancel,
    .mailstream_get_cancel = eof_get_cancel,
    .mailstream_get_certificate_chain = eof_chain,
};

/*
 * eof_wrap: put the eof_ driver between stream and its mailstream_low
 * (again after STARTTLS, which replaces it).
 */
static void
eof_wrap(mailstream *stream)
{
	mailstream_low *low =
	    mailstream_low_new(mailstream_get_low(stream), &eof_driver);

	if (low == NULL)
		g_error("smtp: out of memory");
	mailstream_set_low(stream, low);
}

/*
 * ignore_sigpipe: libetpan writes with plain send() and write(): a relay
 * that went away would kill the process with SIGPIPE.  A handler the
 * program installed itself is left alone.
 */
static void
ignore_sigpipe(void)
{
	struct sigaction sa;

	if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL &&
	    (sa.sa_flags & SA_SIGINFO) == 0)
		signal(SIGPIPE, SIG_IGN);
}

/*
 * wait_connected: wait up to timeout seconds for the non-blocking
 * connect() on fd.  Returns 0, or -1 with errno set.
 */
static int
wait_connected(int fd, int timeout)
{
	struct pollfd pfd = {.fd = fd, .events = POLLOUT};
	socklen_t len = sizeof(int);
	int r, soerr = 0;

	/* Wait for the socket to become writable. */
	do
		r = poll(&pfd, 1, timeout * 1000);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		errno = ETIMEDOUT;
	if (r <= 0)
		return -1;

	/* Then ask how the connect ended. */
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		return -1;
	if (soerr != 0) {
		errno = soerr;
		return -1;
	}
	return 0;
}

/*
 * connect_relay: a non-blocking TCP connection to s->host:port, trying
 * each address of the host until one answers within cfg.smtp_timeout.
 * Returns the socket, or -1 with err set.
 */
static int
connect_relay(struct smtp_session *s, int port, GError **err)
{
	struct addrinfo hints, *res = NULL, *ai;
	char service[8];
	int fd = -1, r, saved = ECONNREFUSED;

	/*
	 * Resolve the relay.  XXX: getaddrinfo() has no timeout; a stalled
	 * resolver holds the worker past cfg.smtp_timeout.  An address, or a
	 * name in /etc/hosts, avoids the resolver.
	 */
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(service, sizeof(service), "%d", port);
	r = getaddrinfo(s->host, service, &hints, &res);
	if (r != 0) {
		g_set_error(err, LB_ERROR, EX_TEMPFAIL, "relay %s: %s",
			    s->relay, gai_strerror(r));
		goto out;
	}

	/* Try its addresses in turn. */
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family,
			    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0) {
			saved = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
		    (errno == EINPROGRESS &&
		     wait_connected(fd, cfg.smtp_timeout) == 0))
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	if (fd < 0)
		g_set_error(err, LB_ERROR, EX_TEMPFAIL,
			    "relay %s: cannot connect: %s", s->relay,
			    g_strerror(saved));
out:
	if (res != NULL)
		freeaddrinfo(res);
	return fd;
}

/*
 * set_nodelay: TCP_NODELAY on the session's socket, found through
 * libetpan's mailstream.  Without it each command waits for the relay's
 * delayed ACK (about 40 ms a transaction).  A failure costs only speed.
 */
static void
set_nodelay(struct smtp_session *s)
{
	int fd = smtp_fd(s), on = 1;

	if (fd < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) < 0)
		log_warn("relay=%s status=no_tcp_nodelay error=\"%s\"",
			 s->relay, g_strerror(errno));
}

/*
 * helo_name_valid: whether name can follow EHLO: a domain name of
 * letters, digits, '-' and '.', or an address literal "[...]".
 */
static int
helo_name_valid(const char *name)
{
	size_t len = strlen(name);

	/* An address literal. */
	if (name[0] == '[')
		return len > 2 && len <= 255 && name[len - 1] == ']' &&
		       strspn(name + 1, "0123456789abcdefABCDEF:.IPv") ==
			   len - 2;

	/* A domain name: no empty label at either end or inside. */
	return len > 0 && len <= 255 &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") == len &&
	       name[0] != '.' && name[len - 1] != '.' &&
	       strstr(name, "..") == NULL;
}

/*
 * helo_name: the name for EHLO: cfg.smtp_helo_name when set, else this
 * machine's host name when it is fully qualified, else the address
 * literal of our end of the connection (RFC 5321 4.1.4: a name that is
 * not fully qualified is refused by many relays).  Returns a new string,
 * or NULL with err set (EX_CONFIG for a bad setting).
 */
static char *
helo_name(struct smtp_session *s, GError **err)
{
	const char *host = g_get_host_name();
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char addr[NI_MAXHOST];
	int r;

	/* The configured name. */
	if (cfg.smtp_helo_name != NULL && *cfg.smtp_helo_name != '\0') {
		if (helo_name_valid(cfg.smtp_helo_name))
			return g_strdup(cfg.smtp_helo_name);
		g_set_error(err, LB_ERROR, EX_CONFIG,
			    "smtp_helo_name: bad value \"%s\" (a fully "
			    "qualified domain name or an address literal)",
			    cfg.smtp_helo_name);
		return NULL;
	}

	/* The host name, when it is fully qualified. */
	if (strchr(host, '.') != NULL && host[0] != '[' &&
	    helo_name_valid(host))
		return g_strdup(host);

	/* Else the address literal of the local end. */
	if (getsockname(smtp_fd(s), (struct sockaddr *)&ss, &len) < 0 ||
	    (r = getnameinfo((struct sockaddr *)&ss, len, addr, sizeof(addr),
			     NULL, 0, NI_NUMERICHOST)) != 0) {
		g_set_error(err, LB_ERROR, EX_TEMPFAIL,
			    "relay %s: no name for EHLO: host name \"%s\" is "
			    "not fully qualified and the local address is "
			    "unknown; set smtp_helo_name",
			    s->relay, host);
		return NULL;
	}
	if (ss.ss_family == AF_INET6)
		return g_strdup_printf("[IPv6:%s]", addr);
	return g_strdup_printf("[%s]", addr);
}

/*
 * read_reply: read one reply, all its lines, into s->reply (the text
 * after each code, lines joined with '\n').  Returns the reply code, or 0
 * when the connection broke, timed out or sent something that is not an
 * SMTP reply.
 */
static int
read_reply(struct smtp_session *s)
{
	char *line;
	int code = 0;

	g_string_truncate(s->reply, 0);
	for (;;) {
		/* One line, within the stream's timeout. */
		line =
		    mailstream_read_line_remove_eol(s->smtp->stream, s->line);
		if (line == NULL)
			return 0;

		/* "NNN text", or "NNN-text" when more lines follow. */
		if (!g_ascii_isdigit(line[0]) || !g_ascii_isdigit(line[1]) ||
		    !g_ascii_isdigit(line[2]) ||
		    (line[3] != ' ' && line[3] != '-' && line[3] != '\0'))
			return 0;
		code = (line[0] - '0') * 100 + (line[1] - '0') * 10 +
		       (line[2] - '0');
		if (s->reply->len > 0)
			g_string_append_c(s->reply, '\n');
		g_string_append(s->reply, line[3] != '\0' ? line + 4 : "");
		if (s->reply->len > REPLY_MAX)
			return 0;
		if (line[3] != '-')
			break;
	}
	if (code < 200 || code > 599)
		return 0;
	return code;
}

/*
 * command: write line (with its CRLF) and read the reply.  Returns the
 * reply code, or 0 as read_reply() does.
 */
static int
command(struct smtp_session *s, const char *line)
{
	mailstream *stream = s->smtp->stream;

	if (mailstream_write(stream, line, strlen(line)) < 0 ||
	    mailstream_flush(stream) < 0)
		return 0;
	return read_reply(s);
}

/*
 * parse_ehlo: the extensions of an EHLO reply into the fields libetpan
 * consults: esmtp (SIZE, STARTTLS, PIPELINING, 8BITMIME) and
 * smtp_max_msg_size.  The first line is the greeting, not an extension.
 */
static void
parse_ehlo(struct smtp_session *s)
{
	char **lines = g_strsplit(s->reply->str, "\n", -1);
	int esmtp = MAILSMTP_ESMTP;
	size_t i;

	s->smtp->smtp_max_msg_size = 0;
	for (i = 1; lines[i] != NULL; i++) {
		char **word = g_strsplit_set(lines[i], " \t", 3);

		if (word[0] == NULL) {
			g_strfreev(word);
			continue;
		}
		if (g_ascii_strcasecmp(word[0], "SIZE") == 0) {
			esmtp |= MAILSMTP_ESMTP_SIZE;
			if (word[1] != NULL)
				s->smtp->smtp_max_msg_size =
				    g_ascii_strtoull(word[1], NULL, 10);
		} else if (g_ascii_strcasecmp(word[0], "STARTTLS") == 0)
			esmtp |= MAILSMTP_ESMTP_STARTTLS;
		else if (g_ascii_strcasecmp(word[0], "PIPELINING") == 0)
			esmtp |= MAILSMTP_ESMTP_PIPELINING;
		else if (g_ascii_strcasecmp(word[0], "8BITMIME") == 0)
			esmtp |= MAILSMTP_ESMTP_8BITMIME;
		g_strfreev(word);
	}
	s->smtp->esmtp = esmtp;
	s->smtp->auth = MAILSMTP_AUTH_CHECKED;
	g_strfreev(lines);
}

/*
 * greet: EHLO name, or HELO name when the relay does not know EHLO.
 * Returns 0, or -1 with err set (EX_TEMPFAIL).
 */
static int
greet(struct smtp_session *s, const char *name, GError **err)
{
	char *line = NULL, *why = NULL;
	int code, rc = -1;

	/* EHLO first. */
	line = g_strdup_printf("EHLO %s\r\n", name);
	code = command(s, line);
	if (code == 0) {
		lost(s, "EHLO", 0, err);
		goto out;
	}
	if (code / 100 == 2) {
		parse_ehlo(s);
		rc = 0;
		goto out;
	}

	/* HELO when the relay does not know EHLO (500, 502, 504). */
	if (code == 500 || code == 502 || code == 504) {
		g_free(line);
		line = g_strdup_printf("HELO %s\r\n", name);
		code = command(s, line);
		if (code == 0) {
			lost(s, "HELO", 0, err);
			goto out;
		}
		if (code / 100 == 2) {
			s->smtp->esmtp = 0;
			s->smtp->smtp_max_msg_size = 0;
			rc = 0;
			goto out;
		}
	}

	/* Refused. */
	why = log_clean(s->reply->str, 200);
	g_set_error(err, LB_ERROR, EX_TEMPFAIL,
		    "relay %s refused EHLO %s: %d %s", s->relay, name, code,
		    why);
out:
	g_free(why);
	g_free(line);
	return rc;
}

/*
 * tls_callback: libetpan's hook before the handshake: send the relay's
 * name as SNI (not for an address, RFC 6066 3).
 */
static void
tls_callback(struct mailstream_ssl_context *ctx, void *data)
{
	char *host = data;

	if (!g_hostname_is_ip_address(host))
		mailstream_ssl_set_server_name(ctx, host);
}

/*
 * verify_peer: check the relay's certificate chain against
 * cfg.smtp_tls_ca_file and its leaf against s->host.  Returns 0, or -1
 * with err set: EX_CONFIG when the CA file has no certificate,
 * EX_TEMPFAIL when the relay's certificate does not verify.
 */
static int
verify_peer(struct smtp_session *s, GError **err)
{
	gnutls_x509_trust_list_t trust = NULL;
	gnutls_x509_crt_t crts[CHAIN_MAX];
	gnutls_datum_t why = {NULL, 0};
	carray *chain = NULL;
	unsigned int n = 0, i, status = 0;
	int r, rc = -1;

	/* The trusted authorities. */
	r = gnutls_x509_trust_list_init(&trust, 0);
	if (r >= 0)
		r = gnutls_x509_trust_list_add_trust_file(
		    trust, cfg.smtp_tls_ca_file, NULL, GNUTLS_X509_FMT_PEM, 0,
		    0);
	if (r <= 0) {
		g_set_error(err, LB_ERROR, EX_CONFIG,
			    "smtp_tls_ca_file: %s: %s", cfg.smtp_tls_ca_file,
			    r < 0 ? gnutls_strerror(r) : "no certificates");
		goto out;
	}

	/* The relay's chain, leaf first. */
	chain = mailstream_get_certificate_chain(s->smtp->stream);
	for (i = 0; chain != NULL && i < carray_count(chain) && n < CHAIN_MAX;
	     i++) {
		MMAPString *der = carray_get(chain, i);
		gnutls_datum_t d = {(unsigned char *)der->str,
				    (unsigned int)der->len};

		if (gnutls_x509_crt_init(&crts[n]) < 0)
			break;
		if (gnutls_x509_crt_import(crts[n], &d, GNUTLS_X509_FMT_DER) <
		    0) {
			gnutls_x509_crt_deinit(crts[n]);
			break;
		}
		n++;
	}
	if (n == 0) {
		g_set_error(err, LB_ERROR, EX_TEMPFAIL,
			    "relay %s: no usable certificate after STARTTLS",
			    s->relay);
		goto out;
	}

	/* A chain to a trusted authority, every certificate in its time. */
	r = gnutls_x509_trust_list_verify_crt(trust, crts, n, 0, &status, NULL);
	if (r < 0 || status != 0) {
		if (r >= 0)
			gnutls_certificate_verification_status_print(
			    status, GNUTLS_CRT_X509, &why, 0);
		g_set_error(err, LB_ERROR, EX_TEMPFAIL,
			    "relay %s: certificate not trusted (CA file %s): "
			    "%s",
			    s->relay, cfg.smtp_tls_ca_file,
			    r < 0 ? gnutls_strerror(r)
				  : (const char *)why.data);
		goto out;
	}

	/* Made out to the relay's name. */
	if (!gnutls_x509_crt_check_hostname(crts[0], s->host)) {
		g_set_error(err, LB_ERROR, EX_TEMPFAIL,
			    "relay %s: certificate is not for \"%s\"", s->relay,
			    s->host);
		goto out;
	}
	rc = 0;
out:
	for (i = 0; i < n; i++)
		gnutls_x509_crt_deinit(crts[i]);
	if (chain != NULL)
		mailstream_certificate_chain_free(chain);
	if (trust != NULL)
		gnutls_x509_trust_list_deinit(trust, 1);
	gnutls_free(why.data);
	return rc;
}

/*
 * start_tls: STARTTLS, the handshake, the certificate check and EHLO
 * again.  Returns 0, or -1 with err set.
 */
static int
start_tls(struct smtp_session *s, const char *name, GError **err)
{
	char *why = NULL;
	int r, rc = -1;

	/* The relay must offer it. */
	if ((s->smtp->esmtp & MAILSMTP_ESMTP_STARTTLS) == 0) {
		g_set_error(err, LB_ERROR, EX_TEMPFAIL,
			    "relay %s does not offer STARTTLS "
			    "(smtp_starttls = required)",
			    s->relay);
		goto out;
	}

	/*
	 * The command and the handshake: libetpan sends STARTTLS itself (so
	 * not mailesmtp_starttls() first) and bounds the handshake by the
	 * session timeout.
	 */
	r = mailsmtp_socket_starttls_with_callback(s->smtp, tls_callback,
						   s->host);
	if (r != MAILSMTP_NO_ERROR) {
		if (r == MAILSMTP_ERROR_STREAM || r == MAILSMTP_ERROR_SSL ||
		    s->smtp->response_code == 0) {
			lost(s, "STARTTLS", 0, err);
			g_prefix_error(err, "TLS handshake failed: ");
			goto out;
		}
		why = log_clean(s->smtp->response, 200);
		g_set_error(err, LB_ERROR, EX_TEMPFAIL,
			    "relay %s refused STARTTLS: %d %s", s->relay,
			    s->smtp->response_code, why);
		goto out;
	}

	/* Whose certificate, then EHLO anew: the relay forgot the first. */
	eof_wrap(s->smtp->stream);
	if (verify_peer(s, err) < 0 || greet(s, name, err) < 0)
		goto out;
	rc = 0;
out:
	g_free(why);
	return rc;
}

struct smtp_session *
smtp_open(GError **err)
{
	struct smtp_session *s = NULL;
	mailstream *stream;
	char *name = NULL, *why = NULL;
	int fd, r, ok = 0;

	/* Settings loaded, and SIGPIPE cannot kill us. */
	g_assert(cfg.smtp_relay_host != NULL && cfg.smtp_starttls != NULL);
	ignore_sigpipe();

	/* The session. */
	s = g_new0(struct smtp_session, 1);
	s->host = g_strdup(cfg.smtp_relay_host);
	s->relay = g_strdup_printf("%s:%d", s->host, cfg.smtp_relay_port);
	s->reply = g_string_new(NULL);
	s->line = mmap_string_new("");
	s->smtp = mailsmtp_new(0, NULL);
	if (s->line == NULL || s->smtp == NULL)
		g_error("smtp: out of memory");
	mailsmtp_set_timeout(s->smtp, cfg.smtp_timeout);

	/* Connect; the stream's timeout bounds every read and write. */
	fd = connect_relay(s, cfg.smtp_relay_port, err);
	if (fd < 0)
		goto out;
	stream = mailstream_socket_open_timeout(fd, cfg.smtp_timeout);
	if (stream == NULL)
		g_error("smtp: out of memory");
	eof_wrap(stream);

	/* The greeting (on failure libetpan closes the stream). */
	r = mailsmtp_connect(s->smtp, stream);
	if (r != MAILSMTP_NO_ERROR) {
		s->broken = 1;
		if (s->smtp->response_code == 0) {
			g_set_error(err, LB_ERROR, EX_TEMPFAIL,
				    "relay %s: no greeting within %d s",
				    s->relay, cfg.smtp_timeout);
			goto out;
		}
		why = log_clean(s->smtp->response, 200);
		g_set_error(err, LB_ERROR, EX_TEMPFAIL,
			    "relay %s refused the connection: %d %s", s->relay,
			    s->smtp->response_code, why);
		goto out;
	}
	set_nodelay(s);

	/* EHLO, then TLS when required. */
	name = helo_name(s, err);
	if (name == NULL || greet(s, name, err) < 0)
		goto out;
	if (strcmp(cfg.smtp_starttls, "required") == 0 &&
	    start_tls(s, name, err) < 0)
		goto out;
	log_debug("relay=%s helo=%s esmtp=%s tls=%s size_limit=%zu "
		  "status=connected",
		  s->relay, name, s->smtp->esmtp != 0 ? "yes" : "no",
		  strcmp(cfg.smtp_starttls, "required") == 0 ? "yes" : "no",
		  s->smtp->smtp_max_msg_size);
	ok = 1;
out:
	if (!ok) {
		smtp_close(s);
		s = NULL;
	}
	g_free(name);
	g_free(why);
	return s;
}

/*
 * lost: the connection is gone, or the relay answered code 421 and will
 * close it: close it, mark the session broken and set err (EX_TEMPFAIL).
 * Returns -1.
 */
static int
lost(struct smtp_session *s, const char *after, int code, GError **err)
{
	char *why = NULL;

	/* 421: the relay said why. */
	if (code == 421) {
		why = log_clean(s->smtp->response, 200);
		g_set_error(err, LB_ERROR, EX_TEMPFAIL,
			    "relay %s is closing the connection (after %s): "
			    "421 %s",
			    s->relay, after, why);
	} else
		g_set_error(err, LB_ERROR, EX_TEMPFAIL,
			    "relay %s: connection lost or timed out (after %s)",
			    s->relay, after);

	/* Nothing more is written to it, not even QUIT. */
	if (s->smtp->stream != NULL) {
		mailstream_close(s->smtp->stream);
		s->smtp->stream = NULL;
	}
	s->broken = 1;
	g_free(why);
	return -1;
}

/*
 * reply_code: the reply code of the command libetpan just ran with
 * result r; 0 when the connection broke (libetpan then leaves the code of
 * an earlier reply in response_code).
 */
static int
reply_code(struct smtp_session *s, int r)
{
	int code = s->smtp->response_code;

	if (r == MAILSMTP_ERROR_STREAM || code < 200 || code > 599)
		return 0;
	return code;
}

/*
 * set_result: res gets code, its class (2xx sent, 5xx permanent, anything
 * else temporary) and text as one line: line ends become spaces, other
 * control characters '?'.
 */
static void
set_result(struct smtp_result *res, int code, const char *text)
{
	size_t i;

	res->code = code;
	res->status = code / 100 == 2	? SMTP_SENT
		      : code / 100 == 5 ? SMTP_PERMANENT
					: SMTP_TEMPORARY;
	g_strlcpy(res->text, text != NULL ? text : "", sizeof(res->text));
	g_strchomp(res->text);
	for (i = 0; res->text[i] != '\0'; i++)
		if (res->text[i] == '\n' || res->text[i] == '\r')
			res->text[i] = ' ';
		else if ((unsigned char)res->text[i] < 0x20 ||
			 res->text[i] == 0x7f)
			res->text[i] = '?';
}

/*
 * wire_size: the size of msg as libetpan sends it, every line ending in
 * CRLF (bare LF and bare CR become CRLF, a last line gets one), without
 * dot-stuffing: what RFC 1870 asks for in SIZE=.
 */
static gsize
wire_size(const char *msg, gsize len)
{
	gsize i, n = 0;

	for (i = 0; i < len; i++) {
		if (msg[i] == '\r') {
			n += 2;
			if (i + 1 < len && msg[i + 1] == '\n')
				i++;
		} else if (msg[i] == '\n')
			n += 2;
		else
			n++;
	}
	if (len == 0 || (msg[len - 1] != '\n' && msg[len - 1] != '\r'))
		n += 2;
	return n;
}

/*
 * without_final_eol: len less the message's final line end, so that
 * mailsmtp_data_message(), which always appends "\r\n.\r\n", does not add
 * an empty line.
 */
static gsize
without_final_eol(const char *msg, gsize len)
{
	if (len >= 2 && msg[len - 2] == '\r' && msg[len - 1] == '\n')
		return len - 2;
	if (len >= 1 && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
		return len - 1;
	return len;
}

int
smtp_send(struct smtp_session *s, const char *envelope_from,
	  const char *const *rcpts, int nrcpt, const char *msg, gsize len,
	  struct smtp_result *results, GError **err)
{
	gboolean *accepted = NULL;
	int i, r, code, valid = 0, naccepted = 0, rc = -1;

	/* Sanity checks. */
	g_assert(s != NULL && envelope_from != NULL && nrcpt >= 0);
	g_assert(nrcpt == 0 || (rcpts != NULL && results != NULL));
	g_assert(msg != NULL || len == 0);

	/* Until the relay answers, every recipient is temporary. */
	for (i = 0; i < nrcpt; i++)
		set_result(&results[i], 0, "4.4.1 no answer from the relay");
	if (s->broken) {
		rc = lost(s, "an earlier error", 0, err);
		goto out;
	}

	/* Invalid addresses never reach libetpan's unchecked snprintf. */
	if (!smtp_address_valid(envelope_from, 1)) {
		for (i = 0; i < nrcpt; i++)
			set_result(&results[i], 0,
				   "5.1.7 invalid sender address, not sent");
		for (i = 0; i < nrcpt; i++)
			results[i].status = SMTP_PERMANENT;
		rc = 0;
		goto out;
	}
	for (i = 0; i < nrcpt; i++) {
		if (smtp_address_valid(rcpts[i], 0)) {
			valid++;
			continue;
		}
		set_result(&results[i], 0,
			   "5.1.3 invalid recipient address, not sent");
		results[i].status = SMTP_PERMANENT;
	}
	if (valid == 0) {
		rc = 0;
		goto out;
	}

	/* MAIL FROM, with SIZE= when the relay takes it. */
	r = mailesmtp_mail_size(s->smtp, envelope_from, 0, NULL,
				wire_size(msg, len));
	code = reply_code(s, r);
	if (code == 0) {
		rc = lost(s, "MAIL FROM", 0, err);
		goto out;
	}
	if (code / 100 != 2) {
		for (i = 0; i < nrcpt; i++)
			if (smtp_address_valid(rcpts[i], 0))
				set_result(&results[i], code,
					   s->smtp->response);
		rc = code == 421 ? lost(s, "MAIL FROM", code, err) : 0;
		goto out;
	}

	/* RCPT TO, one at a time: each recipient gets its own answer. */
	accepted = g_new0(gboolean, nrcpt);
	for (i = 0; i < nrcpt; i++) {
		if (!smtp_address_valid(rcpts[i], 0))
			continue;
		r = mailesmtp_rcpt(s->smtp, rcpts[i], 0, NULL);
		code = reply_code(s, r);
		if (code == 0) {
			rc = lost(s, "RCPT TO", 0, err);
			goto out;
		}
		if (code / 100 == 2) {
			accepted[i] = TRUE;
			naccepted++;
		} else
			set_result(&results[i], code, s->smtp->response);
		if (code == 421) {
			rc = lost(s, "RCPT TO", code, err);
			goto out;
		}
	}

	/* Nobody accepted: end the transaction, send nothing. */
	if (naccepted == 0) {
		r = mailsmtp_reset(s->smtp);
		code = reply_code(s, r);
		rc = code == 0 || code == 421 ? lost(s, "RSET", code, err) : 0;
		goto out;
	}

	/* DATA; a refusal applies to every accepted recipient. */
	r = mailsmtp_data(s->smtp);
	code = reply_code(s, r);
	if (code == 0) {
		rc = lost(s, "DATA", 0, err);
		goto out;
	}
	if (code != 354) {
		for (i = 0; i < nrcpt; i++)
			if (accepted[i])
				set_result(&results[i], code,
					   s->smtp->response);
		if (code == 421) {
			rc = lost(s, "DATA", code, err);
			goto out;
		}
		r = mailsmtp_reset(s->smtp);
		code = reply_code(s, r);
		rc = code == 0 || code == 421 ? lost(s, "RSET", code, err) : 0;
		goto out;
	}

	/*
	 * The message; its reply is every accepted recipient's outcome.
	 * With no reply the message may or may not have been taken: the
	 * recipients stay temporary (a retry may send it twice).
	 */
	r = mailsmtp_data_message(s->smtp, msg, without_final_eol(msg, len));
	code = reply_code(s, r);
	if (code == 0) {
		rc = lost(s, "the message", 0, err);
		goto out;
	}
	for (i = 0; i < nrcpt; i++)
		if (accepted[i])
			set_result(&results[i], code, s->smtp->response);
	rc = code == 421 ? lost(s, "the message", code, err) : 0;
out:
	if (nrcpt > 0 && log_verbose()) {
		int n[6] = {0};

		for (i = 0; i < nrcpt; i++)
			n[results[i].status]++;
		log_debug("relay=%s rcpts=%d sent=%d deferred=%d bounced=%d "
			  "size=%" G_GSIZE_FORMAT " status=%s",
			  s->relay, nrcpt, n[SMTP_SENT], n[SMTP_TEMPORARY],
			  n[SMTP_PERMANENT], len, rc == 0 ? "done" : "lost");
	}
	g_free(accepted);
	return rc;
}

void
smtp_close(struct smtp_session *s)
{
	if (s == NULL)
		return;

	/* QUIT, and wait for its reply, while the connection lasts. */
	if (s->smtp != NULL && s->smtp->stream != NULL && !s->broken) {
		command(s, "QUIT\r\n");
		mailstream_close(s->smtp->stream);
		s->smtp->stream = NULL;
	}

	/* Free. */
	if (s->smtp != NULL)
		mailsmtp_free(s->smtp);
	if (s->line != NULL)
		mmap_string_free(s->line);
	g_string_free(s->reply, TRUE);
	g_free(s->host);
	g_free(s->relay);
	g_free(s);
}

int
smtp_address_valid(const char *addr, int null_ok)
{
	const char *at;
	size_t i, len;

	/* The null sender. */
	if (addr == NULL)
		return 0;
	len = strlen(addr);
	if (len == 0)
		return null_ok;
	if (len > SMTP_ADDRESS_MAX)
		return 0;

	/* Printable ASCII only: no CR, LF, space, control or 8-bit byte. */
	for (i = 0; i < len; i++) {
		unsigned char c = addr[i];

		if (c <= ' ' || c >= 0x7f || c == '<' || c == '>')
			return 0;
	}

	/* One '@', with a local part before it and a domain after it. */
	at = strchr(addr, '@');
	return at != NULL && at != addr && at[1] != '\0' &&
	       strchr(at + 1, '@') == NULL;
}

int
smtp_fd(struct smtp_session *s)
{
	if (s == NULL || s->smtp == NULL || s->smtp->stream == NULL)
		return -1;
	return mailstream_low_get_fd(mailstream_get_low(s->smtp->stream));
}
