/*
 * eval: score listbridge against evaluation corpora (see eval.h).
 *
 * eval_mime_main() runs "listbridge eval mime DIR": every NNN.eml under
 * DIR (recursively, in sorted order) that has an NNN.json beside it is
 * parsed with msg_parse() and compared with the expected parse in the
 * JSON (written by the Rust crate mail-parser).  Three fields count: the
 * decoded subject, the first From mailbox (display name and address) and
 * the body text.  It prints one summary line, and with --verbose one line
 * per message that does not match.  It returns an exit code (sysexits.h).
 *
 * Functions (all static but the entry point):
 *   find_pairs()  the NNN.eml files under a folder that have an NNN.json
 *   expect_load() the three expected fields from one JSON file
 *   eval_one()    parse, compare and report one message
 *   normalise()   text in the form both sides are compared in
 *   excerpt()     a short printable quote of a value for the report
 *
 * Rules of the comparison (the JSON's own reading of its parse):
 *   - when a header occurs twice, the last one counts, as in mail-parser;
 *   - a missing subject, From or text body is expected as "";
 *   - the expected body is the first part of "text_body": Text as it is,
 *     Html through text_from_html(), any other kind (Binary, InlineBinary:
 *     an inline image, listed there by JMAP rules) "", as no text shows;
 *   - a Text part sent as format=flowed is unflowed with text_unflow()
 *     first: mail-parser keeps the wire's lines, a reader sees paragraphs;
 *   - bodies are compared after normalise(); subjects and display names
 *     after trimming white space at both ends; addresses ignoring case.
 *   - a message msg_parse() refuses fails on all three fields.
 *
 * Limits: folders deeper than EVAL_DEPTH_LIMIT and symbolic links to
 * folders are not entered.  A pair whose .eml or .json cannot be read is
 * reported on stderr and skipped (it counts in neither the total nor the
 * score).  Dates, the part tree and attachments are not compared yet.
 * json-glib cuts an expected string at an escaped NUL (\u0000).
 */
#include <stdio.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "config.h"
#include "eval.h"
#include "lberror.h"
#include "message.h"
#include "text.h"
#include "trim.h"

#define EVAL_DEPTH_LIMIT 16 /* folder levels under DIR */
#define EXCERPT_CHARS	 60 /* characters quoted per value */

/* What the JSON expects of one message; every field is set, never NULL. */
struct expect {
	char *subject;
	char *from_name;
	char *from_addr;
	char *text;
};

/* Counts over the whole run. */
struct score {
	int total; /* messages compared */
	int match; /* all three fields equal */
	int subject;
	int from;
	int body;
	int skipped; /* pairs that could not be read */
};

static int parse_args(const char *what, int *argc, char ***argv, double *min,
		      gboolean *verbose);
static int cmp_paths(gconstpointer a, gconstpointer b);
static void find_pairs(const char *dir, const char *rel, int depth,
		       GPtrArray *pairs);
static JsonNode *member(JsonObject *obj, const char *name, JsonNodeType t);
static const char *string_member(JsonObject *obj, const char *name);
static gint64 int_element(JsonArray *arr, guint i);
static JsonObject *last_header(JsonObject *part, const char *name);
static void expect_from(JsonObject *root, struct expect *e);
static const char *ct_attribute(JsonObject *part, const char *name);
static char *expect_text(JsonObject *root);
static int expect_load(const char *path, struct expect *e, GError **err);
static void expect_clear(struct expect *e);
static char *normalise(const char *s);
static gboolean same_trimmed(const char *a, const char *b);
static gboolean same_address(const char *a, const char *b);
static char *excerpt(const char *s, glong from);
static void report(GString *line, const char *field, const char *want,
		   const char *got);
static int eval_one(const char *dir, const char *rel, gboolean verbose,
		    struct score *sc);

/*
 * parse_args: the options; exactly DIR must remain (argv[0] is "mime").
 * Returns 0 or EX_USAGE.
 */
