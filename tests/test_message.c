/*
 * test_message: parsing real client mail (message.c), against the
 * fixtures of tests/data/inbound and their expected.txt.
 */
#include <stdio.h>
#include <stdlib.h>

#include "../gateway/config.h"
#include "../gateway/message.h"
#include "harness.h"

static struct msg *parse_file(const char *name, char **raw, gsize *len);

static char **expected; /* lines of expected.txt */

static struct msg *
parse_file(const char *name, char **raw, gsize *len)
{
	char *path = harness_data(name);
	GError *err = NULL;
	struct msg *m;

	ck_assert_msg(g_file_get_contents(path, raw, len, NULL), "%s", path);
	m = msg_parse(*raw, *len, &err);
	ck_assert_msg(m != NULL, "%s: %s", path, err ? err->message : "");
	g_free(path);
	return m;
}

/* Every fixture: subject and From as expected.txt says, valid UTF-8. */
START_TEST(fixture_headers)
{
	char **f = g_strsplit(expected[_i], "\t", 5);
	char *name, *raw;
	struct msg *m;
	gsize len;

	ck_assert_int_eq(g_strv_length(f), 5);
	name = g_strconcat("inbound/", f[0], NULL);
	m = parse_file(name, &raw, &len);
	ck_assert_str_eq(m->subject, f[4]);
	ck_assert_str_eq(m->from_addr, f[3]);
	ck_assert(g_utf8_validate(m->text, -1, NULL));
	ck_assert(strchr(m->text, '\r') == NULL);
	ck_assert_msg(strlen(m->text) > 40, "%s: body too short", f[0]);
	msg_free(m);
	g_free(raw);
	g_free(name);
	g_strfreev(f);
}
END_TEST

static const struct {
	const char *file;
	const char *from_name;
	const char *contains;
} bodies[] = {
    {"01-thread-start-thunderbird.eml", "Jürgen Müller", "Begrüßung"},
    {"02-reply-outlook.eml", "Änne Schäfer", "Schlüssel für den Großen"},
    {"03-reply-iphone.eml", "Thomas Weiß", "Getränke übernehme ich"},
    {"05-html-only.eml", "Änne Schäfer", "„Lesen verbindet“"},
    {"05-html-only.eml", "Änne Schäfer", "24 €"},
    {"11-no-message-id.eml", "Jürgen Müller", "187,50 €"},
    {"12-no-charset.eml", "Thomas Weiss", "Bäckerei Krüger"},
    {"12-no-charset.eml", "Thomas Weiss", "(250 €)"},
};

START_TEST(bodies_decode)
{
	char *name = g_strconcat("inbound/", bodies[_i].file, NULL), *raw;
	struct msg *m;
	gsize len;

	m = parse_file(name, &raw, &len);
	ck_assert_str_eq(m->from_name, bodies[_i].from_name);
	ck_assert_msg(strstr(m->text, bodies[_i].contains) != NULL,
		      "%s lacks \"%s\"", bodies[_i].file, bodies[_i].contains);
	msg_free(m);
	g_free(raw);
	g_free(name);
}
END_TEST

START_TEST(html_only_has_no_markup)
{
	char *raw;
	gsize len;
	struct msg *m = parse_file("inbound/05-html-only.eml", &raw, &len);

	ck_assert(m->html != NULL);
	ck_assert(strchr(m->text, '<') == NULL);
	ck_assert(strstr(m->text, "{") == NULL); /* no CSS */
	ck_assert(strstr(m->text, "MsoNormal") == NULL);
	msg_free(m);
	g_free(raw);
}
END_TEST

START_TEST(pdf_attachment)
{
	char *raw;
	gsize len;
	struct msg *m = parse_file("inbound/06-pdf-attachment.eml", &raw, &len);
	struct msg_attachment *a;
	const char *data;
	gsize dlen;
	char *sum;

	ck_assert_int_eq(m->attachments->len, 1);
	a = m->attachments->pdata[0];
	ck_assert_str_eq(a->filename,
			 "Haushaltsplan_2027_Entwurf_Übersicht.pdf");
	ck_assert_str_eq(a->content_type, "application/pdf");
	ck_assert(a->content != NULL);
	data = g_bytes_get_data(a->content, &dlen);
	ck_assert_int_eq(dlen, a->size);
	ck_assert(dlen > 4 && memcmp(data, "%PDF", 4) == 0);
	/* The hash, checked with GLib's own SHA-256. */
	sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256,
					  (const guchar *)data, dlen);
	ck_assert_str_eq(a->sha256, sum);
	/* The body is the text part, not the PDF. */
	ck_assert(strstr(m->text, "Haushaltsplan") != NULL);
	g_free(sum);
	msg_free(m);
	g_free(raw);
}
END_TEST

