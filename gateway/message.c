/*
 * message: parse a mail with GMime (see message.h).
 */
#include <string.h>

#include <sodium.h>

#include "config.h"
#include "lberror.h"
#include "message.h"
#include "text.h"

struct walk {
	struct msg *m;
	GMimeObject *body; /* the part chosen as body */
	int parts;
};

static void on_warning(gint64 offset, GMimeParserWarning code,
		       const gchar *item, gpointer data);
static GBytes *part_bytes(GMimePart *part);
static GMimeObject *choose_body(GMimeObject *obj, int depth, int *parts);
static void collect(struct walk *w, GMimeObject *obj, int depth);
static void add_attachment(struct msg *m, GMimePart *part);
static void read_body(struct msg *m, GMimeObject *body);
static void read_ids(struct msg *m, GMimeParserOptions *opts);
static void read_from(struct msg *m);
static int is_attachment(GMimeObject *obj);
static int blocked_type(const char *filename, const char *content_type);
static GMimeObject *find_html(GMimeObject *obj, int depth);
static char *part_text(GMimeObject *part);
static void set_html(struct msg *m, char *html);
static int only_delimiters(const char *text);
static void add_boundaries(GMimeObject *parent, GMimeObject *part,
			   gpointer data);
static int boundary_lines_only(GMimeMessage *mime, const char *text);

void
msg_init(void)
{
	g_mime_init();
}

static void
on_warning(gint64 offset, GMimeParserWarning code, const gchar *item,
	   gpointer data)
{
	struct msg *m = data;

	(void)item;
	/* Keep the first few for the log; count them all. */
	if (m->nwarnings++ < 8)
		g_string_append_printf(m->warnings, "%s%d@%" G_GINT64_FORMAT,
				       m->warnings->len ? "," : "", (int)code,
				       offset);
}

char *
msg_make_id(const char *raw, gsize len)
{
	unsigned char hash[crypto_hash_sha256_BYTES];
	char hex[crypto_hash_sha256_BYTES * 2 + 1];

	crypto_hash_sha256(hash, (const unsigned char *)raw, len);
	sodium_bin2hex(hex, sizeof(hex), hash, 16);
	return g_strdup_printf("%s@%s", hex, cfg.message_id_domain);
}

char *
msg_normalize_id(const char *id)
{
	GString *s;
	const char *p;

	if (id == NULL)
		return NULL;
	s = g_string_new(NULL);
	for (p = id; *p != '\0'; p++)
		if (*p != '<' && *p != '>' && !g_ascii_isspace(*p) &&
		    !g_ascii_iscntrl(*p))
			g_string_append_c(s, *p);
	if (s->len == 0 || s->len > 900 || !g_utf8_validate(s->str, -1, NULL)) {
		g_string_free(s, TRUE);
		return NULL;
	}
	return g_string_free(s, FALSE);
}

/*
 * is_attachment: a part is an attachment when it says so, or when it has
 * a file name, or when it is neither text nor a container.
 */
static int
is_attachment(GMimeObject *obj)
{
	GMimeContentType *ct = g_mime_object_get_content_type(obj);

	if (!GMIME_IS_PART(obj))
		return 0;
	if (g_mime_part_is_attachment(GMIME_PART(obj)))
		return 1;
	if (g_mime_part_get_filename(GMIME_PART(obj)) != NULL &&
	    !g_mime_content_type_is_type(ct, "text", "plain") &&
	    !g_mime_content_type_is_type(ct, "text", "html"))
		return 1;
	return !g_mime_content_type_is_type(ct, "text", "*");
}

/*
 * choose_body: the part to read the text from: in multipart/alternative
 * the text/plain branch before the HTML one, elsewhere the first inline
 * text/plain or text/html.  Forwarded messages (message/rfc822) are not
 * entered.  Returns NULL when there is no text.
 */
static GMimeObject *
choose_body(GMimeObject *obj, int depth, int *parts)
{
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	GMimeObject *html = NULL, *found;
	int alternative, i, n;

	if (depth > cfg.mime_depth_limit || ++*parts > cfg.mime_part_limit)
		return NULL;
	if (GMIME_IS_PART(obj)) {
		if (is_attachment(obj))
			return NULL;
		if (g_mime_content_type_is_type(ct, "text", "plain") ||
		    g_mime_content_type_is_type(ct, "text", "html"))
			return obj;
		return NULL;
	}
	if (!GMIME_IS_MULTIPART(obj))
		return NULL;

	/* In multipart/alternative, plain text wins over HTML; in any other
	 * multipart, the first part with text does. */
	alternative =
	    g_mime_content_type_is_type(ct, "multipart", "alternative");
	n = g_mime_multipart_get_count(GMIME_MULTIPART(obj));
	for (i = 0; i < n; i++) {
		GMimeObject *child =
		    g_mime_multipart_get_part(GMIME_MULTIPART(obj), i);

		found = choose_body(child, depth + 1, parts);
		if (found == NULL)
			continue;
		if (!alternative ||
		    g_mime_content_type_is_type(
			g_mime_object_get_content_type(found), "text", "plain"))
			return found;
		if (html == NULL)
			html = found;
	}
	return html;
}

