/*
 * test_send: posts reach email members: fan-out, the notification mail
 * through a real SMTP sink (tests/smtp_sink.py, started by run.sh), and
 * a plain reply to it back through deliver into the right thread.
 */
#include <signal.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include <gmime/gmime.h>

#include "harness.h"

#define LIST "vorstand@lists.example.org"

static PGconn *setup(const char *db, const char *more);
static GPtrArray *captured(const char *to);
static char *header(GMimeMessage *m, const char *name);
static void expect_delivery(const char *text, const char *args, int code,
			    const char *says);

/* setup: a group with four members at addresses unique to this test,
 * a key file, the sink as relay. */
static PGconn *
setup(const char *db, const char *more)
{
	const char *port = g_getenv("LB_TEST_SMTP_PORT");
	char *keys, *extra;
	PGconn *conn;
	int rc = 0;

	ck_assert_msg(port != NULL, "LB_TEST_SMTP_PORT is not set");
	keys = g_strdup_printf("%s/keys-%s", g_get_tmp_dir(), db);
	unlink(keys);
	extra = g_strdup_printf("token_key_file = %s\nsmtp_relay_port = %s\n"
				"outbox_batch = 4\n"
				"smtp_relay_host = 127.0.0.1\n"
				"portal_url = https://intranet.example.org\n%s",
				keys, port, more != NULL ? more : "");
	conn = harness_db(db, extra);
	rc |= harness_run(NULL, NULL, "keygen");
	rc |= harness_run(NULL, NULL, "group add vorstand Vorstand");
	rc |= harness_run(NULL, NULL,
			  "list add " LIST " --group vorstand --tag Vorstand");
	rc |=
	    harness_run(NULL, NULL,
			"member add juergen.mueller@example.org 'Jürgen Müller'"
			" --group vorstand");
	rc |= harness_run(NULL, NULL,
			  "member add aenne@send.example.org 'Änne Schäfer'"
			  " --group vorstand");
	rc |= harness_run(NULL, NULL,
			  "member add reject-thomas@send.example.org "
			  "'Thomas Weiß' --group vorstand");
	rc |= harness_run(NULL, NULL,
			  "member add temp-sarah@send.example.org 'Sarah B'"
			  " --group vorstand --locale en");
	rc |= harness_run(NULL, NULL,
			  "member add daily@send.example.org 'Daily Reader'"
			  " --group vorstand --delivery daily");
	ck_assert_int_eq(rc, 0);
	g_free(keys);
	g_free(extra);
	return conn;
}

/* captured: the paths of the sink's mails whose envelope names to. */
static GPtrArray *
captured(const char *to)
{
	const char *dir = g_getenv("LB_TEST_SMTP_DIR");
	GPtrArray *found = g_ptr_array_new_with_free_func(g_free);
	GDir *d = g_dir_open(dir, 0, NULL);
	const char *name;

	ck_assert(d != NULL);
	while ((name = g_dir_read_name(d)) != NULL) {
		char *path, *env = NULL;

		if (!g_str_has_suffix(name, ".env"))
			continue;
		path = g_build_filename(dir, name, NULL);
		if (g_file_get_contents(path, &env, NULL, NULL) &&
		    strstr(env, to) != NULL) {
			path[strlen(path) - 4] = '\0';
			g_ptr_array_add(found, g_strconcat(path, ".eml", NULL));
		}
		g_free(env);
		g_free(path);
	}
	g_dir_close(d);
	return found;
}

/* expect_delivery: "listbridge ARGS" with text on stdin exits code and
 * says says on stderr. */
static void
expect_delivery(const char *text, const char *args, int code, const char *says)
{
	char *err = NULL;
	int rc = harness_run_text(text, &err, args);

	ck_assert_msg(rc == code, "%s: exit %d, want %d: %s", args, rc, code,
		      err);
	ck_assert_msg(strstr(err, says) != NULL, "%s: want %s: %s", args, says,
		      err);
	g_free(err);
}

static char *
header(GMimeMessage *m, const char *name)
{
	const char *v = g_mime_object_get_header(GMIME_OBJECT(m), name);

	return v != NULL ? g_strdup(v) : NULL;
}

