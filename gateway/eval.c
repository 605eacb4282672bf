/*
 * eval: score listbridge against evaluation corpora (see eval.h).
 *
 * eval_mime_main() runs "listbridge eval mime DIR": every NNN.eml under
 * DIR (recursively, in sorted order) that has an NNN.json beside it is
 * parsed with msg_parse() and compared with the expected parse in the
 * JSON (written by the Rust crate mail-parser).  Six fields count: the
 * decoded subject, the first From mailbox (display name and address),
 * the To addresses, the body text, whether there is an HTML body, and
 * the attachments' file names.  It prints one summary line, and with
 * --verbose one line per field that does not match.  It returns an exit
 * code (sysexits.h); --min is held against the share of matching fields.
 *
 * Functions (all static but the entry point):
 *   find_pairs()   the NNN.eml files under a folder that have an NNN.json
 *   expect_load()  the six expected fields from one JSON file
 *   eval_one()     parse, compare and report one message
 *   compare()      the six fields of one message against the expected
 *   normalise()    text in the form both sides are compared in
 *   excerpt()      a short printable quote of a value for the report
 *
 * Rules of the comparison (the JSON's own reading of its parse):
 *   - when a header occurs twice, the last one counts, as in mail-parser,
 *     but for To, where all count (GMime joins them too);
 *   - a missing subject, From or text body is expected as "", a missing
 *     To as no address;
 *   - the expected body is the first part of "text_body": Text as it is,
 *     Html through text_from_html(), any other kind (Binary, InlineBinary:
 *     an inline image, listed there by JMAP rules) "", as no text shows;
 *   - a Text part sent as format=flowed is unflowed with text_unflow()
 *     first: mail-parser keeps the wire's lines, a reader sees paragraphs;
 *   - To is compared as a set of lower-case addresses: every mailbox of
 *     the list and of its groups; a mailbox without an address (mail-
 *     parser's null, GMime's "") is left out;
 *   - an HTML body is expected when a part listed in "html_body" is of
 *     kind Html: without HTML, mail-parser lists the text part there too;
 *     ours is one when msg_parse() kept m->html;
 *   - the attachment names expected are those of the parts listed in
 *     "attachments": Content-Disposition's filename, else Content-Type's
 *     name; forwarded messages (which msg_parse() does not list: parts of
 *     kind Message or typed message/rfc822 or message/global) and parts
 *     without a name are left out.  Ours are the non-empty names of
 *     m->attachments.  Both are sorted, repeats kept;
 *   - bodies are compared after normalise(); subjects and display names
 *     after trimming white space at both ends; From addresses ignoring
 *     case.
 *   - a message msg_parse() refuses fails on all six fields.
 *
 * Limits: folders deeper than EVAL_DEPTH_LIMIT and symbolic links to
 * folders are not entered.  A pair whose .eml or .json cannot be read is
 * reported on stderr and skipped (it counts in neither the total nor the
 * score).  Dates and the part tree are not compared yet.  json-glib cuts
 * an expected string at an escaped NUL (\u0000).
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

/* The fields compared, in the order they are reported. */
enum field { F_SUBJECT, F_FROM, F_TO, F_BODY, F_HTML, F_ATTACHMENTS, F_COUNT };

static const char *const field_names[F_COUNT] = {
    "subject", "from", "to", "body", "html", "attachments"};

/* What the JSON expects of one message; every field is set, never NULL,
 * once expect_load() has run. */
struct expect {
	char *subject;
	char *from_name;
	char *from_addr;
	GPtrArray *to; /* char *, lower case, sorted, no repeats */
	char *text;
	gboolean html;	  /* an HTML body part */
	GPtrArray *names; /* char * attachment names, sorted */
};

/* Counts over the whole run. */
struct score {
	int total;	    /* messages compared */
	int match;	    /* all fields equal */
	int field[F_COUNT]; /* messages where that field is equal */
	int skipped;	    /* pairs that could not be read */
};

