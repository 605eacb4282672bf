/*
 * config: the settings of listbridge, each declared once.
 *
 * One GLib key file, group [listbridge], read from $LISTBRIDGE_CONFIG or
 * else CONFIG_PATH (/etc/listbridge/listbridge.conf).  Every key has a
 * default and bounds; the table in config.c is the only place they are
 * written down, and "listbridge config" prints it.
 *
 * cfg_load() fills the global "cfg"; before it runs, cfg holds the
 * defaults.
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <stdio.h>

#include <glib.h>

#ifndef CONFIG_PATH
#define CONFIG_PATH "/etc/listbridge/listbridge.conf"
#endif

struct cfg {
	char *database;
	int db_connect_timeout;
	int db_statement_timeout;
	int deliver_timeout;
	int message_size_limit;
	int attachment_size_limit;
	int attachment_count_limit;
	char *attachment_blocked_types;
	int mime_depth_limit;
	int mime_part_limit;
	int html_tag_limit;
	int thread_subject_window;
	char *message_id_domain;
	char *default_locale;
	char *timezone;
	char *trim_patterns_file;
	char *token_key_file;
	int reply_token_lifetime;
	char *reply_domain;
	char *portal_url;
	char *template_dir;
	char *notify_attachments;
	int outbox_lease;
	int outbox_batch;
	int outbox_max_age;
	int send_interval;
	char *syslog_facility;
	gboolean log_verbose;
	gboolean hook_allow_root;
	char *smtp_relay_host;
	int smtp_relay_port;
	char *smtp_helo_name;
	int smtp_timeout;
	char *smtp_starttls;
	char *smtp_tls_ca_file;
};

extern struct cfg cfg;

/* cfg_load: reset cfg to the defaults, then apply the config file: path,
 * else $LISTBRIDGE_CONFIG, else CONFIG_PATH.  A missing CONFIG_PATH means
 * defaults; a missing file that was named explicitly is an error.  Returns
 * 0, or -1 with err set (LB_ERROR, EX_CONFIG) naming the file and key.
 * Unknown keys are reported through log_warn(). */
int cfg_load(const char *path, GError **err);

/* cfg_path: the file cfg_load() read, or would read. */
const char *cfg_path(void);

/* cfg_print: the effective settings as key file lines, each after a
 * comment with its meaning, default and bounds. */
void cfg_print(FILE *fp);

#endif
