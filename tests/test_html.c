/*
 * test_html: HTML rebuilt from an allow-list, client quotes cut (html.c).
 */
#include "../gateway/html.h"
#include "harness.h"

static const struct {
	const char *in;
	const char *want; /* NULL: nothing visible */
	int trimmed;
} cases[] = {
    /* The allow-list. */
    {"<p>Hallo <b>Welt</b></p>", "<p>Hallo <b>Welt</b></p>", 0},
    {"<script>alert(1)</script><p>Text</p>", "<p>Text</p>", 0},
    {"<p onclick=\"x()\" style=\"color:red\" class=\"MsoNormal\">a</p>",
     "<p>a</p>", 0},
    {"<a href=\"javascript:alert(1)\">klick</a>", "klick", 0},
    {"<a href=\"https://example.org/?a=1&b=2\" target=_blank>x</a>",
     "<a href=\"https://example.org/?a=1&amp;b=2\" rel=\"nofollow "
     "noopener\">x</a>",
     0},
    {"<a href=\"mailto:vorstand@example.org\">Mail</a>",
     "<a href=\"mailto:vorstand@example.org\" rel=\"nofollow "
     "noopener\">Mail</a>",
     0},
    {"<img src=\"cid:logo@example.org\" alt=\"Logo\" onerror=\"x()\">",
     "<img src=\"attachment:logo@example.org\" alt=\"Logo\">", 0},
    {"<p>a<img src=\"https://tracker.example.com/p.gif\"></p>", "<p>a</p>", 0},
    {"<img src=\"https://tracker.example.com/p.gif\">", NULL, 0},
    {"<p>5 &lt; 6 &amp; \"x\"</p>", "<p>5 &lt; 6 &amp; &quot;x&quot;</p>", 0},
    {"<span style=\"font-size:11pt\">Grüße</span>", "Grüße", 0},
    {"<form><input value=x><button>Los</button>Feld</form><p>ok</p>",
     "Feld<p>ok</p>", 0},
    {"<table><tr><td colspan=\"2\" bgcolor=red>a</td></tr></table>",
     "<table><tbody><tr><td colspan=\"2\">a</td></tr></tbody></table>", 0},
    {"<td colspan=\"2;x\">a</td>", "a", 0},
    /* Client quotes. */
    {"<div dir=\"ltr\">Danke!</div><div class=\"gmail_quote\">"
     "<div class=\"gmail_attr\">Am Mi. schrieb X:</div>"
     "<blockquote>alt</blockquote></div>",
     "<div>Danke!</div>", 1},
    {"<p>Passt.</p><div id=\"divRplyFwdMsg\"><b>Von:</b> X</div>"
     "<div>alter Text</div>",
     "<p>Passt.</p>", 1},
    {"<p>Ja</p><div style=\"border:none;border-top:solid #E1E1E1 1.0pt;"
     "padding:3.0pt 0cm 0cm 0cm\"><p><b>Von:</b> X</p></div><p>alt</p>",
     "<p>Ja</p>", 1},
    {"<p>Gut.</p><div class=\"moz-cite-prefix\">Am 1.12. schrieb X:</div>"
     "<blockquote type=\"cite\">alt</blockquote>",
     "<p>Gut.</p>", 1},
    {"<p>Oben</p><blockquote type=\"cite\">alt</blockquote>", "<p>Oben</p>", 1},
    /* Interleaved: a cited quote with an answer below stays. */
    {"<blockquote type=\"cite\">Frage?</blockquote><p>Antwort</p>",
     "<blockquote>Frage?</blockquote><p>Antwort</p>", 0},
    {"", NULL, 0},
    {"<html><head><style>p{}</style></head><body> </body></html>", NULL, 0},
};

START_TEST(table)
{
	int trimmed = -1;
	char *got = html_clean(cases[_i].in, strlen(cases[_i].in), &trimmed);

	if (cases[_i].want == NULL)
		ck_assert_msg(got == NULL, "got %s", got);
	else
		ck_assert_str_eq(got, cases[_i].want);
	ck_assert_int_eq(trimmed, cases[_i].trimmed);
	g_free(got);
}
END_TEST

/* Deep nesting: no crash, the text survives. */
START_TEST(deep_nesting)
{
	GString *s = g_string_new(NULL);
	char *got;
	int i;

	for (i = 0; i < 5000; i++)
		g_string_append(s, "<div><b>");
	g_string_append(s, "tief");
	got = html_clean(s->str, s->len, NULL);
	ck_assert(got != NULL && strstr(got, "tief") != NULL);
	g_free(got);
	g_string_free(s, TRUE);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("html");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, table, 0, (int)G_N_ELEMENTS(cases));
	tcase_add_test(tc, deep_nesting);
	suite_add_tcase(s, tc);
	return harness_main(s);
}
