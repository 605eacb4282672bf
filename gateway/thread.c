/*
 * thread: subject keys and thread resolution (see thread.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "db.h"
#include "thread.h"
#include "token.h"

static gsize strip_prefix(const char *s, int *reply);
static long long notification_post(const char *id);

/* Bytes of a subject key: a B-tree index entry must stay small. */
#define SUBJECT_KEY_LIMIT 200

/* Reply prefixes in the languages members write in, and forward ones. */
static const char *const reply_words[] = {"re",	 "aw",	"antw", "antwort",
					  "sv",	 "vs",	"r",	"rif",
					  "res", "odp", "ynt",	NULL};
static const char *const forward_words[] = {"fwd", "fw", "wg",	   "tr",
					    "enc", "rv", "doorst", NULL};

/*
 * strip_prefix: the length of one leading prefix of s ("Re: ", "AW:",
 * "Re[2]: ", "[tag] "), 0 when s starts with none.  Sets *reply for a
 * reply prefix.
 */
static gsize
strip_prefix(const char *s, int *reply)
{
	const char *p = s, *w;
	int r, i;

	/* A list tag: "[anything]" at the start. */
	if (*p == '[') {
		w = strchr(p, ']');
		if (w != NULL && w - p < 64)
			return (gsize)(w + 1 - s);
		return 0;
	}

	/* A word, an optional counter "[2]", "(2)" or "^2", then ':'. */
	for (w = p; g_ascii_isalpha(*w); w++)
		;
	if (w == p || w - p > 7)
		return 0;
	r = -1;
	for (i = 0; reply_words[i] != NULL; i++)
		if ((gsize)(w - p) == strlen(reply_words[i]) &&
		    g_ascii_strncasecmp(p, reply_words[i], w - p) == 0)
			r = 1;
	for (i = 0; r < 0 && forward_words[i] != NULL; i++)
		if ((gsize)(w - p) == strlen(forward_words[i]) &&
		    g_ascii_strncasecmp(p, forward_words[i], w - p) == 0)
			r = 0;
	if (r < 0)
		return 0;
	if (*w == '[' || *w == '(' || *w == '^') {
		w++;
		while (g_ascii_isdigit(*w))
			w++;
		if (*w == ']' || *w == ')')
			w++;
	}
	while (*w == ' ')
		w++;
	if (*w != ':' && !(strncmp(w, "\xef\xbc\x9a", 3) == 0))
		return 0;
	if (r == 1 && reply != NULL)
		*reply = 1;
	return (gsize)(w + (*w == ':' ? 1 : 3) - s);
}

char *
thread_subject_key(const char *subject, int *reply)
{
	GString *out;
	char *folded;
	const char *p;
	gsize n;

	if (reply != NULL)
		*reply = 0;

	/* Strip prefixes and tags, as many as there are. */
	p = subject;
	for (;;) {
		while (g_ascii_isspace(*p))
			p++;
		n = strip_prefix(p, reply);
		if (n == 0)
			break;
		p += n;
	}

	/* Fold case, then white space. */
	folded = g_utf8_casefold(p, -1);
	out = g_string_sized_new(strlen(folded));
	for (p = folded; *p != '\0'; p++) {
		if (g_ascii_isspace(*p)) {
			if (out->len > 0 && out->str[out->len - 1] != ' ')
				g_string_append_c(out, ' ');
		} else
			g_string_append_c(out, *p);
	}
	if (out->len > 0 && out->str[out->len - 1] == ' ')
		g_string_truncate(out, out->len - 1);

	/* Long enough to tell threads apart, short enough for an index. */
	if (out->len > SUBJECT_KEY_LIMIT) {
		const char *end = g_utf8_find_prev_char(
		    out->str, out->str + SUBJECT_KEY_LIMIT + 1);

		g_string_truncate(out, (gsize)(end - out->str));
	}
	g_free(folded);
	return g_string_free(out, FALSE);
}

int
thread_subject_forward(const char *subject)
{
	const char *p = subject;
	int reply = 0;
	gsize n;

	/* The first prefix that is no list tag decides. */
	for (;;) {
		while (g_ascii_isspace(*p))
			p++;
		if (*p != '[')
			break;
		n = strip_prefix(p, NULL);
		if (n == 0)
			break;
		p += n;
	}
	n = strip_prefix(p, &reply);
	return n > 0 && !reply && *p != '[';
}

/*
 * notification_post: the post whose notification has Message-ID id
 * ("lb.TOKEN@domain", made by compose.c), when its token is authentic
 * (expired is fine: it only finds a thread), else 0.
 */
