/*
 * message: a mail as listbridge needs it, parsed with GMime.
 *
 * msg_parse() takes the raw bytes the MTA handed over and returns the
 * decoded header fields (UTF-8), the body text and the attachments.  It
 * never fails on malformed MIME: GMime recovers what it can, its warnings
 * are kept in "warnings" for the log, and only input that holds no message
 * at all is refused.
 *
 * Limits: MIME parts deeper than cfg.mime_depth_limit or beyond
 * cfg.mime_part_limit are not looked into; attachment bytes over
 * cfg.attachment_size_limit, beyond cfg.attachment_count_limit or of a
 * type in cfg.attachment_blocked_types are not kept (name, type, size,
 * hash are, with the reason in "state").
 */
#ifndef MESSAGE_H
#define MESSAGE_H

#include <gmime/gmime.h>

enum msg_attachment_state {
	MSG_ATT_STORED,	   /* bytes kept in content */
	MSG_ATT_TOO_LARGE, /* over cfg.attachment_size_limit */
	MSG_ATT_TOO_MANY,  /* beyond cfg.attachment_count_limit */
	MSG_ATT_BLOCKED	   /* a type in cfg.attachment_blocked_types */
};

struct msg_attachment {
	char *filename;	    /* decoded, never NULL */
	char *content_type; /* "application/pdf" */
	gsize size;	    /* decoded bytes */
	char sha256[65];    /* hex of the decoded bytes */
	GBytes *content;    /* NULL unless MSG_ATT_STORED */
	char *content_id;   /* Content-ID without <>, or NULL */
	enum msg_attachment_state state;
};

struct msg {
	GMimeMessage *mime;
	char *message_id; /* without <>; made from the bytes if absent */
	gboolean message_id_made;
	char *from_addr;       /* "" when there is none */
	char *from_name;       /* decoded display name, "" when none */
	char *subject;	       /* decoded, "" when none */
	GDateTime *date;       /* NULL when missing or invalid */
	char *in_reply_to;     /* first id of In-Reply-To, or NULL */
	GPtrArray *references; /* char *ids of References, oldest first */
	char *text;	       /* body as UTF-8 text, LF line ends */
	char *html;	       /* the HTML body (UTF-8) it came from, or NULL */
	GPtrArray *attachments; /* struct msg_attachment * */
	GString *warnings;	/* GMime parser warnings, "code@offset ..." */
	int nwarnings;
	int html_skipped;   /* HTML over cfg.html_tag_limit, not read */
	int auto_submitted; /* Auto-Submitted other than "no" */
};

/* msg_attachment_state_name: "stored", "too-large", "too-many",
 * "blocked". */
const char *msg_attachment_state_name(enum msg_attachment_state state);

/* msg_init: initialise GMime.  Call once, before any thread starts. */
void msg_init(void);

/* msg_parse: parse len bytes of raw.  Returns a new msg (msg_free() it),
 * or NULL with err set (EX_DATAERR) when no message can be read. */
struct msg *msg_parse(const char *raw, gsize len, GError **err);

void msg_free(struct msg *m);

/* msg_make_id: the Message-ID for a message that has none: the SHA-256 of
 * its bytes, so that the same bytes always get the same id. */
char *msg_make_id(const char *raw, gsize len);

/* msg_normalize_id: an id from a header, without <> and white space, or
 * NULL when nothing usable is left. */
char *msg_normalize_id(const char *id);

#endif