static int parse_args(const char *what, const char *unit, int *argc,
		      char ***argv, double *min, gboolean *verbose);
static int cmp_strings(gconstpointer a, gconstpointer b);
static void as_set(GPtrArray *a);
static void find_pairs(const char *dir, const char *rel, int depth,
		       GPtrArray *pairs);
static JsonNode *member(JsonObject *obj, const char *name, JsonNodeType t);
static const char *string_member(JsonObject *obj, const char *name);
static gint64 int_element(JsonArray *arr, guint i);
static guint array_length(JsonObject *obj, const char *name);
static JsonObject *part_at(JsonObject *doc, const char *list, guint i);
static JsonObject *last_header(JsonObject *part, const char *name);
static void expect_from(JsonObject *root, struct expect *e);
static void add_boxes(GPtrArray *to, JsonArray *boxes);
static void add_groups(GPtrArray *to, JsonArray *groups);
static void expect_to(JsonObject *root, GPtrArray *to);
static const char *attribute(JsonObject *part, const char *header,
			     const char *name);
static char *expect_text(JsonObject *doc);
static gboolean expect_html(JsonObject *doc);
static gboolean is_message(JsonObject *part, JsonNode *body);
static void expect_names(JsonObject *doc, GPtrArray *names);
static int expect_load(const char *path, struct expect *e, GError **err);
static void expect_clear(struct expect *e);
static void add_mailboxes(GPtrArray *to, InternetAddressList *list);
static GPtrArray *got_to(struct msg *m);
static GPtrArray *got_names(struct msg *m);
static gboolean same_list(GPtrArray *a, GPtrArray *b);
static char *join(GPtrArray *a);
static char *normalise(const char *s);
static gboolean same_trimmed(const char *a, const char *b);
static gboolean same_address(const char *a, const char *b);
static char *excerpt(const char *s, glong from);
static void report(GString *out, const char *rel, const char *field,
		   const char *want, const char *got);
static void report_list(GString *out, const char *rel, const char *field,
			GPtrArray *want, GPtrArray *got);
static void compare(const struct expect *e, struct msg *m, const char *rel,
		    gboolean same[F_COUNT], GString *out);
static int eval_one(const char *dir, const char *rel, gboolean verbose,
		    struct score *sc);

/*
 * parse_args: the options; exactly DIR must remain (argv[0] is "mime").
 * unit names what is counted ("field", "case") in the help.  Returns 0
 * or EX_USAGE.
 */
