/*
 * test_admin: the set-up commands against a real PostgreSQL (admin.c):
 * clear refusals, no raw database errors, an audit trail.
 */
#include <sysexits.h>

#include "harness.h"

static const struct {
	const char *args;
	int code;
	const char *says; /* on stderr */
} steps[] = {
    {"group add vorstand Vorstand", EX_OK, ""},
    {"group add vorstand Nochmal", EX_DATAERR, "exists already"},
    {"group add 'Bad Slug!' X", EX_USAGE, "bad group slug"},
    {"group add kasse ''", EX_USAGE, "needs a name"},
    {"list add vorstand@lists.example.org --group vorstand", EX_OK, ""},
    {"list add Vorstand@Lists.Example.org --group vorstand", EX_DATAERR,
     "exists already"},
    {"list add kasse@lists.example.org --group nosuch", EX_NOUSER,
     "no group nosuch"},
    {"list add notanaddress --group vorstand", EX_USAGE, "is no address"},
    {"list add x@lists.example.org --group vorstand --policy maybe", EX_USAGE,
     "bad policy"},
    {"member add juergen@example.org 'Jürgen Müller' --group vorstand", EX_OK,
     ""},
    {"member add 'a@b@c' X --group vorstand", EX_USAGE, "is no address"},
    {"member add 'a b@example.org' X", EX_USAGE, "is no address"},
    {"member add anna@example.org ''", EX_USAGE, "needs a name"},
    {"member add anna@example.org Anna --address juergen@example.org",
     EX_DATAERR, "belongs to another member"},
    {"member add juergen@example.org 'Jürgen Müller-Lüdenscheidt'"
     " --delivery daily --group vorstand",
     EX_OK, ""},
    {"member add x@example.org X --delivery hourly", EX_USAGE, "bad delivery"},
    {"show group nosuch", EX_NOUSER, "no group nosuch"},
    {"show group vorstand --lines -1", EX_USAGE, "--lines"},
};

START_TEST(steps_in_order)
{
	PGconn *conn = harness_db("lbt_admin", NULL);
	char *err = NULL;
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(steps); i++) {
		int rc = harness_run(NULL, &err, steps[i].args);

		ck_assert_msg(rc == steps[i].code, "%s: exit %d, want %d: %s",
			      steps[i].args, rc, steps[i].code, err);
		ck_assert_msg(strstr(err, steps[i].says) != NULL,
			      "%s: stderr lacks \"%s\": %s", steps[i].args,
			      steps[i].says, err);
		ck_assert_msg(strstr(err, "ERROR:") == NULL,
			      "%s: raw database error: %s", steps[i].args, err);
		g_free(err);
	}

	/* What was refused left nothing behind; what was done is audited. */
	ck_assert_int_eq(harness_ll(conn, "SELECT count(*) FROM portal.member"),
			 1);
	ck_assert_int_eq(harness_ll(conn,
				    "SELECT count(*) FROM portal.member WHERE"
				    " name = 'Jürgen Müller-Lüdenscheidt'"),
			 1);
	ck_assert_int_eq(harness_ll(conn,
				    "SELECT count(*) FROM portal.membership"
				    " WHERE delivery = 'daily'"),
			 1);
	ck_assert_int_eq(harness_ll(conn, "SELECT count(*) FROM gateway.list"),
			 1);
	ck_assert_int_eq(
	    harness_ll(conn, "SELECT count(*) FROM gateway.audit_event"), 4);
	PQfinish(conn);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("admin");
	TCase *tc = tcase_create("commands");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, steps_in_order);
	suite_add_tcase(s, tc);
	return harness_main(s);
}
