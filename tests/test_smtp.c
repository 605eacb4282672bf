/*
 * test_smtp: the SMTP client session (smtp.c) against tests/smtp_sink.py,
 * a real SMTP server that keeps what it is sent: per-recipient replies,
 * messages arriving byte-exact, invalid addresses never reaching the
 * relay, a relay that dies or stalls, TCP_NODELAY, the EHLO name, and
 * STARTTLS with the certificate checked.
 *
 * Most tests use the sink tests/run.sh started (LB_TEST_SMTP_PORT and
 * LB_TEST_SMTP_DIR), or else one started here for the whole run; the
 * tests that kill a sink or need TLS start their own.  Each message is
 * found again by its exact envelope, which holds a sender unique to the
 * test.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "../gateway/config.h"
#include "../gateway/lberror.h"
#include "../gateway/smtp.h"
#include "harness.h"

/* A running smtp_sink.py: pid 0 when run.sh owns it. */
struct sink {
	GPid pid;
	int port;
	char *dir;
};

static struct sink shared; /* most tests */
static struct sink tls;	   /* the STARTTLS tests */
static char *tls_dir;	   /* its certificate and key */

static void sink_start(struct sink *k, const char *cert, const char *key);
static int sink_stop(struct sink *k);
static void shared_setup(void);
static void shared_teardown(void);
static void make_cert(const char *cert_path, const char *key_path);
static void tls_setup(void);
static void tls_teardown(void);
static void use_cfg(int port, const char *extra);
static char *uniq(const char *tag);
static char *sink_find(const struct sink *k, const char *env, gsize *len);
static int sink_count(const struct sink *k, const char *env);
static char *sink_log(const struct sink *k);
static struct smtp_session *open_ok(void);
static int free_port(void);

/*
 * sink_start: run smtp_sink.py on port 0 in a new directory (with TLS
 * when cert is set) and read the port from its first line.
 */
static void
sink_start(struct sink *k, const char *cert, const char *key)
{
	const char *top = g_getenv("LB_TEST_TOP");
	char *script, *argv[8], buf[64];
	struct pollfd pfd;
	GError *gerr = NULL;
	size_t n = 0;
	int out = -1, i = 0;

	/* The sink, in its own directory. */
	k->dir = g_dir_make_tmp("lbsink-XXXXXX", NULL);
	ck_assert(k->dir != NULL);
	script = g_build_filename(top != NULL ? top : ".", "tests",
				  "smtp_sink.py", NULL);
	argv[i++] = (char *)"/usr/bin/python3";
	argv[i++] = script;
	argv[i++] = (char *)"0";
	argv[i++] = k->dir;
	if (cert != NULL) {
		argv[i++] = (char *)"--tls";
		argv[i++] = (char *)cert;
		argv[i++] = (char *)key;
	}
	argv[i] = NULL;
	if (!g_spawn_async_with_pipes(NULL, argv, NULL,
				      G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
				      &k->pid, NULL, &out, NULL, &gerr))
		ck_abort_msg("smtp_sink.py: %s", gerr->message);

	/* Its first line: "port=N". */
	pfd.fd = out;
	pfd.events = POLLIN;
	while (n < sizeof(buf) - 1 && poll(&pfd, 1, 10000) == 1 &&
	       read(out, buf + n, 1) == 1 && buf[n] != '\n')
		n++;
	buf[n] = '\0';
	close(out);
	ck_assert_msg(sscanf(buf, "port=%d", &k->port) == 1,
		      "smtp_sink.py said \"%s\"", buf);
	g_free(script);
}

/*
 * sink_stop: SIGTERM, wait for the exit, remove the directory.  Returns
 * the wait status.
 */
static int
sink_stop(struct sink *k)
{
	const char *name;
	GDir *d;
	int status = -1;

	/* The process. */
	if (k->pid > 0) {
		kill(k->pid, SIGTERM);
		waitpid(k->pid, &status, 0);
		g_spawn_close_pid(k->pid);
		k->pid = 0;
	}

	/* Its directory. */
	d = g_dir_open(k->dir, 0, NULL);
	while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
		char *p = g_build_filename(k->dir, name, NULL);

		unlink(p);
		g_free(p);
	}
	if (d != NULL)
		g_dir_close(d);
	rmdir(k->dir);
	g_free(k->dir);
	k->dir = NULL;
	return status;
}

static void
shared_setup(void)
{
	const char *port = g_getenv("LB_TEST_SMTP_PORT");
	const char *dir = g_getenv("LB_TEST_SMTP_DIR");

	if (port != NULL && dir != NULL) {
		shared.port = atoi(port);
		shared.dir = g_strdup(dir);
		return;
	}
	sink_start(&shared, NULL, NULL);
}

static void
shared_teardown(void)
{
	if (shared.pid > 0)
		sink_stop(&shared);
	g_free(shared.dir);
	shared.dir = NULL;
}

/*
 * make_cert: a self-signed certificate for "localhost" (also its own CA)
 * and its key, as PEM files.
 */
