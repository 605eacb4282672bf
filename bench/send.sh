#!/bin/sh
# send.sh: the outbox benchmark of "make bench".
#
#   sh bench/send.sh          (after "make all bench/run")
#
# One post to a list of BENCH_SEND_MEMBERS (10000) members: the fan-out
# trigger queues one outbox row per member, and BENCH_SEND_WORKERS (4)
# "listbridge send --once" workers, started at once, send them all to
# Postfix's smtp-sink on loopback.  Measures the wall time from the start
# of the workers to the exit of the last one, and compares the rate with
# the ceiling: Postfix's smtp-source sending as many mails of the same
# bytes over as many kept connections to the same sink.  Prints
# messages/s and the ratio listbridge/ceiling (goals: >= 2000/s and
# >= 0.25), and writes the same to bench/out/send-DATE.txt.
#
# PostgreSQL runs with full durability (fsync on), as in deliver.sh.  The
# members are inserted with one SQL statement (generate_series), not with
# "member add": 10,000 processes would take minutes.  The size of a
# notification is measured on one real one: one extra member's row is
# sent first, alone, to tests/smtp_sink.py, which keeps what it gets; its
# bytes are then what smtp-source sends for the ceiling.
#
# Needs root to install the postfix package (for smtp-sink and
# smtp-source; postfix itself is never started) and to run PostgreSQL as
# "postgres".  Exits 1 when a worker failed or a count is wrong, 0
# otherwise; a goal not met is reported, not failed.  See bench/README.md.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
n=${BENCH_SEND_MEMBERS:-10000}
workers=${BENCH_SEND_WORKERS:-4}
batch=${BENCH_SEND_BATCH:-100}
goal_rate=2000
goal_ratio=0.25
lb=$top/listbridge
run=$top/bench/run
list=bench@lists.example.org
probe=probe@probe.example.org

for f in "$lb" "$run"; do
	[ -x "$f" ] || {
		echo "send.sh: $f is missing: run \"make bench\"" >&2
		exit 1
	}
done

# say: progress on stderr; the results go to stdout at the end.
say() {
	echo "bench: $*" >&2
}

# Postfix's test tools, from the postfix package installed without any
# configuration (nothing is started: policy-rc.d, and no main.cf).
if [ ! -x /usr/sbin/smtp-sink ] || [ ! -x /usr/sbin/smtp-source ]; then
	[ "$(id -u)" = 0 ] || {
		echo "send.sh: smtp-sink is missing; as root this script" \
			"installs the postfix package" >&2
		exit 1
	}
	say "installing postfix (for smtp-sink and smtp-source)"
	echo "postfix postfix/main_mailer_type select No configuration" |
		debconf-set-selections
	DEBIAN_FRONTEND=noninteractive apt-get install -y \
		--no-install-recommends postfix >/dev/null
fi

# A temporary directory, removed on every way out, with the processes
# started here (by their pids).  The traps turn signals into an exit so
# that the EXIT trap runs; SIGPIPE included: "make bench | head" must not
# leave PostgreSQL or a sink running (LIBRARIES.md §9).  The cleanup
# writes nothing, so it cannot be stopped by a pipe.
tmp=$(mktemp -d /tmp/listbridge-send.XXXXXX)
chmod 755 "$tmp"
sink_pid=
probe_pid=
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	trap '' PIPE HUP INT TERM
	for p in $sink_pid $probe_pid; do
		kill "$p" 2>/dev/null || true
	done
	sh "$top/tools/pg.sh" destroy "$tmp/pg" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 141' PIPE
trap 'exit 143' TERM

# PostgreSQL with default durability: every COMMIT waits for its fsync.
say "starting PostgreSQL (fsync on) in $tmp/pg"
PG_FSYNC=on sh "$top/tools/pg.sh" start "$tmp/pg" >/dev/null
pg="host=$tmp/pg user=postgres"
fsync=$(psql -tAq "$pg dbname=postgres" -c 'SHOW fsync')
synccommit=$(psql -tAq "$pg dbname=postgres" -c 'SHOW synchronous_commit')
pgversion=$(psql -tAq "$pg dbname=postgres" -c 'SHOW server_version')
psql -q "$pg dbname=postgres" -c 'CREATE DATABASE bench_send' >/dev/null
sql() {
	psql -X -v ON_ERROR_STOP=1 -tAq "$pg dbname=bench_send" -c "$1"
}