static int
parse_args(const char *what, int *argc, char ***argv, double *min,
	   gboolean *verbose)
{
	GOptionEntry entries[] = {
	    {"min", 0, 0, G_OPTION_ARG_DOUBLE, min,
	     "exit 1 when fewer messages match (default 0)", "PERCENT"},
	    {"verbose", 'v', 0, G_OPTION_ARG_NONE, verbose,
	     "print a line for each message that does not match", NULL},
	    {NULL, 0, 0, 0, NULL, NULL, NULL}};
	GOptionContext *ctx;
	GError *err = NULL;
	char *help;
	int rc = 0;

	ctx = g_option_context_new(what);
	g_option_context_add_main_entries(ctx, entries, NULL);

	/* Options first, then the one argument, then the bounds. */
	if (!g_option_context_parse(ctx, argc, argv, &err)) {
		fprintf(stderr, "listbridge: %s\n", err->message);
		rc = EX_USAGE;
		goto out;
	}
	if (*argc != 2) {
		help = g_option_context_get_help(ctx, TRUE, NULL);
		fprintf(stderr, "%s", help);
		g_free(help);
		rc = EX_USAGE;
		goto out;
	}
	if (!(*min >= 0.0 && *min <= 100.0)) {
		fprintf(stderr, "listbridge: --min must be 0 to 100\n");
		rc = EX_USAGE;
	}
out:
	if (err != NULL)
		g_error_free(err);
	g_option_context_free(ctx);
	return rc;
}

static int
cmp_paths(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * find_pairs: add to pairs the path (relative to the top folder, without
 * ".eml") of every NNN.eml in dir and below that has an NNN.json beside
 * it.  rel is dir relative to the top ("" for the top itself).  A folder
 * that cannot be read is reported and passed over.
 */
static void
find_pairs(const char *dir, const char *rel, int depth, GPtrArray *pairs)
{
	GError *err = NULL;
	const char *name;
	GDir *d;

	/* Open the folder; the top one was checked by the caller. */
	d = g_dir_open(dir, 0, &err);
	if (d == NULL) {
		fprintf(stderr, "listbridge: %s\n", err->message);
		goto out;
	}

	/* Each entry: a folder is entered, an .eml with its .json kept. */
	while ((name = g_dir_read_name(d)) != NULL) {
		char *path = g_build_filename(dir, name, NULL);
		char *sub = *rel != '\0' ? g_build_filename(rel, name, NULL)
					 : g_strdup(name);

		if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
			if (depth < EVAL_DEPTH_LIMIT &&
			    !g_file_test(path, G_FILE_TEST_IS_SYMLINK))
				find_pairs(path, sub, depth + 1, pairs);
		} else if (g_str_has_suffix(name, ".eml") &&
			   g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
			char *stem = g_strndup(path, strlen(path) - 4);
			char *json = g_strconcat(stem, ".json", NULL);

			if (g_file_test(json, G_FILE_TEST_IS_REGULAR))
				g_ptr_array_add(
				    pairs, g_strndup(sub, strlen(sub) - 4));
			g_free(json);
			g_free(stem);
		}
		g_free(sub);
		g_free(path);
	}
out:
	if (d != NULL)
		g_dir_close(d);
	if (err != NULL)
		g_error_free(err);
}

/* member: obj's member name when it holds a node of type t, else NULL. */
static JsonNode *
member(JsonObject *obj, const char *name, JsonNodeType t)
{
	JsonNode *n;

	if (obj == NULL)
		return NULL;
	n = json_object_get_member(obj, name);
	return n != NULL && JSON_NODE_TYPE(n) == t ? n : NULL;
}

/* string_member: obj's member name when it is a string, else NULL. */
static const char *
string_member(JsonObject *obj, const char *name)
{
	JsonNode *n = member(obj, name, JSON_NODE_VALUE);

	return n != NULL && json_node_get_value_type(n) == G_TYPE_STRING
		   ? json_node_get_string(n)
		   : NULL;
}

