/*
 * test_inbound: the real "listbridge deliver" against a real PostgreSQL:
 * rows, threads, exit codes, idempotency, policies, faults.
 */
#include <sysexits.h>
#include <unistd.h>

#include "harness.h"

#define LIST "vorstand@lists.example.org"

static PGconn *setup(const char *db, const char *policy);
static int deliver(const char *file, const char *rcpt, char **err);
static long long post_of(PGconn *conn, const char *file);

static PGconn *
setup(const char *db, const char *policy)
{
	PGconn *conn = harness_db(db, NULL);
	char *args;
	int rc = 0;

	args = g_strdup_printf("list add " LIST " --group vorstand"
			       " --policy %s",
			       policy);
	rc |= harness_run(NULL, NULL, "group add vorstand Vorstand");
	rc |= harness_run(NULL, NULL, args);
	rc |= harness_run(NULL, NULL,
			  "member add juergen.mueller@example.org"
			  " 'Jürgen Müller' --group vorstand");
	rc |= harness_run(NULL, NULL,
			  "member add aenne@example.net 'Änne Schäfer'"
			  " --address aenne.schaefer@example.com"
			  " --group vorstand");
	rc |= harness_run(NULL, NULL,
			  "member add t.weiss@example.org 'Thomas Weiß'"
			  " --group vorstand");
	rc |= harness_run(NULL, NULL,
			  "member add sarah@example.com 'Sarah Connor-Becker'"
			  " --group vorstand --locale en");
	ck_assert_int_eq(rc, 0);
	g_free(args);
	return conn;
}

static int
deliver(const char *file, const char *rcpt, char **err)
{
	char *path = harness_data(file);
	char *args =
	    g_strdup_printf("deliver -f sender@example.org '%s'", rcpt);
	int rc = harness_run(path, err, args);

	g_free(path);
	g_free(args);
	return rc;
}

/* post_of: the post made of fixture file (by its Message-ID), 0: none. */
static long long
post_of(PGconn *conn, const char *file)
{
	char *path = harness_data(file), *raw;
	const char *params[1];
	PGresult *res;
	long long id = 0;
	int lengths[1], formats[1] = {1};
	gsize len;

	ck_assert(g_file_get_contents(path, &raw, &len, NULL));
	params[0] = raw;
	lengths[0] = (int)len;
	res = PQexecParams(conn,
			   "SELECT coalesce(post_id, 0) FROM gateway.message"
			   " WHERE raw = $1::bytea",
			   1, NULL, params, lengths, formats, 0);
	ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s",
		      PQresultErrorMessage(res));
	if (PQntuples(res) == 1)
		id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	g_free(raw);
	g_free(path);
	return id;
}

