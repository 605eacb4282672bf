/*
 * compose: the mails listbridge writes, rendered with GMime from
 * templates (templates/, built in; an admin's copies in cfg.template_dir
 * win).
 *
 * compose_post() renders the notification of one post for one member:
 * From "Author via Group" <list address> (never the author's own
 * address), Reply-To a signed reply+TOKEN address, a Message-ID that
 * carries the same token and is stable per post and recipient,
 * In-Reply-To and References to the thread's first post and the parent,
 * the List-* headers, multipart/alternative text and HTML.  Every header
 * value that came from a member is stripped of control characters and
 * encoded (RFC 2047) by GMime.
 */
#ifndef COMPOSE_H
#define COMPOSE_H

#include <libpq-fe.h>

#include <glib.h>

struct compose_mail {
	GBytes *message;     /* the whole mail, LF line ends */
	char *envelope_from; /* bounces+TOKEN@reply domain */
	char *message_id;    /* without <> */
};

/* compose_post: the mail of post_id for member_id, whose outbox row is
 * row_id (named in the envelope sender).  Returns 0 with out filled
 * (compose_mail_clear() it), or -1 with err set: EX_NOUSER when the post
 * or member is gone, EX_TEMPFAIL for the database, EX_CONFIG when no
 * token key is loaded. */
int compose_post(PGconn *conn, long long row_id, long long post_id,
		 long long member_id, struct compose_mail *out, GError **err);

void compose_mail_clear(struct compose_mail *mail);

/* compose_notice: a short mail from the list to one address, from the
 * template NAME.LOCALE.txt (first line "Subject: ...", a blank line,
 * the body), its placeholders filled from kv (see compose_fill()).  It
 * is marked Auto-Submitted: auto-replied and goes out with the null
 * sender, so that it never starts a mail loop.  Returns the mail (LF
 * line ends; g_bytes_unref it), or NULL when there is no such
 * template. */
GBytes *compose_notice(const char *name, const char *locale, const char *group,
		       const char *list_address, const char *to,
		       const char *const *kv);

/* compose_template: the template called name ("post.de.txt"): the
 * admin's copy in cfg.template_dir when there is one, else the built-in
 * one.  Returns a new string, or NULL when there is neither. */
char *compose_template(const char *name);

/* compose_fill: template with each {{key}} replaced by its value (keys
 * and values alternate in kv, NULL-terminated); with escape, values are
 * HTML-escaped except for the key "html".  Returns a new string. */
char *compose_fill(const char *template, const char *const *kv, int escape);

#endif