/* int_element: element i of arr when it is a number, else -1. */
static gint64
int_element(JsonArray *arr, guint i)
{
	JsonNode *n = json_array_get_element(arr, i);

	return JSON_NODE_TYPE(n) == JSON_NODE_VALUE &&
		       json_node_get_value_type(n) == G_TYPE_INT64
		   ? json_node_get_int(n)
		   : -1;
}

/*
 * last_header: the "value" object of the last header called name (as
 * mail-parser spells it: "subject", "from") in part, or NULL.  Headers
 * mail-parser does not know have an object as name and never match.
 */
static JsonObject *
last_header(JsonObject *part, const char *name)
{
	JsonNode *headers = member(part, "headers", JSON_NODE_ARRAY);
	JsonArray *list;
	JsonNode *value;
	guint i;

	if (headers == NULL)
		return NULL;
	list = json_node_get_array(headers);
	for (i = json_array_get_length(list); i-- > 0;) {
		JsonNode *h = json_array_get_element(list, i);
		const char *hname;

		if (JSON_NODE_TYPE(h) != JSON_NODE_OBJECT)
			continue;
		hname = string_member(json_node_get_object(h), "name");
		if (hname == NULL || strcmp(hname, name) != 0)
			continue;
		value =
		    member(json_node_get_object(h), "value", JSON_NODE_OBJECT);
		return value != NULL ? json_node_get_object(value) : NULL;
	}
	return NULL;
}

/*
 * expect_from: the first mailbox of the root part's From into e:
 * {"Address": {"List": [{name, address}]}} or, for groups,
 * {"Address": {"Group": [{name, addresses: [...]}]}}.  Missing parts of
 * it stay "".
 */
static void
expect_from(JsonObject *root, struct expect *e)
{
	JsonObject *from, *addr;
	JsonNode *list, *box = NULL;
	JsonArray *arr;
	guint i, n;

	/* The address list, plain or grouped. */
	from = last_header(root, "from");
	list = member(from, "Address", JSON_NODE_OBJECT);
	if (list == NULL)
		return;
	addr = json_node_get_object(list);
	if ((list = member(addr, "List", JSON_NODE_ARRAY)) != NULL) {
		arr = json_node_get_array(list);
		if (json_array_get_length(arr) > 0)
			box = json_array_get_element(arr, 0);
	} else if ((list = member(addr, "Group", JSON_NODE_ARRAY)) != NULL) {
		arr = json_node_get_array(list);
		n = json_array_get_length(arr);
		for (i = 0; box == NULL && i < n; i++) {
			JsonNode *g = json_array_get_element(arr, i);
			JsonNode *boxes;

			if (JSON_NODE_TYPE(g) != JSON_NODE_OBJECT)
				continue;
			boxes = member(json_node_get_object(g), "addresses",
				       JSON_NODE_ARRAY);
			if (boxes != NULL &&
			    json_array_get_length(json_node_get_array(boxes)))
				box = json_array_get_element(
				    json_node_get_array(boxes), 0);
		}
	}

	/* Its name and address; null stays "". */
	if (box == NULL || JSON_NODE_TYPE(box) != JSON_NODE_OBJECT)
		return;
	if (string_member(json_node_get_object(box), "name") != NULL) {
		g_free(e->from_name);
		e->from_name =
		    g_strdup(string_member(json_node_get_object(box), "name"));
	}
	if (string_member(json_node_get_object(box), "address") != NULL) {
		g_free(e->from_addr);
		e->from_addr = g_strdup(
		    string_member(json_node_get_object(box), "address"));
	}
}

/*
 * ct_attribute: the value of the Content-Type attribute name of part
 * ({"ContentType": {"attributes": [{name, value}]}}), or NULL.
 */