/*
 * find_html: the first inline text/html part under obj (not inside a
 * forwarded message), the HTML twin of a plain text body.
 */
static GMimeObject *
find_html(GMimeObject *obj, int depth)
{
	GMimeObject *found;
	int i, n;

	if (depth > cfg.mime_depth_limit)
		return NULL;
	if (GMIME_IS_PART(obj))
		return !is_attachment(obj) &&
			       g_mime_content_type_is_type(
				   g_mime_object_get_content_type(obj), "text",
				   "html")
			   ? obj
			   : NULL;
	if (!GMIME_IS_MULTIPART(obj))
		return NULL;
	n = g_mime_multipart_get_count(GMIME_MULTIPART(obj));
	for (i = 0; i < n && i < cfg.mime_part_limit; i++) {
		found = find_html(
		    g_mime_multipart_get_part(GMIME_MULTIPART(obj), i),
		    depth + 1);
		if (found != NULL)
			return found;
	}
	return NULL;
}

static GBytes *
part_bytes(GMimePart *part)
{
	GMimeDataWrapper *dw = g_mime_part_get_content(part);
	GMimeStream *mem;
	GByteArray *ba;
	GBytes *b;

	if (dw == NULL)
		return g_bytes_new(NULL, 0);
	mem = g_mime_stream_mem_new();
	/* The wrapper removes the transfer encoding (base64, QP). */
	g_mime_data_wrapper_write_to_stream(dw, mem);
	ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	b = g_bytes_new(ba->data, ba->len);
	g_object_unref(mem);
	return b;
}

const char *
msg_attachment_state_name(enum msg_attachment_state state)
{
	static const char *const names[] = {"stored", "too-large", "too-many",
					    "blocked"};

	return names[state];
}

/*
 * blocked_type: whether a file of this name and type may run code: its
 * ending or its type is in cfg.attachment_blocked_types.
 */
static int
blocked_type(const char *filename, const char *content_type)
{
	char **words = g_strsplit_set(cfg.attachment_blocked_types, " \t,", -1);
	const char *dot = strrchr(filename, '.');
	int i, hit = 0;

	for (i = 0; !hit && words[i] != NULL; i++) {
		if (*words[i] == '\0')
			continue;
		if (strchr(words[i], '/') != NULL)
			hit = g_ascii_strcasecmp(words[i], content_type) == 0;
		else
			hit = dot != NULL &&
			      g_ascii_strcasecmp(dot + 1, words[i]) == 0;
	}
	g_strfreev(words);
	return hit;
}

static void
add_attachment(struct msg *m, GMimePart *part)
{
	unsigned char hash[crypto_hash_sha256_BYTES];
	struct msg_attachment *a;
	GMimeContentType *ct;
	const char *name, *cid;
	GBytes *b;
	gsize len;
	const void *data;

	a = g_new0(struct msg_attachment, 1);
	ct = g_mime_object_get_content_type(GMIME_OBJECT(part));
	a->content_type = g_mime_content_type_get_mime_type(ct);
	name = g_mime_part_get_filename(part);
	a->filename = name != NULL ? g_utf8_make_valid(name, -1) : g_strdup("");

	cid = g_mime_object_get_content_id(GMIME_OBJECT(part));
	a->content_id = cid != NULL ? g_utf8_make_valid(cid, -1) : NULL;

	b = part_bytes(part);
	data = g_bytes_get_data(b, &len);
	a->size = len;
	crypto_hash_sha256(hash, data, len);
	sodium_bin2hex(a->sha256, sizeof(a->sha256), hash, sizeof(hash));

	/* Keep the bytes unless a limit or the type says no. */
	if (blocked_type(a->filename, a->content_type))
		a->state = MSG_ATT_BLOCKED;
	else if (m->attachments->len >= (guint)cfg.attachment_count_limit)
		a->state = MSG_ATT_TOO_MANY;
	else if (len > (gsize)cfg.attachment_size_limit)
		a->state = MSG_ATT_TOO_LARGE;
	else
		a->state = MSG_ATT_STORED;
	if (a->state == MSG_ATT_STORED)
		a->content = b;
	else
		g_bytes_unref(b);
	g_ptr_array_add(m->attachments, a);
}

