/*
 * html: HTML from mail made safe to show in the portal.
 *
 * html_clean() parses with gumbo (an HTML5 parser, never regular
 * expressions) and rebuilds the document from an allow-list: paragraphs,
 * line breaks, emphasis, lists, blockquote, pre/code, simple tables,
 * links to http, https and mailto, images that refer to the message's own
 * parts (cid:, rewritten to "attachment:CID").  Every other element is
 * dropped (script, style, head, forms, objects with their content; other
 * tags keep their text), every attribute not on the list goes.
 *
 * Quoted history that the mail client marks is cut: Gmail's gmail_quote,
 * Outlook's divRplyFwdMsg / appendonsend / border-top header block,
 * Thunderbird's moz-cite-prefix, Yahoo's yahoo_quoted, and a
 * blockquote type=cite that nothing of the member's follows.
 *
 * Limits: nesting deeper than HTML_DEPTH_LIMIT is flattened to its text.
 */
#ifndef HTML_H
#define HTML_H

#include <glib.h>

/* html_clean: the safe HTML of html (UTF-8, len bytes), quoted history
 * cut.  Returns a new string (g_free it), or NULL when nothing visible is
 * left.  *trimmed, when not NULL, is set when a quote was cut. */
char *html_clean(const char *html, gsize len, int *trimmed);

#endif