static void
make_cert(const char *cert_path, const char *key_path)
{
	gnutls_x509_privkey_t key;
	gnutls_x509_crt_t crt;
	gnutls_datum_t pem = {NULL, 0};
	unsigned char serial[] = {0x01, 0x23};
	time_t now = time(NULL);

	/* The key. */
	ck_assert_int_ge(gnutls_x509_privkey_init(&key), 0);
	ck_assert_int_ge(gnutls_x509_privkey_generate(
			     key, GNUTLS_PK_ECDSA,
			     GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1),
			     0),
			 0);

	/* The certificate. */
	ck_assert_int_ge(gnutls_x509_crt_init(&crt), 0);
	gnutls_x509_crt_set_version(crt, 3);
	gnutls_x509_crt_set_serial(crt, serial, sizeof(serial));
	gnutls_x509_crt_set_activation_time(crt, now - 3600);
	gnutls_x509_crt_set_expiration_time(crt, now + 86400);
	gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0,
				      "localhost", 9);
	gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME,
					     "localhost", 9, GNUTLS_FSAN_SET);
	gnutls_x509_crt_set_basic_constraints(crt, 1, -1);
	gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE |
					       GNUTLS_KEY_KEY_CERT_SIGN);
	gnutls_x509_crt_set_key(crt, key);
	ck_assert_int_ge(
	    gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0), 0);

	/* Both as PEM. */
	ck_assert_int_ge(
	    gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &pem), 0);
	ck_assert(g_file_set_contents(cert_path, (const char *)pem.data,
				      pem.size, NULL));
	gnutls_free(pem.data);
	ck_assert_int_ge(
	    gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &pem), 0);
	ck_assert(g_file_set_contents(key_path, (const char *)pem.data,
				      pem.size, NULL));
	gnutls_free(pem.data);
	gnutls_x509_crt_deinit(crt);
	gnutls_x509_privkey_deinit(key);
}

static void
tls_setup(void)
{
	char *cert, *key;

	tls_dir = g_dir_make_tmp("lbtls-XXXXXX", NULL);
	ck_assert(tls_dir != NULL);
	cert = g_build_filename(tls_dir, "cert.pem", NULL);
	key = g_build_filename(tls_dir, "key.pem", NULL);
	make_cert(cert, key);
	sink_start(&tls, cert, key);
	g_free(cert);
	g_free(key);
}

static void
tls_teardown(void)
{
	char *p;

	sink_stop(&tls);
	p = g_build_filename(tls_dir, "cert.pem", NULL);
	unlink(p);
	g_free(p);
	p = g_build_filename(tls_dir, "key.pem", NULL);
	unlink(p);
	g_free(p);
	rmdir(tls_dir);
	g_free(tls_dir);
	tls_dir = NULL;
}

/* use_cfg: load a config with the relay on 127.0.0.1:port, plus extra. */
static void
use_cfg(int port, const char *extra)
{
	GError *err = NULL;
	char *path = NULL, *text;
	int fd = g_file_open_tmp("lbsmtp-XXXXXX.conf", &path, NULL);

	ck_assert(fd >= 0);
	close(fd);
	text = g_strdup_printf("[listbridge]\nsyslog_facility =\n"
			       "smtp_relay_host = 127.0.0.1\n"
			       "smtp_relay_port = %d\n%s\n",
			       port, extra != NULL ? extra : "");
	ck_assert(g_file_set_contents(path, text, -1, NULL));
	ck_assert_msg(cfg_load(path, &err) == 0, "%s", err->message);
	unlink(path);
	g_free(path);
	g_free(text);
}

/* uniq: a sender address no other test uses (g_free it). */
static char *
uniq(const char *tag)
{
	static int n;

	return g_strdup_printf("%s-%d-%d@sender.example", tag, (int)getpid(),
			       ++n);
}

/*
 * sink_find: the saved message whose .env file is exactly env; its bytes
 * (g_free) and length, or NULL.
 */
static char *
sink_find(const struct sink *k, const char *env, gsize *len)
{
	const char *name;
	char *found = NULL;
	GDir *d = g_dir_open(k->dir, 0, NULL);

	ck_assert(d != NULL);
	while (found == NULL && (name = g_dir_read_name(d)) != NULL) {
		char *p, *text = NULL;

		if (!g_str_has_suffix(name, ".env") || name[0] == '.')
			continue;
		p = g_build_filename(k->dir, name, NULL);
		if (g_file_get_contents(p, &text, NULL, NULL) &&
		    strcmp(text, env) == 0) {
			strcpy(p + strlen(p) - 4, ".eml");
			ck_assert(g_file_get_contents(p, &found, len, NULL));
		}
		g_free(text);
		g_free(p);
	}
	g_dir_close(d);
	return found;
}

/* sink_count: how many saved messages have exactly this .env. */
static int
sink_count(const struct sink *k, const char *env)
{
	const char *name;
	GDir *d = g_dir_open(k->dir, 0, NULL);
	int n = 0;

	ck_assert(d != NULL);
	while ((name = g_dir_read_name(d)) != NULL) {
		char *p, *text = NULL;

		if (!g_str_has_suffix(name, ".env") || name[0] == '.')
			continue;
		p = g_build_filename(k->dir, name, NULL);
		if (g_file_get_contents(p, &text, NULL, NULL) &&
		    strcmp(text, env) == 0)
			n++;
		g_free(text);
		g_free(p);
	}
	g_dir_close(d);
	return n;
}

/* sink_log: the sink's session.log (g_free it). */
static char *
sink_log(const struct sink *k)
{
	char *p = g_build_filename(k->dir, "session.log", NULL), *text = NULL;

	ck_assert(g_file_get_contents(p, &text, NULL, NULL));
	g_free(p);
	return text;
}

