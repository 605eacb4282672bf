/*
 * html: allow-list rebuild of mail HTML, client quotes cut (see html.h).
 */
#include <string.h>

#include <gumbo.h>

#include "html.h"

#define HTML_DEPTH_LIMIT 100

struct walk {
	GString *out;
	int stop; /* a quote marker was reached: emit nothing more */
	int trimmed;
	int visible; /* text or an image was emitted */
};

static void walk(struct walk *w, GumboNode *node, int depth);
static void escape(GString *out, const char *s, gsize len);
static int has_class(GumboElement *el, const char *name);
static const char *attr(GumboElement *el, const char *name);
static int quote_marker(GumboNode *node);
static int text_follows(GumboNode *node);
static int node_has_text(GumboNode *node, int depth);
static const char *allowed(GumboTag tag);
static int dropped(GumboTag tag);

/* The elements kept, as written back. */
static const char *
allowed(GumboTag tag)
{
	switch (tag) {
	case GUMBO_TAG_P:
		return "p";
	case GUMBO_TAG_DIV:
		return "div";
	case GUMBO_TAG_BR:
		return "br";
	case GUMBO_TAG_B:
		return "b";
	case GUMBO_TAG_STRONG:
		return "strong";
	case GUMBO_TAG_I:
		return "i";
	case GUMBO_TAG_EM:
		return "em";
	case GUMBO_TAG_U:
		return "u";
	case GUMBO_TAG_S:
		return "s";
	case GUMBO_TAG_UL:
		return "ul";
	case GUMBO_TAG_OL:
		return "ol";
	case GUMBO_TAG_LI:
		return "li";
	case GUMBO_TAG_BLOCKQUOTE:
		return "blockquote";
	case GUMBO_TAG_PRE:
		return "pre";
	case GUMBO_TAG_CODE:
		return "code";
	case GUMBO_TAG_TABLE:
		return "table";
	case GUMBO_TAG_THEAD:
		return "thead";
	case GUMBO_TAG_TBODY:
		return "tbody";
	case GUMBO_TAG_TR:
		return "tr";
	case GUMBO_TAG_TD:
		return "td";
	case GUMBO_TAG_TH:
		return "th";
	case GUMBO_TAG_A:
		return "a";
	case GUMBO_TAG_IMG:
		return "img";
	case GUMBO_TAG_HR:
		return "hr";
	default:
		return NULL;
	}
}

/* The elements dropped with all they contain. */
static int
dropped(GumboTag tag)
{
	switch (tag) {
	case GUMBO_TAG_HEAD:
	case GUMBO_TAG_TITLE:
	case GUMBO_TAG_SCRIPT:
	case GUMBO_TAG_STYLE:
	case GUMBO_TAG_NOSCRIPT:
	case GUMBO_TAG_TEMPLATE:
	case GUMBO_TAG_IFRAME:
	case GUMBO_TAG_OBJECT:
	case GUMBO_TAG_EMBED:
	case GUMBO_TAG_APPLET:
	case GUMBO_TAG_BUTTON:
	case GUMBO_TAG_INPUT:
	case GUMBO_TAG_SELECT:
	case GUMBO_TAG_TEXTAREA:
	case GUMBO_TAG_SVG:
	case GUMBO_TAG_MATH:
	case GUMBO_TAG_AUDIO:
	case GUMBO_TAG_VIDEO:
	case GUMBO_TAG_CANVAS:
		return 1;
	default:
		return 0;
	}
}

static void
escape(GString *out, const char *s, gsize len)
{
	gsize i;

	for (i = 0; i < len; i++) {
		switch (s[i]) {
		case '<':
			g_string_append(out, "&lt;");
			break;
		case '>':
			g_string_append(out, "&gt;");
			break;
		case '&':
			g_string_append(out, "&amp;");
			break;
		case '"':
			g_string_append(out, "&quot;");
			break;
		case '\'':
			g_string_append(out, "&#39;");
			break;
		default:
			g_string_append_c(out, s[i]);
		}
	}
}

