/*
 * test_thread: subject keys (thread.c).  Thread resolution against the
 * database is covered by test_inbound.
 */
#include "../gateway/db.h"
#include "../gateway/thread.h"
#include "harness.h"

static const struct {
	const char *subject;
	const char *key;
	int reply;
} cases[] = {
    {"Einladung zur Sitzung", "einladung zur sitzung", 0},
    {"Re: Einladung zur Sitzung", "einladung zur sitzung", 1},
    {"AW: Einladung zur Sitzung", "einladung zur sitzung", 1},
    {"Aw: AW: Re: Einladung  zur\tSitzung ", "einladung zur sitzung", 1},
    {"WG: Einladung zur Sitzung", "einladung zur sitzung", 0},
    {"Fwd: Einladung zur Sitzung", "einladung zur sitzung", 0},
    {"[Vorstand] Re: Einladung zur Sitzung", "einladung zur sitzung", 1},
    {"Re: [Vorstand] Einladung zur Sitzung", "einladung zur sitzung", 1},
    {"RE[2]: Haushalt", "haushalt", 1},
    {"Antw: Haushalt", "haushalt", 1},
    {"SV: Haushalt", "haushalt", 1},
    {"Re : Haushalt", "haushalt", 1},
    {"ÄNDERUNG der Satzung", "änderung der satzung", 0},
    {"Reise nach Köln", "reise nach köln", 0},
    {"Rechnung: März", "rechnung: märz", 0},
    {"Re:", "", 1},
    {"", "", 0},
    {"[unclosed Re: x", "[unclosed re: x", 0},
};

START_TEST(subject_keys)
{
	int reply = -1;
	char *key = thread_subject_key(cases[_i].subject, &reply);

	ck_assert_str_eq(key, cases[_i].key);
	ck_assert_int_eq(reply, cases[_i].reply);
	g_free(key);
}
END_TEST

static const struct {
	const char *subject;
	int forward;
} forwards[] = {
    {"WG: Zuschuss", 1},       {"Fwd: Zuschuss", 1},
    {"[Vorstand] FW: x", 1},   {"AW: WG: Zuschuss", 0},
    {"Re: Fwd: x", 0},	       {"Zuschuss", 0},
    {"Wegbeschreibung: x", 0}, {"", 0},
};

START_TEST(subject_forward)
{
	ck_assert_int_eq(thread_subject_forward(forwards[_i].subject),
			 forwards[_i].forward);
}
END_TEST

START_TEST(id_array_quotes)
{
	const char *ids[] = {"a@b", "x\"y@z", "b\\s@q", NULL};
	char *s = db_text_array(ids, 3);

	ck_assert_str_eq(s, "{\"a@b\",\"x\\\"y@z\",\"b\\\\s@q\"}");
	g_free(s);
	s = db_text_array(ids, 0);
	ck_assert_str_eq(s, "{}");
	g_free(s);
	s = db_text_array(ids + 2, 2);
	ck_assert_str_eq(s, "{\"b\\\\s@q\",NULL}");
	g_free(s);
	s = db_text_array(ids, 0);
	ck_assert_str_eq(s, "{}");
	g_free(s);
}
END_TEST

START_TEST(long_subject_key_is_bounded)
{
	GString *subject = g_string_new("Re: ");
	char *key;
	int i;

	for (i = 0; i < 3000; i++)
		g_string_append(subject, "ä");
	key = thread_subject_key(subject->str, NULL);
	ck_assert_int_le(strlen(key), 200);
	ck_assert(g_utf8_validate(key, -1, NULL));
	g_free(key);
	g_string_free(subject, TRUE);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("thread");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, subject_keys, 0, (int)G_N_ELEMENTS(cases));
	tcase_add_test(tc, id_array_quotes);
	tcase_add_loop_test(tc, subject_forward, 0,
			    (int)G_N_ELEMENTS(forwards));
	tcase_add_test(tc, long_subject_key_is_bounded);
	suite_add_tcase(s, tc);
	return harness_main(s);
}
