/*
 * compose: notification mails from templates, with GMime (compose.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "compose.h"
#include "config.h"
#include "db.h"
#include "lberror.h"
#include "message.h"
#include "token.h"

/* The templates built in (templates_embed.c). */
extern const struct {
	const char *name;
	const char *text;
} compose_builtin[];

static char *header_safe(const char *s);
static char *reply_domain(const char *list_address);
static char *notification_id(long long post, long long member,
			     GDateTime *expires, const char *domain);
static GMimeObject *text_part(const char *subtype, const char *text);
static int add_attachments(PGconn *conn, const char *post,
			   GMimeMultipart *mixed, GError **err);
static GBytes *post_body(PGconn *conn, PGresult *res, long long post_id,
			 const char *locale, const char *author,
			 const char *group, const char *thread_url,
			 const char *settings_url, GError **err);

void
compose_mail_clear(struct compose_mail *mail)
{
	if (mail->message != NULL)
		g_bytes_unref(mail->message);
	g_free(mail->envelope_from);
	g_free(mail->message_id);
	memset(mail, 0, sizeof(*mail));
}

char *
compose_template(const char *name)
{
	char *path, *text = NULL;
	int i;

	/* The admin's copy first. */
	path = g_build_filename(cfg.template_dir, name, NULL);
	if (g_file_get_contents(path, &text, NULL, NULL) &&
	    g_utf8_validate(text, -1, NULL)) {
		g_free(path);
		return text;
	}
	g_free(text);
	g_free(path);
	for (i = 0; compose_builtin[i].name != NULL; i++)
		if (strcmp(compose_builtin[i].name, name) == 0)
			return g_strdup(compose_builtin[i].text);
	return NULL;
}

char *
compose_fill(const char *template, const char *const *kv, int escape)
{
	GString *out = g_string_sized_new(strlen(template) + 256);
	const char *p = template, *open, *close;
	int i;

	while ((open = strstr(p, "{{")) != NULL &&
	       (close = strstr(open + 2, "}}")) != NULL) {
		const char *value = NULL;
		int is_html = 0;

		g_string_append_len(out, p, open - p);
		for (i = 0; kv[i] != NULL && kv[i + 1] != NULL; i += 2)
			if ((gsize)(close - open - 2) == strlen(kv[i]) &&
			    strncmp(open + 2, kv[i], close - open - 2) == 0) {
				value = kv[i + 1];
				is_html = strcmp(kv[i], "html") == 0;
			}
		if (value == NULL)
			/* Unknown placeholders stay, visible to the admin. */
			g_string_append_len(out, open, close + 2 - open);
		else if (escape && !is_html) {
			char *e = g_markup_escape_text(value, -1);

			g_string_append(out, e);
			g_free(e);
		} else
			g_string_append(out, value);
		p = close + 2;
	}
	g_string_append(out, p);
	return g_string_free(out, FALSE);
}

