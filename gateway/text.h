/*
 * text: turn what a mail part holds into clean UTF-8 text.
 *
 * text_to_utf8() converts bytes in whatever charset to valid UTF-8 through
 * a fallback chain; text_from_html() renders HTML as plain text with a real
 * HTML5 parser (gumbo); text_newlines() folds CRLF and CR to LF.
 *
 * Quote and signature trimming and HTML sanitising belong to other
 * modules; this one only decodes.
 */
#ifndef TEXT_H
#define TEXT_H

#include <glib.h>

/* text_to_utf8: bytes (len of them, NUL bytes allowed) as UTF-8.  Tries
 * the declared charset (NULL or "" for none; ISO-8859-1 and US-ASCII are
 * read as windows-1252, as browsers do), then UTF-8, then windows-1252,
 * then ISO-8859-1, which cannot fail.  NUL bytes are dropped.  Returns a
 * new valid UTF-8 string; g_free() it.  *used, when not NULL, is set to the
 * charset that worked (static string). */
char *text_to_utf8(const char *bytes, gsize len, const char *declared,
		   const char **used);

/* text_newlines: fold CRLF and lone CR to LF, in place.  Returns s. */
char *text_newlines(char *s);

/* text_unflow: text (LF line ends) sent as format=flowed (RFC 3676) as
 * the writer's paragraphs: soft line breaks (a line ending in a space)
 * joined, only between lines of the same quote depth, space-stuffing
 * removed; with delsp, the space before a soft break goes too.  The
 * signature separator "-- " stays a line of its own.  Returns a new
 * string; g_free() it. */
char *text_unflow(const char *text, int delsp);

/* text_from_html: the text a reader sees in html (UTF-8): blocks become
 * lines, blockquotes "> " lines, list items "- ", links keep their target
 * when it differs from the link text, script, style and head are dropped,
 * runs of white space fold.  Returns a new string; g_free() it. */
char *text_from_html(const char *html, gsize len);

#endif