/* open_ok: smtp_open(), which must succeed. */
static struct smtp_session *
open_ok(void)
{
	GError *err = NULL;
	struct smtp_session *s = smtp_open(&err);

	ck_assert_msg(s != NULL, "smtp_open: %s", err->message);
	return s;
}

/* free_port: a local TCP port nobody listens on (just now). */
static int
free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	ck_assert(getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

/* Addresses: what may reach MAIL FROM or RCPT TO. */
static const struct {
	const char *addr;
	int null_ok, valid;
} addresses[] = {
    {"alice@example.org", 0, 1},
    {"Reply+AbCd23@lists.example.org", 0, 1},
    {"\"quoted\"@example.org", 0, 1},
    {"", 1, 1},
    {"", 0, 0},
    {"a@b@example.org", 0, 0},
    {"no-at-sign", 0, 0},
    {"@example.org", 0, 0},
    {"alice@", 0, 0},
    {"alice @example.org", 0, 0},
    {"alice@example.org\r\nRCPT TO:<evil@example.org>", 0, 0},
    {"alice@exa\nmple.org", 0, 0},
    {"alice\t@example.org", 0, 0},
    {"<alice@example.org>", 0, 0},
    {"alice>@example.org", 0, 0},
    {"j\xc3\xbcrgen@example.org", 0, 0},
};

START_TEST(address_validity)
{
	ck_assert_msg(
	    smtp_address_valid(addresses[_i].addr, addresses[_i].null_ok) ==
		addresses[_i].valid,
	    "\"%s\" null_ok=%d", addresses[_i].addr, addresses[_i].null_ok);
}
END_TEST

START_TEST(address_length_limit)
{
	char addr[SMTP_ADDRESS_MAX + 2];

	/* 254 bytes pass, 255 do not. */
	memset(addr, 'a', sizeof(addr) - 1);
	addr[sizeof(addr) - 1] = '\0';
	addr[10] = '@';
	ck_assert(!smtp_address_valid(addr, 0));
	addr[SMTP_ADDRESS_MAX] = '\0';
	ck_assert(smtp_address_valid(addr, 0));
	ck_assert(!smtp_address_valid(NULL, 1));
}
END_TEST

/* One connection carries three messages, each to its recipient. */
START_TEST(three_messages_one_connection)
{
	static const char msg[] = "Subject: one of three\r\n\r\nHello.\r\n";
	const char *rcpt[] = {"ok-three@rcpt.example"};
	struct smtp_session *s;
	struct smtp_result res[1];
	GError *err = NULL;
	char *from[3], *log, *conn = NULL;
	int i;

	use_cfg(shared.port, NULL);
	s = open_ok();
	for (i = 0; i < 3; i++) {
		char *env;

		from[i] = uniq("three");
		ck_assert_int_eq(
		    smtp_send(s, from[i], rcpt, 1, msg, strlen(msg), res, &err),
		    0);
		ck_assert_int_eq(res[0].status, SMTP_SENT);
		ck_assert_int_eq(res[0].code, 250);
		ck_assert_msg(g_str_has_prefix(res[0].text, "2.0.0 Ok"), "%s",
			      res[0].text);
		env = g_strdup_printf("%s\n%s\n", from[i], rcpt[0]);
		ck_assert_int_eq(sink_count(&shared, env), 1);
		g_free(env);
	}
	smtp_close(s);

	/* The sink saw all three MAIL commands on one connection. */
	log = sink_log(&shared);
	for (i = 0; i < 3; i++) {
		char *needle = g_strdup_printf("cmd=MAIL FROM:<%s>", from[i]);
		char *at = strstr(log, needle), *line, *c;

		ck_assert_msg(at != NULL, "no %s in session.log", needle);
		for (line = at; line > log && line[-1] != '\n'; line--)
			;
		c = g_strndup(line, at - line);
		ck_assert_msg(conn == NULL || strcmp(conn, c) == 0,
			      "\"%s\" vs \"%s\"", conn, c);
		g_free(conn);
		conn = c;
		g_free(needle);
		g_free(from[i]);
	}
	g_free(conn);
	g_free(log);
}
END_TEST

/* Each recipient gets its own reply; only the accepted one gets mail. */
START_TEST(per_recipient_replies)
{
	static const char msg[] = "Subject: three recipients\r\n\r\nHi.\r\n";
	const char *rcpts[] = {"ok@rcpt.example", "reject1@rcpt.example",
			       "temp1@rcpt.example"};
	struct smtp_result res[3];
	struct smtp_session *s;
	GError *err = NULL;
	char *from = uniq("per-rcpt"), *env, *eml;
	gsize len;

	use_cfg(shared.port, NULL);
	s = open_ok();
	ck_assert_int_eq(
	    smtp_send(s, from, rcpts, 3, msg, strlen(msg), res, &err), 0);
	ck_assert_int_eq(res[0].code, 250);
	ck_assert_int_eq(res[0].status, SMTP_SENT);
	ck_assert_int_eq(res[1].code, 550);
	ck_assert_int_eq(res[1].status, SMTP_PERMANENT);
	ck_assert_msg(g_str_has_prefix(res[1].text, "5.1.1 <reject1@"), "%s",
		      res[1].text);
	ck_assert_int_eq(res[2].code, 451);
	ck_assert_int_eq(res[2].status, SMTP_TEMPORARY);
	ck_assert_msg(g_str_has_prefix(res[2].text, "4.3.0 <temp1@"), "%s",
		      res[2].text);

	/* The envelope lists ok@ alone. */
	env = g_strdup_printf("%s\nok@rcpt.example\n", from);
	eml = sink_find(&shared, env, &len);
	ck_assert_msg(eml != NULL, "no message with envelope %s", env);
	ck_assert_int_eq(len, strlen(msg));
	ck_assert(memcmp(eml, msg, len) == 0);
	smtp_close(s);
	g_free(eml);
	g_free(env);
	g_free(from);
}
END_TEST

/* Messages as given and as they must arrive (CRLF, dots unstuffed). */
static const struct {
	const char *name, *in, *out;
} bodies[] = {
    {"dots", "Subject: dots\r\n\r\n.\r\n..\r\n.hidden\r\n...three\r\nend\r\n",
     "Subject: dots\r\n\r\n.\r\n..\r\n.hidden\r\n...three\r\nend\r\n"},
    {"dot last, no line end", "Subject: d\r\n\r\nbody\r\n.",
     "Subject: d\r\n\r\nbody\r\n.\r\n"},
    {"bare LF", "Subject: lf\n\nline 1\n.line 2\nline 3\n",
     "Subject: lf\r\n\r\nline 1\r\n.line 2\r\nline 3\r\n"},
    {"mixed LF and CRLF", "Subject: mix\r\n\nA\nB\r\nC\n",
     "Subject: mix\r\n\r\nA\r\nB\r\nC\r\n"},
    {"no final line end", "Subject: n\r\n\r\nlast",
     "Subject: n\r\n\r\nlast\r\n"},
    {"bare CR", "Subject: cr\r\n\r\na\rb\r\nc\r",
     "Subject: cr\r\n\r\na\r\nb\r\nc\r\n"},
    {"empty lines at the end", "Subject: e\r\n\r\nbody\r\n\r\n\r\n",
     "Subject: e\r\n\r\nbody\r\n\r\n\r\n"},
    {"8bit", "Subject: 8\r\n\r\nGr\xc3\xbc\xc3\x9f\x65 aus K\xc3\xb6ln\r\n",
     "Subject: 8\r\n\r\nGr\xc3\xbc\xc3\x9f\x65 aus K\xc3\xb6ln\r\n"},
};

START_TEST(message_arrives_exact)
{
	const char *rcpt[] = {"ok-body@rcpt.example"};
	struct smtp_result res[1];
	struct smtp_session *s;
	GError *err = NULL;
	char *from = uniq("body"), *env, *eml, *log, *size;
	gsize len;

	use_cfg(shared.port, NULL);
	s = open_ok();
	ck_assert_int_eq(smtp_send(s, from, rcpt, 1, bodies[_i].in,
				   strlen(bodies[_i].in), res, &err),
			 0);
	ck_assert_int_eq(res[0].status, SMTP_SENT);
	smtp_close(s);

	/* Byte for byte. */
	env = g_strdup_printf("%s\n%s\n", from, rcpt[0]);
	eml = sink_find(&shared, env, &len);
	ck_assert_msg(eml != NULL, "%s: not saved", bodies[_i].name);
	ck_assert_msg(len == strlen(bodies[_i].out) &&
			  memcmp(eml, bodies[_i].out, len) == 0,
		      "%s: got \"%s\"", bodies[_i].name,
		      g_strescape(eml, NULL));

	/* SIZE= announced the size on the wire. */
	log = sink_log(&shared);
	size = g_strdup_printf("cmd=MAIL FROM:<%s> SIZE=%zu reply=250", from,
			       strlen(bodies[_i].out));
	ck_assert_msg(strstr(log, size) != NULL, "%s: no \"%s\"",
		      bodies[_i].name, size);
	g_free(size);
	g_free(log);
	g_free(eml);
	g_free(env);
	g_free(from);
}
END_TEST

/* Invalid recipients are refused here and never reach the relay. */
START_TEST(invalid_addresses_not_sent)
{
	static const char msg[] = "Subject: invalid\r\n\r\nx\r\n";
	const char *rcpts[] = {
	    "bad-1@rcpt.example\r\nRCPT TO:<bad-evil@rcpt.example>",
	    "bad-2 space@rcpt.example",
	    "bad-3-no-at",
	    "ok-valid@rcpt.example",
	    "",
	    "bad-4@two@rcpt.example",
	    "<bad-5@rcpt.example>",
	};
	struct smtp_result res[G_N_ELEMENTS(rcpts)];
	struct smtp_session *s;
	GError *err = NULL;
	char *from = uniq("invalid"), *env, *log;
	size_t i;

	use_cfg(shared.port, NULL);
	s = open_ok();
	ck_assert_int_eq(smtp_send(s, from, rcpts, G_N_ELEMENTS(rcpts), msg,
				   strlen(msg), res, &err),
			 0);
	for (i = 0; i < G_N_ELEMENTS(rcpts); i++) {
		if (i == 3) {
			ck_assert_int_eq(res[i].status, SMTP_SENT);
			continue;
		}
		ck_assert_int_eq(res[i].status, SMTP_PERMANENT);
		ck_assert_int_eq(res[i].code, 0);
		ck_assert_msg(g_str_has_prefix(res[i].text, "5.1.3"), "%s",
			      res[i].text);
	}

	/* Only the valid one arrived, nothing of the others was sent. */
	env = g_strdup_printf("%s\nok-valid@rcpt.example\n", from);
	ck_assert_int_eq(sink_count(&shared, env), 1);
	smtp_close(s);
	log = sink_log(&shared);
	ck_assert_msg(strstr(log, "bad-") == NULL, "sent: %s",
		      strstr(log, "bad-"));
	g_free(log);
	g_free(env);
	g_free(from);
}
END_TEST

/* An invalid sender, or no valid recipient: nothing is sent at all. */
START_TEST(invalid_sender_sends_nothing)
{
	const char *rcpts[] = {"ok-a@rcpt.example", "ok-b@rcpt.example"};
	const char *bad[] = {"bad-6 nope", "bad-7-no-at"};
	struct smtp_result res[2];
	struct smtp_session *s;
	GError *err = NULL;
	char *from = uniq("bad-8"), *log;

	use_cfg(shared.port, NULL);
	s = open_ok();

	/* A sender with CR LF. */
	ck_assert_int_eq(smtp_send(s, "bad-9@x.example\r\nRSET", rcpts, 2, "x",
				   1, res, &err),
			 0);
	ck_assert_int_eq(res[0].status, SMTP_PERMANENT);
	ck_assert_int_eq(res[1].status, SMTP_PERMANENT);
	ck_assert_int_eq(res[1].code, 0);
	ck_assert_msg(g_str_has_prefix(res[0].text, "5.1.7"), "%s",
		      res[0].text);

	/* A valid sender, every recipient invalid: not even MAIL FROM. */
	ck_assert_int_eq(smtp_send(s, from, bad, 2, "x", 1, res, &err), 0);
	ck_assert_int_eq(res[0].status, SMTP_PERMANENT);
	ck_assert_int_eq(res[1].status, SMTP_PERMANENT);

	/* The session still works. */
	ck_assert_int_eq(smtp_send(s, "", rcpts, 1, "x", 1, res, &err), 0);
	ck_assert_int_eq(res[0].status, SMTP_SENT);
	smtp_close(s);
	log = sink_log(&shared);
	ck_assert_msg(strstr(log, "bad-") == NULL, "sent: %s",
		      strstr(log, "bad-"));
	g_free(log);
	g_free(from);
}
END_TEST

/* The null sender goes out as MAIL FROM:<>. */
START_TEST(null_sender)
{
	struct smtp_result res[1];
	struct smtp_session *s;
	GError *err = NULL;
	char *rcpt = g_strdup_printf("ok-null-%d@rcpt.example", (int)getpid());
	const char *rcpts[] = {rcpt};
	char *env = g_strdup_printf("\n%s\n", rcpt);

	use_cfg(shared.port, NULL);
	s = open_ok();
	ck_assert_int_eq(smtp_send(s, "", rcpts, 1, "Subject: bounce\r\n\r\n",
				   19, res, &err),
			 0);
	ck_assert_int_eq(res[0].status, SMTP_SENT);
	smtp_close(s);
	ck_assert_int_eq(sink_count(&shared, env), 1);
	g_free(env);
	g_free(rcpt);
}
END_TEST

/* No recipient accepted: RSET, no DATA, and the session goes on. */
START_TEST(all_refused_resets)
{
	static const char msg[] = "Subject: r\r\n\r\nx\r\n";
	const char *rcpts[] = {"reject2@rcpt.example", "temp2@rcpt.example"};
	const char *ok[] = {"ok-after@rcpt.example"};
	struct smtp_result res[2];
	struct smtp_session *s;
	GError *err = NULL;
	char *from = uniq("refused"), *from2 = uniq("after"), *log, *at;
	char *env;

	use_cfg(shared.port, NULL);
	s = open_ok();
	ck_assert_int_eq(
	    smtp_send(s, from, rcpts, 2, msg, strlen(msg), res, &err), 0);
	ck_assert_int_eq(res[0].status, SMTP_PERMANENT);
	ck_assert_int_eq(res[1].status, SMTP_TEMPORARY);
	ck_assert_int_eq(
	    smtp_send(s, from2, ok, 1, msg, strlen(msg), res, &err), 0);
	ck_assert_int_eq(res[0].status, SMTP_SENT);
	smtp_close(s);

	/* After the two RCPT: RSET, then the next MAIL; no DATA between. */
	log = sink_log(&shared);
	at = strstr(log, "cmd=RCPT TO:<temp2@rcpt.example> reply=451");
	ck_assert(at != NULL);
	at = strchr(at, '\n') + 1;
	ck_assert_msg(strstr(at, "cmd=RSET reply=250") != NULL &&
			  strstr(at, "cmd=RSET reply=250") <
			      strstr(at, "cmd=MAIL FROM:"),
		      "%s", at);
	ck_assert(strstr(at, "cmd=DATA") > strstr(at, "cmd=MAIL FROM:"));
	env = g_strdup_printf("%s\n%s\n", from2, ok[0]);
	ck_assert_int_eq(sink_count(&shared, env), 1);
	g_free(env);
	g_free(log);
	g_free(from);
	g_free(from2);
}
END_TEST

/* A refusal after the message applies to every accepted recipient. */
START_TEST(message_refused_after_data)
{
	static const char msg[] = "Subject: data\r\n\r\nx\r\n";
	const char *temp[] = {"ok-d1@rcpt.example", "datatemp@rcpt.example",
			      "reject3@rcpt.example"};
	const char *perm[] = {"ok-d2@rcpt.example", "datareject@rcpt.example"};
	struct smtp_result res[3];
	struct smtp_session *s;
	GError *err = NULL;
	char *from = uniq("data");

	use_cfg(shared.port, NULL);
	s = open_ok();

	/* 451 after the message: the accepted two are temporary. */
	ck_assert_int_eq(
	    smtp_send(s, from, temp, 3, msg, strlen(msg), res, &err), 0);
	ck_assert_int_eq(res[0].code, 451);
	ck_assert_int_eq(res[0].status, SMTP_TEMPORARY);
	ck_assert_int_eq(res[1].code, 451);
	ck_assert_int_eq(res[2].code, 550);
	ck_assert_int_eq(res[2].status, SMTP_PERMANENT);

	/* 554 after the message: both permanent. */
	ck_assert_int_eq(
	    smtp_send(s, from, perm, 2, msg, strlen(msg), res, &err), 0);
	ck_assert_int_eq(res[0].code, 554);
	ck_assert_int_eq(res[0].status, SMTP_PERMANENT);
	ck_assert_int_eq(res[1].status, SMTP_PERMANENT);
	ck_assert_msg(g_str_has_prefix(res[1].text, "5.6.0"), "%s",
		      res[1].text);
	smtp_close(s);
	g_free(from);
}
END_TEST

/* The relay dies mid-session: -1 with err, no SIGPIPE death. */
START_TEST(relay_killed_mid_session)
{
	const char *rcpts[] = {"ok-1@rcpt.example", "reject4@rcpt.example"};
	struct smtp_result res[2];
	struct smtp_session *s;
	struct sigaction sa;
	struct sink k = {0};
	GError *err = NULL;
	GString *big = g_string_new("Subject: big\r\n\r\n");
	int status;

	/* A big message, so that writing into the dead socket fails. */
	while (big->len < 1024 * 1024)
		g_string_append(big,
				"0123456789abcdef0123456789abcdef0123456789"
				"abcdef0123456789abcdef0123456789\r\n");
	sink_start(&k, NULL, NULL);
	use_cfg(k.port, NULL);
	s = open_ok();
	ck_assert(sigaction(SIGPIPE, NULL, &sa) == 0);
	ck_assert(sa.sa_handler == SIG_IGN);

	/* Kill the relay. */
	kill(k.pid, SIGKILL);
	waitpid(k.pid, &status, 0);
	g_spawn_close_pid(k.pid);
	k.pid = 0;

	/* The send fails cleanly; the session stays failed. */
	ck_assert_int_eq(smtp_send(s, "a@sender.example", rcpts, 2, big->str,
				   big->len, res, &err),
			 -1);
	ck_assert(err != NULL);
	ck_assert_int_eq(err->code, EX_TEMPFAIL);
	ck_assert_msg(strstr(err->message, "connection lost") != NULL, "%s",
		      err->message);
	ck_assert_int_eq(res[0].status, SMTP_TEMPORARY);
	ck_assert_int_eq(res[1].status, SMTP_TEMPORARY);
	g_clear_error(&err);
	ck_assert_int_eq(
	    smtp_send(s, "a@sender.example", rcpts, 1, "x", 1, res, &err), -1);
	ck_assert(err != NULL);
	g_clear_error(&err);
	ck_assert_int_eq(smtp_fd(s), -1);
	smtp_close(s);
	sink_stop(&k);
	g_string_free(big, TRUE);
}
END_TEST

/*
 * The relay resets the connection while the message is being written:
 * the writes after the reset fail with EPIPE, which would be SIGPIPE (the
 * test would die, an Error) were it not ignored.
 */
START_TEST(relay_resets_during_message)
{
	const char *rcpts[] = {"ok-3@rcpt.example", "drop1@rcpt.example",
			       "reject5@rcpt.example"};
	struct smtp_result res[3];
	struct smtp_session *s;
	GError *err = NULL;
	GString *big = g_string_new("Subject: big\r\n\r\n");
	char *log;

	while (big->len < 4 * 1024 * 1024)
		g_string_append(big,
				"0123456789abcdef0123456789abcdef0123456789"
				"abcdef0123456789abcdef0123456789\r\n");
	use_cfg(shared.port, NULL);
	s = open_ok();
	ck_assert_int_eq(smtp_send(s, "a@sender.example", rcpts, 3, big->str,
				   big->len, res, &err),
			 -1);
	ck_assert_int_eq(err->code, EX_TEMPFAIL);
	ck_assert_msg(strstr(err->message, "after the message") != NULL, "%s",
		      err->message);
	ck_assert_int_eq(res[0].status, SMTP_TEMPORARY);
	ck_assert_int_eq(res[0].code, 0);
	ck_assert_int_eq(res[1].status, SMTP_TEMPORARY);
	/* The refusal before the break stays final. */
	ck_assert_int_eq(res[2].status, SMTP_PERMANENT);
	ck_assert_int_eq(res[2].code, 550);
	g_clear_error(&err);
	smtp_close(s);
	log = sink_log(&shared);
	ck_assert(strstr(log, "event=drop") != NULL);
	g_free(log);
	g_string_free(big, TRUE);
}
END_TEST

/* SIGTERM stops the sink with exit 0, even with a session open. */
START_TEST(sink_exits_on_sigterm)
{
	const char *rcpts[] = {"ok-2@rcpt.example"};
	struct smtp_result res[1];
	struct smtp_session *s;
	struct sink k = {0};
	GError *err = NULL;
	int status;

	sink_start(&k, NULL, NULL);
	use_cfg(k.port, NULL);
	s = open_ok();
	status = sink_stop(&k);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "status %#x", status);
	ck_assert_int_eq(
	    smtp_send(s, "a@sender.example", rcpts, 1, "x", 1, res, &err), -1);
	g_clear_error(&err);
	smtp_close(s);
}
END_TEST