static const char *
ct_attribute(JsonObject *part, const char *name)
{
	JsonObject *value = last_header(part, "content_type");
	JsonNode *ct, *attrs;
	JsonArray *arr;
	guint i;

	ct = member(value, "ContentType", JSON_NODE_OBJECT);
	if (ct == NULL)
		return NULL;
	attrs = member(json_node_get_object(ct), "attributes", JSON_NODE_ARRAY);
	if (attrs == NULL)
		return NULL;
	arr = json_node_get_array(attrs);
	for (i = 0; i < json_array_get_length(arr); i++) {
		JsonNode *a = json_array_get_element(arr, i);
		const char *n;

		if (JSON_NODE_TYPE(a) != JSON_NODE_OBJECT)
			continue;
		n = string_member(json_node_get_object(a), "name");
		if (n != NULL && g_ascii_strcasecmp(n, name) == 0)
			return string_member(json_node_get_object(a), "value");
	}
	return NULL;
}

/*
 * expect_text: the text of the first part listed in "text_body", as a
 * reader would see it.  Returns a new string, "" when there is none.
 */
static char *
expect_text(JsonObject *root)
{
	JsonNode *list, *parts, *part, *body;
	JsonObject *kinds;
	const char *s;
	char *text = NULL;
	gint64 idx;

	/* The index of the first text body part, and that part's body. */
	list = member(root, "text_body", JSON_NODE_ARRAY);
	parts = member(root, "parts", JSON_NODE_ARRAY);
	if (list == NULL || parts == NULL ||
	    json_array_get_length(json_node_get_array(list)) == 0)
		goto out;
	idx = int_element(json_node_get_array(list), 0);
	if (idx < 0 ||
	    idx >= (gint64)json_array_get_length(json_node_get_array(parts)))
		goto out;
	part = json_array_get_element(json_node_get_array(parts), (guint)idx);
	if (JSON_NODE_TYPE(part) != JSON_NODE_OBJECT)
		goto out;
	body = member(json_node_get_object(part), "body", JSON_NODE_OBJECT);
	if (body == NULL)
		goto out;
	kinds = json_node_get_object(body);

	/* Text as it is; HTML the way listbridge renders it.
	 * XXX: json-glib ends a string at an escaped NUL (\u0000), so an
	 * expected text holding one is cut there; its API gives no length. */
	if ((s = string_member(kinds, "Text")) != NULL) {
		const char *format, *delsp;

		/* Flowed text (RFC 3676) is shown as paragraphs: mail-parser
		 * keeps the wire's lines, so unflow them the same way. */
		format = ct_attribute(json_node_get_object(part), "format");
		delsp = ct_attribute(json_node_get_object(part), "delsp");
		if (format != NULL &&
		    g_ascii_strcasecmp(format, "flowed") == 0) {
			char *lf = text_newlines(g_strdup(s));

			text = text_unflow(
			    lf, delsp != NULL &&
				    g_ascii_strcasecmp(delsp, "yes") == 0);
			g_free(lf);
		} else
			text = g_strdup(s);
		goto out;
	}
	if ((s = string_member(kinds, "Html")) != NULL) {
		text = text_from_html(s, strlen(s));
		goto out;
	}

	/* Anything else (Binary, InlineBinary: an inline image that JMAP
	 * rules list among the text body parts) shows no text. */
out:
	return text != NULL ? text : g_strdup("");
}

/*
 * expect_load: read the expected subject, From and body text of one
 * message from the JSON file at path into e.  Returns 0, or -1 with err
 * set when the file cannot be read or holds no "parts".  e is filled
 * either way; expect_clear() it.
 */