# listening PORT: whether something listens on IPv4 port PORT (Linux).
listening() {
	awk -v port=":$(printf '%04X' "$1")" '
		substr($2, length($2) - 4) == port && $4 == "0A" { found = 1 }
		END { exit !found }' /proc/net/tcp
}

# The sink: Postfix's smtp-sink on a free loopback port, accepting every
# mail and throwing it away; -c keeps a count of sessions and messages.
# As root it must drop to another user (-u).
asuser=
[ "$(id -u)" = 0 ] && asuser="-u postfix"
port=
for try in 1 2 3 4 5 6 7 8 9 10; do
	p=$((20000 + ($$ * 7 + try * 997) % 30000))
	listening "$p" && continue
	# shellcheck disable=SC2086 # $asuser is two words or none
	/usr/sbin/smtp-sink -c $asuser "127.0.0.1:$p" 1000 \
		>"$tmp/sink.out" 2>"$tmp/sink.err" &
	sink_pid=$!
	k=0
	while [ "$k" -lt 50 ] && kill -0 "$sink_pid" 2>/dev/null &&
		! listening "$p"; do
		sleep 0.1
		k=$((k + 1))
	done
	if kill -0 "$sink_pid" 2>/dev/null && listening "$p"; then
		port=$p
		break
	fi
	kill "$sink_pid" 2>/dev/null || true
	sink_pid=
done
[ -n "$port" ] || {
	echo "send.sh: smtp-sink did not start" >&2
	cat "$tmp/sink.err" >&2
	exit 1
}
say "smtp-sink listens on 127.0.0.1:$port"

# sink_count: the messages the sink has taken so far (its -c counter).
sink_count() {
	tr '\r' '\n' <"$tmp/sink.out" | sed -n 's/.*mesg=//p' | tail -n 1 |
		grep . || echo 0
}

# The probe: tests/smtp_sink.py keeps what it gets; one mail is sent to
# it alone, to learn a notification's size and bytes.
mkdir "$tmp/probe"
/usr/bin/python3 "$top/tests/smtp_sink.py" 0 "$tmp/probe" \
	>"$tmp/probe.out" 2>"$tmp/probe.err" &
probe_pid=$!
k=0
until grep -q '^port=' "$tmp/probe.out" 2>/dev/null; do
	k=$((k + 1))
	if [ "$k" -gt 100 ] || ! kill -0 "$probe_pid" 2>/dev/null; then
		echo "send.sh: smtp_sink.py did not start" >&2
		cat "$tmp/probe.err" >&2
		exit 1
	fi
	sleep 0.1
done
probe_port=$(sed -n 's/^port=//p' "$tmp/probe.out")

# The configuration: one for the benchmark's sink, one for the probe.
# An empty template directory: the built-in templates, whatever /etc holds.
mkdir "$tmp/templates"
for which in bench probe; do
	p=$port
	[ "$which" = probe ] && p=$probe_port
	cat >"$tmp/$which.conf" <<CONF
[listbridge]
database = $pg dbname=bench_send
syslog_facility =
hook_allow_root = true
token_key_file = $tmp/keys
template_dir = $tmp/templates
smtp_relay_host = 127.0.0.1
smtp_relay_port = $p
smtp_helo_name = bench.lists.example.org
outbox_batch = $batch
CONF
	chmod 644 "$tmp/$which.conf"
done

# The message: German list mail of about 3 KB from bench/messages.awk
# (its first one, not a reply); its sender is the author.
mkdir "$tmp/msg"
LC_ALL=C awk -v n=1 -v dir="$tmp/msg" -f "$top/bench/messages.awk" \
	>/dev/null
mail=$tmp/msg/0001.eml
from=$(sed -n 's/^From:.*<\([^>]*\)>.*/\1/p' "$mail" | head -n 1)
author=$(grep "^$from|" "$tmp/msg/members" | cut -d '|' -f 2)
msgkb=$(wc -c <"$mail" | awk '{printf "%.1f", $1 / 1024}')

