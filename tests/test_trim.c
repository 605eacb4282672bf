/*
 * test_trim: the trimmer (trim.c): cases, nothing lost, admin patterns.
 */
#include <sysexits.h>
#include <unistd.h>

#include "../gateway/lberror.h"
#include "../gateway/text.h"
#include "../gateway/trim.h"
#include "harness.h"

static const struct {
	const char *in;
	const char *text;
	const char *why;
} cases[] = {
    {"Danke!\n\nAm 02.12.2026 um 10:15 schrieb Jürgen Müller:\n> Frage\n",
     "Danke!", "header"},
    {"Ja.\n\nVon meinem iPhone gesendet\n", "Ja.", "signature"},
    {"Gruß\nThomas\n-- \nThomas Weiß\nKassenwart\n", "Gruß\nThomas",
     "signature"},
    {"Passt.\n\n-----Ursprüngliche Nachricht-----\nVon: a\n", "Passt.",
     "separator"},
    {"Ok\n\nVon: Jürgen <j@example.org>\nGesendet: Mittwoch, 2. Dezember "
     "2026 10:15\nAn: v@example.org\nBetreff: x\n\nalt\n",
     "Ok", "separator"},
    {"> Wann?\n\nMorgen.\n", "> Wann?\n\nMorgen.", "none"},
    {"> nur ein Zitat\n", "> nur ein Zitat", "none"},
    {"Antwort\n\n> zitiert\n> zitiert\n", "Antwort", "quote"},
    /* Interleaved: the attribution goes, quotes with answers stay. */
    {"Hallo,\nAm 1.12.2026 schrieb A <a@example.org>:\n> Frage 1?\n"
     "Antwort 1\n> Frage 2?\nAntwort 2\n> Rest\n",
     "Hallo,\n> Frage 1?\nAntwort 1\n> Frage 2?\nAntwort 2", "quote"},
    /* Code blocks are never cut. */
    {"Siehe:\n```\n-- \n> x\n```\nEnde\n", "Siehe:\n```\n-- \n> x\n```\nEnde",
     "none"},
    /* Not an attribution: no digit, no address. */
    {"Am Samstag schrieb die Zeitung:\nEin schöner Artikel.\n",
     "Am Samstag schrieb die Zeitung:\nEin schöner Artikel.", "none"},
    {"", "", "none"},
};

START_TEST(table)
{
	struct trim_result r;

	trim_text(cases[_i].in, &r);
	ck_assert_str_eq(r.text, cases[_i].text);
	ck_assert_str_eq(r.why, cases[_i].why);
	trim_result_clear(&r);
}
END_TEST

/* Outlook's "WG:" has only a header block; the subject tells. */
START_TEST(outlook_forward_by_subject)
{
	const char *text = "zur Info\n\nVon: Stadt Musterstadt "
			   "<info@example.org>\nGesendet: Montag, 30. "
			   "November 2026 09:00\nAn: Vorstand\nBetreff: "
			   "Zuschuss\n\nDer Zuschuss ist bewilligt.\n";
	struct trim_result r;

	trim_forward(text, &r);
	ck_assert_str_eq(r.text, "zur Info");
	ck_assert(strstr(r.forwarded, "Zuschuss ist bewilligt") != NULL);
	ck_assert_str_eq(r.cut, "");
	trim_result_clear(&r);

	/* The same as a reply: the block is cut. */
	trim_text(text, &r);
	ck_assert_str_eq(r.text, "zur Info");
	ck_assert_str_eq(r.forwarded, "");
	ck_assert(strstr(r.cut, "Zuschuss ist bewilligt") != NULL);
	trim_result_clear(&r);
}
END_TEST

START_TEST(forward_is_kept)
{
	struct trim_result r;

	trim_text("zur Info\n\n-------- Weitergeleitete Nachricht --------\n"
		  "Betreff: Sommerfest\nDatum: 1.12.2026\n\nText\n",
		  &r);
	ck_assert_str_eq(r.text, "zur Info");
	ck_assert(g_str_has_prefix(r.forwarded, "-------- Weitergeleitete"));
	ck_assert(strstr(r.forwarded, "Text") != NULL);
	ck_assert_str_eq(r.cut, "");
	trim_result_clear(&r);
}
END_TEST

/* Nothing lost: every non-blank input line is in text, forwarded or
 * cut, over the fixtures of tests/data/trim. */
START_TEST(nothing_lost)
{
	char *dir = harness_data("trim/input");
	GDir *d = g_dir_open(dir, 0, NULL);
	const char *name;
	int n = 0;

	ck_assert_msg(d != NULL, "%s", dir);
	while ((name = g_dir_read_name(d)) != NULL) {
		char *path = g_build_filename(dir, name, NULL), *text;
		struct trim_result r;
		char **lines;
		int i;

		ck_assert(g_file_get_contents(path, &text, NULL, NULL));
		if (g_str_has_suffix(name, ".html")) {
			char *plain = text_from_html(text, strlen(text));

			g_free(text);
			text = plain;
		}
		trim_text(text, &r);
		lines = g_strsplit(text, "\n", -1);
		for (i = 0; lines[i] != NULL; i++) {
			char *l = g_strstrip(lines[i]);

			if (*l == '\0')
				continue;
			ck_assert_msg(strstr(r.text, l) != NULL ||
					  strstr(r.forwarded, l) != NULL ||
					  strstr(r.cut, l) != NULL,
				      "%s: lost \"%s\"", name, l);
		}
		g_strfreev(lines);
		trim_result_clear(&r);
		g_free(text);
		g_free(path);
		n++;
	}
	ck_assert_int_ge(n, 30);
	g_dir_close(d);
	g_free(dir);
}
END_TEST

START_TEST(admin_patterns)
{
	char *path = NULL;
	int fd = g_file_open_tmp("lbtrim-XXXXXX", &path, NULL);
	GError *err = NULL;
	struct trim_result r;

	close(fd);
	/* An admin's own footer line. */
	ck_assert(g_file_set_contents(
	    path, "# ours\nsignature ^Gesendet aus dem Vereinsbüro$\n", -1,
	    NULL));
	ck_assert_int_eq(trim_load(path, &err), 0);
	trim_text("Erledigt.\n\nGesendet aus dem Vereinsbüro\n", &r);
	ck_assert_str_eq(r.text, "Erledigt.");
	trim_result_clear(&r);

	/* A bad one: EX_CONFIG, naming file and line. */
	ck_assert(g_file_set_contents(path, "\nheader ^(unclosed\n", -1, NULL));
	ck_assert_int_eq(trim_load(path, &err), -1);
	ck_assert_int_eq(lb_error_code(err), EX_CONFIG);
	ck_assert_msg(strstr(err->message, ":2:") != NULL, "%s", err->message);
	g_clear_error(&err);
	ck_assert(g_file_set_contents(path, "quote ^x\n", -1, NULL));
	ck_assert_int_eq(trim_load(path, &err), -1);
	g_clear_error(&err);

	/* Back to the built-in patterns. */
	ck_assert_int_eq(trim_load(NULL, &err), 0);
	unlink(path);
	g_free(path);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("trim");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, table, 0, (int)G_N_ELEMENTS(cases));
	tcase_add_test(tc, forward_is_kept);
	tcase_add_test(tc, outlook_forward_by_subject);
	tcase_add_test(tc, nothing_lost);
	tcase_add_test(tc, admin_patterns);
	suite_add_tcase(s, tc);
	return harness_main(s);
}