/* All fixtures in order: verdicts and threads as expected.txt says. */
START_TEST(fixtures_thread_as_expected)
{
	PGconn *conn = setup("lbt_fixtures", "hold");
	char *path = harness_data("inbound/expected.txt"), *text;
	char **lines, thread_of[26][32] = {{0}};
	int i;

	ck_assert(g_file_get_contents(path, &text, NULL, NULL));
	g_strchomp(text);
	lines = g_strsplit(text, "\n", -1);
	for (i = 0; lines[i] != NULL; i++) {
		char **f = g_strsplit(lines[i], "\t", 5);
		char *file = g_strconcat("inbound/", f[0], NULL), *err = NULL;
		char *sql, *thread;
		int rc = deliver(file, LIST, &err);

		ck_assert_msg(rc == 0, "%s: exit %d: %s", f[0], rc, err);
		ck_assert_msg(strstr(err, f[1]) != NULL, "%s: want %s: %s",
			      f[0], f[1], err);
		if (strcmp(f[1], "posted") == 0) {
			long long post = post_of(conn, file);
			int t = f[2][0] - 'A';

			ck_assert_msg(post > 0, "%s: no post", f[0]);
			sql = g_strdup_printf("SELECT thread_id FROM"
					      " portal.post WHERE id = %lld",
					      post);
			thread = harness_str(conn, sql);
			/* The same letter, the same thread; a new letter, a
			 * thread no other letter has. */
			if (thread_of[t][0] == '\0') {
				int k;

				for (k = 0; k < 26; k++)
					ck_assert_msg(
					    strcmp(thread_of[k], thread) != 0,
					    "%s joined a wrong "
					    "thread",
					    f[0]);
				g_strlcpy(thread_of[t], thread, 32);
			}
			ck_assert_msg(strcmp(thread_of[t], thread) == 0,
				      "%s: thread %s, want %s", f[0], thread,
				      thread_of[t]);
			g_free(sql);
			g_free(thread);
		}
		g_free(err);
		g_free(file);
		g_strfreev(f);
	}

	/* The counts, and the umlauts as stored. */
	ck_assert_int_eq(harness_ll(conn, "SELECT count(*) FROM portal.post"),
			 11);
	ck_assert_int_eq(harness_ll(conn, "SELECT count(*) FROM portal.thread"),
			 5);
	ck_assert_int_eq(harness_ll(conn, "SELECT count(*) FROM "
					  "gateway.held_message"),
			 1);
	ck_assert_int_eq(
	    harness_ll(conn, "SELECT count(*) FROM portal.thread WHERE"
			     " subject = 'Einladung zur Mitgliederversammlung"
			     " am 12. März – Tagesordnung'"),
	    1);
	ck_assert_int_eq(harness_ll(conn,
				    "SELECT count(*) FROM portal.post WHERE"
				    " author_name = 'Änne Schäfer'"),
			 3);
	/* The late parent is now the parent of the reply that came first. */
	ck_assert_int_eq(harness_ll(conn,
				    "SELECT count(*) FROM portal.post c JOIN"
				    " portal.post p ON p.id = c.parent_id"
				    " WHERE c.author_name = 'Jürgen Müller'"
				    " AND p.author_name = 'Änne Schäfer'"
				    " AND c.subject LIKE 'Re: Website%'"),
			 1);
	/* Posts show what was written; quotes and footers are kept apart. */
	ck_assert_int_eq(harness_ll(conn,
				    "SELECT count(*) FROM portal.post WHERE"
				    " text LIKE '%Gesendet: Mittwoch%'"
				    " OR text LIKE '%Von meinem iPhone%'"
				    " OR text LIKE '%> Am 02.12.2026%'"),
			 0);
	ck_assert_int_eq(
	    harness_ll(conn,
		       "SELECT count(*) FROM portal.post WHERE"
		       " cut_text LIKE '%Gesendet: Mittwoch%'"
		       " AND text LIKE '%Schlüssel für den Großen Saal%'"),
	    1);
	ck_assert_int_eq(
	    harness_ll(conn, "SELECT count(*) FROM portal.post WHERE"
			     " cut_text LIKE '%Von meinem iPhone gesendet%'"
			     " AND text LIKE '%Getränke übernehme ich%'"),
	    1);

	/* HTML: Outlook's quoted block cut, scripts and styles gone. */
	ck_assert_int_eq(
	    harness_ll(conn, "SELECT count(*) FROM portal.post WHERE"
			     " html LIKE '%Schlüssel für den Großen Saal%'"
			     " AND html NOT LIKE '%Von:%'"
			     " AND html NOT LIKE '%MsoNormal%'"),
	    1);
	ck_assert_int_eq(harness_ll(conn,
				    "SELECT count(*) FROM portal.post WHERE"
				    " html LIKE '%Lesen verbindet%'"
				    " AND html NOT LIKE '%<script%'"
				    " AND html NOT LIKE '%<style%'"),
			 1);

	/* Every stored message kept its raw bytes. */
	ck_assert_int_eq(harness_ll(conn, "SELECT count(*) FROM"
					  " gateway.message WHERE size ="
					  " length(raw) AND size > 0"),
			 12);
	/* The PDF, hashed as stored. */
	ck_assert_int_eq(
	    harness_ll(conn, "SELECT count(*) FROM portal.attachment a"
			     " JOIN portal.attachment_content c"
			     " USING (sha256) WHERE a.state = 'stored'"
			     " AND a.sha256 = encode(sha256(c.content), 'hex')"
			     " AND a.content_type = 'application/pdf'"),
	    1);
	g_strfreev(lines);
	g_free(text);
	g_free(path);
	PQfinish(conn);
}
END_TEST

