/*
 * trim: what a member wrote, apart from the quoted history and the
 * signature under it.
 *
 * The places where quotes and signatures begin are PCRE2 patterns in a
 * data file (gateway/trim.patterns, built in; an admin adds lines in
 * cfg.trim_patterns_file).  trim_text() splits a text in three: the text
 * shown, a forwarded message kept with it, and what was cut.  Nothing is
 * dropped: text, forwarded and cut together hold every line of the input.
 *
 * Limits: one message at a time per process (the match data is shared);
 * patterns are compiled by trim_load(), JIT-compiled on the first text
 * larger than 64 KiB.
 */
#ifndef TRIM_H
#define TRIM_H

#include <glib.h>

struct trim_result {
	char *text;	 /* shown: what the member wrote */
	char *forwarded; /* a forwarded message, kept; "" when none */
	char *cut;	 /* quoted history and signature; "" when none */
	const char *why; /* the kind of the first cut, or "none" */
};

/* trim_load: compile the built-in patterns and those of extra (NULL or a
 * missing file: none).  Returns 0, or -1 with err set (EX_CONFIG) naming
 * the file and line of a bad pattern.  Safe to call again. */
int trim_load(const char *extra, GError **err);

/* trim_text: split text (valid UTF-8, LF line ends) into r.  Loads the
 * built-in patterns when trim_load() was not called.  Free r with
 * trim_result_clear(). */
void trim_text(const char *text, struct trim_result *r);

/* trim_forward: trim_text() for a message whose subject says it forwards
 * ("WG:", "Fwd:"): the first embedded message (a header block, an
 * attribution) is the forwarded one, kept, not cut. */
void trim_forward(const char *text, struct trim_result *r);

void trim_result_clear(struct trim_result *r);

#endif