START_TEST(tcp_nodelay_is_set)
{
	struct smtp_session *s;
	socklen_t len = sizeof(int);
	int on = 0;

	use_cfg(shared.port, NULL);
	s = open_ok();
	ck_assert_int_ge(smtp_fd(s), 0);
	ck_assert(getsockopt(smtp_fd(s), IPPROTO_TCP, TCP_NODELAY, &on, &len) ==
		  0);
	ck_assert_int_ne(on, 0);
	smtp_close(s);
}
END_TEST

/* A reply slower than smtp_timeout: -1 after about that long. */
START_TEST(slow_reply_times_out)
{
	const char *rcpts[] = {"slow1@rcpt.example"};
	struct smtp_result res[1];
	struct smtp_session *s;
	GError *err = NULL;
	gint64 t0;
	double took;

	use_cfg(shared.port, "smtp_timeout = 1");
	s = open_ok();
	t0 = g_get_monotonic_time();
	ck_assert_int_eq(
	    smtp_send(s, "a@sender.example", rcpts, 1, "x", 1, res, &err), -1);
	took = (g_get_monotonic_time() - t0) / 1e6;
	ck_assert_msg(took >= 0.9 && took < 1.9, "took %.2f s", took);
	ck_assert_int_eq(res[0].status, SMTP_TEMPORARY);
	ck_assert_msg(strstr(err->message, "after RCPT TO") != NULL, "%s",
		      err->message);
	g_clear_error(&err);
	smtp_close(s);
}
END_TEST

