/*
 * test_text: charsets, newlines, HTML to text (text.c).
 */
#include "../gateway/text.h"
#include "harness.h"

static const struct {
	const char *bytes;
	int len;
	const char *declared;
	const char *want;
} charsets[] = {
    /* Declared and right. */
    {"Gr\xc3\xbc\xc3\x9f"
     "e",
     -1, "utf-8", "Grüße"},
    {"Gr\xfc\xdf"
     "e",
     -1, "iso-8859-1", "Grüße"},
    {"\xa4 5", -1, "iso-8859-15", "€ 5"},
    /* ISO-8859-1 declared, windows-1252 meant (Outlook's quotes, euro). */
    {"\x84"
     "Lesen\x93 \x80",
     -1, "iso-8859-1", "„Lesen“ €"},
    /* No charset: UTF-8 when valid, else windows-1252. */
    {"K\xc3\xb6ln", -1, NULL, "Köln"},
    {"K\xf6ln \x80", -1, NULL, "Köln €"},
    /* Declared wrong: 8-bit in "us-ascii", invalid UTF-8. */
    {"M\xfcller", -1, "us-ascii", "Müller"},
    {"M\xfcller", -1, "utf-8", "Müller"},
    /* Unknown charset name: the chain. */
    {"M\xc3\xbcller", -1, "x-made-up", "Müller"},
    /* Bytes undefined in windows-1252 still come out. */
    {"a\x81z", -1, NULL, "a\xc2\x81z"},
    /* NUL bytes are dropped. */
    {"a\0b", 3, "utf-8", "ab"},
};

START_TEST(to_utf8)
{
	gsize len = charsets[_i].len < 0 ? strlen(charsets[_i].bytes)
					 : (gsize)charsets[_i].len;
	char *s =
	    text_to_utf8(charsets[_i].bytes, len, charsets[_i].declared, NULL);

	ck_assert(g_utf8_validate(s, -1, NULL));
	ck_assert_str_eq(s, charsets[_i].want);
	g_free(s);
}
END_TEST

START_TEST(newlines)
{
	char s[] = "a\r\nb\rc\n\r\nd";

	ck_assert_str_eq(text_newlines(s), "a\nb\nc\n\nd");
}
END_TEST

static const struct {
	const char *html;
	const char *want;
} html[] = {
    {"<p>Hallo <b>Welt</b></p><p>Zweiter&nbsp;Absatz</p>",
     "Hallo Welt\n\nZweiter Absatz"},
    {"<html><head><title>T</title><style>p{color:red}</style></head>"
     "<body><script>alert(1)</script>Nur Text</body></html>",
     "Nur Text"},
    {"Zeile 1<br>Zeile 2<br/>Zeile 3", "Zeile 1\nZeile 2\nZeile 3"},
    {"<ul><li>eins</li><li>zwei</li></ul>", "- eins\n- zwei"},
    {"<a href=\"https://example.org/x\">hier</a>",
     "hier <https://example.org/x>"},
    {"<a href=\"https://example.org/\">https://example.org/</a>",
     "https://example.org/"},
    {"<table><tr><td>a</td><td>b</td></tr><tr><td>c</td><td>d</td></tr>"
     "</table>",
     "a | b\nc | d"},
    {"M&auml;rz &amp; April &lt;3", "März & April <3"},
    {"<div>unclosed <p>tags <b>everywhere", "unclosed\n\ntags everywhere"},
    {"<p>Ja.</p><blockquote><p>Frage?</p><p>Zweite</p></blockquote>",
     "Ja.\n\n> Frage?\n> \n> Zweite"},
    {"<blockquote>a<blockquote>b</blockquote></blockquote>", "> a\n> \n>> b"},
    {"", ""},
};

START_TEST(from_html)
{
	char *s = text_from_html(html[_i].html, strlen(html[_i].html));

	ck_assert_str_eq(s, html[_i].want);
	g_free(s);
}
END_TEST

static const struct {
	const char *in;
	int delsp;
	const char *want;
} flowed[] = {
    {"Ein langer \nAbsatz in \nZeilen.\nNeu.", 0,
     "Ein langer Absatz in Zeilen.\nNeu."},
    {"Ein langer \nAbsatz.", 1, "Ein langerAbsatz."},
    {"> zitiert \n> weiter\nAntwort", 0, "> zitiert weiter\nAntwort"},
    {">> tief \n> flach", 0, ">> tief \n> flach"},
    {" From here\n", 0, "From here\n"},
    {"Gruß\n-- \nSignatur", 0, "Gruß\n-- \nSignatur"},
    {"", 0, ""},
};

START_TEST(unflow)
{
	char *s = text_unflow(flowed[_i].in, flowed[_i].delsp);

	ck_assert_str_eq(s, flowed[_i].want);
	g_free(s);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("text");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, to_utf8, 0, (int)G_N_ELEMENTS(charsets));
	tcase_add_test(tc, newlines);
	tcase_add_loop_test(tc, unflow, 0, (int)G_N_ELEMENTS(flowed));
	tcase_add_loop_test(tc, from_html, 0, (int)G_N_ELEMENTS(html));
	suite_add_tcase(s, tc);
	return harness_main(s);
}
