/*
 * trim: split a reply into what was written, what was forwarded and
 * what was quoted (see trim.h).
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <string.h>

#include <pcre2.h>

#include "lberror.h"
#include "trim.h"

enum kind { HEADER, SEPARATOR, SIGNATURE, DELIMITER, FORWARD, NKINDS };

static const char *const kind_names[NKINDS] = {
    "header", "separator", "signature", "delimiter", "forward"};

/* The patterns shipped with listbridge (trim_embed.c). */
extern const char trim_builtin[];

static pcre2_code *patterns[NKINDS];
static pcre2_match_data *match;
static int jitted;

#define JIT_THRESHOLD  (16 * 1024)
#define DELIMITER_TAIL 20 /* lines a footer may have under it */
#define FOOTER_WORDS   11 /* words of a footer line at most */
#define TAIL_WORDS     8  /* words of each line under a footer at most */

static int add_lines(GString **alt, const char *text, const char *file,
		     GError **err);
static int check_one(const char *pattern, const char *file, int line,
		     GError **err);
static GArray *code_blocks(const char *text);
static int in_block(GArray *blocks, gsize at);
static gssize first_match(enum kind k, const char *text, gsize len, gsize start,
			  GArray *blocks, gsize *end);
static int quote_line(const char *p);
static int empty_quote(const char *p);
static gsize line_end(const char *text, gsize len, gsize at);
static int blank_line(const char *p);
static gsize quote_block(const char *text, gsize len, gsize at);
static int blank_span(const char *text, gsize from, gsize to);
static int answered_again(const char *text, gsize len, gsize at);
static void split(const char *text, int forward, struct trim_result *r);
static int footer_fits(enum kind k, const char *text, gsize len, gsize start,
		       gsize end);
static int embedded_at(const char *text, gsize len, gsize at);
static int words(const char *from, const char *to);
static int footer_at(const char *text, gsize len, gsize at);
static gsize trailing_quotes(const char *text, gsize len);
static char *strip_blank_lines(const char *s, gsize len);

/*
 * check_one: compile one pattern alone, to name it when the combined
 * pattern of its kind does not compile.
 */
static int
check_one(const char *pattern, const char *file, int line, GError **err)
{
	PCRE2_UCHAR msg[256];
	PCRE2_SIZE off;
	pcre2_code *re;
	int code;

	re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
			   PCRE2_UTF | PCRE2_UCP | PCRE2_CASELESS |
			       PCRE2_MULTILINE,
			   &code, &off, NULL);
	if (re != NULL) {
		pcre2_code_free(re);
		return 0;
	}
	pcre2_get_error_message(code, msg, sizeof(msg));
	g_set_error(err, LB_ERROR, EX_CONFIG, "%s:%d: bad pattern at %zu: %s",
		    file, line, (size_t)off, (const char *)msg);
	return -1;
}

/*
 * add_lines: the "kind pattern" lines of text, each appended to the
 * alternation of its kind.  Returns 0, or -1 with err naming file:line.
 */
static int
add_lines(GString **alt, const char *text, const char *file, GError **err)
{
	char **lines = g_strsplit(text, "\n", -1);
	int i, k, rc = 0;

	for (i = 0; rc == 0 && lines[i] != NULL; i++) {
		char *line = g_strstrip(lines[i]), *pat;

		if (*line == '\0' || *line == '#')
			continue;
		pat = line + strcspn(line, " \t");
		if (*pat != '\0')
			*pat++ = '\0';
		pat += strspn(pat, " \t");
		for (k = 0; k < NKINDS; k++)
			if (strcmp(line, kind_names[k]) == 0)
				break;
		if (k == NKINDS || *pat == '\0') {
			g_set_error(err, LB_ERROR, EX_CONFIG,
				    "%s:%d: want \"KIND PATTERN\", KIND one "
				    "of header, separator, signature, "
				    "delimiter, forward",
				    file, i + 1);
			rc = -1;
			break;
		}
		rc = check_one(pat, file, i + 1, err);
		g_string_append_printf(alt[k], "%s(?:%s)",
				       alt[k]->len > 0 ? "|" : "", pat);
	}
	g_strfreev(lines);
	return rc;
}