static int
expect_load(const char *path, struct expect *e, GError **err)
{
	JsonParser *parser = json_parser_new();
	JsonObject *obj, *root;
	JsonNode *node, *parts;
	const char *s;
	int rc = -1;

	/* Defaults: every field empty. */
	e->subject = g_strdup("");
	e->from_name = g_strdup("");
	e->from_addr = g_strdup("");
	e->text = NULL;

	/* The document and its root part, parts[0]. */
	if (!json_parser_load_from_file(parser, path, err))
		goto out;
	node = json_parser_get_root(parser);
	if (node == NULL || JSON_NODE_TYPE(node) != JSON_NODE_OBJECT)
		goto bad;
	obj = json_node_get_object(node);
	parts = member(obj, "parts", JSON_NODE_ARRAY);
	if (parts == NULL ||
	    json_array_get_length(json_node_get_array(parts)) == 0)
		goto bad;
	node = json_array_get_element(json_node_get_array(parts), 0);
	if (JSON_NODE_TYPE(node) != JSON_NODE_OBJECT)
		goto bad;
	root = json_node_get_object(node);

	/* The three fields. */
	s = string_member(last_header(root, "subject"), "Text");
	if (s != NULL) {
		g_free(e->subject);
		e->subject = g_strdup(s);
	}
	expect_from(root, e);
	e->text = expect_text(obj);
	rc = 0;
	goto out;
bad:
	g_set_error(err, LB_ERROR, EX_DATAERR, "%s: no \"parts\" to compare",
		    path);
out:
	if (e->text == NULL)
		e->text = g_strdup("");
	g_object_unref(parser);
	return rc;
}

static void
expect_clear(struct expect *e)
{
	g_free(e->subject);
	g_free(e->from_name);
	g_free(e->from_addr);
	g_free(e->text);
}

/*
 * normalise: s with CRLF as LF, no white space at the end of any line and
 * none at either end of the whole.  Returns a new string.
 */
static char *
normalise(const char *s)
{
	GString *lf = g_string_sized_new(strlen(s));
	char **lines;
	char *out;
	int i;

	/* CRLF to LF; a lone CR stays. */
	for (; *s != '\0'; s++)
		if (s[0] != '\r' || s[1] != '\n')
			g_string_append_c(lf, *s);

	/* Trailing white space of each line, then of the whole. */
	lines = g_strsplit(lf->str, "\n", -1);
	for (i = 0; lines[i] != NULL; i++)
		g_strchomp(lines[i]);
	out = g_strstrip(g_strjoinv("\n", lines));

	g_strfreev(lines);
	g_string_free(lf, TRUE);
	return out;
}

/* same_trimmed: a and b equal once white space at both ends is gone. */
static gboolean
same_trimmed(const char *a, const char *b)
{
	char *ta = g_strstrip(g_strdup(a));
	char *tb = g_strstrip(g_strdup(b));
	gboolean same = strcmp(ta, tb) == 0;

	g_free(ta);
	g_free(tb);
	return same;
}

/* same_address: a and b equal ignoring case (Unicode case folding). */
static gboolean
same_address(const char *a, const char *b)
{
	char *fa = g_utf8_casefold(a, -1);
	char *fb = g_utf8_casefold(b, -1);
	gboolean same = strcmp(fa, fb) == 0;

	g_free(fa);
	g_free(fb);
	return same;
}

/*
 * excerpt: up to EXCERPT_CHARS characters of s from character from on,
 * quoted, with "..." where something was left out; newline, tab, CR, '"'
 * and '\' are escaped, other unprintable characters become '?', invalid
 * UTF-8 is replaced.  Returns a new string.
 */
static char *
excerpt(const char *s, glong from)
{
	char *valid = g_utf8_make_valid(s, -1);
	GString *out = g_string_new(from > 0 ? "...\"" : "\"");
	const char *p;
	glong n;

	/* Skip to the start, then quote character by character. */
	p = valid;
	for (n = 0; n < from && *p != '\0'; n++)
		p = g_utf8_next_char(p);
	for (n = 0; *p != '\0'; p = g_utf8_next_char(p), n++) {
		gunichar c = g_utf8_get_char(p);

		if (n == EXCERPT_CHARS) {
			g_string_append(out, "\"...");
			goto out;
		}
		if (c == '\n')
			g_string_append(out, "\\n");
		else if (c == '\t')
			g_string_append(out, "\\t");
		else if (c == '\r')
			g_string_append(out, "\\r");
		else if (c == '"' || c == '\\')
			g_string_append_printf(out, "\\%c", (char)c);
		else if (!g_unichar_isprint(c))
			g_string_append_c(out, '?');
		else
			g_string_append_unichar(out, c);
	}
	g_string_append_c(out, '"');
out:
	g_free(valid);
	return g_string_free(out, FALSE);
}

