/*
 * config: settings declared once, read from a GLib key file (config.h).
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "lberror.h"
#include "log.h"

enum kind { K_STRING, K_INT, K_BOOL, K_CHOICE, K_TIMEZONE, K_DOMAIN };

struct setting {
	const char *name;
	enum kind kind;
	size_t offset;
	const char *def;
	long min, max;	     /* K_INT bounds */
	const char *choices; /* K_CHOICE: "|a|b|" */
	const char *unit;
	const char *doc;
};

#define OFF(f) offsetof(struct cfg, f)

static const struct setting settings[] = {
    {"database", K_STRING, OFF(database), "dbname=listbridge", 0, 0, NULL, NULL,
     "libpq connection string or URI of the PostgreSQL database"},
    {"db_connect_timeout", K_INT, OFF(db_connect_timeout), "10", 1, 300, NULL,
     "s", "give up connecting to the database after this long"},
    {"db_statement_timeout", K_INT, OFF(db_statement_timeout), "60", 1, 3600,
     NULL, "s", "cancel one SQL statement after this long"},
    {"deliver_timeout", K_INT, OFF(deliver_timeout), "300", 5, 3600, NULL, "s",
     "a delivery taking longer exits 75 so the MTA retries"},
    {"message_size_limit", K_INT, OFF(message_size_limit), "26214400", 1024,
     1073741824, NULL, "bytes", "larger messages are refused (exit 77)"},
    {"attachment_size_limit", K_INT, OFF(attachment_size_limit), "10485760", 0,
     1073741824, NULL, "bytes",
     "larger attachments keep name, type, size and hash, not their bytes"},
    {"attachment_count_limit", K_INT, OFF(attachment_count_limit), "20", 0,
     1000, NULL, "attachments",
     "attachments beyond this many keep name, type, size and hash only"},
    {"attachment_blocked_types", K_STRING, OFF(attachment_blocked_types),
     "exe com bat cmd scr pif cpl msi msp jar js jse vbs vbe wsf wsh hta ps1 "
     "lnk reg scf application/x-msdownload "
     "application/x-msdos-program application/x-sh",
     0, 0, NULL, NULL,
     "file name endings and content types never stored (they may run "
     "code), separated by spaces"},
    {"mime_depth_limit", K_INT, OFF(mime_depth_limit), "16", 1, 100, NULL,
     "levels", "MIME parts nested deeper are not looked into"},
    {"mime_part_limit", K_INT, OFF(mime_part_limit), "500", 1, 100000, NULL,
     "parts", "MIME parts beyond this many are not looked into"},
    {"html_tag_limit", K_INT, OFF(html_tag_limit), "20000", 100, 1000000, NULL,
     "tags",
     "HTML with more tags is not read (parsing time grows with nesting); "
     "the raw message keeps it"},
    {"thread_subject_window", K_INT, OFF(thread_subject_window), "30", 0, 3650,
     NULL, "days",
     "a reply without references joins a thread of the same subject "
     "active this recently (0: never)"},
    {"message_id_domain", K_DOMAIN, OFF(message_id_domain),
     "listbridge.invalid", 0, 0, NULL, NULL,
     "domain of the Message-ID made for a message that has none"},
    {"default_locale", K_CHOICE, OFF(default_locale), "de", 0, 0, "|de|en|",
     NULL, "locale of new memberships"},
    {"timezone", K_TIMEZONE, OFF(timezone), "Europe/Berlin", 0, 0, NULL, NULL,
     "time zone in which dates are shown"},
    {"trim_patterns_file", K_STRING, OFF(trim_patterns_file),
     "/etc/listbridge/trim.patterns", 0, 0, NULL, NULL,
     "patterns added to the built-in trim patterns (missing: none)"},
    {"token_key_file", K_STRING, OFF(token_key_file), "/etc/listbridge/keys", 0,
     0, NULL, NULL,
     "the keys of reply tokens, written by \"listbridge keygen\" (secret: "
     "readable by the user the hooks run as only)"},
    {"reply_token_lifetime", K_INT, OFF(reply_token_lifetime), "180", 1, 3650,
     NULL, "days", "a reply token is accepted this long after it was made"},
    {"reply_domain", K_STRING, OFF(reply_domain), "", 0, 0, NULL, NULL,
     "domain of reply+, bounces+ and unsubscribe+ addresses; empty: the "
     "list address's domain"},
    {"portal_url", K_STRING, OFF(portal_url), "https://intranet.example.org", 0,
     0, NULL, NULL, "the intranet's address, for links in mails"},
    {"template_dir", K_STRING, OFF(template_dir), "/etc/listbridge/templates",
     0, 0, NULL, NULL,
     "mail templates here replace the built-in ones of the same name"},
    {"notify_attachments", K_CHOICE, OFF(notify_attachments), "link", 0, 0,
     "|link|attach|", NULL,
     "attachments in notification mails: linked to the portal, or sent "
     "along too"},
    {"outbox_lease", K_INT, OFF(outbox_lease), "300", 30, 86400, NULL, "s",
     "a worker holds claimed outbox rows this long"},
    {"outbox_batch", K_INT, OFF(outbox_batch), "50", 1, 10000, NULL, "rows",
     "outbox rows a worker claims at once"},
    {"outbox_max_age", K_INT, OFF(outbox_max_age), "432000", 60, 2592000, NULL,
     "s", "mail not sent after this long expires (a bounce)"},
    {"send_interval", K_INT, OFF(send_interval), "5", 1, 3600, NULL, "s",
     "a send worker looks for due mail at least this often"},
    {"syslog_facility", K_CHOICE, OFF(syslog_facility), "mail", 0, 0,
     "||mail|daemon|user|local0|local1|local2|local3|local4|local5|local6|"
     "local7|",
     NULL, "syslog facility; empty: log to stderr only"},
    {"log_verbose", K_BOOL, OFF(log_verbose), "false", 0, 0, NULL, NULL,
     "write debug lines too"},
    {"hook_allow_root", K_BOOL, OFF(hook_allow_root), "false", 0, 0, NULL, NULL,
     "let the MTA hooks run as root (normally they refuse)"},
    {"smtp_relay_host", K_STRING, OFF(smtp_relay_host), "127.0.0.1", 0, 0, NULL,
     NULL, "host name or address of the SMTP relay the outbox sends to"},
    {"smtp_relay_port", K_INT, OFF(smtp_relay_port), "25", 1, 65535, NULL,
     "port", "TCP port of the SMTP relay"},
    {"smtp_helo_name", K_STRING, OFF(smtp_helo_name), "", 0, 0, NULL, NULL,
     "name sent with EHLO; empty: this machine's host name when it is "
     "fully qualified, else the address literal of the local end"},
    {"smtp_timeout", K_INT, OFF(smtp_timeout), "60", 1, 3600, NULL, "s",
     "give up on the relay when connecting, a TLS handshake or one reply "
     "takes longer"},
    {"smtp_starttls", K_CHOICE, OFF(smtp_starttls), "no", 0, 0, "|no|required|",
     NULL,
     "required: send only over TLS, after checking the relay's "
     "certificate against smtp_tls_ca_file and smtp_relay_host"},
    {"smtp_tls_ca_file", K_STRING, OFF(smtp_tls_ca_file),
     "/etc/ssl/certs/ca-certificates.crt", 0, 0, NULL, NULL,
     "PEM file of the certificate authorities trusted for the relay"},
};