/* A relay that accepts the connection but never greets. */
START_TEST(no_greeting_times_out)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	GError *err = NULL;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	gint64 t0;
	double took;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	ck_assert(listen(fd, 4) == 0);
	ck_assert(getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
	use_cfg(ntohs(sa.sin_port), "smtp_timeout = 1");
	t0 = g_get_monotonic_time();
	ck_assert(smtp_open(&err) == NULL);
	took = (g_get_monotonic_time() - t0) / 1e6;
	ck_assert_msg(took >= 0.9 && took < 1.9, "took %.2f s", took);
	ck_assert_int_eq(err->code, EX_TEMPFAIL);
	ck_assert_msg(strstr(err->message, "no greeting") != NULL, "%s",
		      err->message);
	g_clear_error(&err);
	close(fd);
}
END_TEST

START_TEST(connection_refused)
{
	GError *err = NULL;

	use_cfg(free_port(), NULL);
	ck_assert(smtp_open(&err) == NULL);
	ck_assert_int_eq(lb_error_code(err), EX_TEMPFAIL);
	ck_assert_msg(strstr(err->message, "cannot connect") != NULL, "%s",
		      err->message);
	g_clear_error(&err);
}
END_TEST

/* EHLO carries smtp_helo_name, else a fully qualified name or [addr]. */
START_TEST(ehlo_name)
{
	const char *host = g_get_host_name();
	struct smtp_session *s;
	char *log, *want;

	/* Configured. */
	use_cfg(shared.port, "smtp_helo_name = gw-7.lists.example.org");
	s = open_ok();
	smtp_close(s);
	log = sink_log(&shared);
	ck_assert(strstr(log, "cmd=EHLO gw-7.lists.example.org reply=250"));
	g_free(log);

	/* The default. */
	use_cfg(shared.port, NULL);
	s = open_ok();
	smtp_close(s);
	if (strchr(host, '.') != NULL)
		want = g_strdup_printf("cmd=EHLO %s reply=250", host);
	else
		want = g_strdup("cmd=EHLO [127.0.0.1] reply=250");
	log = sink_log(&shared);
	ck_assert_msg(strstr(log, want) != NULL, "no \"%s\"", want);
	g_free(want);
	g_free(log);
}
END_TEST

