/*
 * eval: measure listbridge against evaluation corpora with expected
 * results, and print a score.
 *
 *   listbridge eval mime DIR [--min PERCENT] [--verbose]
 *
 * DIR and its subfolders hold NNN.eml files, each beside NNN.json: the
 * expected parse, as written by the Rust crate mail-parser.  Each message
 * is parsed with msg_parse() and six fields are compared:
 *   subject      the decoded subject;
 *   from         the first From mailbox (display name exactly, address
 *                ignoring case);
 *   to           the set of To addresses, groups flattened, lower case;
 *   body         the body text (the first "text_body" part; HTML
 *                rendered with text_from_html(); both sides with CRLF as
 *                LF and white space trimmed at line ends and at both
 *                ends);
 *   html         whether there is an HTML body;
 *   attachments  the sorted file names of the attachments, forwarded
 *                messages and parts without a name left out.
 * A message matches when all six do.
 *
 * Prints on stdout one summary line,
 *   eval mime: 53 messages, 47 match (88.7%); fields 310/318 (97.5%):
 *   subject 53/53, from 53/53, to 52/53, ...
 * (one line), and with --verbose first one line per field that does not
 * match: the message's path, the field, the expected and the parsed
 * value, quoted, made printable and shortened.  Pairs that cannot be
 * read are named on stderr and skipped.
 */
#ifndef EVAL_H
#define EVAL_H

/* eval_mime_main: argv[0] is "mime".  Returns 0 when the share of
 * matching fields (over all messages, as printed: one decimal) reaches
 * --min (default 0), 1 when it does not, EX_USAGE for bad arguments,
 * EX_NOINPUT when DIR holds no pair, EX_DATAERR when no pair could be
 * read. */
int eval_mime_main(int argc, char **argv);

/*
 *   listbridge eval trim DIR [--min PERCENT] [--verbose]
 *
 * DIR holds test/emails/NAME.txt with test/trimmed/NAME.txt (a corpus) or
 * input/NAME.txt or NAME.html (read as the text of the HTML) with
 * expected/NAME.txt (our own fixtures): each input is
 * trimmed and what is shown compared with the expected text, white space
 * at both ends stripped.  Prints passed/total and the names that fail;
 * with a speed case (test/matchers/), its time, which must stay under
 * 100 ms.  Exits 0 when the share reaches --min and the speed case is
 * fast, 1 when not.
 */
int eval_trim_main(int argc, char **argv);

#endif