START_TEST(same_message_three_times_one_post)
{
	PGconn *conn = setup("lbt_idem", "hold");
	char *err = NULL;
	int i;

	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(deliver("inbound/01-thread-start-thunderbird"
					 ".eml",
					 LIST, &err),
				 0);
		if (i > 0)
			ck_assert_msg(strstr(err, "verdict=duplicate") != NULL,
				      "%s", err);
		g_free(err);
	}
	/* Also without a Message-ID: the id made from the bytes is stable. */
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(
		    deliver("inbound/11-no-message-id.eml", LIST, NULL), 0);
	ck_assert_int_eq(harness_ll(conn, "SELECT count(*) FROM portal.post"),
			 2);
	ck_assert_int_eq(
	    harness_ll(conn, "SELECT count(*) FROM gateway.message"), 2);
	PQfinish(conn);
}
END_TEST

START_TEST(recipient_forms)
{
	PGconn *conn = setup("lbt_rcpt", "hold");
	char *err = NULL;

	/* Case and "+extension" do not matter. */
	ck_assert_int_eq(deliver("inbound/01-thread-start-thunderbird.eml",
				 "Vorstand+x@Lists.Example.ORG", NULL),
			 0);
	ck_assert_int_eq(harness_ll(conn, "SELECT count(*) FROM portal.post"),
			 1);
	/* No such list: 67, nothing stored, said on stdout for the DSN. */
	ck_assert_int_eq(deliver("inbound/03-reply-iphone.eml",
				 "kassenwart@lists.example.org", &err),
			 EX_NOUSER);
	ck_assert(strstr(err, "verdict=unknown_address") != NULL);
	ck_assert_int_eq(harness_ll(conn, "SELECT count(*) FROM portal.post"),
			 1);
	g_free(err);
	ck_assert_int_eq(
	    deliver("inbound/03-reply-iphone.eml", "no-at-sign", NULL),
	    EX_NOUSER);
	PQfinish(conn);
}
END_TEST

START_TEST(stranger_policies)
{
	PGconn *conn = setup("lbt_reject", "reject");
	char *err = NULL;

	/* reject: 77, nothing stored. */
	ck_assert_int_eq(deliver("inbound/07-stranger.eml", LIST, &err),
			 EX_NOPERM);
	ck_assert(strstr(err, "verdict=rejected") != NULL);
	g_free(err);
	ck_assert_int_eq(
	    harness_ll(conn, "SELECT count(*) FROM gateway.message"), 0);
	PQfinish(conn);

	/* accept: a guest post under the name the mail gives. */
	conn = setup("lbt_accept", "accept");
	ck_assert_int_eq(deliver("inbound/07-stranger.eml", LIST, NULL), 0);
	ck_assert_int_eq(
	    harness_ll(conn,
		       "SELECT count(*) FROM portal.post WHERE"
		       " author_id IS NULL AND author_name = 'Max Fremd'"),
	    1);
	PQfinish(conn);

	/* hold: the raw message and the reason are kept. */
	conn = setup("lbt_hold", "hold");
	ck_assert_int_eq(deliver("inbound/07-stranger.eml", LIST, NULL), 0);
	ck_assert_int_eq(
	    harness_ll(conn, "SELECT count(*) FROM gateway.held_message h"
			     " JOIN gateway.message m ON m.id = h.message"
			     " WHERE h.reason LIKE '%no member%'"
			     " AND m.post_id IS NULL AND length(m.raw) > 100"),
	    1);
	ck_assert_int_eq(harness_ll(conn, "SELECT count(*) FROM portal.post"),
			 0);
	PQfinish(conn);
}
END_TEST