START_TEST(post_reaches_members_and_reply_comes_back)
{
	PGconn *conn = setup("lbt_send", NULL);
	char *file = harness_data("inbound/01-thread-start-thunderbird.eml");
	char *eml, *sql, *v, *reply_to, *msgid, *reply, *unsub, *err = NULL;
	GPtrArray *mails;
	GMimeStream *st;
	GMimeParser *parser;
	GMimeMessage *m;
	InternetAddressList *from;
	int rc;

	/* Jürgen posts by mail: three each-post members are queued, the
	 * daily reader and the author are not. */
	rc = harness_run(file, NULL,
			 "deliver -f juergen.mueller@example.org " LIST);
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(harness_ll(conn, "SELECT count(*) FROM"
					  " gateway.outbox"),
			 0 + 3);

	/* One worker run: 250 for Änne, 550 for Thomas, 451 for Sarah. */
	rc = harness_run(NULL, &err, "send --once");
	ck_assert_msg(rc == 0, "send: %d %s", rc, err);
	g_free(err);
	ck_assert_int_eq(harness_ll(conn,
				    "SELECT count(*) FROM gateway.outbox WHERE"
				    " recipient = 'aenne@send.example.org'"
				    " AND state = 'sent'"),
			 1);
	ck_assert_int_eq(
	    harness_ll(conn, "SELECT count(*) FROM gateway.outbox WHERE"
			     " recipient LIKE 'reject-%' AND state = 'bounced'"
			     " AND last_reply LIKE '550 5.1.1%'"),
	    1);
	ck_assert_int_eq(
	    harness_ll(conn, "SELECT count(*) FROM gateway.outbox WHERE"
			     " recipient LIKE 'temp-%' AND state = 'queued'"
			     " AND next_attempt_at > now()"
			     " AND last_reply LIKE '451 4.3.0%'"),
	    1);

	/* A second run sends nothing twice: nothing is due. */
	ck_assert_int_eq(harness_run(NULL, NULL, "send --once"), 0);
	mails = captured("aenne@send.example.org");
	ck_assert_int_eq(mails->len, 1);

	/* The mail as Änne's client sees it. */
	ck_assert(g_file_get_contents(mails->pdata[0], &eml, NULL, NULL));
	st = g_mime_stream_mem_new_with_buffer(eml, strlen(eml));
	parser = g_mime_parser_new_with_stream(st);
	m = g_mime_parser_construct_message(parser, NULL);
	ck_assert(m != NULL);
	from = g_mime_message_get_from(m);
	ck_assert_str_eq(internet_address_get_name(
			     internet_address_list_get_address(from, 0)),
			 "Jürgen Müller via Vorstand");
	ck_assert_str_eq(
	    internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(
		internet_address_list_get_address(from, 0))),
	    LIST);
	ck_assert(g_str_has_prefix(g_mime_message_get_subject(m),
				   "[Vorstand] Einladung zur Mitglieder"));
	reply_to = internet_address_list_to_string(
	    g_mime_message_get_reply_to(m), NULL, FALSE);
	ck_assert_msg(strstr(reply_to, "reply+") != NULL, "%s", reply_to);
	msgid = g_strdup(g_mime_message_get_message_id(m));
	ck_assert(g_str_has_prefix(msgid, "lb."));
	v = header(m, "List-Id");
	ck_assert(v != NULL && strstr(v, "vorstand.lists.example.org"));
	g_free(v);
	unsub = header(m, "List-Unsubscribe");
	ck_assert(unsub != NULL && strstr(unsub, "mailto:unsubscribe+") &&
		  strstr(unsub, "https://intranet.example.org/unsubscribe/"));
	v = header(m, "List-Unsubscribe-Post");
	ck_assert_str_eq(v, "List-Unsubscribe=One-Click");
	g_free(v);
	v = header(m, "Precedence");
	ck_assert_str_eq(v, "list");
	g_free(v);
	/* Text and HTML, both with the umlauts and the portal link. */
	{
		GMimeObject *body = g_mime_message_get_body(m);
		GMimeMultipart *alt;
		char *text, *html;

		ck_assert(GMIME_IS_MULTIPART(body));
		alt = GMIME_MULTIPART(body);
		ck_assert_int_eq(g_mime_multipart_get_count(alt), 2);
		text = g_mime_text_part_get_text(
		    GMIME_TEXT_PART(g_mime_multipart_get_part(alt, 0)));
		html = g_mime_text_part_get_text(
		    GMIME_TEXT_PART(g_mime_multipart_get_part(alt, 1)));
		ck_assert_msg(strstr(text, "Begrüßung") != NULL, "%s", text);
		ck_assert(strstr(text, "https://intranet.example.org/groups/"
				       "vorstand/threads/") != NULL);
		ck_assert(strstr(html, "Begrüßung") != NULL);
		ck_assert(strstr(html, "<script") == NULL);
		/* 7 bits on the wire. */
		for (v = eml; *v != '\0'; v++)
			ck_assert((guchar)*v < 0x80);
		v = NULL;
		g_free(text);
		g_free(html);
	}
	g_object_unref(m);
	g_object_unref(parser);
	g_object_unref(st);

	/* Änne answers with a plain reply: To the Reply-To address. */
	{
		char *addr = g_strdup(strstr(reply_to, "reply+"));

		addr[strcspn(addr, ">, ")] = '\0';
		reply = g_strdup_printf(
		    "From: =?UTF-8?Q?=C3=84nne_Sch=C3=A4fer?= "
		    "<aenne@send.example.org>\n"
		    "To: Vorstand <%s>\n"
		    "Subject: Re: [Vorstand] Einladung\n"
		    "Message-ID: <answer-1@send.example.org>\n"
		    "In-Reply-To: <%s>\nReferences: <%s>\n"
		    "Content-Type: text/plain; charset=utf-8\n\n"
		    "Ich bringe Kuchen mit.\n\n"
		    "Am 02.12.2026 um 10:15 schrieb Jürgen Müller "
		    "via Vorstand <" LIST ">:\n> Liebe Vorstandskolleginnen\n",
		    addr, msgid, msgid);
		sql = g_strdup_printf("deliver -f aenne@send.example.org '%s'",
				      addr);
		expect_delivery(reply, sql, 0, "via=reply-address");

		/* The same reply address from someone else: held; and from
		 * Jürgen, a member, whose client picked the wrong address:
		 * held too. */
		g_free(reply);
		reply = g_strdup_printf(
		    "From: Fremd <fremd@send.example.org>\nTo: <%s>\n"
		    "Subject: Re: x\nMessage-ID: <answer-2@send.example.org>\n"
		    "\nich auch\n",
		    addr);
		expect_delivery(reply, sql, 0, "verdict=held");
		g_free(reply);
		reply = g_strdup_printf(
		    "From: juergen.mueller@example.org\nTo: <%s>\n"
		    "Subject: Re: x\nMessage-ID: <answer-4@send.example.org>\n"
		    "\nich auch\n",
		    addr);
		expect_delivery(reply, sql, 0, "verdict=held");

		/* A token with one letter changed names nobody. */
		addr[8] = addr[8] == 'a' ? 'b' : 'a';
		g_free(sql);
		sql = g_strdup_printf("deliver '%s'", addr);
		expect_delivery(reply, sql, EX_NOUSER, "unknown_address");
		g_free(addr);
	}

	/* Sarah answers to the list address, her client having dropped the
	 * reply address: the Message-ID she answers finds the thread. */
	{
		char *text = g_strdup_printf(
		    "From: Sarah B <temp-sarah@send.example.org>\n"
		    "To: " LIST "\nSubject: Antwort ohne Re\n"
		    "Message-ID: <answer-3@send.example.org>\n"
		    "In-Reply-To: <%s>\n\nIch komme auch.\n",
		    msgid);

		expect_delivery(text, "deliver " LIST, 0, "via=notification");
		ck_assert_int_eq(
		    harness_ll(conn, "SELECT count(*) FROM portal.post c"
				     " JOIN portal.post p ON p.id = c.parent_id"
				     " AND p.thread_id = c.thread_id"
				     " WHERE c.text = 'Ich komme auch.'"),
		    1);
		g_free(text);
	}

	/* The member who used Änne's reply address hears why; the stranger
	 * does not (no backscatter to whoever holds an address). */
	ck_assert_int_eq(
	    harness_ll(conn, "SELECT count(*) FROM gateway.outbox"
			     " WHERE kind = 'notice'"
			     " AND recipient = 'juergen.mueller@example.org'"),
	    1);
	ck_assert_int_eq(
	    harness_ll(conn, "SELECT count(*) FROM gateway.outbox"
			     " WHERE kind = 'notice'"
			     " AND recipient = 'fremd@send.example.org'"),
	    0);

	/* Änne unsubscribes by mail, with the List-Unsubscribe address. */
	{
		char *addr = g_strdup(strstr(unsub, "unsubscribe+")), *cmd;

		addr[strcspn(addr, ">")] = '\0';
		cmd = g_strdup_printf("deliver -f aenne@send.example.org '%s'",
				      addr);
		expect_delivery(
		    "From: aenne@send.example.org\nSubject: unsubscribe\n"
		    "Message-ID: <unsub-1@send.example.org>\n\nx\n",
		    cmd, 0, "verdict=unsubscribed");
		ck_assert_int_eq(
		    harness_ll(conn,
			       "SELECT count(*) FROM portal.membership"
			       " ms JOIN portal.member_address a USING"
			       " (member_id) WHERE ms.delivery = 'none'"
			       " AND a.address = 'aenne@send.example.org'"),
		    1);

		/* The confirmation goes out with the next run. */
		ck_assert_int_eq(harness_run(NULL, NULL, "send --once"), 0);
		ck_assert_int_eq(
		    harness_ll(conn,
			       "SELECT count(*) FROM gateway.outbox"
			       " WHERE kind = 'notice' AND state = 'sent'"
			       " AND recipient = 'aenne@send.example.org'"),
		    1);
		g_free(addr);
		g_free(cmd);
	}

	/* Änne's answer is in Jürgen's thread, under her name, trimmed. */
	ck_assert_int_eq(
	    harness_ll(conn, "SELECT count(*) FROM portal.post c"
			     " JOIN portal.post p ON p.id = c.parent_id"
			     " AND p.thread_id = c.thread_id"
			     " JOIN portal.member mb ON mb.id = c.author_id"
			     " WHERE mb.name = 'Änne Schäfer'"
			     " AND c.text = 'Ich bringe Kuchen mit.'"),
	    1);
	ck_assert_int_eq(
	    harness_ll(conn,
		       "SELECT count(*) FROM gateway.held_message"
		       " WHERE reason = 'reply address of another member'"),
	    2);
	g_free(sql);
	g_free(reply);
	g_free(msgid);
	g_free(reply_to);
	g_free(unsub);
	g_free(eml);
	g_ptr_array_free(mails, TRUE);
	g_free(file);
	PQfinish(conn);
}
END_TEST

