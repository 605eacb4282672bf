/*
 * eval: measure listbridge against evaluation corpora with expected
 * results, and print a score.
 *
 *   listbridge eval mime DIR [--min PERCENT] [--verbose]
 *
 * DIR and its subfolders hold NNN.eml files, each beside NNN.json: the
 * expected parse, as written by the Rust crate mail-parser.  Each message
 * is parsed with msg_parse() and three fields are compared: the decoded
 * subject, the first From mailbox (display name exactly, address ignoring
 * case) and the body text (the first "text_body" part; HTML rendered with
 * text_from_html(); both sides with CRLF as LF and white space trimmed at
 * line ends and at both ends).  A message matches when all three do.
 *
 * Prints on stdout one summary line,
 *   eval mime: 53 messages, 46 match (86.8%); subject 53/53, ...
 * and with --verbose first one line per message that does not match: its
 * path, then each differing field with the expected and the parsed value,
 * quoted, made printable and shortened.  Pairs that cannot be read are
 * named on stderr and skipped.
 */
#ifndef EVAL_H
#define EVAL_H

/* eval_mime_main: argv[0] is "mime".  Returns 0 when the share of
 * matching messages reaches --min (default 0), 1 when it does not,
 * EX_USAGE for bad arguments, EX_NOINPUT when DIR holds no pair,
 * EX_DATAERR when no pair could be read. */
int eval_mime_main(int argc, char **argv);

/*
 *   listbridge eval trim DIR [--min PERCENT] [--verbose]
 *
 * DIR holds test/emails/NAME.txt with test/trimmed/NAME.txt (a corpus) or
 * input/NAME.txt with expected/NAME.txt (our own fixtures): each input is
 * trimmed and what is shown compared with the expected text, white space
 * at both ends stripped.  Prints passed/total and the names that fail;
 * with a speed case (test/matchers/), its time, which must stay under
 * 100 ms.  Exits 0 when the share reaches --min and the speed case is
 * fast, 1 when not.
 */
int eval_trim_main(int argc, char **argv);

#endif