/*
 * report: append "field: want ... got ..." to line, after ": " or "; ".
 * Long values are quoted from a little before the first character where
 * they differ.
 */
static void
report(GString *line, const char *field, const char *want, const char *got)
{
	const char *a = want, *b = got;
	char *qa, *qb;
	glong diff = 0;

	/* Where the two part. */
	while (*a != '\0') {
		const char *na = g_utf8_next_char(a);

		if (strncmp(a, b, (size_t)(na - a)) != 0)
			break;
		b += na - a;
		a = na;
		diff++;
	}
	diff = diff > EXCERPT_CHARS / 2 ? diff - EXCERPT_CHARS / 4 : 0;

	qa = excerpt(want, diff);
	qb = excerpt(got, diff);
	g_string_append_printf(line, "%s%s: want %s got %s",
			       line->len > 0 ? "; " : ": ", field, qa, qb);
	g_free(qa);
	g_free(qb);
}

/*
 * eval_one: parse dir/rel.eml, compare it with dir/rel.json and add the
 * outcome to sc.  With verbose, a message that does not match gets one
 * line on stdout.  Returns 0, or -1 when the pair could not be read (it
 * is counted as skipped and reported on stderr).
 */
static int
eval_one(const char *dir, const char *rel, gboolean verbose, struct score *sc)
{
	struct expect e = {NULL, NULL, NULL, NULL};
	char *base = g_build_filename(dir, rel, NULL);
	char *eml = g_strconcat(base, ".eml", NULL);
	char *json = g_strconcat(base, ".json", NULL);
	char *raw = NULL, *want = NULL, *got = NULL, *wfrom, *gfrom;
	gboolean subject, from, body;
	struct msg *m = NULL;
	GString *line = NULL;
	GError *err = NULL;
	gsize len;
	int rc = -1;

	/* Read both files; either failing skips the pair. */
	if (!g_file_get_contents(eml, &raw, &len, &err) ||
	    expect_load(json, &e, &err) < 0) {
		fprintf(stderr, "listbridge: skipped %s.eml: %s\n", rel,
			err->message);
		sc->skipped++;
		goto out;
	}

	/* Parse as the hooks do; a refused message fails every field. */
	m = msg_parse(raw, len, &err);
	line = g_string_new(NULL);
	if (m == NULL) {
		g_string_append_printf(line, ": unreadable: %s", err->message);
		subject = from = body = FALSE;
	} else {
		subject = same_trimmed(e.subject, m->subject);
		from = same_trimmed(e.from_name, m->from_name) &&
		       same_address(e.from_addr, m->from_addr);
		want = normalise(e.text);
		got = normalise(m->text);
		body = strcmp(want, got) == 0;

		/* Say what differs. */
		if (!subject)
			report(line, "subject", e.subject, m->subject);
		if (!from) {
			wfrom = g_strdup_printf("%s <%s>", e.from_name,
						e.from_addr);
			gfrom = g_strdup_printf("%s <%s>", m->from_name,
						m->from_addr);
			report(line, "from", wfrom, gfrom);
			g_free(wfrom);
			g_free(gfrom);
		}
		if (!body)
			report(line, "body", want, got);
	}

	/* Count, and print the line of a mismatch. */
	sc->total++;
	sc->subject += subject;
	sc->from += from;
	sc->body += body;
	sc->match += subject && from && body;
	if (verbose && line->len > 0)
		printf("%s.eml%s\n", rel, line->str);
	rc = 0;
out:
	if (line != NULL)
		g_string_free(line, TRUE);
	if (m != NULL)
		msg_free(m);
	if (err != NULL)
		g_error_free(err);
	expect_clear(&e);
	g_free(want);
	g_free(got);
	g_free(raw);
	g_free(json);
	g_free(eml);
	g_free(base);
	return rc;
}