static const char *
attr(GumboElement *el, const char *name)
{
	GumboAttribute *a = gumbo_get_attribute(&el->attributes, name);

	return a != NULL ? a->value : NULL;
}

/* has_class: whether el's class attribute holds the word name. */
static int
has_class(GumboElement *el, const char *name)
{
	const char *c = attr(el, "class"), *p;
	gsize n = strlen(name);

	for (p = c; p != NULL && (p = strstr(p, name)) != NULL; p += n)
		if ((p == c || g_ascii_isspace(p[-1])) &&
		    (p[n] == '\0' || g_ascii_isspace(p[n])))
			return 1;
	return 0;
}

/* quote_marker: whether node starts the quoted history by a client's
 * own mark. */
static int
quote_marker(GumboNode *node)
{
	GumboElement *el = &node->v.element;
	const char *id = attr(el, "id"), *style = attr(el, "style");
	char *s;
	int found;

	if (has_class(el, "gmail_quote") ||
	    has_class(el, "gmail_quote_container") ||
	    has_class(el, "moz-cite-prefix") || has_class(el, "yahoo_quoted"))
		return 1;
	if (id != NULL && (strcmp(id, "divRplyFwdMsg") == 0 ||
			   strcmp(id, "appendonsend") == 0 ||
			   strcmp(id, "stopSpelling") == 0))
		return 1;
	if (style == NULL || el->tag != GUMBO_TAG_DIV)
		return 0;

	/* Outlook's header block: a div with a solid top border. */
	s = g_ascii_strdown(style, -1);
	found = strstr(s, "border-top:solid #e1e1e1") != NULL ||
		strstr(s, "border-top:solid #b5c4df") != NULL ||
		strstr(s, "border-top: solid #e1e1e1") != NULL;
	g_free(s);
	return found;
}

static int
node_has_text(GumboNode *node, int depth)
{
	unsigned i;

	if (depth > HTML_DEPTH_LIMIT)
		return 0;
	if (node->type == GUMBO_NODE_TEXT || node->type == GUMBO_NODE_CDATA) {
		const char *p;

		for (p = node->v.text.text; *p != '\0'; p++)
			if (!g_ascii_isspace(*p) && (guchar)*p != 0xc2 &&
			    (guchar)*p != 0xa0)
				return 1;
		return 0;
	}
	if (node->type != GUMBO_NODE_ELEMENT || dropped(node->v.element.tag))
		return 0;
	for (i = 0; i < node->v.element.children.length; i++)
		if (node_has_text(node->v.element.children.data[i], depth + 1))
			return 1;
	return 0;
}

/* text_follows: whether visible text comes after node in the document
 * (its later siblings, and theirs up the tree). */
static int
text_follows(GumboNode *node)
{
	GumboNode *n, *parent;
	unsigned i;

	for (n = node; (parent = n->parent) != NULL; n = parent) {
		GumboVector *kids;

		if (parent->type != GUMBO_NODE_ELEMENT)
			break;
		kids = &parent->v.element.children;
		for (i = n->index_within_parent + 1; i < kids->length; i++)
			if (node_has_text(kids->data[i], 0))
				return 1;
	}
	return 0;
}