/*
 * collect: every attachment under obj, within the limits.  A forwarded
 * message (message/rfc822) is one attachment of its own.
 */
static void
collect(struct walk *w, GMimeObject *obj, int depth)
{
	int i, n;

	if (depth > cfg.mime_depth_limit || ++w->parts > cfg.mime_part_limit)
		return;
	if (GMIME_IS_MULTIPART(obj)) {
		n = g_mime_multipart_get_count(GMIME_MULTIPART(obj));
		for (i = 0; i < n; i++)
			collect(
			    w,
			    g_mime_multipart_get_part(GMIME_MULTIPART(obj), i),
			    depth + 1);
		return;
	}
	/* XXX: a forwarded message (message/rfc822, also when a client
	 * base64-encoded it) is kept only in the raw message; it becomes
	 * no attachment row of its own yet. */
	if (GMIME_IS_MESSAGE_PART(obj) ||
	    g_mime_content_type_is_type(g_mime_object_get_content_type(obj),
					"message", "rfc822") ||
	    g_mime_content_type_is_type(g_mime_object_get_content_type(obj),
					"message", "global"))
		return;
	if (GMIME_IS_PART(obj) && obj != w->body && is_attachment(obj))
		add_attachment(w->m, GMIME_PART(obj));
}

/* only_delimiters: text has lines, each blank or like "--token". */
static int
only_delimiters(const char *text)
{
	const char *p = text;
	int seen = 0;

	while (*p != '\0') {
		if (p[0] == '-' && p[1] == '-' && p[2] != '\0' &&
		    !g_ascii_isspace(p[2])) {
			seen = 1;
			while (*p != '\0' && *p != '\n' && !g_ascii_isspace(*p))
				p++;
		}
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != '\0' && *p != '\n')
			return 0;
		if (*p == '\n')
			p++;
	}
	return seen;
}

/* add_boundaries: the delimiter lines every Content-Type of part names,
 * also those a later header overrode. */
static void
add_boundaries(GMimeObject *parent, GMimeObject *part, gpointer data)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(part);
	GPtrArray *lines = data;
	int i;

	(void)parent;
	for (i = 0; i < g_mime_header_list_get_count(hl); i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
		GMimeContentType *ct;
		const char *b;

		if (g_ascii_strcasecmp(g_mime_header_get_name(h),
				       "Content-Type") != 0)
			continue;
		ct =
		    g_mime_content_type_parse(NULL, g_mime_header_get_value(h));
		if (ct == NULL)
			continue;
		b = g_mime_content_type_get_parameter(ct, "boundary");
		if (b != NULL && *b != '\0') {
			g_ptr_array_add(lines, g_strconcat("--", b, NULL));
			g_ptr_array_add(lines,
					g_strconcat("--", b, "--", NULL));
		}
		g_object_unref(ct);
	}
}

/*
 * boundary_lines_only: whether text is nothing but MIME delimiter lines
 * of this message, left over by broken MIME (a part that holds only the
 * next boundary).  The cheap test first: most texts fail it.
 */
static int
boundary_lines_only(GMimeMessage *mime, const char *text)
{
	GPtrArray *delims;
	char **lines;
	int i, only = 1;
	guint j;

	if (!only_delimiters(text))
		return 0;
	delims = g_ptr_array_new_with_free_func(g_free);
	add_boundaries(NULL, GMIME_OBJECT(mime), delims);
	g_mime_message_foreach(mime, add_boundaries, delims);
	lines = g_strsplit(text, "\n", -1);
	for (i = 0; only && lines[i] != NULL; i++) {
		int known = *g_strstrip(lines[i]) == '\0';

		for (j = 0; !known && j < delims->len; j++)
			known = strcmp(lines[i], delims->pdata[j]) == 0;
		only = known;
	}
	g_strfreev(lines);
	g_ptr_array_free(delims, TRUE);
	return only;
}

/* part_text: a text part's content as UTF-8 with LF line ends. */
static char *
part_text(GMimeObject *part)
{
	GMimeContentType *ct = g_mime_object_get_content_type(part);
	const char *charset = g_mime_content_type_get_parameter(ct, "charset");
	GBytes *b = part_bytes(GMIME_PART(part));
	gsize len;
	const char *data = g_bytes_get_data(b, &len);
	char *text = text_newlines(text_to_utf8(data, len, charset, NULL));

	g_bytes_unref(b);
	return text;
}