static const char *const bad_helo[] = {
    "smtp_helo_name = two words",
    "smtp_helo_name = dots..inside",
    "smtp_helo_name = .leading",
    "smtp_helo_name = [not-an-address]",
    "smtp_helo_name = under_score.example",
};

START_TEST(bad_ehlo_name_is_config_error)
{
	GError *err = NULL;

	use_cfg(shared.port, bad_helo[_i]);
	ck_assert(smtp_open(&err) == NULL);
	ck_assert_int_eq(err->code, EX_CONFIG);
	ck_assert(strstr(err->message, "smtp_helo_name") != NULL);
	g_clear_error(&err);
}
END_TEST

/* STARTTLS against the sink's certificate, trusted and for its name. */
START_TEST(starttls_verified)
{
	const char *rcpts[] = {"ok-tls@rcpt.example"};
	struct smtp_result res[1];
	struct smtp_session *s;
	GError *err = NULL;
	char *extra, *from = uniq("tls"), *env, *log;
	socklen_t len = sizeof(int);
	int on = 0;

	extra = g_strdup_printf("smtp_relay_host = localhost\n"
				"smtp_starttls = required\n"
				"smtp_tls_ca_file = %s/cert.pem",
				tls_dir);
	use_cfg(tls.port, extra);
	s = open_ok();
	ck_assert(getsockopt(smtp_fd(s), IPPROTO_TCP, TCP_NODELAY, &on, &len) ==
		      0 &&
		  on != 0);
	ck_assert_int_eq(
	    smtp_send(s, from, rcpts, 1, "Subject: tls\r\n\r\n", 16, res, &err),
	    0);
	ck_assert_int_eq(res[0].status, SMTP_SENT);
	smtp_close(s);
	env = g_strdup_printf("%s\n%s\n", from, rcpts[0]);
	ck_assert_int_eq(sink_count(&tls, env), 1);

	/* STARTTLS once, then EHLO again inside TLS. */
	log = sink_log(&tls);
	ck_assert(strstr(log, "cmd=STARTTLS reply=220") != NULL);
	ck_assert(strstr(strstr(log, "event=tls version="), "cmd=EHLO") !=
		  NULL);
	ck_assert(strstr(strstr(log, "cmd=STARTTLS"), "cmd=STARTTLS") ==
		  strstr(log, "cmd=STARTTLS"));
	g_free(log);
	g_free(env);
	g_free(extra);
	g_free(from);
}
END_TEST