static void
walk(struct walk *w, GumboNode *node, int depth)
{
	GumboElement *el;
	const char *name, *v;
	unsigned i;

	if (w->stop)
		return;

	/* Text, escaped; white space as it came (the portal's CSS folds
	 * it). */
	if (node->type == GUMBO_NODE_TEXT || node->type == GUMBO_NODE_CDATA ||
	    node->type == GUMBO_NODE_WHITESPACE) {
		escape(w->out, node->v.text.text, strlen(node->v.text.text));
		if (node->type != GUMBO_NODE_WHITESPACE)
			w->visible = 1;
		return;
	}
	if (node->type == GUMBO_NODE_DOCUMENT) {
		for (i = 0; i < node->v.document.children.length; i++)
			walk(w, node->v.document.children.data[i], depth + 1);
		return;
	}
	if (node->type != GUMBO_NODE_ELEMENT)
		return;
	el = &node->v.element;

	/* Quoted history: from here on, nothing is shown. */
	if (quote_marker(node) ||
	    (el->tag == GUMBO_TAG_BLOCKQUOTE &&
	     (v = attr(el, "type")) != NULL &&
	     g_ascii_strcasecmp(v, "cite") == 0 && !text_follows(node))) {
		w->stop = 1;
		w->trimmed = 1;
		return;
	}
	if (dropped(el->tag))
		return;

	/* Allowed elements with their allowed attributes; others give
	 * their content only. */
	name = depth <= HTML_DEPTH_LIMIT ? allowed(el->tag) : NULL;
	if (el->tag == GUMBO_TAG_A) {
		v = attr(el, "href");
		if (v == NULL || !(g_ascii_strncasecmp(v, "http://", 7) == 0 ||
				   g_ascii_strncasecmp(v, "https://", 8) == 0 ||
				   g_ascii_strncasecmp(v, "mailto:", 7) == 0))
			name = NULL;
		else {
			g_string_append(w->out, "<a href=\"");
			escape(w->out, v, strlen(v));
			g_string_append(w->out,
					"\" rel=\"nofollow noopener\">");
		}
	} else if (el->tag == GUMBO_TAG_IMG) {
		/* Only the message's own images; remote ones may track. */
		v = attr(el, "src");
		if (v != NULL && g_ascii_strncasecmp(v, "cid:", 4) == 0 &&
		    v[4] != '\0') {
			const char *alt = attr(el, "alt");

			g_string_append(w->out, "<img src=\"attachment:");
			escape(w->out, v + 4, strlen(v + 4));
			g_string_append(w->out, "\" alt=\"");
			if (alt != NULL)
				escape(w->out, alt, strlen(alt));
			g_string_append(w->out, "\">");
			w->visible = 1;
		}
		return;
	} else if (name != NULL &&
		   (el->tag == GUMBO_TAG_TD || el->tag == GUMBO_TAG_TH)) {
		g_string_append_printf(w->out, "<%s", name);
		if ((v = attr(el, "colspan")) != NULL && strlen(v) < 4 &&
		    strspn(v, "0123456789") == strlen(v) && *v != '\0')
			g_string_append_printf(w->out, " colspan=\"%s\"", v);
		if ((v = attr(el, "rowspan")) != NULL && strlen(v) < 4 &&
		    strspn(v, "0123456789") == strlen(v) && *v != '\0')
			g_string_append_printf(w->out, " rowspan=\"%s\"", v);
		g_string_append_c(w->out, '>');
	} else if (name != NULL) {
		g_string_append_printf(w->out, "<%s>", name);
	}
	if (el->tag == GUMBO_TAG_BR || el->tag == GUMBO_TAG_HR)
		return;

	for (i = 0; i < el->children.length; i++)
		walk(w, el->children.data[i], depth + 1);
	if (name != NULL)
		g_string_append_printf(w->out, "</%s>", name);
}

char *
html_clean(const char *html, gsize len, int *trimmed)
{
	GumboOptions opts = kGumboDefaultOptions;
	GumboOutput *doc;
	struct walk w = {NULL, 0, 0, 0};

	opts.max_errors = 0;
	doc = gumbo_parse_with_options(&opts, html, len);
	w.out = g_string_sized_new(len / 2 + 16);
	walk(&w, doc->document, 0);
	gumbo_destroy_output(&opts, doc);
	if (trimmed != NULL)
		*trimmed = w.trimmed;
	if (!w.visible) {
		g_string_free(w.out, TRUE);
		return NULL;
	}
	g_strstrip(w.out->str);
	return g_string_free(w.out, FALSE);
}