int
trim_load(const char *extra, GError **err)
{
	GString *alt[NKINDS];
	char *text = NULL;
	int k, rc = -1;

	for (k = 0; k < NKINDS; k++)
		alt[k] = g_string_new(NULL);

	/* The built-in lines, then the admin's own. */
	if (add_lines(alt, trim_builtin, "trim.patterns (built in)", err) < 0)
		goto out;
	if (extra != NULL && *extra != '\0' &&
	    g_file_get_contents(extra, &text, NULL, NULL) &&
	    add_lines(alt, text, extra, err) < 0)
		goto out;

	/* One compiled alternation per kind. */
	for (k = 0; k < NKINDS; k++) {
		PCRE2_SIZE off;
		int code;

		if (patterns[k] != NULL)
			pcre2_code_free(patterns[k]);
		patterns[k] = NULL;
		if (alt[k]->len == 0)
			continue;
		patterns[k] =
		    pcre2_compile((PCRE2_SPTR)alt[k]->str, alt[k]->len,
				  PCRE2_UTF | PCRE2_UCP | PCRE2_CASELESS |
				      PCRE2_MULTILINE | PCRE2_NO_UTF_CHECK,
				  &code, &off, NULL);
		if (patterns[k] == NULL) {
			PCRE2_UCHAR msg[256];

			pcre2_get_error_message(code, msg, sizeof(msg));
			g_set_error(err, LB_ERROR, EX_CONFIG,
				    "trim patterns of kind %s do not compile "
				    "together: %s",
				    kind_names[k], (const char *)msg);
			goto out;
		}
	}
	if (match == NULL)
		match = pcre2_match_data_create(4, NULL);
	jitted = 0;
	rc = 0;
out:
	for (k = 0; k < NKINDS; k++)
		g_string_free(alt[k], TRUE);
	g_free(text);
	return rc;
}

/*
 * code_blocks: the byte ranges of ``` fenced blocks, where nothing is
 * cut.  An unclosed fence runs to the end.
 */
static GArray *
code_blocks(const char *text)
{
	GArray *blocks = g_array_new(FALSE, FALSE, sizeof(gsize));
	const char *p = text;
	gsize start = 0;
	int open = 0;

	while (*p != '\0') {
		const char *q = p;

		while (*q == ' ' || *q == '\t')
			q++;
		if (strncmp(q, "```", 3) == 0) {
			gsize at = (gsize)(p - text);

			if (!open)
				start = at;
			else {
				g_array_append_val(blocks, start);
				g_array_append_val(blocks, at);
			}
			open = !open;
		}
		p = strchr(p, '\n');
		if (p == NULL)
			break;
		p++;
	}
	if (open) {
		gsize end = strlen(text);

		g_array_append_val(blocks, start);
		g_array_append_val(blocks, end);
	}
	return blocks;
}

static int
in_block(GArray *blocks, gsize at)
{
	guint i;

	for (i = 0; i + 1 < blocks->len; i += 2)
		if (at >= g_array_index(blocks, gsize, i) &&
		    at <= g_array_index(blocks, gsize, i + 1))
			return 1;
	return 0;
}

/*
 * footer_fits: whether a match of kind k from start to end may start the
 * cut.  The signature separator "-- " always does; other footers
 * ("Sent from my ...") and symbol lines only when they are short and
 * what follows is quoted history, or a few short lines.
 */
