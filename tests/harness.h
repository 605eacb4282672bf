/*
 * harness: what the tests share: a fresh database in the throwaway
 * PostgreSQL that tests/run.sh started, the real listbridge binary run as
 * a child process, and small SQL helpers.
 *
 * The cluster comes from LB_TEST_PGHOST (its socket directory); the
 * binary from LB_TEST_BIN (default ./listbridge).
 */
#ifndef HARNESS_H
#define HARNESS_H

#include <check.h>
#include <libpq-fe.h>

#include <glib.h>

/* harness_db: a new, migrated database called name, a config file for
 * it (LISTBRIDGE_CONFIG is set to it, extra lines appended to
 * [listbridge]), and a connection to it.  Fails the test on error. */
PGconn *harness_db(const char *name, const char *extra);

/* harness_run: run "listbridge ARGS" with stdin from file (NULL: no
 * input).  Returns the exit code (128+N for signal N); *err, when not
 * NULL, receives stderr (g_free it). */
int harness_run(const char *stdin_file, char **err, const char *args);

/* harness_run_text: harness_run() with text as the message on stdin. */
int harness_run_text(const char *text, char **err, const char *args);

/* harness_ll: the first column of the first row of sql, as a number. */
long long harness_ll(PGconn *conn, const char *sql);

/* harness_str: the same as text (g_free it); NULL for no row or NULL. */
char *harness_str(PGconn *conn, const char *sql);

/* harness_data: path of a fixture under tests/data (g_free it). */
char *harness_data(const char *rel);

/* harness_main: run suite s; returns the exit status for main(). */
int harness_main(Suite *s);

#endif