int
eval_mime_main(int argc, char **argv)
{
	struct score sc = {0, 0, 0, 0, 0, 0};
	GPtrArray *pairs = NULL;
	gboolean verbose = FALSE;
	double min = 0.0, pct;
	const char *dir;
	guint i;
	int rc;

	/* Options and the folder. */
	rc = parse_args("DIR - score the MIME parser on a corpus", &argc, &argv,
			&min, &verbose);
	if (rc != 0)
		goto out;
	dir = argv[1];
	if (!g_file_test(dir, G_FILE_TEST_IS_DIR)) {
		fprintf(stderr, "listbridge: %s: not a folder\n", dir);
		rc = EX_NOINPUT;
		goto out;
	}

	/* The pairs, in a stable order. */
	pairs = g_ptr_array_new_with_free_func(g_free);
	find_pairs(dir, "", 0, pairs);
	if (pairs->len == 0) {
		fprintf(stderr, "listbridge: %s: no NNN.eml with NNN.json\n",
			dir);
		rc = EX_NOINPUT;
		goto out;
	}
	g_ptr_array_sort(pairs, cmp_paths);

	/* Each message. */
	msg_init();
	for (i = 0; i < pairs->len; i++)
		eval_one(dir, pairs->pdata[i], verbose, &sc);
	if (sc.total == 0) {
		fprintf(stderr, "listbridge: %s: no pair could be read\n", dir);
		rc = EX_DATAERR;
		goto out;
	}

	/* The summary, and the verdict against --min. */
	pct = 100.0 * sc.match / sc.total;
	printf("eval mime: %d messages, %d match (%.1f%%); subject %d/%d,"
	       " from %d/%d, body %d/%d",
	       sc.total, sc.match, pct, sc.subject, sc.total, sc.from, sc.total,
	       sc.body, sc.total);
	if (sc.skipped > 0)
		printf("; %d skipped", sc.skipped);
	printf("\n");
	rc = pct >= min ? EX_OK : 1;
out:
	if (pairs != NULL)
		g_ptr_array_free(pairs, TRUE);
	return rc;
}

/*
 * trim_case: trim the text of input and compare what is shown with the
 * expected file (both stripped of white space at either end).  Returns
 * 1 when they are equal, 0 when not, -1 when a file cannot be read.
 */
static int
trim_case(const char *input, const char *expected, gboolean verbose,
	  const char *name, gint64 *usec)
{
	struct trim_result r;
	char *in = NULL, *want = NULL, *got, *w;
	gint64 t0;
	int same;

	if (!g_file_get_contents(input, &in, NULL, NULL) ||
	    !g_file_get_contents(expected, &want, NULL, NULL)) {
		fprintf(stderr, "listbridge: %s: cannot read the case\n", name);
		g_free(in);
		return -1;
	}
	text_newlines(in);
	t0 = g_get_monotonic_time();
	trim_text(in, &r);
	*usec = g_get_monotonic_time() - t0;
	got = g_strstrip(g_strdup(r.text));
	w = g_strstrip(text_newlines(want));
	same = strcmp(got, w) == 0;
	if (!same && verbose) {
		char *a = excerpt(w, 0), *b = excerpt(got, 0);

		printf("%s: want \"%s\" got \"%s\" (cut at %s)\n", name, a, b,
		       r.why);
		g_free(a);
		g_free(b);
	}
	trim_result_clear(&r);
	g_free(got);
	g_free(in);
	g_free(want);
	return same;
}