START_TEST(faults_keep_the_message)
{
	PGconn *conn = setup("lbt_faults", "hold");
	const char *conf = g_getenv("LISTBRIDGE_CONFIG");
	char *text, *broken, *path, *err = NULL;
	int rc;

	/* A mistake in the MTA's command line: 78, the mail stays queued. */
	ck_assert_int_eq(harness_run(NULL, NULL, "deliver"), EX_CONFIG);
	ck_assert_int_eq(harness_run(NULL, NULL, "deliver -x " LIST),
			 EX_CONFIG);

	/* Empty input: unusable. */
	rc = harness_run(NULL, &err, "deliver " LIST);
	ck_assert_int_eq(rc, EX_DATAERR);
	g_free(err);

	/* Too large: refused by policy, said so. */
	ck_assert(g_file_get_contents(conf, &text, NULL, NULL));
	broken = g_strconcat(text, "message_size_limit = 1024\n", NULL);
	path = g_strconcat(conf, ".small", NULL);
	ck_assert(g_file_set_contents(path, broken, -1, NULL));
	g_setenv("LISTBRIDGE_CONFIG", path, TRUE);
	ck_assert_int_eq(deliver("inbound/06-pdf-attachment.eml", LIST, NULL),
			 EX_NOPERM);
	g_free(broken);
	g_free(path);

	/* Database down: 75, so the MTA retries. */
	broken =
	    g_strconcat(text, "database = host=/nonexistent dbname=x\n", NULL);
	path = g_strconcat(conf, ".down", NULL);
	ck_assert(g_file_set_contents(path, broken, -1, NULL));
	g_setenv("LISTBRIDGE_CONFIG", path, TRUE);
	rc = deliver("inbound/01-thread-start-thunderbird.eml", LIST, &err);
	ck_assert_int_eq(rc, EX_TEMPFAIL);
	ck_assert_msg(strstr(err, "verdict=deferred") != NULL, "%s", err);
	g_free(err);
	g_free(broken);
	g_free(path);

	/* Running as root without leave: refused with 75, nothing lost. */
	broken = g_strconcat(text, "hook_allow_root = false\n", NULL);
	path = g_strconcat(conf, ".root", NULL);
	ck_assert(g_file_set_contents(path, broken, -1, NULL));
	g_setenv("LISTBRIDGE_CONFIG", path, TRUE);
	if (geteuid() == 0) {
		rc = deliver("inbound/01-thread-start-thunderbird.eml", LIST,
			     &err);
		ck_assert_int_eq(rc, EX_TEMPFAIL);
		ck_assert(strstr(err, "running_as_root") != NULL);
		g_free(err);
	}
	g_free(broken);
	g_free(path);

	/* Back to the good config: the message goes through. */
	g_setenv("LISTBRIDGE_CONFIG", conf, TRUE);
	ck_assert_int_eq(
	    deliver("inbound/01-thread-start-thunderbird.eml", LIST, NULL), 0);
	ck_assert_int_eq(harness_ll(conn, "SELECT count(*) FROM portal.post"),
			 1);
	g_free(text);
	PQfinish(conn);
}
END_TEST

/* write_variant: fixture file with its Message-ID replaced by id;
 * returns the path of the copy (g_free it). */
static char *
write_variant(const char *file, const char *id)
{
	char *path = harness_data(file), *text, *out, *p;
	GString *s;

	ck_assert(g_file_get_contents(path, &text, NULL, NULL));
	s = g_string_new(text);
	p = strstr(s->str, "\nMessage-ID: <");
	ck_assert(p != NULL);
	g_string_erase(s, p - s->str + 1, strchr(p + 1, '\n') - (p + 1));
	g_string_insert(s, p - s->str + 1, id);
	out = g_strdup_printf("%s/variant-%u.eml", g_get_tmp_dir(),
			      g_str_hash(id));
	ck_assert(g_file_set_contents(out, s->str, -1, NULL));
	g_string_free(s, TRUE);
	g_free(text);
	g_free(path);
	return out;
}