struct cfg cfg;

static const char *loaded_path;

static int set_value(const struct setting *s, const char *value, GError **err);

/*
 * set_value: parse value for setting s into cfg.  Returns 0, or -1 with
 * err naming the key and the accepted values.
 */
static int
set_value(const struct setting *s, const char *value, GError **err)
{
	char *field = (char *)&cfg + s->offset;
	char *end;
	long n;

	switch (s->kind) {
	case K_TIMEZONE: {
		GTimeZone *tz = g_time_zone_new_identifier(value);

		if (tz == NULL) {
			g_set_error(err, LB_ERROR, EX_CONFIG,
				    "%s: bad value \"%s\" (a time zone such "
				    "as Europe/Berlin)",
				    s->name, value);
			return -1;
		}
		g_time_zone_unref(tz);
		goto string;
	}
	case K_DOMAIN:
		if (*value == '\0' || strlen(value) > 253 ||
		    strspn(value, "abcdefghijklmnopqrstuvwxyz"
				  "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") !=
			strlen(value)) {
			g_set_error(err, LB_ERROR, EX_CONFIG,
				    "%s: bad value \"%s\" (a domain name)",
				    s->name, value);
			return -1;
		}
		goto string;
	case K_CHOICE: {
		char *needle = g_strdup_printf("|%s|", value);
		int ok = strchr(value, '|') == NULL &&
			 strstr(s->choices, needle) != NULL;

		g_free(needle);
		if (!ok) {
			g_set_error(err, LB_ERROR, EX_CONFIG,
				    "%s: bad value \"%s\" (one of %s)", s->name,
				    value, s->choices);
			return -1;
		}
	}
		/* FALLTHROUGH */
	case K_STRING:
	string:
		g_free(*(char **)field);
		*(char **)field = g_strdup(value);
		return 0;
	case K_INT:
		errno = 0;
		n = strtol(value, &end, 10);
		if (errno != 0 || end == value || *end != '\0' || n < s->min ||
		    n > s->max) {
			g_set_error(err, LB_ERROR, EX_CONFIG,
				    "%s: bad value \"%s\" (a whole number "
				    "from %ld to %ld)",
				    s->name, value, s->min, s->max);
			return -1;
		}
		*(int *)field = (int)n;
		return 0;
	case K_BOOL:
		if (strcmp(value, "true") == 0 || strcmp(value, "yes") == 0 ||
		    strcmp(value, "on") == 0 || strcmp(value, "1") == 0)
			*(gboolean *)field = TRUE;
		else if (strcmp(value, "false") == 0 ||
			 strcmp(value, "no") == 0 ||
			 strcmp(value, "off") == 0 || strcmp(value, "0") == 0)
			*(gboolean *)field = FALSE;
		else {
			g_set_error(err, LB_ERROR, EX_CONFIG,
				    "%s: bad value \"%s\" (true or false)",
				    s->name, value);
			return -1;
		}
		return 0;
	}
	g_assert_not_reached();
}