int
eval_trim_main(int argc, char **argv)
{
	GPtrArray *names = NULL;
	GString *failed = g_string_new(NULL);
	GError *err = NULL;
	gboolean verbose = FALSE;
	char *inputs = NULL, *expects = NULL, *speed = NULL;
	double min = 0.0, pct;
	const char *dir, *name;
	GDir *d = NULL;
	gint64 usec = 0, slowest = 0;
	int rc, total = 0, passed = 0;
	guint i;

	/* Options and the folder: the corpus's test/emails + test/trimmed,
	 * or our own input/ + expected/. */
	rc = parse_args("DIR - score the trimmer on a corpus", &argc, &argv,
			&min, &verbose);
	if (rc != 0)
		goto out;
	dir = argv[1];
	if (trim_load(cfg.trim_patterns_file, &err) < 0) {
		fprintf(stderr, "listbridge: %s\n", err->message);
		g_error_free(err);
		rc = EX_CONFIG;
		goto out;
	}
	inputs = g_build_filename(dir, "test", "emails", NULL);
	if (g_file_test(inputs, G_FILE_TEST_IS_DIR)) {
		expects = g_build_filename(dir, "test", "trimmed", NULL);
		speed = g_build_filename(dir, "test", "matchers",
					 "does_not_contain_embedded_email.txt",
					 NULL);
	} else {
		g_free(inputs);
		inputs = g_build_filename(dir, "input", NULL);
		expects = g_build_filename(dir, "expected", NULL);
	}
	d = g_dir_open(inputs, 0, NULL);
	if (d == NULL) {
		fprintf(stderr, "listbridge: %s: no test/emails or input\n",
			dir);
		rc = EX_NOINPUT;
		goto out;
	}

	/* The cases, in a stable order. */
	names = g_ptr_array_new_with_free_func(g_free);
	while ((name = g_dir_read_name(d)) != NULL)
		if (g_str_has_suffix(name, ".txt"))
			g_ptr_array_add(names, g_strdup(name));
	g_ptr_array_sort(names, cmp_paths);

	/* Each case. */
	for (i = 0; i < names->len; i++) {
		char *in = g_build_filename(inputs, names->pdata[i], NULL);
		char *ex = g_build_filename(expects, names->pdata[i], NULL);
		int r = trim_case(in, ex, verbose, names->pdata[i], &usec);

		if (r >= 0) {
			total++;
			passed += r;
			if (r == 0)
				g_string_append_printf(failed, " %s",
						       (char *)names->pdata[i]);
		}
		slowest = MAX(slowest, usec);
		g_free(in);
		g_free(ex);
	}
	if (total == 0) {
		fprintf(stderr, "listbridge: %s: no case could be read\n", dir);
		rc = EX_NOINPUT;
		goto out;
	}

	/* The summary, the speed case, and the verdict against --min. */
	pct = 100.0 * passed / total;
	printf("eval trim: %d cases, %d passed (%.1f%%), slowest %.2f ms%s%s\n",
	       total, passed, pct, slowest / 1000.0,
	       failed->len ? "; failed:" : "", failed->str);
	rc = pct >= min ? EX_OK : 1;
	if (speed != NULL && g_file_test(speed, G_FILE_TEST_EXISTS)) {
		struct trim_result r;
		char *text = NULL;
		gint64 t0;

		g_file_get_contents(speed, &text, NULL, NULL);
		t0 = g_get_monotonic_time();
		trim_text(text != NULL ? text : "", &r);
		usec = g_get_monotonic_time() - t0;
		printf("eval trim: speed case %.2f ms (limit 100 ms)\n",
		       usec / 1000.0);
		if (usec > 100000)
			rc = 1;
		trim_result_clear(&r);
		g_free(text);
	}
out:
	if (d != NULL)
		g_dir_close(d);
	if (names != NULL)
		g_ptr_array_free(names, TRUE);
	g_string_free(failed, TRUE);
	g_free(inputs);
	g_free(expects);
	g_free(speed);
	return rc;
}
