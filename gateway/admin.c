/*
 * admin: set-up and inspection commands (see admin.h).
 */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"
#include "message.h"
#include "config.h"
#include "db.h"
#include "lberror.h"

static int parse(GOptionEntry *entries, const char *usage, int *argc,
		 char ***argv, int want);
static int failed(GError *err);
static int audit(PGconn *conn, const char *action, const char *object,
		 const char *detail, GError **err);
static int one_of(const char *value, const char *const *allowed,
		  const char *what);
static void print_text(const char *text, int max);
static int address_ok(const char *address);
static int slug_ok(const char *slug);
static char *shown(const char *s);

static const char *const deliveries[] = {"each", "daily", "weekly", "none",
					 NULL};
static const char *const roles[] = {"member", "moderator", "admin", NULL};
static const char *const locales[] = {"de", "en", NULL};
static const char *const policies[] = {"hold", "reject", "accept", NULL};
static const char *const yes_no[] = {"yes", "no", NULL};

/*
 * parse: options with GOptionContext; then exactly want arguments must
 * remain (argv[0] is the command).  Returns 0 or EX_USAGE.
 */
static int
parse(GOptionEntry *entries, const char *usage, int *argc, char ***argv,
      int want)
{
	GOptionContext *ctx = g_option_context_new(usage);
	GError *err = NULL;
	int rc = 0;

	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, argc, argv, &err)) {
		fprintf(stderr, "listbridge: %s\n", err->message);
		g_error_free(err);
		rc = EX_USAGE;
	} else if (*argc != want + 1) {
		char *help = g_option_context_get_help(ctx, TRUE, NULL);

		fprintf(stderr, "%s", help);
		g_free(help);
		rc = EX_USAGE;
	}
	g_option_context_free(ctx);
	return rc;
}

static int
failed(GError *err)
{
	int code = lb_error_code(err);

	fprintf(stderr, "listbridge: %s\n", err->message);
	g_error_free(err);
	return code == EX_SOFTWARE ? EX_DATAERR : code;
}

static int
one_of(const char *value, const char *const *allowed, const char *what)
{
	int i;

	for (i = 0; allowed[i] != NULL; i++)
		if (strcmp(value, allowed[i]) == 0)
			return 0;
	fprintf(stderr, "listbridge: bad %s \"%s\"\n", what, value);
	return EX_USAGE;
}

/*
 * address_ok: whether address is one plain address (local@domain), as
 * GMime reads it; prints why not.
 */
static int
address_ok(const char *address)
{
	InternetAddressList *list;
	InternetAddress *ia;
	const char *at = strchr(address, '@');
	int ok = 0;

	if (at == NULL || at == address || at[1] == '\0' ||
	    strchr(at + 1, '@') != NULL || strlen(address) > 254) {
		fprintf(stderr, "listbridge: \"%s\" is no address\n", address);
		return 0;
	}
	msg_init();
	list = internet_address_list_parse(NULL, address);
	if (list != NULL && internet_address_list_length(list) == 1) {
		ia = internet_address_list_get_address(list, 0);
		ok = INTERNET_ADDRESS_IS_MAILBOX(ia) &&
		     g_ascii_strcasecmp(internet_address_mailbox_get_addr(
					    INTERNET_ADDRESS_MAILBOX(ia)),
					address) == 0;
	}
	if (list != NULL)
		g_object_unref(list);
	if (!ok)
		fprintf(stderr, "listbridge: \"%s\" is no address\n", address);
	return ok;
}

/* slug_ok: a group's short name: lower-case letters, digits, - and _. */
static int
slug_ok(const char *slug)
{
	if (*slug != '\0' && g_ascii_isalnum(*slug) && strlen(slug) <= 64 &&
	    strspn(slug, "abcdefghijklmnopqrstuvwxyz0123456789-_") ==
		strlen(slug) &&
	    !g_ascii_isupper(*slug))
		return 1;
	fprintf(stderr,
		"listbridge: bad group slug \"%s\" (lower-case letters, "
		"digits, - and _, starting with a letter or digit)\n",
		slug);
	return 0;
}

/*
 * shown: s made safe for a terminal: control characters and direction
 * overrides become '?', line ends stay.  g_free() it.
 */
static char *
shown(const char *s)
{
	char *valid = g_utf8_make_valid(s, -1);
	GString *out = g_string_sized_new(strlen(valid));
	const char *p;

	for (p = valid; *p != '\0'; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);

		if (c == '\n' || c == '\t')
			g_string_append_unichar(out, c);
		else if (g_unichar_iscntrl(c) || (c >= 0x202a && c <= 0x202e) ||
			 (c >= 0x2066 && c <= 0x2069))
			g_string_append_c(out, '?');
		else
			g_string_append_unichar(out, c);
	}
	g_free(valid);
	return g_string_free(out, FALSE);
}