/* header_safe: s without control characters (no header injection). */
static char *
header_safe(const char *s)
{
	char *out = g_utf8_make_valid(s != NULL ? s : "", -1), *p;

	for (p = out; *p != '\0'; p++)
		if ((guchar)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	return g_strstrip(out);
}

/* reply_domain: cfg.reply_domain, else the list address's domain. */
static char *
reply_domain(const char *list_address)
{
	const char *at = strrchr(list_address, '@');

	if (*cfg.reply_domain != '\0')
		return g_strdup(cfg.reply_domain);
	return g_strdup(at != NULL ? at + 1 : list_address);
}

/*
 * notification_id: the Message-ID of post's notification to member,
 * without <>: it carries the reply token, and is the same every time it
 * is made (the token's expiry comes from the post).
 */
static char *
notification_id(long long post, long long member, GDateTime *expires,
		const char *domain)
{
	char *tok =
	    token_make(TOKEN_REPLY, (guint64)post, (guint64)member, expires);
	char *id;

	if (tok == NULL)
		return NULL;
	id = g_strdup_printf("lb.%s@%s", tok, domain);
	g_free(tok);
	return id;
}

static GMimeObject *
text_part(const char *subtype, const char *text)
{
	GMimeTextPart *part = g_mime_text_part_new_with_subtype(subtype);

	g_mime_text_part_set_text(part, text);
	return GMIME_OBJECT(part);
}

/*
 * add_attachments: the post's stored attachments as parts of mixed
 * (base64, with their names).  Returns 0, or -1 with err set.
 */
static int
add_attachments(PGconn *conn, const char *post, GMimeMultipart *mixed,
		GError **err)
{
	const char *params[1] = {post};
	PGresult *res;
	int i;

	res = db_exec_bin(conn,
			  "SELECT a.filename, a.content_type, c.content"
			  " FROM portal.attachment a"
			  " JOIN portal.post p ON p.id = a.post_id"
			  " JOIN portal.thread t ON t.id = p.thread_id"
			  " JOIN portal.attachment_content c"
			  " ON c.group_id = t.group_id AND c.sha256 = a.sha256"
			  " WHERE a.post_id = $1 AND a.state = 'stored'"
			  " ORDER BY a.id",
			  1, params, NULL, NULL, err);
	if (res == NULL)
		return -1;
	for (i = 0; i < PQntuples(res); i++) {
		GMimeContentType *ct =
		    g_mime_content_type_parse(NULL, PQgetvalue(res, i, 1));
		GMimePart *part = g_mime_part_new();
		GMimeStream *st;
		GMimeDataWrapper *dw;
		size_t len = 0;
		unsigned char *bytes = PQunescapeBytea(
		    (const unsigned char *)PQgetvalue(res, i, 2), &len);

		if (ct != NULL) {
			g_mime_object_set_content_type(GMIME_OBJECT(part), ct);
			g_object_unref(ct);
		}
		st =
		    g_mime_stream_mem_new_with_buffer((const char *)bytes, len);
		PQfreemem(bytes);
		dw = g_mime_data_wrapper_new_with_stream(
		    st, GMIME_CONTENT_ENCODING_DEFAULT);
		g_mime_part_set_content(part, dw);
		g_mime_part_set_filename(part, PQgetvalue(res, i, 0));
		g_mime_part_set_content_encoding(part,
						 GMIME_CONTENT_ENCODING_BASE64);
		g_mime_multipart_add(mixed, GMIME_OBJECT(part));
		g_object_unref(dw);
		g_object_unref(st);
		g_object_unref(part);
	}
	PQclear(res);
	return 0;
}

/* The last body made: notifications of one post go out one after the
 * other, so one entry is enough. */
static struct {
	long long post;
	char locale[8];
	GBytes *body;
} last;

/*
 * post_body: the serialised body of post_id's notification in locale
 * (its MIME headers, then the content): text and HTML from the
 * templates, attachments linked or (notify_attachments = attach) sent
 * along; 7 bit.  res is compose_post()'s row.  Returns a reference (unref
 * it), or NULL with err set.
 */
static GBytes *
post_body(PGconn *conn, PGresult *res, long long post_id, const char *locale,
	  const char *author, const char *group, const char *thread_url,
	  const char *settings_url, GError **err)
{
	GString *att_text, *att_html;
	GMimeMultipart *alt = NULL, *mixed = NULL;
	GMimeObject *top;
	char post[32], *tpl, *text = NULL, *html = NULL, *body_html, *raw;
	GBytes *out = NULL;
	int i;

	if (last.body != NULL && last.post == post_id &&
	    strcmp(last.locale, locale) == 0)
		return g_bytes_ref(last.body);
	snprintf(post, sizeof(post), "%lld", post_id);
	att_text = g_string_new(NULL);
	att_html = g_string_new(NULL);

	/* Attachments are linked; with notify_attachments = attach they
	 * are also sent along (below). */
	if (!PQgetisnull(res, 0, 13)) {
		char **names = g_strsplit(PQgetvalue(res, 0, 13), "\n", -1);

		for (i = 0; names[i] != NULL; i++) {
			char *e = g_markup_escape_text(names[i], -1);

			g_string_append_printf(
			    att_text, "[%s] %s\n",
			    strcmp(locale, "de") == 0 ? "Anhang" : "Attachment",
			    names[i]);
			g_string_append_printf(
			    att_html,
			    "<p>&#128206; <a href=\"%s\">%s</a></p>\n",
			    thread_url, e);
			g_free(e);
		}
		g_strfreev(names);
	}

	/* Text and HTML from the locale's templates. */
	tpl = compose_template(strcmp(locale, "de") == 0 ? "post.de.txt"
							 : "post.en.txt");
	{
		const char *kv[] = {"text",
				    PQgetvalue(res, 0, 1),
				    "author",
				    author,
				    "group",
				    group,
				    "thread_url",
				    thread_url,
				    "settings_url",
				    settings_url,
				    "attachments",
				    att_text->str,
				    NULL};

		text = compose_fill(tpl != NULL ? tpl : "{{text}}\n", kv, 0);
	}
	g_free(tpl);
	tpl = compose_template(strcmp(locale, "de") == 0 ? "post.de.html"
							 : "post.en.html");
	if (!PQgetisnull(res, 0, 2))
		body_html = g_strdup(PQgetvalue(res, 0, 2));
	else {
		char *e = g_markup_escape_text(PQgetvalue(res, 0, 1), -1);

		body_html = g_strdup_printf(
		    "<div style=\"white-space:pre-wrap\">%s</div>", e);
		g_free(e);
	}
	{
		const char *kv[] = {"html",	  body_html,	 "author",
				    author,	  "group",	 group,
				    "thread_url", thread_url,	 "settings_url",
				    settings_url, "attachments", att_html->str,
				    NULL};

		html = compose_fill(tpl != NULL ? tpl : "{{html}}\n", kv, 1);
	}
	g_free(tpl);
	g_free(body_html);
	alt = g_mime_multipart_new_with_subtype("alternative");
	{
		GMimeObject *t = text_part("plain", text);
		GMimeObject *h = text_part("html", html);

		g_mime_multipart_add(alt, t);
		g_mime_multipart_add(alt, h);
		g_object_unref(t);
		g_object_unref(h);
	}
	top = GMIME_OBJECT(alt);
	if (strcmp(cfg.notify_attachments, "attach") == 0) {
		mixed = g_mime_multipart_new();
		g_mime_multipart_add(mixed, GMIME_OBJECT(alt));
		if (add_attachments(conn, post, mixed, err) < 0)
			goto out;
		top = GMIME_OBJECT(mixed);
	}

	/* Seven bits on the wire, whatever the relay can do. */
	g_mime_object_encode(top, GMIME_ENCODING_CONSTRAINT_7BIT);
	raw = g_mime_object_to_string(top, NULL);
	out = g_bytes_new_take(raw, strlen(raw));

	/* Kept for the next member. */
	if (last.body != NULL)
		g_bytes_unref(last.body);
	last.body = g_bytes_ref(out);
	last.post = post_id;
	g_strlcpy(last.locale, locale, sizeof(last.locale));
out:
	if (alt != NULL)
		g_object_unref(alt);
	if (mixed != NULL)
		g_object_unref(mixed);
	g_string_free(att_text, TRUE);
	g_string_free(att_html, TRUE);
	g_free(text);
	g_free(html);
	return out;
}

int
compose_post(PGconn *conn, long long row_id, long long post_id,
	     long long member_id, struct compose_mail *out, GError **err)
{
	const char *params[2];
	char post[32], member[32];
	PGresult *res = NULL;
	GMimeMessage *msg = NULL;
	GDateTime *created = NULL, *expires = NULL;
	GString *refs = g_string_new(NULL);
	GBytes *body = NULL;
	char *domain = NULL, *reply = NULL, *unsub = NULL, *bounce = NULL;
	char *first_id = NULL, *parent_id = NULL, *subject = NULL;
	char *author = NULL, *group = NULL, *from_name = NULL;
	char *thread_url = NULL, *settings_url = NULL, *raw = NULL;
	char *list_id = NULL, *value = NULL;
	const char *locale, *tag;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	msg_init();

	/* Everything the mail shows, in one query. */
	snprintf(post, sizeof(post), "%lld", post_id);
	snprintf(member, sizeof(member), "%lld", member_id);
	params[0] = post;
	params[1] = member;
	res = db_exec_named(
	    conn, "compose_post",
	    "SELECT p.author_name, p.text, p.html,"
	    " extract(epoch FROM p.created_at)::bigint, t.id, t.subject,"
	    " (SELECT min(id) FROM portal.post WHERE thread_id = t.id),"
	    " coalesce(p.parent_id, 0), g.name, g.slug,"
	    " (SELECT address FROM gateway.list WHERE group_id = g.id"
	    " ORDER BY id LIMIT 1),"
	    " (SELECT subject_tag FROM gateway.list WHERE group_id = g.id"
	    " ORDER BY id LIMIT 1),"
	    " ms.locale,"
	    " (SELECT string_agg(filename, E'\\n' ORDER BY id)"
	    " FROM portal.attachment WHERE post_id = p.id), g.id"
	    " FROM portal.post p JOIN portal.thread t ON t.id = p.thread_id"
	    " JOIN portal.\"group\" g ON g.id = t.group_id"
	    " JOIN portal.membership ms ON ms.group_id = g.id"
	    " AND ms.member_id = $2 WHERE p.id = $1",
	    2, params, NULL, NULL, err);
	if (res == NULL)
		goto out;
	if (PQntuples(res) == 0 || PQgetisnull(res, 0, 10)) {
		g_set_error(err, LB_ERROR, EX_NOUSER,
			    "post %s or its list or member %s's membership is "
			    "gone",
			    post, member);
		goto out;
	}
	locale = PQgetvalue(res, 0, 12);
	tag = PQgetisnull(res, 0, 11) ? NULL : PQgetvalue(res, 0, 11);

	/* Tokens: the reply address, the Message-IDs of this post and of
	 * the thread's first post and the parent, the unsubscribe and
	 * bounce addresses.  Their expiry comes from the post, so the
	 * same mail is made the same way on every attempt. */
	created = g_date_time_new_from_unix_utc(
	    strtoll(PQgetvalue(res, 0, 3), NULL, 10));
	expires = g_date_time_add_days(created, cfg.reply_token_lifetime);
	domain = reply_domain(PQgetvalue(res, 0, 10));
	value = token_make(TOKEN_REPLY, (guint64)post_id, (guint64)member_id,
			   expires);
	if (value == NULL) {
		g_set_error(err, LB_ERROR, EX_CONFIG,
			    "no token key loaded (run listbridge keygen)");
		goto out;
	}
	reply = g_strdup_printf("reply+%s@%s", value, domain);
	g_free(value);
	value = token_make(TOKEN_UNSUBSCRIBE,
			   g_ascii_strtoull(PQgetvalue(res, 0, 14), NULL, 10),
			   (guint64)member_id, expires);
	unsub = g_strdup(value);
	g_free(value);
	value = token_make(TOKEN_BOUNCE, (guint64)row_id, (guint64)member_id,
			   expires);
	bounce = g_strdup_printf("bounces+%s@%s", value, domain);
	g_free(value);
	value = NULL;
	out->message_id = notification_id(post_id, member_id, expires, domain);
	first_id = notification_id(strtoll(PQgetvalue(res, 0, 6), NULL, 10),
				   member_id, expires, domain);
	if (strcmp(PQgetvalue(res, 0, 7), "0") != 0)
		parent_id =
		    notification_id(strtoll(PQgetvalue(res, 0, 7), NULL, 10),
				    member_id, expires, domain);

	/* Header values that came from members: no control characters. */
	author = header_safe(PQgetvalue(res, 0, 0));
	group = header_safe(PQgetvalue(res, 0, 8));
	from_name = g_strdup_printf("%s via %s", author, group);
	value = header_safe(PQgetvalue(res, 0, 5));
	subject = tag != NULL && *tag != '\0'
		      ? g_strdup_printf("[%s] %s", tag, value)
		      : g_strdup(value);
	g_free(value);
	value = NULL;

	/* The headers. */
	msg = g_mime_message_new(TRUE);
	g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_FROM, from_name,
				   PQgetvalue(res, 0, 10));
	g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_TO, group,
				   PQgetvalue(res, 0, 10));
	g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_REPLY_TO, group,
				   reply);
	g_mime_message_set_subject(msg, subject, "utf-8");
	g_mime_message_set_date(msg, created);
	g_mime_message_set_message_id(msg, out->message_id);
	if (first_id != NULL && strcmp(first_id, out->message_id) != 0)
		g_string_append_printf(refs, "<%s>", first_id);
	if (parent_id != NULL &&
	    (first_id == NULL || strcmp(parent_id, first_id) != 0))
		g_string_append_printf(refs, "%s<%s>", refs->len ? " " : "",
				       parent_id);
	if (refs->len > 0) {
		value = g_strdup_printf("<%s>", parent_id != NULL ? parent_id
								  : first_id);
		g_mime_object_set_header(GMIME_OBJECT(msg), "In-Reply-To",
					 value, NULL);
		g_mime_object_set_header(GMIME_OBJECT(msg), "References",
					 refs->str, NULL);
		g_free(value);
		value = NULL;
	}
	thread_url =
	    g_strdup_printf("%s/groups/%s/threads/%s", cfg.portal_url,
			    PQgetvalue(res, 0, 9), PQgetvalue(res, 0, 4));
	settings_url = g_strdup_printf("%s/settings/groups/%s", cfg.portal_url,
				       PQgetvalue(res, 0, 9));
	list_id =
	    g_strdup_printf("%s <%s.%s>", group, PQgetvalue(res, 0, 9), domain);
	g_mime_object_set_header(GMIME_OBJECT(msg), "List-Id", list_id,
				 "utf-8");
	value = g_strdup_printf("<mailto:%s>", PQgetvalue(res, 0, 10));
	g_mime_object_set_header(GMIME_OBJECT(msg), "List-Post", value, NULL);
	g_free(value);
	value = g_strdup_printf("<%s/groups/%s>", cfg.portal_url,
				PQgetvalue(res, 0, 9));
	g_mime_object_set_header(GMIME_OBJECT(msg), "List-Archive", value,
				 NULL);
	g_free(value);
	value = g_strdup_printf("<mailto:unsubscribe+%s@%s>, "
				"<%s/unsubscribe/%s>",
				unsub, domain, cfg.portal_url, unsub);
	g_mime_object_set_header(GMIME_OBJECT(msg), "List-Unsubscribe", value,
				 NULL);
	g_free(value);
	value = NULL;
	g_mime_object_set_header(GMIME_OBJECT(msg), "List-Unsubscribe-Post",
				 "List-Unsubscribe=One-Click", NULL);
	g_mime_object_set_header(GMIME_OBJECT(msg), "Precedence", "list", NULL);

	/* The body, the same for every member of one locale: made once. */
	body = post_body(conn, res, post_id, locale, author, group, thread_url,
			 settings_url, err);
	if (body == NULL)
		goto out;

	/* The member's headers, then the body. */
	raw = g_mime_object_get_headers(GMIME_OBJECT(msg), NULL);
	{
		GString *all = g_string_new(raw);
		gsize blen;
		const char *b = g_bytes_get_data(body, &blen);

		g_string_append(all, "MIME-Version: 1.0\n");
		g_string_append_len(all, b, (gssize)blen);
		out->message = g_string_free_to_bytes(all);
	}
	g_free(raw);
	raw = NULL;
	out->envelope_from = bounce;
	bounce = NULL;
	rc = 0;
