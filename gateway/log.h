/*
 * log: one place where listbridge writes what it did.
 *
 * Lines go to stderr and, once log_open() asked for it, to syslog.  The
 * form is "key=value ...", the message id first where there is one.
 * log_debug() lines appear only when verbose.  Untrusted text (addresses,
 * subjects, Message-IDs) passes through log_clean() before it is logged.
 */
#ifndef LOG_H
#define LOG_H

#include <glib.h>

/* log_open: ident is the program name for syslog; facility a syslog
 * facility name ("mail", "local0" ...) or NULL for stderr only.  Returns 0,
 * or -1 when the facility name is unknown (stderr is still used). */
int log_open(const char *ident, const char *facility, int verbose);

void log_info(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
void log_warn(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
void log_error(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
void log_debug(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

/* log_verbose: whether debug lines are written. */
int log_verbose(void);

/* log_clean: s made safe for one log value: control characters, white
 * space and '"' become '?' or '_', invalid UTF-8 is replaced, and the
 * result is cut to at most max bytes (on a character boundary, marked with
 * "..."). NULL gives "".  Returns a new string; g_free() it. */
char *log_clean(const char *s, size_t max);

#endif