START_TEST(attachment_over_limit_keeps_metadata)
{
	char *raw;
	gsize len;
	struct msg *m;
	struct msg_attachment *a;

	cfg.attachment_size_limit = 100;
	m = parse_file("inbound/06-pdf-attachment.eml", &raw, &len);
	a = m->attachments->pdata[0];
	ck_assert(a->content == NULL);
	ck_assert_int_eq(a->size, 1629);
	ck_assert_int_eq(strlen(a->sha256), 64);
	msg_free(m);
	g_free(raw);
	cfg_load("/dev/null", NULL);
}
END_TEST

START_TEST(missing_message_id_is_stable)
{
	char *raw;
	gsize len;
	struct msg *a = parse_file("inbound/11-no-message-id.eml", &raw, &len);
	struct msg *b = msg_parse(raw, len, NULL);

	ck_assert(a->message_id_made);
	ck_assert_str_eq(a->message_id, b->message_id);
	ck_assert(g_str_has_suffix(a->message_id, "@listbridge.invalid"));
	msg_free(a);
	msg_free(b);
	g_free(raw);
}
END_TEST

START_TEST(references_in_order)
{
	char *raw;
	gsize len;
	struct msg *m =
	    parse_file("inbound/09-reply-late-parent.eml", &raw, &len);
	struct msg *p;
	char *praw;
	gsize plen;

	p = parse_file("inbound/10-late-parent.eml", &praw, &plen);
	ck_assert_str_eq(m->in_reply_to, p->message_id);
	ck_assert_int_eq(m->references->len, 2);
	ck_assert_str_eq(m->references->pdata[1], p->message_id);
	msg_free(m);
	msg_free(p);
	g_free(raw);
	g_free(praw);
}
END_TEST

/* Malformed input: never a crash; something or a clean error. */
static const char *const garbage[] = {
    "",
    "\n\n\n",
    "no header at all, just words\n",
    "Subject: =?utf-8?B?invalid base64!!?=\n\nbody\n",
    "Content-Type: multipart/mixed; boundary=x\n\n--x\n--x\n--x--\n",
    "Content-Type: multipart/mixed\n\nno boundary\n",
    "From: <>\nSubject: \xff\xfe\n\n\xc3\x28\n",
    "Content-Type: text/plain; charset=\"\"\n"
    "Content-Transfer-Encoding: base64\n\n====\n",
    "Message-ID: <<<>>>\nIn-Reply-To: garbage\nReferences: a b c\n\nx\n",
};

START_TEST(garbage_never_crashes)
{
	GError *err = NULL;
	struct msg *m = msg_parse(garbage[_i], strlen(garbage[_i]), &err);

	if (m == NULL) {
		ck_assert(err != NULL);
		g_error_free(err);
		return;
	}
	ck_assert(m->message_id != NULL);
	ck_assert(g_utf8_validate(m->subject, -1, NULL));
	ck_assert(g_utf8_validate(m->text, -1, NULL));
	msg_free(m);
}
END_TEST

/* HTML with more tags than html_tag_limit is left to the raw message. */
START_TEST(deep_html_is_not_parsed)
{
	GString *s = g_string_new("Subject: tief\nContent-Type: text/html\n\n");
	struct msg *m;
	gint64 t0;
	int i;

	for (i = 0; i < 500000; i++)
		g_string_append(s, "<div>");
	t0 = g_get_monotonic_time();
	m = msg_parse(s->str, s->len, NULL);
	ck_assert(m != NULL);
	ck_assert(m->html_skipped);
	ck_assert_ptr_null(m->html);
	ck_assert_str_eq(m->text, "");
	/* A bound, not a timing test: unparsed, this takes minutes. */
	ck_assert(g_get_monotonic_time() - t0 < 10 * G_USEC_PER_SEC);
	msg_free(m);
	g_string_free(s, TRUE);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("message");
	TCase *tc = tcase_create("core");
	char *path = harness_data("inbound/expected.txt"), *text;
	int n;

	cfg_load("/dev/null", NULL);
	msg_init();
	if (!g_file_get_contents(path, &text, NULL, NULL)) {
		fprintf(stderr, "test_message: cannot read %s\n", path);
		return EXIT_FAILURE;
	}
	g_strchomp(text);
	expected = g_strsplit(text, "\n", -1);
	n = (int)g_strv_length(expected);

	tcase_add_loop_test(tc, fixture_headers, 0, n);
	tcase_add_loop_test(tc, bodies_decode, 0, (int)G_N_ELEMENTS(bodies));
	tcase_add_test(tc, html_only_has_no_markup);
	tcase_add_test(tc, pdf_attachment);
	tcase_add_test(tc, attachment_over_limit_keeps_metadata);
	tcase_add_test(tc, missing_message_id_is_stable);
	tcase_add_test(tc, references_in_order);
	tcase_add_test(tc, deep_html_is_not_parsed);
	tcase_add_loop_test(tc, garbage_never_crashes, 0,
			    (int)G_N_ELEMENTS(garbage));
	suite_add_tcase(s, tc);
	n = harness_main(s);
	g_strfreev(expected);
	g_free(text);
	g_free(path);
	return n;
}