/* count_files: how many captured mails name to in their envelope. */
static guint
count_files(const char *to)
{
	GPtrArray *found = captured(to);
	guint n = found->len;

	g_ptr_array_free(found, TRUE);
	return n;
}

/* Forty members, two workers at once, one killed: every mail once. */
START_TEST(workers_share_and_survive)
{
	PGconn *conn = setup("lbt_workers", NULL);
	char *file = harness_data("inbound/08-english-thread.eml");
	char *cmd, *bin = g_strdup(g_getenv("LB_TEST_BIN"));
	GPid a, b, c;
	int i, rc, status;

	/* Forty readers with addresses only this test uses; some slow. */
	for (i = 0; i < 40; i++) {
		cmd = g_strdup_printf("member add %sw%02d@workers.example.org "
				      "'Leser %d' --group vorstand",
				      i % 8 == 0 ? "slow" : "", i, i);
		ck_assert_int_eq(harness_run(NULL, NULL, cmd), 0);
		g_free(cmd);
	}
	ck_assert_int_eq(harness_run(NULL, NULL,
				     "member add sarah@example.com Sarah"
				     " --group vorstand"),
			 0);
	ck_assert_int_eq(harness_run(file, NULL, "deliver " LIST), 0);
	ck_assert_int_eq(
	    harness_ll(conn, "SELECT count(*) FROM gateway.outbox"
			     " WHERE recipient LIKE '%@workers.example.org'"),
	    40);

	/* Two workers at once, in small batches: each row goes once. */
	{
		char *argv[] = {bin, (char *)"send", (char *)"--once", NULL};

		ck_assert(g_spawn_async(NULL, argv, NULL,
					G_SPAWN_DO_NOT_REAP_CHILD |
					    G_SPAWN_STDERR_TO_DEV_NULL,
					NULL, NULL, &a, NULL));
		ck_assert(g_spawn_async(NULL, argv, NULL,
					G_SPAWN_DO_NOT_REAP_CHILD |
					    G_SPAWN_STDERR_TO_DEV_NULL,
					NULL, NULL, &b, NULL));
		waitpid(a, &status, 0);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		waitpid(b, &status, 0);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	ck_assert_int_eq(
	    harness_ll(conn, "SELECT count(*) FROM gateway.outbox"
			     " WHERE recipient LIKE '%@workers.example.org'"
			     " AND state = 'sent'"),
	    40);
	for (i = 0; i < 40; i++) {
		char *to = g_strdup_printf("%sw%02d@workers.example.org",
					   i % 8 == 0 ? "slow" : "", i);

		ck_assert_msg(count_files(to) == 1, "%s: %u mails", to,
			      count_files(to));
		g_free(to);
	}

	/* A second post; its worker is killed while it waits on a slow
	 * recipient.  Its rows come due again when its lease runs out (made
	 * to run out now rather than waited for), and the next run sends
	 * them: nothing is lost.  (A mail in flight when a worker dies may
	 * go twice: delivery is at least once.) */
	g_free(file);
	file = harness_data("inbound/09-reply-late-parent.eml");
	ck_assert_int_eq(harness_run(file, NULL, "deliver " LIST), 0);
	{
		char *argv[] = {bin, (char *)"send", (char *)"--once", NULL};

		ck_assert(g_spawn_async(NULL, argv, NULL,
					G_SPAWN_DO_NOT_REAP_CHILD |
					    G_SPAWN_STDERR_TO_DEV_NULL,
					NULL, NULL, &c, NULL));
		g_usleep(G_USEC_PER_SEC);
		kill(c, SIGKILL);
		waitpid(c, &status, 0);
		ck_assert(WIFSIGNALED(status));
	}
	ck_assert_int_gt(
	    harness_ll(conn, "SELECT count(*) FROM gateway.outbox"
			     " WHERE recipient LIKE '%@workers.example.org'"
			     " AND state = 'queued' AND lease_until > now()"),
	    0);
	PQclear(PQexec(conn, "UPDATE gateway.outbox SET lease_until ="
			     " now() - interval '1 second'"
			     " WHERE state = 'queued'"
			     " AND recipient LIKE '%@workers.example.org'"));
	rc = harness_run(NULL, NULL, "send --once");
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(
	    harness_ll(conn, "SELECT count(*) FROM gateway.outbox"
			     " WHERE recipient LIKE '%@workers.example.org'"
			     " AND state = 'sent'"),
	    80);
	for (i = 0; i < 40; i++) {
		char *to = g_strdup_printf("%sw%02d@workers.example.org",
					   i % 8 == 0 ? "slow" : "", i);

		ck_assert_msg(count_files(to) >= 2, "%s: %u mails", to,
			      count_files(to));
		g_free(to);
	}
	g_free(bin);
	g_free(file);
	PQfinish(conn);
}
END_TEST

/* A post written in the portal: fanned out in its own transaction, and
 * the workers hear of it at once. */
START_TEST(portal_post_fans_out_and_notifies)
{
	PGconn *conn = setup("lbt_portal", NULL);
	PGconn *listener;
	PGnotify *n;
	PGresult *r;
	char *info;
	int heard = 0, i;

	/* Änne wants her own posts by mail too. */
	ck_assert_int_eq(harness_run(NULL, NULL,
				     "member add aenne@send.example.org"
				     " 'Änne Schäfer' --group vorstand"
				     " --own-posts yes"),
			 0);

	/* A worker's connection, listening. */
	info = g_strdup_printf("host=%s user=postgres dbname=lbt_portal",
			       g_getenv("LB_TEST_PGHOST"));
	listener = PQconnectdb(info);
	ck_assert(PQstatus(listener) == CONNECTION_OK);
	PQclear(PQexec(listener, "LISTEN listbridge_outbox"));

	/* The intranet inserts a thread and a post, as its own code would. */
	r = PQexec(conn,
		   "WITH t AS (INSERT INTO portal.thread (group_id, subject,"
		   " subject_key) SELECT id, 'Aus dem Intranet',"
		   " 'aus dem intranet' FROM portal.\"group\""
		   " WHERE slug = 'vorstand' RETURNING id)"
		   " INSERT INTO portal.post (thread_id, author_id,"
		   " author_name, source, subject, text)"
		   " SELECT t.id, m.id, m.name, 'portal', 'Aus dem Intranet',"
		   " 'Hallo aus dem Portal' FROM t, portal.member m"
		   " WHERE m.name = 'Änne Schäfer'");
	ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "%s",
		      PQresultErrorMessage(r));
	PQclear(r);

	/* Queued for the each-post members, the author too as she asked,
	 * and heard. */
	ck_assert_int_eq(harness_ll(conn,
				    "SELECT count(*) FROM gateway.outbox o"
				    " JOIN portal.post p ON p.id = o.post_id"
				    " WHERE p.source = 'portal'"),
			 4);
	for (i = 0; i < 50 && !heard; i++) {
		PQconsumeInput(listener);
		while ((n = PQnotifies(listener)) != NULL) {
			heard = strcmp(n->relname, "listbridge_outbox") == 0;
			PQfreemem(n);
		}
		if (!heard)
			g_usleep(G_USEC_PER_SEC / 10);
	}
	ck_assert(heard);

	/* An import does not fan out. */
	PQclear(PQexec(conn, "INSERT INTO portal.post (thread_id, source,"
			     " text) SELECT min(id), 'import', 'alt'"
			     " FROM portal.thread"));
	ck_assert_int_eq(
	    harness_ll(conn, "SELECT count(*) FROM gateway.outbox"), 4);
	PQfinish(listener);
	g_free(info);
	PQfinish(conn);
}
END_TEST