static long long
notification_post(const char *id)
{
	struct token tok;
	char *text;
	const char *at = strchr(id, '@');
	int ok;

	if (strncmp(id, "lb.", 3) != 0 || at == NULL)
		return 0;
	text = g_strndup(id + 3, (gsize)(at - id - 3));
	ok = token_check(TOKEN_REPLY, text, &tok, NULL) == 0 ||
	     tok.reason == TOKEN_EXPIRED;
	g_free(text);
	return ok ? (long long)tok.post : 0;
}

int
thread_resolve(PGconn *conn, const char *group_id, const struct msg *m,
	       struct thread_match *match, GError **err)
{
	GPtrArray *ids = g_ptr_array_new();
	PGresult *res = NULL;
	const char *params[3];
	char *array = NULL, *key = NULL, window[32];
	int reply, rc = -1;
	guint i, nlinks;

	memset(match, 0, sizeof(*match));
	match->how = "new";

	/* The ids to look for, in order of trust: In-Reply-To, References
	 * newest first, then our own id. */
	if (m->in_reply_to != NULL)
		g_ptr_array_add(ids, m->in_reply_to);
	for (i = m->references->len; i > 0; i--)
		g_ptr_array_add(ids, m->references->pdata[i - 1]);
	nlinks = ids->len;
	g_ptr_array_add(ids, m->message_id);

	/* A reply to one of our notifications: the Message-ID it answers
	 * carries the post's token, which names thread and parent even
	 * when the reply address got lost. */
	for (i = 0; i < nlinks; i++) {
		long long post = notification_post(ids->pdata[i]);

		if (post <= 0)
			continue;
		snprintf(window, sizeof(window), "%lld", post);
		params[0] = group_id;
		params[1] = window;
		res = db_exec(conn,
			      "SELECT p.thread_id, p.id FROM portal.post p"
			      " JOIN portal.thread t ON t.id = p.thread_id"
			      " WHERE p.id = $2 AND t.group_id = $1",
			      2, params, err);
		if (res == NULL)
			goto out;
		if (PQntuples(res) == 1) {
			match->thread_id =
			    strtoll(PQgetvalue(res, 0, 0), NULL, 10);
			match->parent_id =
			    strtoll(PQgetvalue(res, 0, 1), NULL, 10);
			match->how = "notification";
			rc = 0;
			goto out;
		}
		PQclear(res);
		res = NULL;
	}

	/* First stored one wins; whether our own id is among them tells of
	 * replies that came before us. */
	array = db_text_array((const char *const *)ids->pdata, ids->len);
	params[0] = group_id;
	params[1] = array;
	params[2] = m->message_id;
	res = db_exec(conn,
		      "SELECT thread_id, coalesce(post_id, 0),"
		      " array_position($2::text[], message_id),"
		      " bool_or(message_id = $3) OVER ()"
		      " FROM gateway.message_ref"
		      " WHERE group_id = $1 AND message_id = ANY($2::text[])"
		      " ORDER BY 3 LIMIT 1",
		      3, params, err);
	if (res == NULL)
		goto out;
	if (PQntuples(res) == 1) {
		int pos = atoi(PQgetvalue(res, 0, 2));

		match->thread_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		match->seen_before = *PQgetvalue(res, 0, 3) == 't';
		if ((guint)pos <= nlinks)
			match->parent_id =
			    strtoll(PQgetvalue(res, 0, 1), NULL, 10);
		if ((guint)pos > nlinks)
			match->how = "late-parent";
		else if (m->in_reply_to != NULL && pos == 1)
			match->how = "in-reply-to";
		else
			match->how = "references";
		rc = 0;
		goto out;
	}
	PQclear(res);
	res = NULL;

	/* A reply by subject alone, when its client dropped the links. */
	key = thread_subject_key(m->subject, &reply);
	if (!reply || *key == '\0' || cfg.thread_subject_window == 0) {
		rc = 0;
		goto out;
	}
	snprintf(window, sizeof(window), "%d", cfg.thread_subject_window);
	params[1] = key;
	params[2] = window;
	res = db_exec(conn,
		      "SELECT id FROM portal.thread"
		      " WHERE group_id = $1 AND subject_key = $2"
		      " AND last_post_at > now() - make_interval(days => $3)"
		      " ORDER BY last_post_at DESC LIMIT 1",
		      3, params, err);
	if (res == NULL)
		goto out;
	if (PQntuples(res) == 1) {
		match->thread_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		match->how = "subject";
	}
	rc = 0;
out:
	PQclear(res);
	g_free(array);
	g_free(key);
	g_ptr_array_free(ids, TRUE);
	return rc;
}