static int
footer_fits(enum kind k, const char *text, gsize len, gsize start, gsize end)
{
	gsize next, line;
	const char *p = text + start;
	int lines = 0;

	if (k != SIGNATURE && k != DELIMITER)
		return 1;
	if (k == SIGNATURE && p[0] == '-' && p[1] == '-' &&
	    (p[2] == '\n' || p[2] == '\0' ||
	     (p[2] == ' ' && (p[3] == '\n' || p[3] == '\0'))))
		return 1;

	/* A footer is a short line... */
	line = line_end(text, len, end > start ? end - 1 : start);
	if (words(text + start, text + line) > FOOTER_WORDS)
		return 0;

	/* ...followed by quoted history or an embedded message... */
	next = line;
	while (next < len && blank_line(text + next))
		next = line_end(text, len, next);
	if (next >= len || quote_line(text + next) ||
	    embedded_at(text, len, next))
		return 1;

	/* ...or by a few short lines (a name, a phone number) and other
	 * footers, not by sentences: "Sent with DHL, the parcel ..." in the
	 * middle of a mail is no footer. */
	for (; next < len; next = line_end(text, len, next)) {
		gsize stop = line_end(text, len, next);

		if (quote_line(text + next))
			break;
		if (blank_line(text + next) || footer_at(text, len, next))
			continue;
		if (++lines > DELIMITER_TAIL ||
		    words(text + next, text + stop) > TAIL_WORDS)
			return 0;
	}
	return 1;
}

/* words: how many words text[from..to) holds. */
static int
words(const char *from, const char *to)
{
	int n = 0, in = 0;

	for (; from < to; from++) {
		if (g_ascii_isspace(*from))
			in = 0;
		else if (!in) {
			in = 1;
			n++;
		}
	}
	return n;
}

/* footer_at: whether another footer line starts at at. */
static int
footer_at(const char *text, gsize len, gsize at)
{
	return patterns[SIGNATURE] != NULL &&
	       pcre2_match(patterns[SIGNATURE], (PCRE2_SPTR)text, len, at,
			   PCRE2_NO_UTF_CHECK | PCRE2_ANCHORED, match,
			   NULL) >= 0;
}

/* embedded_at: whether an attribution or a header block starts at at. */
static int
embedded_at(const char *text, gsize len, gsize at)
{
	int k, rc;

	for (k = HEADER; k <= SEPARATOR; k++) {
		if (patterns[k] == NULL)
			continue;
		rc = pcre2_match(patterns[k], (PCRE2_SPTR)text, len, at,
				 PCRE2_NO_UTF_CHECK | PCRE2_ANCHORED, match,
				 NULL);
		if (rc >= 0)
			return 1;
	}
	return 0;
}

/*
 * first_match: where the first line matching a pattern of kind k starts,
 * outside code blocks, or -1.  Delimiters count only above a short
 * tail.
 */
static gssize
first_match(enum kind k, const char *text, gsize len, gsize start,
	    GArray *blocks, gsize *end)
{
	PCRE2_SIZE from = start, *ov, mstart, mend;
	int rc;

	if (patterns[k] == NULL)
		return -1;
	while (from <= len) {
		rc = pcre2_match(patterns[k], (PCRE2_SPTR)text, len, from,
				 PCRE2_NO_UTF_CHECK, match, NULL);
		if (rc < 0)
			return -1;
		/* Copied: footer_fits() matches again with the same data. */
		ov = pcre2_get_ovector_pointer(match);
		mstart = ov[0];
		mend = ov[1];
		if (!in_block(blocks, mstart) &&
		    footer_fits(k, text, len, mstart, mend)) {
			*end = line_end(text, len, mend > 0 ? mend - 1 : 0);
			return (gssize)mstart;
		}
		/* Go on after this line. */
		from = mend > mstart ? mend : mstart + 1;
		while (from < len && text[from] != '\n')
			from++;
	}
	return -1;
}

/*
 * trailing_quotes: where the block of "> " lines (and blank lines) that
 * ends text begins; len when there is none, or when text holds nothing
 * but quotes (then the quote is what was written).
 */
static gsize
trailing_quotes(const char *text, gsize len)
{
	gsize end = len, start, at = len;
	int quoted = 0;

	/* Line by line from the end: blank and quoted lines, until a line
	 * of text. */
	while (end > 0) {
		start = end;
		while (start > 0 && text[start - 1] != '\n')
			start--;
		if (quote_line(text + start))
			quoted = 1;
		else if (!blank_span(text, start, end))
			return quoted ? at : len;
		at = start;
		if (start == 0)
			break;
		end = start - 1;
	}
	return len;
}

