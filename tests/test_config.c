/*
 * test_config: settings are read, defaulted and checked (config.c).
 */
#include <sysexits.h>
#include <unistd.h>

#include "../gateway/config.h"
#include "../gateway/lberror.h"
#include "harness.h"

static char *write_conf(const char *text);

static char *
write_conf(const char *text)
{
	char *path = NULL;
	int fd = g_file_open_tmp("lbconf-XXXXXX", &path, NULL);

	ck_assert(fd >= 0);
	close(fd);
	ck_assert(g_file_set_contents(path, text, -1, NULL));
	return path;
}

START_TEST(defaults_without_file)
{
	GError *err = NULL;

	g_unsetenv("LISTBRIDGE_CONFIG");
	/* The default path is not there on a test machine: defaults. */
	if (g_file_test(CONFIG_PATH, G_FILE_TEST_EXISTS))
		return;
	ck_assert_int_eq(cfg_load(NULL, &err), 0);
	ck_assert_str_eq(cfg.database, "dbname=listbridge");
	ck_assert_int_eq(cfg.message_size_limit, 26214400);
	ck_assert_int_eq(cfg.thread_subject_window, 30);
	ck_assert(!cfg.hook_allow_root);
}
END_TEST

START_TEST(values_are_read)
{
	GError *err = NULL;
	char *p = write_conf("[listbridge]\ndatabase = host=/x dbname=y\n"
			     "message_size_limit = 2048\nlog_verbose = yes\n"
			     "default_locale = en\n");

	ck_assert_int_eq(cfg_load(p, &err), 0);
	ck_assert_str_eq(cfg.database, "host=/x dbname=y");
	ck_assert_int_eq(cfg.message_size_limit, 2048);
	ck_assert(cfg.log_verbose);
	ck_assert_str_eq(cfg.default_locale, "en");
	/* Keys not named keep their defaults. */
	ck_assert_int_eq(cfg.mime_depth_limit, 16);
	g_free(p);
}
END_TEST

/* Bad values: each names its key and exits EX_CONFIG. */
static const struct {
	const char *text;
	const char *key;
} bad[] = {
    {"message_size_limit = 12x", "message_size_limit"},
    {"message_size_limit = 10", "message_size_limit"},
    {"thread_subject_window = -1", "thread_subject_window"},
    {"log_verbose = maybe", "log_verbose"},
    {"default_locale = fr", "default_locale"},
    {"syslog_facility = kernel", "syslog_facility"},
    {"db_connect_timeout = 99999999999999999999", "db_connect_timeout"},
    {"timezone = Mars/Olympus", "timezone"},
    {"default_locale = de|en", "default_locale"},
    {"message_id_domain = a b>c<", "message_id_domain"},
};

START_TEST(bad_values_name_the_key)
{
	GError *err = NULL;
	char *text = g_strdup_printf("[listbridge]\n%s\n", bad[_i].text);
	char *p = write_conf(text);

	ck_assert_int_eq(cfg_load(p, &err), -1);
	ck_assert_int_eq(lb_error_code(err), EX_CONFIG);
	ck_assert_msg(strstr(err->message, bad[_i].key) != NULL, "%s",
		      err->message);
	g_error_free(err);
	g_free(text);
	g_free(p);
}
END_TEST

START_TEST(missing_named_file_is_an_error)
{
	GError *err = NULL;

	ck_assert_int_eq(cfg_load("/nonexistent/listbridge.conf", &err), -1);
	ck_assert_int_eq(lb_error_code(err), EX_CONFIG);
	g_error_free(err);
}
END_TEST

START_TEST(command_exits_78_on_bad_value)
{
	char *p = write_conf("[listbridge]\ndeliver_timeout = soon\n");
	char *err = NULL;

	g_setenv("LISTBRIDGE_CONFIG", p, TRUE);
	ck_assert_int_eq(harness_run(NULL, &err, "config"), EX_CONFIG);
	ck_assert_msg(strstr(err, "deliver_timeout") != NULL, "%s", err);
	g_free(err);
	g_free(p);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, defaults_without_file);
	tcase_add_test(tc, values_are_read);
	tcase_add_loop_test(tc, bad_values_name_the_key, 0,
			    (int)G_N_ELEMENTS(bad));
	tcase_add_test(tc, missing_named_file_is_an_error);
	tcase_add_test(tc, command_exits_78_on_bad_value);
	suite_add_tcase(s, tc);
	return harness_main(s);
}