out:
	if (rc < 0)
		compose_mail_clear(out);
	PQclear(res);
	if (msg != NULL)
		g_object_unref(msg);
	if (body != NULL)
		g_bytes_unref(body);
	if (created != NULL)
		g_date_time_unref(created);
	if (expires != NULL)
		g_date_time_unref(expires);
	g_string_free(refs, TRUE);
	g_free(domain);
	g_free(reply);
	g_free(unsub);
	g_free(bounce);
	g_free(first_id);
	g_free(parent_id);
	g_free(subject);
	g_free(author);
	g_free(group);
	g_free(from_name);
	g_free(thread_url);
	g_free(settings_url);
	g_free(list_id);
	g_free(value);
	return rc;
}

GBytes *
compose_notice(const char *name, const char *locale, const char *group,
	       const char *list_address, const char *to, const char *const *kv)
{
	GMimeMessage *msg;
	GMimeObject *part;
	char *file, *tpl, *filled, *body, *subject, *id, *safe;
	const char *at = strrchr(list_address, '@');
	char *raw;

	/* The template in the member's language, else in German. */
	file = g_strdup_printf("%s.%s.txt", name, locale);
	tpl = compose_template(file);
	g_free(file);
	if (tpl == NULL) {
		file = g_strdup_printf("%s.de.txt", name);
		tpl = compose_template(file);
		g_free(file);
	}
	if (tpl == NULL)
		return NULL;
	msg_init();

	/* "Subject: ..." first, then the body. */
	filled = compose_fill(tpl, kv, 0);
	body = strstr(filled, "\n\n");
	if (g_str_has_prefix(filled, "Subject: ") && body != NULL) {
		*body = '\0';
		subject = header_safe(filled + 9);
		body += 2;
	} else {
		subject = g_strdup(group);
		body = filled;
	}

	/* The mail. */
	msg = g_mime_message_new(TRUE);
	safe = header_safe(group);
	g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_FROM, safe,
				   list_address);
	g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_TO, NULL, to);
	g_mime_message_set_subject(msg, subject, "utf-8");
	{
		GDateTime *now = g_date_time_new_now_utc();

		g_mime_message_set_date(msg, now);
		g_date_time_unref(now);
	}
	id = g_mime_utils_generate_message_id(at != NULL ? at + 1
							 : "listbridge");
	g_mime_message_set_message_id(msg, id);
	g_mime_object_set_header(GMIME_OBJECT(msg), "Auto-Submitted",
				 "auto-replied", NULL);
	part = text_part("plain", body);
	g_mime_message_set_mime_part(msg, part);
	g_mime_object_encode(GMIME_OBJECT(msg), GMIME_ENCODING_CONSTRAINT_7BIT);
	raw = g_mime_object_to_string(GMIME_OBJECT(msg), NULL);
	g_object_unref(part);
	g_object_unref(msg);
	g_free(id);
	g_free(safe);
	g_free(subject);
	g_free(filled);
	g_free(tpl);
	return g_bytes_new_take(raw, strlen(raw));
}