# The list: the schema, keys, group, list, the author, N members in one
# statement (member, primary address, membership with delivery each),
# and the probe member.
say "setting up a list with $n members"
(
	export LISTBRIDGE_CONFIG="$tmp/bench.conf"
	"$lb" db migrate
	"$lb" keygen
	"$lb" group add bench Bench
	"$lb" list add "$list" --group bench --tag Bench --policy accept
	"$lb" member add "$from" "$author" --group bench
) >"$tmp/setup.log" 2>&1 || {
	cat "$tmp/setup.log" >&2
	exit 1
}
sql "WITH m AS (INSERT INTO portal.member (name)
	SELECT format('Leserin %s Müller-Weiß', i)
	FROM generate_series(1, $n) AS i RETURNING id),
a AS (INSERT INTO portal.member_address (member_id, address, is_primary)
	SELECT id, format('leser%s@members.example.org', id), true FROM m)
INSERT INTO portal.membership (group_id, member_id, delivery, locale)
	SELECT g.id, m.id, 'each', 'de' FROM m, portal.\"group\" g
	WHERE g.slug = 'bench'" >/dev/null
LISTBRIDGE_CONFIG="$tmp/bench.conf" "$lb" member add "$probe" \
	"Änne Probe" --group bench >>"$tmp/setup.log" 2>&1