/*
 * set_html: keep html (taken) as m's HTML body, unless it is blank or has
 * more tags than cfg.html_tag_limit: HTML parsers take time that grows
 * with the square of the nesting, so such HTML is left to the raw
 * message (counting '<' is no parsing, only a bound).
 */
static void
set_html(struct msg *m, char *html)
{
	const char *p;
	int tags = 0;

	for (p = html; *p != '\0'; p++)
		if (*p == '<')
			tags++;
	if (tags > cfg.html_tag_limit) {
		m->html_skipped = 1;
		g_free(html);
		return;
	}
	for (p = html; *p != '\0' && g_ascii_isspace(*p); p++)
		;
	if (*p == '\0') {
		g_free(html);
		return;
	}
	g_free(m->html);
	m->html = html;
}

static void
read_body(struct msg *m, GMimeObject *body)
{
	GMimeContentType *ct;
	const char *format, *delsp;
	char *text;

	if (body == NULL) {
		m->text = g_strdup("");
		return;
	}
	ct = g_mime_object_get_content_type(body);
	text = part_text(body);

	if (g_mime_content_type_is_type(ct, "text", "html")) {
		set_html(m, text);
		m->text = m->html != NULL
			      ? text_from_html(m->html, strlen(m->html))
			      : g_strdup("");
		return;
	}

	/* Flowed text: the writer's paragraphs, not the wire's lines. */
	format = g_mime_content_type_get_parameter(ct, "format");
	if (format != NULL && g_ascii_strcasecmp(format, "flowed") == 0) {
		delsp = g_mime_content_type_get_parameter(ct, "delsp");
		m->text = text_unflow(
		    text,
		    delsp != NULL && g_ascii_strcasecmp(delsp, "yes") == 0);
		g_free(text);
		return;
	}
	/* Broken MIME can leave a part holding only a boundary: no text. */
	if (boundary_lines_only(m->mime, text))
		*text = '\0';
	m->text = text;
}

static void
read_ids(struct msg *m, GMimeParserOptions *opts)
{
	GMimeObject *obj = GMIME_OBJECT(m->mime);
	GMimeReferences *refs;
	const char *h;
	int i;

	m->message_id =
	    msg_normalize_id(g_mime_message_get_message_id(m->mime));

	/* In-Reply-To: the first id in it; clients put one. */
	h = g_mime_object_get_header(obj, "In-Reply-To");
	if (h != NULL) {
		refs = g_mime_references_parse(opts, h);
		if (refs != NULL && g_mime_references_length(refs) > 0)
			m->in_reply_to = msg_normalize_id(
			    g_mime_references_get_message_id(refs, 0));
		if (refs != NULL)
			g_mime_references_free(refs);
	}

	/* References: only ids that look like ids (GMime also returns
	 * stray words). */
	h = g_mime_object_get_header(obj, "References");
	if (h == NULL)
		return;
	refs = g_mime_references_parse(opts, h);
	for (i = 0; refs != NULL && i < g_mime_references_length(refs); i++) {
		char *id =
		    msg_normalize_id(g_mime_references_get_message_id(refs, i));

		if (id != NULL && strchr(id, '@') != NULL)
			g_ptr_array_add(m->references, id);
		else
			g_free(id);
	}
	if (refs != NULL)
		g_mime_references_free(refs);
}

static void
read_from(struct msg *m)
{
	InternetAddressList *from = g_mime_message_get_from(m->mime);
	int i, n;

	n = from != NULL ? internet_address_list_length(from) : 0;
	for (i = 0; i < n; i++) {
		InternetAddress *ia =
		    internet_address_list_get_address(from, i);
		const char *name, *addr;

		if (!INTERNET_ADDRESS_IS_MAILBOX(ia))
			continue;
		addr = internet_address_mailbox_get_addr(
		    INTERNET_ADDRESS_MAILBOX(ia));
		if (addr == NULL || *addr == '\0')
			continue;
		name = internet_address_get_name(ia);

		/* "From: Whomever": a word without a domain is a name, not
		 * an address. */
		if (strchr(addr, '@') == NULL && (name == NULL || *name == 0)) {
			m->from_addr = g_strdup("");
			m->from_name = g_utf8_make_valid(addr, -1);
			return;
		}
		m->from_addr = g_utf8_make_valid(addr, -1);
		m->from_name = g_utf8_make_valid(name != NULL ? name : "", -1);
		return;
	}
}