/*
 * audit: record who did what, in the transaction of the change.
 */
static int
audit(PGconn *conn, const char *action, const char *object, const char *detail,
      GError **err)
{
	const char *params[4];
	const char *who = g_getenv("SUDO_USER");
	struct passwd *pw;
	PGresult *res;

	if (who == NULL) {
		pw = getpwuid(getuid());
		who = pw != NULL ? pw->pw_name : "unknown";
	}
	params[0] = who;
	params[1] = action;
	params[2] = object;
	params[3] = detail;
	res =
	    db_exec(conn,
		    "INSERT INTO gateway.audit_event"
		    " (actor, action, object, detail) VALUES ($1, $2, $3, $4)",
		    4, params, err);
	if (res == NULL)
		return -1;
	PQclear(res);
	return 0;
}

int
admin_group_add(PGconn *conn, int argc, char **argv)
{
	GOptionEntry entries[] = {{NULL, 0, 0, 0, NULL, NULL, NULL}};
	GError *err = NULL;
	const char *params[2];
	PGresult *res;
	int rc;

	rc = parse(entries, "SLUG NAME - add a group", &argc, &argv, 2);
	if (rc != 0)
		return rc;
	if (!slug_ok(argv[1]))
		return EX_USAGE;
	if (*argv[2] == '\0') {
		fprintf(stderr, "listbridge: a group needs a name\n");
		return EX_USAGE;
	}
	params[0] = argv[1];
	params[1] = argv[2];
	if (db_begin(conn, &err) < 0)
		return failed(err);
	res = db_exec(conn,
		      "INSERT INTO portal.\"group\" (slug, name)"
		      " VALUES ($1, $2) ON CONFLICT (slug) DO NOTHING"
		      " RETURNING id",
		      2, params, &err);
	if (res != NULL && PQntuples(res) == 0) {
		fprintf(stderr, "listbridge: group %s exists already\n",
			argv[1]);
		PQclear(res);
		PQclear(PQexec(conn, "ROLLBACK"));
		return EX_DATAERR;
	}
	if (res == NULL ||
	    audit(conn, "group add", argv[1], argv[2], &err) < 0 ||
	    db_command(conn, "COMMIT", &err) < 0) {
		PQclear(res);
		PQclear(PQexec(conn, "ROLLBACK"));
		return failed(err);
	}
	printf("group %s added (id %s)\n", argv[1], PQgetvalue(res, 0, 0));
	PQclear(res);
	return EX_OK;
}

int
admin_list_add(PGconn *conn, int argc, char **argv)
{
	char *group = NULL, *tag = NULL, *policy = NULL;
	GOptionEntry entries[] = {
	    {"group", 'g', 0, G_OPTION_ARG_STRING, &group,
	     "the group the list belongs to", "SLUG"},
	    {"tag", 't', 0, G_OPTION_ARG_STRING, &tag,
	     "subject tag, without brackets", "TAG"},
	    {"policy", 'p', 0, G_OPTION_ARG_STRING, &policy,
	     "mail from non-members: hold (default), reject, accept", "POLICY"},
	    {NULL, 0, 0, 0, NULL, NULL, NULL}};
	GError *err = NULL;
	const char *params[4];
	PGresult *res = NULL;
	int rc;

	rc = parse(entries, "ADDRESS --group SLUG - add a list address", &argc,
		   &argv, 1);
	if (rc == 0 && group == NULL) {
		fprintf(stderr, "listbridge: list add needs --group\n");
		rc = EX_USAGE;
	}
	if (rc == 0 && policy != NULL)
		rc = one_of(policy, policies, "policy");
	if (rc == 0 && !address_ok(argv[1]))
		rc = EX_USAGE;
	if (rc != 0)
		goto out;
	params[0] = argv[1];
	params[1] = group;
	params[2] = tag;
	params[3] = policy != NULL ? policy : "hold";
	if (db_begin(conn, &err) < 0) {
		rc = failed(err);
		goto out;
	}
	res = db_exec(conn,
		      "INSERT INTO gateway.list"
		      " (address, group_id, subject_tag, unknown_sender_policy)"
		      " SELECT lower($1), id, $3, $4 FROM portal.\"group\""
		      " WHERE slug = $2"
		      " ON CONFLICT ((lower(address))) DO NOTHING RETURNING id",
		      4, params, &err);
	if (res == NULL) {
		rc = failed(err);
		goto out;
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		res = db_exec(conn,
			      "SELECT 1 FROM portal.\"group\" WHERE slug = $2"
			      " AND $1::text IS NOT NULL",
			      2, params, &err);
		if (res != NULL && PQntuples(res) == 1) {
			fprintf(stderr, "listbridge: list %s exists already\n",
				argv[1]);
			rc = EX_DATAERR;
		} else {
			fprintf(stderr, "listbridge: no group %s\n", group);
			rc = EX_NOUSER;
		}
		PQclear(PQexec(conn, "ROLLBACK"));
		goto out;
	}
	if (audit(conn, "list add", argv[1], group, &err) < 0 ||
	    db_command(conn, "COMMIT", &err) < 0) {
		rc = failed(err);
		goto out;
	}
	printf("list %s added to group %s\n", argv[1], group);
out:
	PQclear(res);
	g_free(group);
	g_free(tag);
	g_free(policy);
	return rc;
}