/* strip_blank_lines: s[0..len) without blank lines at either end, and
 * without white space at the end of its last line. */
static char *
strip_blank_lines(const char *s, gsize len)
{
	gsize start = 0, i;

	for (i = 0; i < len; i++) {
		if (s[i] == '\n')
			start = i + 1;
		else if (!g_ascii_isspace(s[i]))
			break;
	}
	if (i == len)
		return g_strdup("");
	while (len > start && g_ascii_isspace(s[len - 1]))
		len--;
	return g_strndup(s + start, len - start);
}

/*
 * quote_line: whether the line at p is quoted: "> ..." or Supercite's
 * "AB> ...".
 */
static int
quote_line(const char *p)
{
	int n = 0;

	while (*p == ' ' || *p == '\t')
		p++;
	while (n < 3 && g_ascii_isupper(p[n]))
		n++;
	return p[n] == '>';
}

/* empty_quote: whether the line at p is a quote mark and nothing else. */
static int
empty_quote(const char *p)
{
	if (!quote_line(p))
		return 0;
	while (*p == ' ' || *p == '\t' || *p == '>' || g_ascii_isupper(*p))
		p++;
	return *p == '\n' || *p == '\0';
}

/* line_end: the position after the line holding at (after its LF). */
static gsize
line_end(const char *text, gsize len, gsize at)
{
	const char *nl = memchr(text + at, '\n', len - at);

	return nl != NULL ? (gsize)(nl - text) + 1 : len;
}

/* blank_line: whether the line at p holds only white space. */
static int
blank_line(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\r')
		p++;
	return *p == '\n' || *p == '\0';
}

/*
 * quote_block: from at, skip blank lines; when quoted lines follow, the
 * end of that block (quoted and blank lines), else at itself.
 */
static gsize
quote_block(const char *text, gsize len, gsize at)
{
	gsize p = at, end = at;

	while (p < len && blank_line(text + p))
		p = line_end(text, len, p);
	while (p < len && (quote_line(text + p) || blank_line(text + p))) {
		if (quote_line(text + p))
			end = line_end(text, len, p);
		p = line_end(text, len, p);
	}
	return end;
}

/* blank_span: whether text[from..to) holds only white space. */
static int
blank_span(const char *text, gsize from, gsize to)
{
	for (; from < to; from++)
		if (!g_ascii_isspace(text[from]))
			return 0;
	return 1;
}

/*
 * answered_again: whether, after at, another quote block is followed by
 * text of the member's own: the sign of an interleaved reply.
 */
static int
answered_again(const char *text, gsize len, gsize at)
{
	gsize p = at, q;

	while (p < len) {
		if (quote_line(text + p)) {
			q = quote_block(text, len, p);
			return !blank_span(text, q, len);
		}
		p = line_end(text, len, p);
	}
	return 0;
}

void
trim_text(const char *text, struct trim_result *r)
{
	split(text, 0, r);
}

void
trim_forward(const char *text, struct trim_result *r)
{
	split(text, 1, r);
}

/*
 * split: the work of trim_text() and trim_forward(): cut by cut from the
 * top; with forward, the first embedded message starts the forwarded
 * one.
 */