static int
parse_args(const char *what, const char *unit, int *argc, char ***argv,
	   double *min, gboolean *verbose)
{
	char *min_help = g_strdup_printf(
	    "exit 1 when under PERCENT of the %ss match (default 0)", unit);
	char *verbose_help = g_strdup_printf(
	    "print a line for each %s that does not match", unit);
	GOptionEntry entries[] = {
	    {"min", 0, 0, G_OPTION_ARG_DOUBLE, min, min_help, "PERCENT"},
	    {"verbose", 'v', 0, G_OPTION_ARG_NONE, verbose, verbose_help, NULL},
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
	g_free(min_help);
	g_free(verbose_help);
	return rc;
}

/* cmp_strings: strcmp() for g_ptr_array_sort() of char *. */
static int
cmp_strings(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* as_set: sort a (char *, freed by the array) and drop the repeats. */
static void
as_set(GPtrArray *a)
{
	guint i = 1;

	g_ptr_array_sort(a, cmp_strings);
	while (i < a->len)
		if (strcmp(a->pdata[i - 1], a->pdata[i]) == 0)
			g_ptr_array_remove_index(a, i);
		else
			i++;
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
 * array_length: the length of obj's array member name, 0 when there is
 * none.
 */
static guint
array_length(JsonObject *obj, const char *name)
{
	JsonNode *n = member(obj, name, JSON_NODE_ARRAY);

	return n != NULL ? json_array_get_length(json_node_get_array(n)) : 0;
}

/*
 * part_at: the part that element i of doc's index list names ("text_body",
 * "html_body", "attachments" hold indexes into "parts"), or NULL.
 */
static JsonObject *
part_at(JsonObject *doc, const char *list, guint i)
{
	JsonNode *parts, *part;
	gint64 idx;

	/* The index, then the part it names. */
	if (i >= array_length(doc, list))
		return NULL;
	idx = int_element(
	    json_node_get_array(member(doc, list, JSON_NODE_ARRAY)), i);
	parts = member(doc, "parts", JSON_NODE_ARRAY);
	if (parts == NULL || idx < 0 ||
	    idx >= (gint64)json_array_get_length(json_node_get_array(parts)))
		return NULL;
	part = json_array_get_element(json_node_get_array(parts), (guint)idx);
	return JSON_NODE_TYPE(part) == JSON_NODE_OBJECT
		   ? json_node_get_object(part)
		   : NULL;
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

/* add_boxes: the address of each mailbox ({name, address}) in boxes to
 * to, lower case; a null or empty address is left out. */
static void
add_boxes(GPtrArray *to, JsonArray *boxes)
{
	guint i;

	for (i = 0; i < json_array_get_length(boxes); i++) {
		JsonNode *box = json_array_get_element(boxes, i);
		const char *addr;

		if (JSON_NODE_TYPE(box) != JSON_NODE_OBJECT)
			continue;
		addr = string_member(json_node_get_object(box), "address");
		if (addr != NULL && *addr != '\0')
			g_ptr_array_add(to, g_utf8_strdown(addr, -1));
	}
}

/* add_groups: the mailboxes of each group ({name, addresses}) in groups
 * to to, as add_boxes() does. */
static void
add_groups(GPtrArray *to, JsonArray *groups)
{
	JsonNode *boxes;
	guint i;

	for (i = 0; i < json_array_get_length(groups); i++) {
		JsonNode *g = json_array_get_element(groups, i);

		if (JSON_NODE_TYPE(g) != JSON_NODE_OBJECT)
			continue;
		boxes = member(json_node_get_object(g), "addresses",
			       JSON_NODE_ARRAY);
		if (boxes != NULL)
			add_boxes(to, json_node_get_array(boxes));
	}
}

/*
 * expect_to: the addresses of every To header of the root part into to,
 * as a set (see as_set()): {"Address": {"List": [{name, address}]}} or
 * {"Address": {"Group": [{name, addresses: [...]}]}}, every group's
 * mailboxes.  All To headers count, not the last: GMime joins them, and
 * so does mail-parser's all_to().
 */
static void
expect_to(JsonObject *root, GPtrArray *to)
{
	JsonNode *headers = member(root, "headers", JSON_NODE_ARRAY);
	JsonArray *list;
	guint i;

	/* Each To header's address list, plain or grouped. */
	list = headers != NULL ? json_node_get_array(headers) : NULL;
	for (i = 0; list != NULL && i < json_array_get_length(list); i++) {
		JsonNode *h = json_array_get_element(list, i);
		JsonNode *value, *node;
		JsonObject *addr;
		const char *name;

		if (JSON_NODE_TYPE(h) != JSON_NODE_OBJECT)
			continue;
		name = string_member(json_node_get_object(h), "name");
		if (name == NULL || strcmp(name, "to") != 0)
			continue;
		value =
		    member(json_node_get_object(h), "value", JSON_NODE_OBJECT);
		node = value != NULL ? member(json_node_get_object(value),
					      "Address", JSON_NODE_OBJECT)
				     : NULL;
		if (node == NULL)
			continue;
		addr = json_node_get_object(node);
		if ((node = member(addr, "List", JSON_NODE_ARRAY)) != NULL)
			add_boxes(to, json_node_get_array(node));
		else if ((node = member(addr, "Group", JSON_NODE_ARRAY)) !=
			 NULL)
			add_groups(to, json_node_get_array(node));
	}

	/* Sorted, each once. */
	as_set(to);
}

/*
 * attribute: the value of the attribute name (any case) of the last
 * header called header in part, a Content-Type or a Content-Disposition,
 * both written {"ContentType": {"attributes": [{name, value}]}}; or
 * NULL.
 */
static const char *
attribute(JsonObject *part, const char *header, const char *name)
{
	JsonObject *value = last_header(part, header);
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
 * expect_text: the text of the first part listed in doc's "text_body", as
 * a reader would see it.  Returns a new string, "" when there is none.
 */
static char *
expect_text(JsonObject *doc)
{
	JsonObject *part, *kinds;
	JsonNode *body;
	const char *s;
	char *text = NULL;

	/* The first text body part, and its body. */
	part = part_at(doc, "text_body", 0);
	body = member(part, "body", JSON_NODE_OBJECT);
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
		format = attribute(part, "content_type", "format");
		delsp = attribute(part, "content_type", "delsp");
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
 * expect_html: whether doc has an HTML body: a part listed in
 * "html_body" is of kind Html.  Without HTML, mail-parser lists the text
 * body parts there instead, so the list alone says nothing; and the first
 * part may be text before the HTML (RFC 8621, 4.1.4: rfc/007.eml).
 */
static gboolean
expect_html(JsonObject *doc)
{
	guint i, n = array_length(doc, "html_body");

	for (i = 0; i < n; i++) {
		JsonNode *body = member(part_at(doc, "html_body", i), "body",
					JSON_NODE_OBJECT);

		if (body != NULL &&
		    json_object_has_member(json_node_get_object(body), "Html"))
			return TRUE;
	}
	return FALSE;
}

/*
 * is_message: whether part, with body, is a forwarded message: of kind
 * Message, or typed message/rfc822 or message/global (what mail-parser
 * takes for a message).
 */
static gboolean
is_message(JsonObject *part, JsonNode *body)
{
	JsonNode *ct = member(last_header(part, "content_type"), "ContentType",
			      JSON_NODE_OBJECT);
	const char *type, *subtype;

	if (body != NULL &&
	    json_object_has_member(json_node_get_object(body), "Message"))
		return TRUE;
	if (ct == NULL)
		return FALSE;
	type = string_member(json_node_get_object(ct), "c_type");
	subtype = string_member(json_node_get_object(ct), "c_subtype");
	return type != NULL && subtype != NULL &&
	       g_ascii_strcasecmp(type, "message") == 0 &&
	       (g_ascii_strcasecmp(subtype, "rfc822") == 0 ||
		g_ascii_strcasecmp(subtype, "global") == 0);
}

/*
 * expect_names: the file names of the parts listed in doc's
 * "attachments" into names, sorted: Content-Disposition's filename, else
 * Content-Type's name.  Forwarded messages (see is_message()) and parts
 * without a name are left out.
 */
static void
expect_names(JsonObject *doc, GPtrArray *names)
{
	guint i, n = array_length(doc, "attachments");

	for (i = 0; i < n; i++) {
		JsonObject *part = part_at(doc, "attachments", i);
		JsonNode *body = member(part, "body", JSON_NODE_OBJECT);
		const char *name;

		/* A forwarded message is no file: msg_parse() skips it.  One
		 * mail-parser could not read is of kind Text, so its type
		 * counts too (malformed/022.eml). */
		if (part == NULL || is_message(part, body))
			continue;

		/* The disposition's name first, as GMime reads it. */
		name = attribute(part, "content_disposition", "filename");
		if (name == NULL || *name == '\0')
			name = attribute(part, "content_type", "name");
		if (name != NULL && *name != '\0')
			g_ptr_array_add(names, g_strdup(name));
	}
	g_ptr_array_sort(names, cmp_strings);
}

/*
 * expect_load: read the expected fields of one message from the JSON
 * file at path into e.  Returns 0, or -1 with err set when the file
 * cannot be read or holds no "parts".  e is filled either way;
 * expect_clear() it.
 */
static int
expect_load(const char *path, struct expect *e, GError **err)
{
	JsonParser *parser = json_parser_new();
	JsonObject *doc, *root;
	JsonNode *node, *parts;
	const char *s;
	int rc = -1;

	/* Defaults: every field empty. */
	e->subject = g_strdup("");
	e->from_name = g_strdup("");
	e->from_addr = g_strdup("");
	e->to = g_ptr_array_new_with_free_func(g_free);
	e->text = NULL;
	e->html = FALSE;
	e->names = g_ptr_array_new_with_free_func(g_free);

	/* The document and its root part, parts[0]. */
	if (!json_parser_load_from_file(parser, path, err))
		goto out;
	node = json_parser_get_root(parser);
	if (node == NULL || JSON_NODE_TYPE(node) != JSON_NODE_OBJECT)
		goto bad;
	doc = json_node_get_object(node);
	parts = member(doc, "parts", JSON_NODE_ARRAY);
	if (parts == NULL ||
	    json_array_get_length(json_node_get_array(parts)) == 0)
		goto bad;
	node = json_array_get_element(json_node_get_array(parts), 0);
	if (JSON_NODE_TYPE(node) != JSON_NODE_OBJECT)
		goto bad;
	root = json_node_get_object(node);

	/* The header fields of the root part. */
	s = string_member(last_header(root, "subject"), "Text");
	if (s != NULL) {
		g_free(e->subject);
		e->subject = g_strdup(s);
	}
	expect_from(root, e);
	expect_to(root, e->to);

	/* The bodies and attachments of the whole. */
	e->text = expect_text(doc);
	e->html = expect_html(doc);
	expect_names(doc, e->names);
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

/* expect_clear: free what e holds; a field never set may be NULL. */
static void
expect_clear(struct expect *e)
{
	g_free(e->subject);
	g_free(e->from_name);
	g_free(e->from_addr);
	if (e->to != NULL)
		g_ptr_array_unref(e->to);
	g_free(e->text);
	if (e->names != NULL)
		g_ptr_array_unref(e->names);
}

/*
 * add_mailboxes: the address of every mailbox in list, and in its groups,
 * to to, valid UTF-8 in lower case; an empty address is left out.  GMime
 * does not nest groups, so this recurses once at most.
 */
static void
add_mailboxes(GPtrArray *to, InternetAddressList *list)
{
	int i, n = list != NULL ? internet_address_list_length(list) : 0;

	for (i = 0; i < n; i++) {
		InternetAddress *ia =
		    internet_address_list_get_address(list, i);
		const char *addr;
		char *valid;

		if (INTERNET_ADDRESS_IS_GROUP(ia)) {
			add_mailboxes(to, internet_address_group_get_members(
					      INTERNET_ADDRESS_GROUP(ia)));
			continue;
		}
		if (!INTERNET_ADDRESS_IS_MAILBOX(ia))
			continue;
		addr = internet_address_mailbox_get_addr(
		    INTERNET_ADDRESS_MAILBOX(ia));
		if (addr == NULL || *addr == '\0')
			continue;
		valid = g_utf8_make_valid(addr, -1);
		g_ptr_array_add(to, g_utf8_strdown(valid, -1));
		g_free(valid);
	}
}

/* got_to: the To addresses GMime read from m, as a set (see as_set()).
 * Returns a new array. */
static GPtrArray *
got_to(struct msg *m)
{
	GPtrArray *to = g_ptr_array_new_with_free_func(g_free);

	add_mailboxes(
	    to, g_mime_message_get_addresses(m->mime, GMIME_ADDRESS_TYPE_TO));
	as_set(to);
	return to;
}

/* got_names: the non-empty file names of m's attachments, sorted.
 * Returns a new array. */
static GPtrArray *
got_names(struct msg *m)
{
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	guint i;

	for (i = 0; i < m->attachments->len; i++) {
		const struct msg_attachment *a = m->attachments->pdata[i];

		if (*a->filename != '\0')
			g_ptr_array_add(names, g_strdup(a->filename));
	}
	g_ptr_array_sort(names, cmp_strings);
	return names;
}

/* same_list: a and b hold equal strings in the same order. */
static gboolean
same_list(GPtrArray *a, GPtrArray *b)
{
	guint i;

	if (a->len != b->len)
		return FALSE;
	for (i = 0; i < a->len; i++)
		if (strcmp(a->pdata[i], b->pdata[i]) != 0)
			return FALSE;
	return TRUE;
}

/* join: the strings of a, comma separated, as a new string. */
static char *
join(GPtrArray *a)
{
	GString *s = g_string_new(NULL);
	guint i;

	for (i = 0; i < a->len; i++)
		g_string_append_printf(s, "%s%s", i > 0 ? ", " : "",
				       (const char *)a->pdata[i]);
	return g_string_free(s, FALSE);
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
 * report: append the line "rel.eml: field: want ... got ..." to out.
 * Long values are quoted from a little before the first character where
 * they differ.
 */
static void
report(GString *out, const char *rel, const char *field, const char *want,
       const char *got)
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
	g_string_append_printf(out, "%s.eml: %s: want %s got %s\n", rel, field,
			       qa, qb);
	g_free(qa);
	g_free(qb);
}

/* report_list: report() for two lists, each joined with ", ". */
static void
report_list(GString *out, const char *rel, const char *field, GPtrArray *want,
	    GPtrArray *got)
{
	char *w = join(want), *g = join(got);

	report(out, rel, field, w, g);
	g_free(w);
	g_free(g);
}

/*
 * compare: set same[] for each field of m against e, and append to out
 * one line for each field that differs (see report()).
 */
static void
compare(const struct expect *e, struct msg *m, const char *rel,
	gboolean same[F_COUNT], GString *out)
{
	GPtrArray *to = got_to(m), *names = got_names(m);
	char *want = normalise(e->text), *got = normalise(m->text);
	char *wfrom, *gfrom;

	/* The header fields. */
	same[F_SUBJECT] = same_trimmed(e->subject, m->subject);
	if (!same[F_SUBJECT])
		report(out, rel, "subject", e->subject, m->subject);
	same[F_FROM] = same_trimmed(e->from_name, m->from_name) &&
		       same_address(e->from_addr, m->from_addr);
	if (!same[F_FROM]) {
		wfrom = g_strdup_printf("%s <%s>", e->from_name, e->from_addr);
		gfrom = g_strdup_printf("%s <%s>", m->from_name, m->from_addr);
		report(out, rel, "from", wfrom, gfrom);
		g_free(wfrom);
		g_free(gfrom);
	}
	same[F_TO] = same_list(e->to, to);
	if (!same[F_TO])
		report_list(out, rel, "to", e->to, to);

	/* The bodies and attachments. */
	same[F_BODY] = strcmp(want, got) == 0;
	if (!same[F_BODY])
		report(out, rel, "body", want, got);
	same[F_HTML] = e->html == (m->html != NULL);
	if (!same[F_HTML])
		report(out, rel, "html", e->html ? "yes" : "no",
		       m->html != NULL ? "yes" : "no");
	same[F_ATTACHMENTS] = same_list(e->names, names);
	if (!same[F_ATTACHMENTS])
		report_list(out, rel, "attachments", e->names, names);

	g_ptr_array_unref(to);
	g_ptr_array_unref(names);
	g_free(want);
	g_free(got);
}

/*
 * eval_one: parse dir/rel.eml, compare it with dir/rel.json and add the
 * outcome to sc.  With verbose, each field that does not match gets one
 * line on stdout.  Returns 0, or -1 when the pair could not be read (it
 * is counted as skipped and reported on stderr).
 */
static int
eval_one(const char *dir, const char *rel, gboolean verbose, struct score *sc)
{
	struct expect e = {.subject = NULL};
	char *base = g_build_filename(dir, rel, NULL);
	char *eml = g_strconcat(base, ".eml", NULL);
	char *json = g_strconcat(base, ".json", NULL);
	gboolean same[F_COUNT], all = TRUE;
	struct msg *m = NULL;
	GString *out = NULL;
	GError *err = NULL;
	char *raw = NULL;
	gsize len;
	int f, rc = -1;

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
	out = g_string_new(NULL);
	if (m == NULL) {
		g_string_append_printf(out, "%s.eml: unreadable: %s\n", rel,
				       err->message);
		for (f = 0; f < F_COUNT; f++)
			same[f] = FALSE;
	} else
		compare(&e, m, rel, same, out);

	/* Count, and print the lines of the fields that differ. */
	sc->total++;
	for (f = 0; f < F_COUNT; f++) {
		sc->field[f] += same[f];
		all = all && same[f];
	}
	sc->match += all;
	if (verbose)
		fputs(out->str, stdout);
	rc = 0;
out:
	if (out != NULL)
		g_string_free(out, TRUE);
	if (m != NULL)
		msg_free(m);
	if (err != NULL)
		g_error_free(err);
	expect_clear(&e);
	g_free(raw);
	g_free(json);
	g_free(eml);
	g_free(base);
	return rc;
}

int
eval_mime_main(int argc, char **argv)
{
	struct score sc = {.total = 0};
	GPtrArray *pairs = NULL;
	gboolean verbose = FALSE;
	char shown[G_ASCII_DTOSTR_BUF_SIZE];
	double min = 0.0, pct, share;
	const char *dir;
	int f, fields = 0;
	guint i;
	int rc;

	/* Options and the folder. */
	rc = parse_args("DIR - score the MIME parser on a corpus", "field",
			&argc, &argv, &min, &verbose);
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
	g_ptr_array_sort(pairs, cmp_strings);

	/* Each message. */
	msg_init();
	for (i = 0; i < pairs->len; i++)
		eval_one(dir, pairs->pdata[i], verbose, &sc);
	if (sc.total == 0) {
		fprintf(stderr, "listbridge: %s: no pair could be read\n", dir);
		rc = EX_DATAERR;
		goto out;
	}

	/* The summary: messages, then fields, in all and one by one. */
	for (f = 0; f < F_COUNT; f++)
		fields += sc.field[f];
	pct = 100.0 * sc.match / sc.total;
	share = 100.0 * fields / (sc.total * F_COUNT);
	printf("eval mime: %d messages, %d match (%.1f%%);"
	       " fields %d/%d (%.1f%%):",
	       sc.total, sc.match, pct, fields, sc.total * F_COUNT, share);
	for (f = 0; f < F_COUNT; f++)
		printf("%s %s %d/%d", f > 0 ? "," : "", field_names[f],
		       sc.field[f], sc.total);
	if (sc.skipped > 0)
		printf("; %d skipped", sc.skipped);
	printf("\n");

	/* The verdict: --min is held against the share of fields as shown
	 * (one decimal), so that a figure copied from the line passes. */
	g_ascii_formatd(shown, sizeof(shown), "%.1f", share);
	rc = g_ascii_strtod(shown, NULL) >= min ? EX_OK : 1;
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

	/* An HTML case is read as the text of its HTML, as delivery does. */
	if (g_str_has_suffix(input, ".html")) {
		char *text = text_from_html(in, strlen(in));

		g_free(in);
		in = text;
	}
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
	rc = parse_args("DIR - score the trimmer on a corpus", "case", &argc,
			&argv, &min, &verbose);
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
		if (g_str_has_suffix(name, ".txt") ||
		    g_str_has_suffix(name, ".html"))
			g_ptr_array_add(names, g_strdup(name));
	g_ptr_array_sort(names, cmp_strings);

	/* Each case. */
	for (i = 0; i < names->len; i++) {
		char *in = g_build_filename(inputs, names->pdata[i], NULL);
		char *base =
		    g_strndup(names->pdata[i], strcspn(names->pdata[i], "."));
		char *txt = g_strconcat(base, ".txt", NULL);
		char *ex = g_build_filename(expects, txt, NULL);
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
		g_free(base);
		g_free(txt);
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