# The post: one delivery; the fan-out queues one row per member.
say "delivering the post"
LISTBRIDGE_CONFIG="$tmp/bench.conf" "$lb" deliver -f "$from" "$list" \
	<"$mail" >>"$tmp/setup.log" 2>&1 || {
	cat "$tmp/setup.log" >&2
	exit 1
}
queued=$(sql "SELECT count(*) FROM gateway.outbox
	WHERE kind = 'post' AND state = 'queued'")
[ "$queued" = $((n + 1)) ] || {
	echo "send.sh: the fan-out queued $queued rows, not $((n + 1))" >&2
	exit 1
}

# The probe's row goes alone (the others wait a day), to the probe sink.
# This also warms up the binary and PostgreSQL's pages.
say "rendering one notification to measure it"
sql "UPDATE gateway.outbox SET next_attempt_at = now() + interval '1 day'
	WHERE recipient <> '$probe'" >/dev/null
LISTBRIDGE_CONFIG="$tmp/probe.conf" "$lb" send --once \
	>"$tmp/probe.log" 2>&1 || {
	cat "$tmp/probe.log" >&2
	exit 1
}
kill "$probe_pid" 2>/dev/null || true
probe_pid=
eml=
for f in "$tmp"/probe/*.eml; do
	[ -s "$f" ] && eml=$f && break
done
if [ -z "$eml" ]; then
	echo "send.sh: the probe got no mail" >&2
	cat "$tmp/probe.log" >&2
	exit 1
fi
size=$(wc -c <"$eml" | tr -d ' ')
# For smtp-source -F: LF line ends (it sends each line with CRLF, so the
# bytes on the wire are the same).
tr -d '\r' <"$eml" >"$tmp/notification.eml"
sql "UPDATE gateway.outbox SET next_attempt_at = now()
	WHERE state = 'queued'" >/dev/null
queued=$(sql "SELECT count(*) FROM gateway.outbox
	WHERE kind = 'post' AND state = 'queued'")
[ "$queued" = "$n" ] || {
	echo "send.sh: $queued rows queued, not $n" >&2
	exit 1
}

# backend_ticks: the CPU clock ticks of the PostgreSQL backends that have
# ended (the postmaster's cutime + cstime).
backend_ticks() {
	awk '{ print $16 + $17 }' \
		"/proc/$(head -n 1 "$tmp/pg/data/postmaster.pid")/stat"
}
# sink_ticks: the CPU clock ticks of the sink so far.
sink_ticks() {
	awk '{ print $14 + $15 }' "/proc/$sink_pid/stat"
}
hz=$(getconf CLK_TCK)

# field LINE KEY: one value of a summary line of bench/run.
field() {
	echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# The workers: all started at once by bench/run (one "file" each), timed
# from the first start to the last exit.
i=0
: >"$tmp/workers.list"
while [ "$i" -lt "$workers" ]; do
	echo /dev/null >>"$tmp/workers.list"
	i=$((i + 1))
done
# commits: the transactions committed in the database so far.
commits() {
	sql "SELECT xact_commit FROM pg_stat_database
		WHERE datname = current_database()"
}
# wal_flushes: the WAL fsyncs since the last reset (pg_stat_wal: 14+).
wal_flushes() {
	sql "SELECT wal_sync FROM pg_stat_wal" 2>/dev/null || echo 0
}
sql CHECKPOINT >/dev/null
sql "SELECT pg_stat_reset_shared('wal')" >/dev/null 2>&1 || true
say "sending $n mails with $workers workers"
x0=$(commits)
f0=$(wal_flushes)
b0=$(backend_ticks)
s0=$(sink_ticks)
m0=$(sink_count)
lbres=$(LISTBRIDGE_CONFIG="$tmp/bench.conf" "$run" -j "$workers" \
	-o "$tmp/workers.log" "$tmp/workers.list" "$lb" send --once \
	2>"$tmp/workers.err") || true
b1=$(backend_ticks)
s1=$(sink_ticks)
m1=$(sink_count)
# The statistics collector gets a backend's counts when it ends: a
# moment for the last worker's.
sleep 1
x1=$(commits)
f1=$(wal_flushes)
lb_secs=$(field "$lbres" seconds)
lb_failed=$(field "$lbres" failed)
lb_cpu=$(field "$lbres" cpu)
sent=$(sql "SELECT count(*) FROM gateway.outbox
	WHERE kind = 'post' AND state = 'sent' AND recipient <> '$probe'")
states=$(sql "SELECT string_agg(state || '=' || c, ' ' ORDER BY state)
	FROM (SELECT state, count(*) AS c FROM gateway.outbox
	WHERE recipient <> '$probe' GROUP BY state) s")
attempts=$(sql "SELECT max(attempts) FROM gateway.outbox
	WHERE recipient <> '$probe'")
lb_sink=$((m1 - m0))

# The ceiling: smtp-source sends the same bytes n times over as many
# kept connections (-d), to the same sink.  No pipelining, like
# libetpan.  For comparison, also with a new connection per mail.
echo /dev/null >"$tmp/one.list"
# ceiling NAME [OPTION...]: smtp-source over the sink; its summary (and
# the sink's count and CPU) in $tmp/NAME.
ceiling() {
	name=$1
	shift
	c0=$(sink_count)
	t0=$(sink_ticks)
	"$run" -o "$tmp/$name.log" "$tmp/one.list" /usr/sbin/smtp-source \
		"$@" -s "$workers" -m "$n" -F "$tmp/notification.eml" \
		-f bounces@lists.example.org -t reader@members.example.org \
		"127.0.0.1:$port" >"$tmp/$name" 2>"$tmp/$name.err" || true
	echo "sink=$(($(sink_count) - c0)) sinkticks=$(($(sink_ticks) - t0))" \
		>>"$tmp/$name"
}
# The kept connections take about a second: three runs, the median
# counts.
say "ceiling: smtp-source, $workers kept connections, 3 runs"
for k in 1 2 3; do
	ceiling "kept$k" -d
done
say "ceiling: smtp-source, $workers sessions, a connection per mail"
ceiling fresh
kept=$(for k in 1 2 3; do
	tr '\n' ' ' <"$tmp/kept$k"
	echo
done | awk '{ for (i = 1; i <= NF; i++)
		if ($i ~ /^seconds=/) print substr($i, 9), $0 }' |
	sort -n | sed -n '2s/^[^ ]* //p')
kept_sink=$(cat "$tmp"/kept[123] | sed -n 's/^sink=\([0-9]*\).*/\1/p' |
	paste -s -d ',' - | sed 's/,/, /g')
fresh=$(tr '\n' ' ' <"$tmp/fresh")