static void
split(const char *text, int forward, struct trim_result *r)
{
	GString *kept, *cut;
	GArray *blocks;
	gsize len = strlen(text), pos = 0, fwd = len, quotes;
	int k;

	memset(r, 0, sizeof(*r));
	r->why = "none";
	if (patterns[HEADER] == NULL && trim_load(NULL, NULL) < 0) {
		r->text = g_strdup(text);
		r->forwarded = g_strdup("");
		r->cut = g_strdup("");
		return;
	}
	if (len > JIT_THRESHOLD && !jitted) {
		for (k = 0; k < NKINDS; k++)
			if (patterns[k] != NULL)
				pcre2_jit_compile(patterns[k],
						  PCRE2_JIT_COMPLETE);
		jitted = 1;
	}
	kept = g_string_sized_new(len);
	cut = g_string_new(NULL);
	blocks = code_blocks(text);

	/* Cut by cut, from the top. */
	for (;;) {
		gsize c = len, hend = len, end, qend;
		const char *why = "none";
		gssize at;

		/* The first cut of any kind, and the first forward. */
		for (k = 0; k < NKINDS; k++) {
			if (k == FORWARD)
				continue;
			at = first_match((enum kind)k, text, len, pos, blocks,
					 &end);
			if (at >= 0 && (gsize)at < c) {
				c = (gsize)at;
				hend = end;
				why = kind_names[k];
			}
		}
		at = first_match(FORWARD, text, len, pos, blocks, &end);
		fwd = at >= 0 ? (gsize)at : len;

		/* A forwarded message above the first cut is kept whole; so
		 * is the first embedded message of a mail that says it
		 * forwards. */
		if (forward &&
		    (why == kind_names[HEADER] ||
		     why == kind_names[SEPARATOR]) &&
		    c < fwd)
			fwd = c;
		if (fwd < c || (fwd == c && fwd < len)) {
			g_string_append_len(kept, text + pos, fwd - pos);
			break;
		}
		fwd = len;
		if (c == len) {
			g_string_append_len(kept, text + pos, len - pos);
			break;
		}

		/* An attribution line is no cut when the member answers
		 * below the quote: at the top, it goes with the quote it
		 * introduces; under text of their own, only the line goes
		 * and the quote stays with the answer (interleaved). */
		if (why == kind_names[HEADER]) {
			int top = blank_span(kept->str, 0, kept->len) &&
				  blank_span(text, pos, c);

			qend = quote_block(text, len, hend);

			/* At the top, an interleaved reply keeps its first
			 * quote too. */
			if (top && qend > hend &&
			    answered_again(text, len, qend))
				top = 0;
			if (!blank_span(text, qend, len) &&
			    (qend > hend || top)) {
				g_string_append_len(kept, text + pos, c - pos);
				if (top) {
					g_string_append_len(cut, text + c,
							    qend - c);
				} else {
					gsize after = hend;

					/* Empty quote lines under the
					 * attribution go with it. */
					while (after < qend &&
					       empty_quote(text + after))
						after =
						    line_end(text, len, after);
					g_string_append_len(cut, text + c,
							    after - c);
					g_string_append_len(kept, text + after,
							    qend - after);
				}
				g_string_append_c(cut, '\n');
				pos = qend;
				continue;
			}
		}

		/* A cut: all that follows. */
		g_string_append_len(kept, text + pos, c - pos);
		if (cut->len > 0 && cut->str[cut->len - 1] != '\n')
			g_string_append_c(cut, '\n');
		g_string_append_len(cut, text + c, len - c);
		r->why = why;
		pos = len;
		break;
	}
	g_array_free(blocks, TRUE);

	/* Quotes that end what is kept go with the cut. */
	quotes = trailing_quotes(kept->str, kept->len);
	if (quotes < kept->len) {
		if (cut->len > 0)
			g_string_prepend_c(cut, '\n');
		g_string_prepend(cut, kept->str + quotes);
		g_string_truncate(kept, quotes);
		if (strcmp(r->why, "none") == 0)
			r->why = "quote";
	}

	r->text = strip_blank_lines(kept->str, kept->len);
	r->cut = strip_blank_lines(cut->str, cut->len);
	if (*r->cut != '\0' && strcmp(r->why, "none") == 0)
		r->why = "header";
	r->forwarded = strip_blank_lines(text + fwd, len - fwd);
	g_string_free(kept, TRUE);
	g_string_free(cut, TRUE);
}

void
trim_result_clear(struct trim_result *r)
{
	g_free(r->text);
	g_free(r->forwarded);
	g_free(r->cut);
	memset(r, 0, sizeof(*r));
}