START_TEST(attachments_once_per_group_and_blocked)
{
	PGconn *conn = setup("lbt_attach", "hold");
	char *a = write_variant("inbound/06-pdf-attachment.eml",
				"Message-ID: <again-1@example.org>");
	char *b = write_variant("inbound/06-pdf-attachment.eml",
				"Message-ID: <again-2@example.org>");
	char *exe = g_strdup_printf("%s/exe.eml", g_get_tmp_dir());
	char *args;

	/* The same PDF twice: two attachments, its bytes once. */
	args = g_strdup("deliver " LIST);
	ck_assert_int_eq(harness_run(a, NULL, args), 0);
	ck_assert_int_eq(harness_run(b, NULL, args), 0);
	ck_assert_int_eq(
	    harness_ll(conn, "SELECT count(*) FROM portal.attachment"), 2);
	ck_assert_int_eq(
	    harness_ll(conn, "SELECT count(*) FROM portal.attachment_content"),
	    1);

	/* A program: its row says blocked, no bytes are kept; the post is
	 * made. */
	ck_assert(g_file_set_contents(
	    exe,
	    "From: Thomas Weiß <t.weiss@example.org>\n"
	    "To: vorstand@lists.example.org\nSubject: Tool\n"
	    "Message-ID: <exe-1@example.org>\nMIME-Version: 1.0\n"
	    "Content-Type: multipart/mixed; boundary=b\n\n--b\n"
	    "Content-Type: text/plain; charset=utf-8\n\nanbei das Tool\n"
	    "--b\nContent-Type: application/octet-stream\n"
	    "Content-Disposition: attachment; filename=\"rechnung.pdf.exe\"\n"
	    "Content-Transfer-Encoding: base64\n\nTVqQAAMAAAAEAAAA\n--b--\n",
	    -1, NULL));
	ck_assert_int_eq(harness_run(exe, NULL, args), 0);
	ck_assert_int_eq(harness_ll(conn,
				    "SELECT count(*) FROM portal.attachment"
				    " WHERE state = 'blocked'"
				    " AND filename = 'rechnung.pdf.exe'"),
			 1);
	ck_assert_int_eq(
	    harness_ll(conn, "SELECT count(*) FROM portal.attachment_content"),
	    1);
	ck_assert_int_eq(harness_ll(conn, "SELECT count(*) FROM portal.post"
					  " WHERE text = 'anbei das Tool'"),
			 1);
	unlink(a);
	unlink(b);
	unlink(exe);
	g_free(a);
	g_free(b);
	g_free(exe);
	g_free(args);
	PQfinish(conn);
}
END_TEST

START_TEST(migrate_twice_is_harmless)
{
	PGconn *conn = harness_db("lbt_migrate", NULL);
	char *out = NULL;

	ck_assert_int_eq(harness_run(NULL, &out, "db migrate"), 0);
	g_free(out);
	/* Every migration once, numbered without gaps. */
	ck_assert_int_ge(
	    harness_ll(conn, "SELECT max(version) FROM gateway.schema_version"),
	    3);
	ck_assert_int_eq(harness_ll(conn,
				    "SELECT (max(version) = count(*))::int"
				    " FROM gateway.schema_version"),
			 1);
	PQfinish(conn);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("inbound");
	TCase *tc = tcase_create("deliver");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, fixtures_thread_as_expected);
	tcase_add_test(tc, same_message_three_times_one_post);
	tcase_add_test(tc, recipient_forms);
	tcase_add_test(tc, stranger_policies);
	tcase_add_test(tc, faults_keep_the_message);
	tcase_add_test(tc, attachments_once_per_group_and_blocked);
	tcase_add_test(tc, migrate_twice_is_harmless);
	suite_add_tcase(s, tc);
	return harness_main(s);
}
