/*
 * extract: how long extracting a post takes, in one process: parse the
 * message (GMime), decode its text, trim quotes and signature.
 *
 *   bench/extract [ROUNDS]
 *
 * Builds two messages in memory: a 50 KB reply (an answer on top of a
 * long German thread quoted with ">" and an Outlook header block) and a
 * 1 MB body of quoted history, then times msg_parse() + trim_text() on
 * each ROUNDS times (default 200 and 20) and prints the median, the
 * largest time and the first (which includes compiling the patterns for
 * PCRE2's JIT, paid once per process).  Goals: 50 KB under 1 ms median, 1 MB
 * under 50 ms.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../gateway/config.h"
#include "../gateway/message.h"
#include "../gateway/trim.h"

static GString *make_message(gsize body_size);
static int cmp_time(const void *a, const void *b);
static void measure(const char *label, GString *msg, int rounds,
		    double goal_ms);

/* make_message: a reply with quoted history until body_size bytes. */
static GString *
make_message(gsize body_size)
{
	GString *m = g_string_new(NULL);
	int n = 0;

	g_string_append(m,
			"From: =?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?= "
			"<juergen@example.org>\n"
			"To: vorstand@lists.example.org\n"
			"Subject: =?UTF-8?Q?AW:_Haushaltsplan_2027_=E2=80=93_"
			"R=C3=BCckfragen?=\n"
			"Message-ID: <bench-extract@example.org>\n"
			"MIME-Version: 1.0\n"
			"Content-Type: text/plain; charset=UTF-8\n"
			"Content-Transfer-Encoding: 8bit\n\n"
			"Hallo Thomas,\n\ndanke für die Zahlen. Zwei Fragen "
			"zu den Rücklagen habe ich noch, siehe unten.\n\n"
			"Viele Grüße\nJürgen\n\n"
			"Von: Thomas Weiß <t.weiss@example.org>\n"
			"Gesendet: Mittwoch, 2. Dezember 2026 10:15\n"
			"An: vorstand@lists.example.org\n"
			"Betreff: Haushaltsplan 2027\n\n");
	while (m->len < body_size) {
		g_string_append_printf(
		    m,
		    "> Am %d.11.2026 um 1%d:%02d schrieb Änne Schäfer "
		    "<aenne@example.net>:\n"
		    ">> Posten %d: Die Ausgaben für Medienkäufe steigen um "
		    "3 %%, die Einnahmen aus Beiträgen bleiben gleich.\n"
		    ">> Bitte prüft, ob die Rücklage für das Sommerfest "
		    "reicht – sonst müssen wir umschichten.\n>\n",
		    n % 28 + 1, n % 10, n % 60, n);
		n++;
	}
	return m;
}

static int
cmp_time(const void *a, const void *b)
{
	gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;

	return (x > y) - (x < y);
}

static void
measure(const char *label, GString *msg, int rounds, double goal_ms)
{
	gint64 *t = g_new(gint64, rounds), first;
	int i;

	for (i = 0; i < rounds; i++) {
		struct trim_result r;
		struct msg *m;
		gint64 t0 = g_get_monotonic_time();

		m = msg_parse(msg->str, msg->len, NULL);
		trim_text(m->text, &r);
		t[i] = g_get_monotonic_time() - t0;
		trim_result_clear(&r);
		msg_free(m);
	}
	first = t[0];
	qsort(t, (size_t)rounds, sizeof(*t), cmp_time);
	printf("%-6s %8zu bytes  median %6.3f ms  max %6.3f ms  first %6.3f ms"
	       "  goal < %g ms  %s\n",
	       label, msg->len, t[rounds / 2] / 1000.0, t[rounds - 1] / 1000.0,
	       first / 1000.0, goal_ms,
	       t[rounds / 2] / 1000.0 < goal_ms ? "met" : "NOT met");
	g_free(t);
}

int
main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 200;
	GString *small, *large;

	if (rounds < 1)
		rounds = 1;
	cfg_load("/dev/null", NULL);
	msg_init();
	if (trim_load(NULL, NULL) < 0)
		return 1;
	small = make_message(50 * 1024);
	large = make_message(1024 * 1024);
	printf("bench extract: parse + decode + trim, in one process\n");
	measure("50 KB", small, rounds, 1.0);
	measure("1 MB", large, rounds / 10 > 0 ? rounds / 10 : 1, 50.0);
	g_string_free(small, TRUE);
	g_string_free(large, TRUE);
	return 0;
}