struct msg *
msg_parse(const char *raw, gsize len, GError **err)
{
	static const char *fallback[] = {"UTF-8", "windows-1252", NULL};
	GMimeParserOptions *opts = NULL;
	GMimeParser *parser = NULL;
	GMimeStream *stream = NULL;
	struct msg *m;
	struct walk w;
	const char *h;
	int parts = 0;

	m = g_new0(struct msg, 1);
	m->references = g_ptr_array_new_with_free_func(g_free);
	m->attachments = g_ptr_array_new();
	m->warnings = g_string_new(NULL);

	/* Parse: raw 8-bit header bytes are read as UTF-8, else
	 * windows-1252; parser warnings are collected, not fatal. */
	opts = g_mime_parser_options_new();
	g_mime_parser_options_set_fallback_charsets(opts, fallback);
	g_mime_parser_options_set_warning_callback(opts, on_warning, m);
	stream = g_mime_stream_mem_new_with_buffer(raw, len);
	parser = g_mime_parser_new_with_stream(stream);
	m->mime = g_mime_parser_construct_message(parser, opts);
	if (m->mime == NULL) {
		g_set_error(err, LB_ERROR, EX_DATAERR,
			    "no message could be read (%" G_GSIZE_FORMAT
			    " bytes)",
			    len);
		msg_free(m);
		m = NULL;
		goto out;
	}

	/* Header fields, decoded to UTF-8. */
	read_ids(m, opts);

	/* An id without "@" is none (a NUL byte may have cut it): two such
	 * messages must not pass for one. */
	if (m->message_id != NULL && strchr(m->message_id, '@') == NULL)
		g_clear_pointer(&m->message_id, g_free);
	if (m->message_id == NULL) {
		m->message_id = msg_make_id(raw, len);
		m->message_id_made = TRUE;
	}
	read_from(m);
	if (m->from_addr == NULL) {
		m->from_addr = g_strdup("");
		m->from_name = g_strdup("");
	}
	h = g_mime_message_get_subject(m->mime);
	m->subject = g_utf8_make_valid(h != NULL ? h : "", -1);
	g_strstrip(m->subject);
	m->date = g_mime_message_get_date(m->mime);
	if (m->date != NULL)
		g_date_time_ref(m->date);
	h = g_mime_object_get_header(GMIME_OBJECT(m->mime), "Auto-Submitted");
	m->auto_submitted = h != NULL && g_ascii_strncasecmp(h, "no", 2) != 0;

	/* Body and attachments. */
	w.m = m;
	w.parts = 0;
	w.body = NULL;
	if (g_mime_message_get_mime_part(m->mime) != NULL)
		w.body = choose_body(g_mime_message_get_mime_part(m->mime), 0,
				     &parts);
	read_body(m, w.body);

	/* The HTML twin of a plain text body, for the portal's view. */
	if (m->html == NULL && g_mime_message_get_mime_part(m->mime) != NULL) {
		GMimeObject *html =
		    find_html(g_mime_message_get_mime_part(m->mime), 0);

		if (html != NULL)
			set_html(m, part_text(html));
	}
	if (g_mime_message_get_mime_part(m->mime) != NULL)
		collect(&w, g_mime_message_get_mime_part(m->mime), 0);
out:
	if (parser != NULL)
		g_object_unref(parser);
	if (stream != NULL)
		g_object_unref(stream);
	g_mime_parser_options_free(opts);
	return m;
}

void
msg_free(struct msg *m)
{
	guint i;

	if (m == NULL)
		return;
	for (i = 0; i < m->attachments->len; i++) {
		struct msg_attachment *a = m->attachments->pdata[i];

		g_free(a->filename);
		g_free(a->content_type);
		g_free(a->content_id);
		if (a->content != NULL)
			g_bytes_unref(a->content);
		g_free(a);
	}
	g_ptr_array_free(m->attachments, TRUE);
	g_ptr_array_free(m->references, TRUE);
	g_string_free(m->warnings, TRUE);
	if (m->date != NULL)
		g_date_time_unref(m->date);
	if (m->mime != NULL)
		g_object_unref(m->mime);
	g_free(m->message_id);
	g_free(m->from_addr);
	g_free(m->from_name);
	g_free(m->subject);
	g_free(m->in_reply_to);
	g_free(m->text);
	g_free(m->html);
	g_free(m);
}
