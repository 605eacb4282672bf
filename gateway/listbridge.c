/*
 * listbridge: the one command, and its subcommands.
 *
 * main() reads the configuration, opens the log and hands over to the
 * subcommand; it alone decides the exit code.  The MTA hooks live in
 * mta-hooks/, everything else in gateway/.
 */
#include <stdio.h>
#include <string.h>

#include "../mta-hooks/deliver.h"
#include "admin.h"
#include "config.h"
#include "db.h"
#include "eval.h"
#include "lberror.h"
#include "log.h"
#include "send.h"
#include "text.h"
#include "token.h"
#include "trim.h"

static int usage(void);
static int with_db(int (*fn)(PGconn *, int, char **), int argc, char **argv);
static int cmd_migrate(PGconn *conn, int argc, char **argv);
static int cmd_trim(int argc, char **argv);

static int
usage(void)
{
	fprintf(
	    stderr,
	    "usage: listbridge COMMAND ...\n"
	    "  deliver [-f SENDER] RECIPIENT... < message\n"
	    "  db migrate\n"
	    "  config\n"
	    "  group add SLUG NAME\n"
	    "  list add ADDRESS --group SLUG [--tag TAG]"
	    " [--policy hold|reject|accept]\n"
	    "  member add ADDRESS NAME [--address OTHER]... [--group SLUG]\n"
	    "             [--delivery each|daily|weekly|none]"
	    " [--role ROLE] [--locale de|en]\n"
	    "             [--own-posts yes|no]\n"
	    "  show group SLUG [--lines N]\n"
	    "  eval mime DIR [--min PERCENT] [--verbose]\n"
	    "  keygen [--retire ID]\n"
	    "  token make reply|unsubscribe|bounce ID MEMBER [DAYS]\n"
	    "  token check reply|unsubscribe|bounce TOKEN\n");
	return EX_USAGE;
}

/* with_db: run fn with a database connection. */
static int
with_db(int (*fn)(PGconn *, int, char **), int argc, char **argv)
{
	GError *err = NULL;
	PGconn *conn;
	int rc;

	conn = db_connect(&err);
	if (conn == NULL) {
		fprintf(stderr, "listbridge: %s\n", err->message);
		rc = lb_error_code(err);
		g_error_free(err);
		return rc;
	}
	rc = fn(conn, argc, argv);
	PQfinish(conn);
	return rc;
}

static int
cmd_migrate(PGconn *conn, int argc, char **argv)
{
	GError *err = NULL;
	int n, v;

	(void)argv;
	if (argc != 1)
		return usage();
	n = db_migrate(conn, &err);
	if (n < 0) {
		fprintf(stderr, "listbridge: %s\n", err->message);
		g_error_free(err);
		return EX_TEMPFAIL;
	}
	v = db_schema_version(conn, NULL);
	printf("schema version %d (%d migration%s applied)\n", v, n,
	       n == 1 ? "" : "s");
	return EX_OK;
}

/*
 * cmd_trim: "listbridge trim [FILE]": what the trimmer makes of a text
 * (a message body, not a whole message; FILE.html is read as HTML), for
 * admins who test patterns.
 */
static int
cmd_trim(int argc, char **argv)
{
	struct trim_result r;
	GError *err = NULL;
	char *text = NULL;
	gsize len;

	if (argc > 2)
		return usage();
	if (trim_load(cfg.trim_patterns_file, &err) < 0) {
		fprintf(stderr, "listbridge: %s\n", err->message);
		g_error_free(err);
		return EX_CONFIG;
	}
	if (argc == 2 ? !g_file_get_contents(argv[1], &text, &len, &err)
		      : !g_file_get_contents("/dev/stdin", &text, &len, &err)) {
		fprintf(stderr, "listbridge: %s\n", err->message);
		g_error_free(err);
		return EX_NOINPUT;
	}
	if (!g_utf8_validate(text, (gssize)len, NULL)) {
		char *valid = text_to_utf8(text, len, NULL, NULL);

		g_free(text);
		text = valid;
	}
	/* An HTML file is read as the text of its HTML, as delivery does. */
	if (argc == 2 && (g_str_has_suffix(argv[1], ".html") ||
			  g_str_has_suffix(argv[1], ".htm"))) {
		char *plain = text_from_html(text, strlen(text));

		g_free(text);
		text = plain;
	}
	trim_text(text_newlines(text), &r);
	printf("== shown\n%s\n== forwarded\n%s\n== cut (%s)\n%s\n", r.text,
	       r.forwarded, r.why, r.cut);
	trim_result_clear(&r);
	g_free(text);
	return EX_OK;
}

int
main(int argc, char **argv)
{
	GError *err = NULL;
	const char *cmd, *sub;

	if (argc < 2)
		return usage();
	cmd = argv[1];
	sub = argc > 2 ? argv[2] : "";

	/* Configuration first: a bad setting stops everything. */
	if (cfg_load(NULL, &err) < 0) {
		fprintf(stderr, "listbridge: %s\n", err->message);
		g_error_free(err);
		return EX_CONFIG;
	}

	/* The hooks log to syslog too; commands a person runs, to stderr. */
	if (strcmp(cmd, "deliver") == 0) {
		log_open("listbridge/deliver", cfg.syslog_facility,
			 cfg.log_verbose);
		return deliver_main(argc - 1, argv + 1);
	}
	log_open("listbridge", NULL, cfg.log_verbose);

	if (strcmp(cmd, "config") == 0 && argc == 2) {
		cfg_print(stdout);
		return EX_OK;
	}
	if (strcmp(cmd, "db") == 0 && strcmp(sub, "migrate") == 0)
		return with_db(cmd_migrate, argc - 2, argv + 2);
	if (strcmp(cmd, "group") == 0 && strcmp(sub, "add") == 0)
		return with_db(admin_group_add, argc - 2, argv + 2);
	if (strcmp(cmd, "list") == 0 && strcmp(sub, "add") == 0)
		return with_db(admin_list_add, argc - 2, argv + 2);
	if (strcmp(cmd, "member") == 0 && strcmp(sub, "add") == 0)
		return with_db(admin_member_add, argc - 2, argv + 2);
	if (strcmp(cmd, "show") == 0 && strcmp(sub, "group") == 0)
		return with_db(admin_show_group, argc - 2, argv + 2);
	if (strcmp(cmd, "eval") == 0 && strcmp(sub, "mime") == 0)
		return eval_mime_main(argc - 2, argv + 2);
	if (strcmp(cmd, "send") == 0) {
		log_open("listbridge/send", cfg.syslog_facility,
			 cfg.log_verbose);
		return send_main(argc - 1, argv + 1);
	}
	if (strcmp(cmd, "trim") == 0)
		return cmd_trim(argc - 1, argv + 1);
	if (strcmp(cmd, "keygen") == 0)
		return token_keygen_main(argc - 1, argv + 1);
	if (strcmp(cmd, "token") == 0)
		return token_main(argc - 1, argv + 1);
	if (strcmp(cmd, "eval") == 0 && strcmp(sub, "trim") == 0)
		return eval_trim_main(argc - 2, argv + 2);
	return usage();
}
