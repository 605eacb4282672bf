/*
 * log: stderr and syslog lines in key=value form (see log.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "log.h"

static void emit(int prio, const char *fmt, va_list ap);

static int use_syslog;
static int verbose;
static const char *ident = "listbridge";

static const struct {
	const char *name;
	int facility;
} facilities[] = {
    {"mail", LOG_MAIL},	    {"daemon", LOG_DAEMON}, {"user", LOG_USER},
    {"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1}, {"local2", LOG_LOCAL2},
    {"local3", LOG_LOCAL3}, {"local4", LOG_LOCAL4}, {"local5", LOG_LOCAL5},
    {"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7},
};

int
log_open(const char *name, const char *facility, int be_verbose)
{
	size_t i;

	ident = name;
	verbose = be_verbose;
	if (facility == NULL || *facility == '\0')
		return 0;
	for (i = 0; i < G_N_ELEMENTS(facilities); i++) {
		if (strcmp(facilities[i].name, facility) == 0) {
			/* LOG_NDELAY off: connect only when a line is
			 * written, which keeps start-up lean. */
			openlog(ident, LOG_PID, facilities[i].facility);
			use_syslog = 1;
			return 0;
		}
	}
	return -1;
}

int
log_verbose(void)
{
	return verbose;
}

static void
emit(int prio, const char *fmt, va_list ap)
{
	char line[2048];
	const char *level = "";

	vsnprintf(line, sizeof(line), fmt, ap);
	if (prio == LOG_WARNING)
		level = "warning: ";
	else if (prio == LOG_ERR)
		level = "error: ";
	fprintf(stderr, "%s: %s%s\n", ident, level, line);
	if (use_syslog)
		syslog(prio, "%s%s", level, line);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(LOG_INFO, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(LOG_WARNING, fmt, ap);
	va_end(ap);
}

void
log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(LOG_ERR, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!verbose)
		return;
	va_start(ap, fmt);
	emit(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

char *
log_clean(const char *s, size_t max)
{
	GString *out;
	char *valid;
	const char *p;

	if (s == NULL)
		return g_strdup("");

	/* Replace invalid UTF-8 first, so that cutting by character works. */
	valid = g_utf8_make_valid(s, -1);
	out = g_string_sized_new(MIN(strlen(valid), max) + 4);
	for (p = valid; *p != '\0'; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);
		const char *next = g_utf8_next_char(p);

		if (out->len + (size_t)(next - p) > max) {
			g_string_append(out, "...");
			break;
		}
		if (c == ' ' || c == '\t')
			g_string_append_c(out, '_');
		else if (c == '"' || !g_unichar_isprint(c))
			g_string_append_c(out, '?');
		else
			g_string_append_len(out, p, next - p);
	}
	g_free(valid);
	return g_string_free(out, FALSE);
}
