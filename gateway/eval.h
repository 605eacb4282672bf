/*
 * eval: measure listbridge against evaluation corpora with expected
 * results, and print a score.
 *
 *   listbridge eval mime DIR
 *
 * DIR holds NNN.eml files, each beside NNN.json: the expected parse.  For
 * each message the decoded subject, the From display name and address and
 * the body text are compared; the share that matches is printed.  Exits 0
 * when the share reaches --min (default 0), 1 when it does not.
 */
#ifndef EVAL_H
#define EVAL_H

int eval_mime_main(int argc, char **argv);

#endif