int
cfg_load(const char *path, GError **err)
{
	GKeyFile *kf = NULL;
	GError *kerr = NULL;
	char **keys = NULL;
	int explicit = 1;
	int rc = -1;
	size_t i, k;

	/* Defaults first: a key the file does not name keeps its default. */
	for (i = 0; i < G_N_ELEMENTS(settings); i++)
		if (set_value(&settings[i], settings[i].def, err) < 0)
			g_assert_not_reached();

	/* Which file. */
	if (path == NULL)
		path = g_getenv("LISTBRIDGE_CONFIG");
	if (path == NULL || *path == '\0') {
		path = CONFIG_PATH;
		explicit = 0;
	}
	loaded_path = path;

	/* Read it. */
	kf = g_key_file_new();
	if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &kerr)) {
		if (!explicit &&
		    g_error_matches(kerr, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
			rc = 0;
			goto out;
		}
		char *why = g_utf8_make_valid(kerr->message, -1);

		g_set_error(err, LB_ERROR, EX_CONFIG, "%s: %s", path, why);
		g_free(why);
		goto out;
	}

	/* Apply each key of [listbridge]; other groups are not ours. */
	keys = g_key_file_get_keys(kf, "listbridge", NULL, NULL);
	for (k = 0; keys != NULL && keys[k] != NULL; k++) {
		const struct setting *s = NULL;
		char *value;
		int r;

		for (i = 0; i < G_N_ELEMENTS(settings); i++)
			if (strcmp(settings[i].name, keys[k]) == 0)
				s = &settings[i];
		if (s == NULL) {
			log_warn("config=%s key=%s status=unknown_key_ignored",
				 path, keys[k]);
			continue;
		}
		value = g_key_file_get_string(kf, "listbridge", keys[k], NULL);
		r = set_value(s, value != NULL ? g_strstrip(value) : "", err);
		g_free(value);
		if (r < 0) {
			g_prefix_error(err, "%s: ", path);
			goto out;
		}
	}
	rc = 0;
out:
	g_strfreev(keys);
	g_clear_error(&kerr);
	if (kf != NULL)
		g_key_file_free(kf);
	return rc;
}

const char *
cfg_path(void)
{
	if (loaded_path != NULL)
		return loaded_path;
	return CONFIG_PATH;
}

void
cfg_print(FILE *fp)
{
	size_t i;

	fprintf(fp, "# effective settings; file: %s\n[listbridge]\n",
		cfg_path());
	for (i = 0; i < G_N_ELEMENTS(settings); i++) {
		const struct setting *s = &settings[i];
		const char *field = (const char *)&cfg + s->offset;

		fprintf(fp, "\n# %s\n# default: %s", s->doc, s->def);
		if (s->kind == K_INT)
			fprintf(fp, "; %ld..%ld %s", s->min, s->max,
				s->unit != NULL ? s->unit : "");
		else if (s->kind == K_CHOICE)
			fprintf(fp, "; one of %s", s->choices);
		fprintf(fp, "\n%s = ", s->name);
		switch (s->kind) {
		case K_STRING:
		case K_CHOICE:
		case K_TIMEZONE:
		case K_DOMAIN:
			fprintf(fp, "%s\n", *(char *const *)field);
			break;
		case K_INT:
			fprintf(fp, "%d\n", *(const int *)field);
			break;
		case K_BOOL:
			fprintf(fp, "%s\n",
				*(const gboolean *)field ? "true" : "false");
			break;
		}
	}
}