/* What makes STARTTLS = required fail, and with which code. */
static const struct {
	const char *name, *host, *ca; /* ca NULL: the sink's certificate */
	int tls_sink, code;
	const char *says;
} tls_failures[] = {
    {"untrusted", "localhost", "/etc/ssl/certs/ca-certificates.crt", 1,
     EX_TEMPFAIL, "certificate not trusted"},
    {"wrong name", "127.0.0.1", NULL, 1, EX_TEMPFAIL,
     "certificate is not for \"127.0.0.1\""},
    {"no CA file", "localhost", "/nonexistent/ca.pem", 1, EX_CONFIG,
     "smtp_tls_ca_file"},
    {"not offered", "127.0.0.1", NULL, 0, EX_TEMPFAIL,
     "does not offer STARTTLS"},
};

START_TEST(starttls_refused)
{
	GError *err = NULL;
	char *ca, *extra;

	if (tls_failures[_i].ca != NULL &&
	    !g_file_test(tls_failures[_i].ca, G_FILE_TEST_EXISTS) &&
	    tls_failures[_i].code != EX_CONFIG)
		return; /* no system trust store on this machine */
	ca = tls_failures[_i].ca != NULL
		 ? g_strdup(tls_failures[_i].ca)
		 : g_build_filename(tls_dir, "cert.pem", NULL);
	extra = g_strdup_printf("smtp_relay_host = %s\n"
				"smtp_starttls = required\n"
				"smtp_tls_ca_file = %s",
				tls_failures[_i].host, ca);
	use_cfg(tls_failures[_i].tls_sink ? tls.port : shared.port, extra);
	ck_assert(smtp_open(&err) == NULL);
	ck_assert_msg(err->code == tls_failures[_i].code &&
			  strstr(err->message, tls_failures[_i].says) != NULL,
		      "%s: %d %s", tls_failures[_i].name, err->code,
		      err->message);
	g_clear_error(&err);
	g_free(extra);
	g_free(ca);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("smtp");
	TCase *addr = tcase_create("address");
	TCase *tc = tcase_create("session");
	TCase *tt = tcase_create("starttls");

	tcase_add_loop_test(addr, address_validity, 0,
			    (int)G_N_ELEMENTS(addresses));
	tcase_add_test(addr, address_length_limit);
	suite_add_tcase(s, addr);

	tcase_add_unchecked_fixture(tc, shared_setup, shared_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, three_messages_one_connection);
	tcase_add_test(tc, per_recipient_replies);
	tcase_add_loop_test(tc, message_arrives_exact, 0,
			    (int)G_N_ELEMENTS(bodies));
	tcase_add_test(tc, invalid_addresses_not_sent);
	tcase_add_test(tc, invalid_sender_sends_nothing);
	tcase_add_test(tc, null_sender);
	tcase_add_test(tc, all_refused_resets);
	tcase_add_test(tc, message_refused_after_data);
	tcase_add_test(tc, relay_killed_mid_session);
	tcase_add_test(tc, relay_resets_during_message);
	tcase_add_test(tc, sink_exits_on_sigterm);
	tcase_add_test(tc, tcp_nodelay_is_set);
	tcase_add_test(tc, slow_reply_times_out);
	tcase_add_test(tc, no_greeting_times_out);
	tcase_add_test(tc, connection_refused);
	tcase_add_test(tc, ehlo_name);
	tcase_add_loop_test(tc, bad_ehlo_name_is_config_error, 0,
			    (int)G_N_ELEMENTS(bad_helo));
	suite_add_tcase(s, tc);

	tcase_add_unchecked_fixture(tt, shared_setup, shared_teardown);
	tcase_add_unchecked_fixture(tt, tls_setup, tls_teardown);
	tcase_set_timeout(tt, 30);
	tcase_add_test(tt, starttls_verified);
	tcase_add_loop_test(tt, starttls_refused, 0,
			    (int)G_N_ELEMENTS(tls_failures));
	suite_add_tcase(s, tt);
	return harness_main(s);
}
