/*
 * test_log: untrusted text made safe for one log value (log.c), and the
 * list address a recipient names (inbound.c).
 */
#include "../gateway/inbound.h"
#include "../gateway/log.h"
#include "harness.h"

static const struct {
	const char *in;
	size_t max;
	const char *want;
} cleans[] = {
    {"juergen@example.org", 200, "juergen@example.org"},
    {"a b\tc", 200, "a_b_c"},
    {"evil\nmsgid=<forged>", 200, "evil?msgid=<forged>"},
    {"quote\"d", 200, "quote?d"},
    {"Jürgen Müller", 200, "Jürgen_Müller"},
    {"\xff\xfe"
     "bad",
     200,
     "\xef\xbf\xbd\xef\xbf\xbd"
     "bad"},
    {"abcdefghij", 5, "abcde..."},
    /* Never cut inside a character. */
    {"ääää", 3, "ä..."},
    {NULL, 10, ""},
};

START_TEST(clean)
{
	char *s = log_clean(cleans[_i].in, cleans[_i].max);

	ck_assert_str_eq(s, cleans[_i].want);
	g_free(s);
}
END_TEST

static const struct {
	const char *rcpt;
	const char *want; /* NULL: no address */
} lists[] = {
    {"vorstand@lists.example.org", "vorstand@lists.example.org"},
    {"Vorstand@Lists.Example.ORG", "vorstand@lists.example.org"},
    {"vorstand+digest@lists.example.org", "vorstand@lists.example.org"},
    {"vorstand+a+b@lists.example.org", "vorstand@lists.example.org"},
    {"+x@lists.example.org", NULL},
    {"vorstand", NULL},
    {"@lists.example.org", NULL},
    {"vorstand@", NULL},
    {"", NULL},
};

START_TEST(list_address)
{
	char *s = inbound_list_address(lists[_i].rcpt);

	if (lists[_i].want == NULL)
		ck_assert_ptr_null(s);
	else
		ck_assert_str_eq(s, lists[_i].want);
	g_free(s);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, clean, 0, (int)G_N_ELEMENTS(cleans));
	tcase_add_loop_test(tc, list_address, 0, (int)G_N_ELEMENTS(lists));
	suite_add_tcase(s, tc);
	return harness_main(s);
}
