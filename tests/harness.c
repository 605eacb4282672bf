/*
 * harness: shared test helpers (see harness.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static char *bin(void);

static char *
bin(void)
{
	const char *b = g_getenv("LB_TEST_BIN");

	return g_strdup(b != NULL ? b : "./listbridge");
}

char *
harness_data(const char *rel)
{
	const char *top = g_getenv("LB_TEST_TOP");

	return g_build_filename(top != NULL ? top : ".", "tests", "data", rel,
				NULL);
}

PGconn *
harness_db(const char *name, const char *extra)
{
	const char *host = g_getenv("LB_TEST_PGHOST");
	char *admin, *conf, *path, *dir, *sql, *cmd, *err = NULL;
	PGconn *conn;
	int rc;

	ck_assert_msg(host != NULL, "LB_TEST_PGHOST is not set: run the "
				    "tests through tests/run.sh");

	/* A fresh database. */
	admin = g_strdup_printf("host=%s user=postgres dbname=postgres", host);
	conn = PQconnectdb(admin);
	ck_assert_msg(PQstatus(conn) == CONNECTION_OK, "%s",
		      PQerrorMessage(conn));
	PQclear(PQexec(conn, "SET client_min_messages = warning"));
	sql = g_strdup_printf("DROP DATABASE IF EXISTS %s", name);
	PQclear(PQexec(conn, sql));
	g_free(sql);
	sql = g_strdup_printf("CREATE DATABASE %s", name);
	PQclear(PQexec(conn, sql));
	g_free(sql);
	PQfinish(conn);

	/* Its config file. */
	dir = g_dir_make_tmp("lbtest-XXXXXX", NULL);
	ck_assert(dir != NULL);
	path = g_build_filename(dir, "listbridge.conf", NULL);
	conf = g_strdup_printf("[listbridge]\n"
			       "database = host=%s user=postgres dbname=%s\n"
			       "syslog_facility =\n"
			       "hook_allow_root = true\n%s\n",
			       host, name, extra != NULL ? extra : "");
	ck_assert(g_file_set_contents(path, conf, -1, NULL));
	g_setenv("LISTBRIDGE_CONFIG", path, TRUE);

	/* Migrated by the real command. */
	rc = harness_run(NULL, &err, "db migrate");
	ck_assert_msg(rc == 0, "db migrate: %d %s", rc, err);
	g_free(err);

	cmd = g_strdup_printf("host=%s user=postgres dbname=%s", host, name);
	conn = PQconnectdb(cmd);
	ck_assert_msg(PQstatus(conn) == CONNECTION_OK, "%s",
		      PQerrorMessage(conn));
	g_free(cmd);
	g_free(admin);
	g_free(conf);
	g_free(path);
	g_free(dir);
	return conn;
}

int
harness_run(const char *stdin_file, char **err, const char *args)
{
	char *b = bin(), *cmd, *argv[4], *out = NULL, *errout = NULL;
	GError *gerr = NULL;
	int status = -1;

	cmd = g_strdup_printf("exec %s %s < %s", b, args,
			      stdin_file != NULL ? stdin_file : "/dev/null");
	argv[0] = (char *)"/bin/sh";
	argv[1] = (char *)"-c";
	argv[2] = cmd;
	argv[3] = NULL;
	if (!g_spawn_sync(NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out,
			  &errout, &status, &gerr))
		ck_abort_msg("spawn: %s", gerr->message);
	g_free(cmd);
	g_free(b);
	g_free(out);
	if (err != NULL)
		*err = errout;
	else
		g_free(errout);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

int
harness_run_text(const char *text, char **err, const char *args)
{
	char *path = NULL;
	int fd = g_file_open_tmp("lbmsg-XXXXXX.eml", &path, NULL), rc;

	ck_assert(fd >= 0);
	close(fd);
	ck_assert(g_file_set_contents(path, text, -1, NULL));
	rc = harness_run(path, err, args);
	unlink(path);
	g_free(path);
	return rc;
}

long long
harness_ll(PGconn *conn, const char *sql)
{
	PGresult *res = PQexec(conn, sql);
	long long v;

	ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s: %s", sql,
		      PQresultErrorMessage(res));
	ck_assert_msg(PQntuples(res) == 1, "%s: %d rows", sql, PQntuples(res));
	v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return v;
}

char *
harness_str(PGconn *conn, const char *sql)
{
	PGresult *res = PQexec(conn, sql);
	char *v = NULL;

	ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s: %s", sql,
		      PQresultErrorMessage(res));
	if (PQntuples(res) > 0 && !PQgetisnull(res, 0, 0))
		v = g_strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return v;
}

int
harness_main(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