int
admin_member_add(PGconn *conn, int argc, char **argv)
{
	char *group = NULL, *delivery = NULL, *role = NULL, *locale = NULL;
	char *own = NULL;
	char **more = NULL;
	GOptionEntry entries[] = {
	    {"address", 'a', 0, G_OPTION_ARG_STRING_ARRAY, &more,
	     "a further address of the member (repeatable)", "ADDRESS"},
	    {"group", 'g', 0, G_OPTION_ARG_STRING, &group,
	     "make them a member of this group", "SLUG"},
	    {"delivery", 'd', 0, G_OPTION_ARG_STRING, &delivery,
	     "each (default), daily, weekly or none", "MODE"},
	    {"role", 'r', 0, G_OPTION_ARG_STRING, &role,
	     "member (default), moderator or admin", "ROLE"},
	    {"locale", 'l', 0, G_OPTION_ARG_STRING, &locale, "de or en",
	     "LOCALE"},
	    {"own-posts", 0, 0, G_OPTION_ARG_STRING, &own,
	     "yes: also get one's own posts by mail (default no)", "YES|NO"},
	    {NULL, 0, 0, 0, NULL, NULL, NULL}};
	GError *err = NULL;
	const char *params[6];
	PGresult *res = NULL;
	char *member = NULL;
	int rc, i;

	rc = parse(entries, "ADDRESS NAME - add a member (or a membership)",
		   &argc, &argv, 2);
	if (rc == 0 && delivery != NULL)
		rc = one_of(delivery, deliveries, "delivery");
	if (rc == 0 && role != NULL)
		rc = one_of(role, roles, "role");
	if (rc == 0 && locale != NULL)
		rc = one_of(locale, locales, "locale");
	if (rc == 0 && own != NULL)
		rc = one_of(own, yes_no, "--own-posts");
	if (rc == 0 && !address_ok(argv[1]))
		rc = EX_USAGE;
	for (i = 0; rc == 0 && more != NULL && more[i] != NULL; i++)
		if (!address_ok(more[i]))
			rc = EX_USAGE;
	if (rc == 0 && *g_strstrip(argv[2]) == '\0') {
		fprintf(stderr, "listbridge: a member needs a name\n");
		rc = EX_USAGE;
	}
	if (rc != 0)
		goto out;
	if (db_begin(conn, &err) < 0)
		goto fail;

	/* The member: found by any address (then named anew), else new. */
	params[0] = argv[1];
	res = db_exec(conn,
		      "SELECT member_id FROM portal.member_address"
		      " WHERE lower(address) = lower($1)",
		      1, params, &err);
	if (res == NULL)
		goto fail;
	if (PQntuples(res) == 1) {
		member = g_strdup(PQgetvalue(res, 0, 0));
		PQclear(res);
		params[0] = member;
		params[1] = argv[2];
		res = db_exec(
		    conn, "UPDATE portal.member SET name = $2 WHERE id = $1", 2,
		    params, &err);
		if (res == NULL)
			goto fail;
	} else {
		PQclear(res);
		params[0] = argv[2];
		res = db_exec(conn,
			      "INSERT INTO portal.member (name) VALUES ($1)"
			      " RETURNING id",
			      1, params, &err);
		if (res == NULL)
			goto fail;
		member = g_strdup(PQgetvalue(res, 0, 0));
	}
	PQclear(res);
	res = NULL;

	/* Its addresses: the first is the primary one. */
	params[0] = member;
	for (i = -1; i < 0 || (more != NULL && more[i] != NULL); i++) {
		params[1] = i < 0 ? argv[1] : more[i];
		params[2] = i < 0 ? "t" : "f";
		res = db_exec(conn,
			      "INSERT INTO portal.member_address"
			      " (member_id, address, is_primary)"
			      " VALUES ($1, $2, $3)"
			      " ON CONFLICT ((lower(address))) DO NOTHING",
			      3, params, &err);
		if (res == NULL)
			goto fail;
		PQclear(res);

		/* An address names one member only. */
		res = db_exec(conn,
			      "SELECT 1 FROM portal.member_address"
			      " WHERE lower(address) = lower($2)"
			      " AND member_id <> $1",
			      2, params, &err);
		if (res == NULL)
			goto fail;
		if (PQntuples(res) > 0) {
			fprintf(stderr,
				"listbridge: %s belongs to another member\n",
				params[1]);
			PQclear(PQexec(conn, "ROLLBACK"));
			rc = EX_DATAERR;
			goto out;
		}
		PQclear(res);
		res = NULL;
	}

	/* The membership, when a group was named. */
	if (group != NULL) {
		params[1] = group;
		params[2] = delivery != NULL ? delivery : "each";
		params[3] = role != NULL ? role : "member";
		params[4] = locale != NULL ? locale : cfg.default_locale;
		params[5] = own != NULL ? own : "no";
		res = db_exec(conn,
			      "INSERT INTO portal.membership"
			      " (group_id, member_id, delivery, role, locale,"
			      " own_posts)"
			      " SELECT id, $1, $3, $4, $5, $6 = 'yes'"
			      " FROM portal.\"group\" WHERE slug = $2"
			      " ON CONFLICT (group_id, member_id) DO UPDATE"
			      " SET delivery = EXCLUDED.delivery,"
			      " role = EXCLUDED.role, locale = EXCLUDED.locale,"
			      " own_posts = EXCLUDED.own_posts"
			      " RETURNING group_id",
			      6, params, &err);
		if (res == NULL)
			goto fail;
		if (PQntuples(res) == 0) {
			fprintf(stderr, "listbridge: no group %s\n", group);
			PQclear(PQexec(conn, "ROLLBACK"));
			rc = EX_NOUSER;
			goto out;
		}
	}
	if (audit(conn, "member add", argv[1], group != NULL ? group : "",
		  &err) < 0 ||
	    db_command(conn, "COMMIT", &err) < 0)
		goto fail;
	printf("member %s <%s> (id %s)%s%s\n", argv[2], argv[1], member,
	       group != NULL ? " in group " : "", group != NULL ? group : "");
	goto out;
fail:
	PQclear(PQexec(conn, "ROLLBACK"));
	rc = failed(err);
out:
	PQclear(res);
	g_free(member);
	g_free(group);
	g_free(delivery);
	g_free(role);
	g_free(locale);
	g_free(own);
	g_strfreev(more);
	return rc;
}

