/*
 * text: charsets to UTF-8, newlines, HTML to text (see text.h).
 */
#include <string.h>

#include <gumbo.h>

#include "text.h"

static char *try_convert(const char *bytes, gsize len, const char *charset);
static void render(GumboNode *node, GString *out, int depth);
static void block_break(GString *out, int blank);
static const char *canonical(const char *declared);
static int has_mso_class(GumboElement *el);

/* Deeper HTML than this is not rendered (gumbo itself copes with more). */
#define HTML_DEPTH_LIMIT 200

/*
 * canonical: the charset to decode with for a declared one.  Mail that
 * says ISO-8859-1 or US-ASCII is in practice often windows-1252 (Outlook's
 * quotes and euro sign), and windows-1252 is a superset of both for the
 * printable range, so read it as such.
 */
static const char *
canonical(const char *declared)
{
	static const char *as_1252[] = {"iso-8859-1", "iso8859-1", "latin1",
					"us-ascii",   "ascii",	   "iso_8859-1",
					"l1",	      "cp819",	   NULL};
	int i;

	for (i = 0; as_1252[i] != NULL; i++)
		if (g_ascii_strcasecmp(declared, as_1252[i]) == 0)
			return "windows-1252";
	return declared;
}

static char *
try_convert(const char *bytes, gsize len, const char *charset)
{
	gsize in = 0, outlen = 0;
	char *out;

	if (g_ascii_strcasecmp(charset, "utf-8") == 0 ||
	    g_ascii_strcasecmp(charset, "utf8") == 0) {
		if (!g_utf8_validate_len(bytes, len, NULL))
			return NULL;
		return g_strndup(bytes, len);
	}
	out =
	    g_convert(bytes, (gssize)len, "UTF-8", charset, &in, &outlen, NULL);
	if (out == NULL || in != len) {
		g_free(out);
		return NULL;
	}
	return out;
}

char *
text_to_utf8(const char *bytes, gsize len, const char *declared,
	     const char **used)
{
	static const char *chain[] = {"UTF-8", "windows-1252", NULL};
	char *clean = NULL, *out = NULL;
	gsize i, n = 0;
	int c;

	if (bytes == NULL || len == 0)
		return g_strdup("");

	/* NUL bytes have no place in text, and stop C strings. */
	if (memchr(bytes, '\0', len) != NULL) {
		clean = g_malloc(len + 1);
		for (i = 0; i < len; i++)
			if (bytes[i] != '\0')
				clean[n++] = bytes[i];
		bytes = clean;
		len = n;
	}

	/* The declared charset first, then the chain. */
	if (declared != NULL && *declared != '\0') {
		const char *cs = canonical(declared);

		out = try_convert(bytes, len, cs);
		if (out != NULL && used != NULL)
			*used = "declared";
	}
	for (c = 0; out == NULL && chain[c] != NULL; c++) {
		out = try_convert(bytes, len, chain[c]);
		if (out != NULL && used != NULL)
			*used = chain[c];
	}

	/* ISO-8859-1 maps every byte: the last resort cannot fail. */
	if (out == NULL) {
		GString *s = g_string_sized_new(len + len / 4);

		for (i = 0; i < len; i++)
			g_string_append_unichar(s, (guchar)bytes[i]);
		out = g_string_free(s, FALSE);
		if (used != NULL)
			*used = "ISO-8859-1";
	}
	g_free(clean);
	return out;
}

char *
text_newlines(char *s)
{
	char *r, *w;

	for (r = w = s; *r != '\0'; r++) {
		if (*r == '\r') {
			*w++ = '\n';
			if (r[1] == '\n')
				r++;
		} else
			*w++ = *r;
	}
	*w = '\0';
	return s;
}