# The report.  CPU times are per mail: of the client (the workers, or
# smtp-source), of the PostgreSQL backends, and of the sink.
report=$tmp/report
{
	echo "bench send: $n notifications, $workers workers" \
		"(send --once, outbox_batch $batch), fsync $fsync," \
		"$(nproc) cores"
	echo "(PostgreSQL ${pgversion%% *}, synchronous_commit $synccommit," \
		"a post of $msgkb KB, notifications of $size bytes,"
	echo " relay: Postfix smtp-sink on loopback," \
		"$(date '+%Y-%m-%d %H:%M'), $(uname -sr))"
	printf '%-37s %7s %7s  %s\n' "" seconds msgs/s "cpu ms per mail"
	printf '%-37s %7s %7s %6s %5s %5s\n' "" "" "" client pg sink
	awk -v n="$n" -v w="$workers" -v hz="$hz" \
	    -v s="$lb_secs" -v cpu="$lb_cpu" -v pg="$((b1 - b0))" \
	    -v sk="$((s1 - s0))" \
	    -v ks="$(field "$kept" seconds)" -v kc="$(field "$kept" cpu)" \
	    -v kt="$(field "$kept" sinkticks)" \
	    -v fs="$(field "$fresh" seconds)" -v fc="$(field "$fresh" cpu)" \
	    -v ft="$(field "$fresh" sinkticks)" \
	    -v commits="$((x1 - x0))" -v flushes="$((f1 - f0))" \
	    -v gr="$goal_rate" -v gq="$goal_ratio" 'BEGIN {
		lr = s > 0 ? n / s : 0
		kr = ks > 0 ? n / ks : 0
		fr = fs > 0 ? n / fs : 0
		row = "%-37s %7.2f %7.0f %6.3f %5s %5s\n"
		printf row, "listbridge send, " w " workers", s, lr,
		    w * cpu / n, sprintf("%.3f", pg * 1000 / hz / n),
		    sprintf("%.3f", sk * 1000 / hz / n)
		printf row, "ceiling: smtp-source, " w " kept conns *", ks,
		    kr, kc / n, "-", sprintf("%.3f", kt * 1000 / hz / n)
		printf row, "(smtp-source, a connection per mail)", fs, fr,
		    fc / n, "-", sprintf("%.3f", ft * 1000 / hz / n)
		print "* the median of 3 runs"
		q = kr > 0 ? lr / kr : 0
		printf "listbridge: %.0f messages/s (goal >= %d: %s)\n", lr,
		    gr, (lr >= gr ? "met" : "NOT met")
		printf "ratio listbridge/ceiling: %.3f (goal >= %.2f: %s)\n",
		    q, gq, (q >= gq ? "met" : "NOT met")
		printf "per mail in PostgreSQL: %.2f commits, %.2f WAL" \
		    " flushes\n", commits / n, flushes / n
	}'
	echo "outbox after the run: $states (want sent=$n)," \
		"most attempts $attempts; the sink took $lb_sink"
	echo "from smtp-source the sink took $kept_sink (kept) and" \
		"$(field "$fresh" sink) (a connection per mail), want $n each"
	if [ -s "$tmp/workers.err" ]; then
		echo "failures of the workers:"
		head -n 20 "$tmp/workers.err" | sed 's/^/  /'
		grep -v 'status=sent' "$tmp/workers.log" | head -n 10 |
			sed 's/^/  log: /' || true
	fi
	for c in kept1 kept2 kept3 fresh; do
		if [ -s "$tmp/$c.err" ]; then
			echo "failures of smtp-source ($c):"
			head -n 10 "$tmp/$c.err" | sed 's/^/  /'
		fi
	done
} >"$report"

# Success: every worker exited 0, every row was sent, and the sink got
# every mail (listbridge's and each ceiling's).
failed=0
[ "$lb_failed" = 0 ] && [ "$sent" = "$n" ] && [ "$lb_sink" = "$n" ] ||
	failed=1
for c in kept1 kept2 kept3 fresh; do
	[ "$(sed -n 's/^sink=\([0-9]*\).*/\1/p' "$tmp/$c")" = "$n" ] ||
		failed=1
done
[ "$failed" -eq 0 ] || echo "bench: FAILED: see above" >>"$report"

mkdir -p "$top/bench/out"
out=$top/bench/out/send-$(date +%Y-%m-%d-%H%M%S).txt
cp "$report" "$out"
cat "$report"
echo "(written to ${out#"$top"/})"
exit "$failed"