/* print_text: a post's text, indented, without trailing blank lines;
 * at most max lines when max > 0. */
static void
print_text(const char *text, int max)
{
	char **lines = g_strsplit(text, "\n", -1);
	int n = (int)g_strv_length(lines), i;

	while (n > 0 && *g_strstrip(lines[n - 1]) == '\0')
		n--;
	for (i = 0; i < n && (max <= 0 || i < max); i++) {
		char *line = shown(g_strchomp(lines[i]));

		printf("      %s\n", line);
		g_free(line);
	}
	if (i < n)
		printf("      [... %d more lines]\n", n - i);
	g_strfreev(lines);
}

int
admin_show_group(PGconn *conn, int argc, char **argv)
{
	int max = 0;
	GOptionEntry entries[] = {{"lines", 'n', 0, G_OPTION_ARG_INT, &max,
				   "show at most N lines of each post", "N"},
				  {NULL, 0, 0, 0, NULL, NULL, NULL}};
	GError *err = NULL;
	PGresult *g = NULL, *posts = NULL, *att = NULL;
	const char *params[2];
	const char *thread = "";
	char *name, *addr;
	int rc, i, j, nthread = 0, npost = 0;

	rc = parse(entries, "SLUG - show a group's threads and posts", &argc,
		   &argv, 1);
	if (rc != 0)
		return rc;
	if (max < 0) {
		fprintf(stderr, "listbridge: --lines wants 0 or more\n");
		return EX_USAGE;
	}

	/* Dates in the configured zone. */
	params[0] = cfg.timezone;
	g = db_exec(conn, "SELECT set_config('TimeZone', $1, false)", 1, params,
		    &err);
	if (g == NULL)
		goto fail;
	PQclear(g);

	/* The group, its lists and how much it holds. */
	params[0] = argv[1];
	g = db_exec(conn,
		    "SELECT g.id, g.name, g.slug,"
		    " coalesce((SELECT string_agg(address || ' (' || phase"
		    " || ')', ', ' ORDER BY address) FROM gateway.list"
		    " WHERE group_id = g.id), 'no list'),"
		    " (SELECT count(*) FROM gateway.held_message"
		    " WHERE group_id = g.id AND state = 'held')"
		    " FROM portal.\"group\" g WHERE g.slug = $1",
		    1, params, &err);
	if (g == NULL)
		goto fail;
	if (PQntuples(g) == 0) {
		fprintf(stderr, "listbridge: no group %s\n", argv[1]);
		rc = EX_NOUSER;
		goto out;
	}
	printf("Group %s (%s), list %s\n", PQgetvalue(g, 0, 1),
	       PQgetvalue(g, 0, 2), PQgetvalue(g, 0, 3));

	/* Posts, thread by thread, in the order they were written. */
	params[0] = PQgetvalue(g, 0, 0);
	posts =
	    db_exec(conn,
		    "SELECT t.id, t.subject, p.id, coalesce(p.parent_id, 0),"
		    " to_char(p.written_at, 'YYYY-MM-DD HH24:MI'),"
		    " p.author_name, coalesce(p.author_address, ''),"
		    " p.text, p.author_id IS NULL,"
		    " CASE WHEN p.cut_text = '' THEN 0 ELSE"
		    " array_length(string_to_array(p.cut_text, E'\\n'), 1)"
		    " END"
		    " FROM portal.thread t JOIN portal.post p"
		    " ON p.thread_id = t.id WHERE t.group_id = $1"
		    " ORDER BY t.created_at, t.id, p.written_at, p.id",
		    1, params, &err);
	if (posts == NULL)
		goto fail;
	att = db_exec(conn,
		      "SELECT a.post_id, a.filename, a.content_type, a.size,"
		      " a.state = 'stored', a.state FROM portal.attachment a"
		      " JOIN portal.post p ON p.id = a.post_id"
		      " JOIN portal.thread t ON t.id = p.thread_id"
		      " WHERE t.group_id = $1 ORDER BY a.id",
		      1, params, &err);
	if (att == NULL)
		goto fail;
	for (i = 0; i < PQntuples(posts); i++) {
		if (strcmp(thread, PQgetvalue(posts, i, 0)) != 0) {
			thread = PQgetvalue(posts, i, 0);
			char *subject = shown(PQgetvalue(posts, i, 1));

			nthread++;
			printf("\nthread %s: %s\n", thread, subject);
			g_free(subject);
		}
		npost++;
		printf("  post %s", PQgetvalue(posts, i, 2));
		if (strcmp(PQgetvalue(posts, i, 3), "0") != 0)
			printf(" (reply to post %s)", PQgetvalue(posts, i, 3));
		name = shown(PQgetvalue(posts, i, 5));
		addr = shown(PQgetvalue(posts, i, 6));
		printf("  %s  %s <%s>%s\n", PQgetvalue(posts, i, 4), name, addr,
		       *PQgetvalue(posts, i, 8) == 't' ? " (guest)" : "");
		g_free(name);
		g_free(addr);
		print_text(PQgetvalue(posts, i, 7), max);
		if (strcmp(PQgetvalue(posts, i, 9), "0") != 0)
			printf("      [trimmed: %s lines of quotes and "
			       "signature, kept]\n",
			       PQgetvalue(posts, i, 9));
		for (j = 0; j < PQntuples(att); j++)
			if (strcmp(PQgetvalue(att, j, 0),
				   PQgetvalue(posts, i, 2)) == 0)
				printf("      [attachment: %s, %s, %s "
				       "bytes%s%s]\n",
				       PQgetvalue(att, j, 1),
				       PQgetvalue(att, j, 2),
				       PQgetvalue(att, j, 3),
				       *PQgetvalue(att, j, 4) == 't'
					   ? ""
					   : ", in the raw message only: ",
				       *PQgetvalue(att, j, 4) == 't'
					   ? ""
					   : PQgetvalue(att, j, 5));
	}
	printf("\nthreads: %d, posts: %d, held messages: %s\n", nthread, npost,
	       PQgetvalue(g, 0, 4));
	rc = EX_OK;
	goto out;
fail:
	rc = failed(err);
out:
	PQclear(g);
	PQclear(posts);
	PQclear(att);
	return rc;
}