char *
text_unflow(const char *text, int delsp)
{
	char **lines = g_strsplit(text, "\n", -1);
	GString *out = g_string_sized_new(strlen(text));
	int i, depth, prev_depth = -1, joining = 0;

	for (i = 0; lines[i] != NULL; i++) {
		char *line = lines[i];
		gsize len;
		int soft;

		/* Quote depth, then space-stuffing after it. */
		for (depth = 0; line[depth] == '>'; depth++)
			;
		line += depth;
		if (*line == ' ')
			line++;
		len = strlen(line);
		soft =
		    len > 0 && line[len - 1] == ' ' && strcmp(line, "-- ") != 0;

		/* A soft break joins only lines of the same depth. */
		if (joining && depth != prev_depth)
			g_string_append_c(out, '\n');
		if (!joining || depth != prev_depth) {
			int k;

			for (k = 0; k < depth; k++)
				g_string_append_c(out, '>');
			if (depth > 0)
				g_string_append_c(out, ' ');
		}
		if (soft && delsp)
			len--;
		g_string_append_len(out, line, (gssize)len);
		joining = soft;
		prev_depth = depth;
		if (!soft && lines[i + 1] != NULL)
			g_string_append_c(out, '\n');
	}
	g_strfreev(lines);
	return g_string_free(out, FALSE);
}

/*
 * block_break: end the current line; with blank, leave one empty line
 * (paragraph).  Never more than one empty line, none at the start.
 */
static int
has_mso_class(GumboElement *el)
{
	GumboAttribute *c = gumbo_get_attribute(&el->attributes, "class");

	return c != NULL && g_str_has_prefix(c->value, "Mso");
}

static void
block_break(GString *out, int blank)
{
	int want = blank ? 2 : 1;
	int have = 0;
	gsize i;

	/* Trailing spaces of the line go. */
	while (out->len > 0 && out->str[out->len - 1] == ' ')
		g_string_truncate(out, out->len - 1);
	if (out->len == 0)
		return;
	for (i = out->len; i > 0 && out->str[i - 1] == '\n'; i--)
		have++;
	while (have++ < want)
		g_string_append_c(out, '\n');
}