/* With notify_attachments = attach, the PDF travels with the mail. */
START_TEST(attachments_sent_along)
{
	PGconn *conn =
	    setup("lbt_attach_send", "notify_attachments = attach\n");
	char *file = harness_data("inbound/06-pdf-attachment.eml");
	GPtrArray *mails;
	GMimeMessage *m;
	GMimeParser *parser;
	GMimeStream *st;
	GMimePartIter *it;
	char *eml;
	int found = 0;
	guint i;

	ck_assert_int_eq(harness_run(NULL, NULL,
				     "member add t.weiss@example.org"
				     " 'Thomas Weiß' --group vorstand"),
			 0);
	ck_assert_int_eq(harness_run(file, NULL, "deliver " LIST), 0);
	ck_assert_int_eq(harness_run(NULL, NULL, "send --once"), 0);
	/* Among the mails to Änne (other tests wrote to her too), the one
	 * with the PDF. */
	mails = captured("aenne@send.example.org");
	for (i = 0; i < mails->len && !found; i++) {
		ck_assert(
		    g_file_get_contents(mails->pdata[i], &eml, NULL, NULL));
		st = g_mime_stream_mem_new_with_buffer(eml, strlen(eml));
		parser = g_mime_parser_new_with_stream(st);
		m = g_mime_parser_construct_message(parser, NULL);
		ck_assert(m != NULL);
		it = g_mime_part_iter_new(GMIME_OBJECT(m));
		do {
			GMimeObject *part = g_mime_part_iter_get_current(it);
			const char *name;

			if (!GMIME_IS_PART(part))
				continue;
			name = g_mime_part_get_filename(GMIME_PART(part));
			if (g_strcmp0(name, "Haushaltsplan_2027_Entwurf_"
					    "Übersicht.pdf") == 0) {
				GMimeStream *mem = g_mime_stream_mem_new();
				GByteArray *ba;

				g_mime_data_wrapper_write_to_stream(
				    g_mime_part_get_content(GMIME_PART(part)),
				    mem);
				ba = g_mime_stream_mem_get_byte_array(
				    GMIME_STREAM_MEM(mem));
				found = ba->len > 4 &&
					memcmp(ba->data, "%PDF", 4) == 0;
				g_object_unref(mem);
			}
		} while (g_mime_part_iter_next(it));
		g_mime_part_iter_free(it);
		g_object_unref(m);
		g_object_unref(parser);
		g_object_unref(st);
		g_free(eml);
	}
	ck_assert_msg(found, "no PDF in the mails to Änne");
	g_ptr_array_free(mails, TRUE);
	g_free(file);
	PQfinish(conn);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("send");
	TCase *tc = tcase_create("outbox");

	g_mime_init();
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, post_reaches_members_and_reply_comes_back);
	tcase_add_test(tc, workers_share_and_survive);
	tcase_add_test(tc, portal_post_fans_out_and_notifies);
	tcase_add_test(tc, attachments_sent_along);
	suite_add_tcase(s, tc);
	return harness_main(s);
}