static void
render(GumboNode *node, GString *out, int depth)
{
	GumboElement *el;
	GumboAttribute *href;
	gsize start;
	unsigned i;
	int blank = 0, line = 0;

	if (depth > HTML_DEPTH_LIMIT)
		return;

	/* Text: white space folds into one space, as a browser shows it. */
	if (node->type == GUMBO_NODE_TEXT || node->type == GUMBO_NODE_CDATA) {
		const char *p;

		for (p = node->v.text.text; *p != '\0'; p++) {
			int space = g_ascii_isspace(*p);

			/* U+00A0 (&nbsp;) is a plain space in text. */
			if ((guchar)p[0] == 0xc2 && (guchar)p[1] == 0xa0) {
				space = 1;
				p++;
			}
			if (!space)
				g_string_append_c(out, *p);
			else if (out->len > 0 &&
				 out->str[out->len - 1] != ' ' &&
				 out->str[out->len - 1] != '\n')
				g_string_append_c(out, ' ');
		}
		return;
	}
	if (node->type != GUMBO_NODE_ELEMENT &&
	    node->type != GUMBO_NODE_DOCUMENT &&
	    node->type != GUMBO_NODE_TEMPLATE)
		return;
	if (node->type == GUMBO_NODE_DOCUMENT) {
		for (i = 0; i < node->v.document.children.length; i++)
			render(node->v.document.children.data[i], out,
			       depth + 1);
		return;
	}

	/* Elements: what never shows, line and paragraph breaks, lists. */
	el = &node->v.element;
	switch (el->tag) {
	case GUMBO_TAG_HEAD:
	case GUMBO_TAG_SCRIPT:
	case GUMBO_TAG_STYLE:
	case GUMBO_TAG_TITLE:
	case GUMBO_TAG_NOSCRIPT:
	case GUMBO_TAG_TEMPLATE:
		return;
	case GUMBO_TAG_BR:
		while (out->len > 0 && out->str[out->len - 1] == ' ')
			g_string_truncate(out, out->len - 1);
		g_string_append_c(out, '\n');
		return;
	case GUMBO_TAG_HR:
		block_break(out, 0);
		g_string_append(out, "----");
		block_break(out, 0);
		return;
	case GUMBO_TAG_P:
		/* Outlook (Word) sets its paragraphs without a gap, and marks
		 * blank lines with empty ones. */
		if (has_mso_class(el)) {
			line = 1;
			break;
		}
		blank = 1;
		break;
	case GUMBO_TAG_H1:
	case GUMBO_TAG_H2:
	case GUMBO_TAG_H3:
	case GUMBO_TAG_H4:
	case GUMBO_TAG_H5:
	case GUMBO_TAG_H6:
	case GUMBO_TAG_UL:
	case GUMBO_TAG_OL:
	case GUMBO_TAG_TABLE:
	case GUMBO_TAG_BLOCKQUOTE:
	case GUMBO_TAG_PRE:
		blank = 1;
		break;
	case GUMBO_TAG_DIV:
	case GUMBO_TAG_TR:
	case GUMBO_TAG_DT:
	case GUMBO_TAG_DD:
	case GUMBO_TAG_ADDRESS:
	case GUMBO_TAG_SECTION:
	case GUMBO_TAG_ARTICLE:
	case GUMBO_TAG_HEADER:
	case GUMBO_TAG_FOOTER:
		line = 1;
		break;
	case GUMBO_TAG_LI:
		block_break(out, 0);
		g_string_append(out, "- ");
		break;
	case GUMBO_TAG_TD:
	case GUMBO_TAG_TH:
		if (out->len > 0 && out->str[out->len - 1] != '\n')
			g_string_append(out, " | ");
		break;
	default:
		break;
	}
	if (blank)
		block_break(out, 1);
	else if (line)
		block_break(out, 0);

	/* A quotation reads as mail clients write it: "> " lines. */
	if (el->tag == GUMBO_TAG_BLOCKQUOTE) {
		GString *inner = g_string_new(NULL);
		char **lines;
		int k, n;

		for (i = 0; i < el->children.length; i++)
			render(el->children.data[i], inner, depth + 1);
		while (inner->len > 0 &&
		       g_ascii_isspace(inner->str[inner->len - 1]))
			g_string_truncate(inner, inner->len - 1);
		lines = g_strsplit(inner->str, "\n", -1);
		n = (int)g_strv_length(lines);
		for (k = 0; k < n; k++) {
			g_string_append(out, *lines[k] == '>' ? ">" : "> ");
			g_string_append(out, lines[k]);
			if (k + 1 < n)
				g_string_append_c(out, '\n');
		}
		g_strfreev(lines);
		g_string_free(inner, TRUE);
		block_break(out, 1);
		return;
	}

	start = out->len;
	for (i = 0; i < el->children.length; i++)
		render(el->children.data[i], out, depth + 1);

	/* A link shows its target unless the text already is the target. */
	if (el->tag == GUMBO_TAG_A &&
	    (href = gumbo_get_attribute(&el->attributes, "href")) != NULL &&
	    g_str_has_prefix(href->value, "http") &&
	    strstr(out->str + start, href->value) == NULL)
		g_string_append_printf(out, " <%s>", href->value);

	/* An empty Outlook paragraph is Outlook's blank line. */
	if (el->tag == GUMBO_TAG_P && line) {
		gsize k = start;

		while (k < out->len && g_ascii_isspace(out->str[k]))
			k++;
		if (k == out->len) {
			block_break(out, 1);
			return;
		}
	}
	if (blank)
		block_break(out, 1);
	else if (line || el->tag == GUMBO_TAG_LI)
		block_break(out, 0);
}

char *
text_from_html(const char *html, gsize len)
{
	GumboOptions opts = kGumboDefaultOptions;
	GumboOutput *doc;
	GString *out;

	opts.max_errors = 0;
	doc = gumbo_parse_with_options(&opts, html, len);
	out = g_string_sized_new(len / 2 + 16);
	render(doc->document, out, 0);
	gumbo_destroy_output(&opts, doc);

	/* No white space at either end. */
	g_strstrip(out->str);
	out->len = strlen(out->str);
	return g_string_free(out, FALSE);
}
