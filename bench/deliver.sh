#!/bin/sh
# deliver.sh: the delivery benchmark of "make bench".
#
#   sh bench/deliver.sh          (after "make bench/run bench/floor")
#
# Starts a throwaway PostgreSQL with full durability (fsync on), generates
# BENCH_MESSAGES (default 1000) German list messages, and pipes each one
# through "listbridge deliver" in its own process, as an MTA's pipe
# transport would: first one at a time, then two at a time.  bench/floor,
# the least a delivery can do (parse with GMime, one INSERT transaction),
# runs over the same messages in the same way, the two taking turns in
# batches of BENCH_BATCH (100).  bench/run starts and times every process.
# Prints messages/s, p50 and p99 per run and the ratio deliver/floor (goal
# >= 0.90), and writes the same to bench/out/deliver-DATE.txt.
#
# The serial pair and the two-at-a-time pair each get a fresh database:
# after deliver it must hold exactly N posts, after the floor N rows.
# "hook cpu" is the CPU time of each process (wait4); "pg cpu" that of the
# PostgreSQL backends (the postmaster's cutime + cstime: Linux /proc).
# Exits 1 when a process failed or a count is wrong, 0 otherwise; a ratio
# below the goal is reported, not failed.  See bench/README.md.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
n=${BENCH_MESSAGES:-1000}
goal=0.90
lb=$top/listbridge
run=$top/bench/run
floor=$top/bench/floor
list=bench@lists.example.org

for f in "$lb" "$run" "$floor"; do
	[ -x "$f" ] || {
		echo "deliver.sh: $f is missing: run \"make bench\"" >&2
		exit 1
	}
done

# A temporary directory, removed on every way out.  The traps turn
# signals into an exit so that the EXIT trap runs; SIGPIPE included:
# "make bench | head" must not leave PostgreSQL running (LIBRARIES.md §9).
# The cleanup itself writes nothing, so it cannot be stopped by a pipe.
tmp=$(mktemp -d /tmp/listbridge-bench.XXXXXX)
chmod 755 "$tmp"
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	trap '' PIPE HUP INT TERM
	sh "$top/tools/pg.sh" destroy "$tmp/pg" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 141' PIPE
trap 'exit 143' TERM

# say: progress on stderr; the results go to stdout at the end.
say() {
	echo "bench: $*" >&2
}

# PostgreSQL with default durability: every COMMIT waits for its fsync.
say "starting PostgreSQL (fsync on) in $tmp/pg"
PG_FSYNC=on sh "$top/tools/pg.sh" start "$tmp/pg" >/dev/null
pg="host=$tmp/pg user=postgres"
fsync=$(psql -tAq "$pg dbname=postgres" -c 'SHOW fsync')
synccommit=$(psql -tAq "$pg dbname=postgres" -c 'SHOW synchronous_commit')
pgversion=$(psql -tAq "$pg dbname=postgres" -c 'SHOW server_version')

# The messages, and the members who write them.
say "generating $n messages"
mkdir "$tmp/msg"
LC_ALL=C awk -v n="$n" -v dir="$tmp/msg" -f "$top/bench/messages.awk" \
	>"$tmp/list"
head -n 20 "$tmp/list" >"$tmp/warm.list"
kb=$(cat "$tmp"/msg/*.eml | wc -c | awk -v n="$n" '{printf "%.1f", $1/n/1024}')

# setup DB: a database with the schema, the group, its list (accepting
# every sender), the members, and the floor's table; its configuration
# file is $tmp/DB.conf.
setup() {
	psql -q "$pg dbname=postgres" -c "CREATE DATABASE $1" >/dev/null
	cat >"$tmp/$1.conf" <<CONF
[listbridge]
database = $pg dbname=$1
syslog_facility =
hook_allow_root = true
CONF
	chmod 644 "$tmp/$1.conf"
	(
		export LISTBRIDGE_CONFIG="$tmp/$1.conf"
		"$lb" db migrate
		"$lb" group add bench Bench
		"$lb" list add "$list" --group bench --policy accept
		while IFS='|' read -r address name other; do
			if [ -n "$other" ]; then
				"$lb" member add "$address" "$name" \
					--address "$other" --group bench
			else
				"$lb" member add "$address" "$name" \
					--group bench
			fi
		done <"$tmp/msg/members"
	) >"$tmp/setup-$1.log" 2>&1 || {
		cat "$tmp/setup-$1.log" >&2
		exit 1
	}
	psql -q "$pg dbname=$1" -c 'CREATE TABLE bench_floor
		(id bigserial PRIMARY KEY, message_id text UNIQUE, raw bytea)'
}

# backend_ticks: the CPU clock ticks of the PostgreSQL backends that have
# ended (the postmaster's cutime + cstime).
backend_ticks() {
	awk '{ print $16 + $17 }' \
		"/proc/$(head -n 1 "$tmp/pg/data/postmaster.pid")/stat"
}

# measure NAME DB JOBS LIST COMMAND...: COMMAND over the files of LIST,
# JOBS at a time, after a checkpoint so that every batch starts alike.
# Appends run's summary line plus ticks= (the backends' CPU) to
# $tmp/NAME.res, the time of each process to $tmp/NAME.times, the
# commands' output to $tmp/NAME.log and run's complaints to $tmp/NAME.err.
measure() {
	name=$1 db=$2 jobs=$3 files=$4
	shift 4
	psql -q "$pg dbname=$db" -c CHECKPOINT
	t0=$(backend_ticks)
	LISTBRIDGE_CONFIG="$tmp/$db.conf" "$run" -j "$jobs" \
		-o "$tmp/$name.log" -t "$tmp/batch.times" "$files" "$@" \
		>"$tmp/batch.res" 2>>"$tmp/$name.err" || true
	t1=$(backend_ticks)
	echo "$(cat "$tmp/batch.res") ticks=$((t1 - t0))" >>"$tmp/$name.res"
	cat "$tmp/batch.times" >>"$tmp/$name.times" 2>/dev/null || true
	rm -f "$tmp/batch.res" "$tmp/batch.times"
}

# summarize NAME: the batches of NAME as one line in $tmp/NAME.sum:
# n, failed, rate (messages over the sum of the batches' wall time), p50
# and p99 over all processes, cpu and server (ms per message).
summarize() {
	sort -n "$tmp/$1.times" | awk -v res="$tmp/$1.res" \
		-v hz="$(getconf CLK_TCK)" '
	function rank(q,    r) {
		r = int(q * NR + 0.999999)
		return NR == 0 ? 0 : t[r < 1 ? 1 : r]
	}
	{ t[NR] = $1 }
	END {
		while ((getline line < res) > 0) {
			k = split(line, f, " ")
			for (i = 1; i <= k; i++) {
				split(f[i], kv, "=")
				v[kv[1]] = kv[2]
			}
			n += v["n"]
			failed += v["failed"]
			secs += v["seconds"]
			cpu += v["cpu"] * v["n"]
			ticks += v["ticks"]
		}
		printf "n=%d failed=%d rate=%.1f p50=%.2f p99=%.2f" \
		    " cpu=%.2f server=%.2f\n", n, failed,
		    (secs > 0 ? n / secs : 0), rank(0.50), rank(0.99),
		    (n > 0 ? cpu / n : 0), (n > 0 ? ticks * 1000 / hz / n : 0)
	}' >"$tmp/$1.sum"
}

# field NAME KEY: one value of NAME's summary.
field() {
	tr ' ' '\n' <"$tmp/$1.sum" | sed -n "s/^$2=//p"
}

# count DB TABLE: its rows.
count() {
	psql -tAq "$pg dbname=$1" -c "SELECT count(*) FROM $2"
}

say "setting up the databases"
for db in bench_warm bench_serial bench_two; do
	setup "$db"
done

# A warm-up in a database of its own: the binaries, the libraries and
# PostgreSQL's files are in the page cache before anything is timed.
say "warming up (20 messages each)"
measure warm-deliver bench_warm 1 "$tmp/warm.list" "$lb" deliver "$list"
measure warm-floor bench_warm 1 "$tmp/warm.list" "$floor" \
	"$pg dbname=bench_warm"

# The four runs over the same messages: deliver and the floor one at a
# time in one fresh database, then two at a time in another.  They take
# turns in batches of BENCH_BATCH messages, who goes first alternating,
# so that a machine whose speed drifts (shared virtual CPUs) slows both
# alike.
split -l "${BENCH_BATCH:-100}" "$tmp/list" "$tmp/part."
for mode in serial two; do
	jobs=1
	[ "$mode" = two ] && jobs=2
	say "deliver and floor, $jobs at a time, in batches" \
		"of ${BENCH_BATCH:-100}"
	k=0
	for part in "$tmp"/part.*; do
		if [ $((k % 2)) -eq 1 ]; then
			measure "floor-$mode" "bench_$mode" "$jobs" "$part" \
				"$floor" "$pg dbname=bench_$mode"
		fi
		measure "deliver-$mode" "bench_$mode" "$jobs" "$part" \
			"$lb" deliver "$list"
		if [ $((k % 2)) -eq 0 ]; then
			measure "floor-$mode" "bench_$mode" "$jobs" "$part" \
				"$floor" "$pg dbname=bench_$mode"
		fi
		k=$((k + 1))
	done
	summarize "deliver-$mode"
	summarize "floor-$mode"
done
posts_serial=$(count bench_serial portal.post)
rows_serial=$(count bench_serial bench_floor)
posts_two=$(count bench_two portal.post)
rows_two=$(count bench_two bench_floor)

# The report: the table, the counts, every failure.
failed=0
report=$tmp/report
{
	echo "bench deliver: $n messages, fsync $fsync," \
		"$(nproc) cores"
	echo "(PostgreSQL ${pgversion%% *}, synchronous_commit $synccommit," \
		"messages of ${kb} KB on average,"
	echo " $(date '+%Y-%m-%d %H:%M'), $(uname -sr))"
	printf '%-18s %8s %8s %8s %8s %8s %7s\n' "" msgs/s "p50 ms" \
		"p99 ms" "hook cpu" "pg cpu" failed
	for r in deliver-serial floor-serial deliver-two floor-two; do
		case $r in
		*-serial) how=serial ;;
		*) how="2 at once" ;;
		esac
		printf '%-8s %-9s %8s %8s %8s %8s %8s %7s\n' "${r%%-*}" \
			"$how" "$(field "$r" rate)" "$(field "$r" p50)" \
			"$(field "$r" p99)" "$(field "$r" cpu)" \
			"$(field "$r" server)" "$(field "$r" failed)"
	done
	awk -v ds="$(field deliver-serial rate)" \
		-v fs="$(field floor-serial rate)" \
		-v dt="$(field deliver-two rate)" \
		-v ft="$(field floor-two rate)" -v goal="$goal" 'BEGIN {
		rs = fs > 0 ? ds / fs : 0
		rt = ft > 0 ? dt / ft : 0
		met = (rs >= goal && rt >= goal) ? "met" : "NOT met"
		printf "ratio deliver/floor: serial %.2f, 2 at once %.2f" \
		    "  (goal >= %.2f: %s)\n", rs, rt, goal, met
	}'
	echo "hook cpu / pg cpu: CPU ms per message of the hook's process" \
		"/ of its backend"
	echo "posts after deliver: serial $posts_serial," \
		"2 at once $posts_two (want $n)"
	echo "rows after floor:    serial $rows_serial," \
		"2 at once $rows_two (want $n)"
	for r in deliver-serial floor-serial deliver-two floor-two; do
		if [ -s "$tmp/$r.err" ]; then
			echo "failures of $r:"
			head -n 20 "$tmp/$r.err" | sed 's/^/  /'
			grep -i -e 'exit=' -e 'error' "$tmp/$r.log" |
				head -n 10 | sed 's/^/  log: /' || true
		fi
	done
} >"$report"

# Success means every process exited 0 and every run stored N rows.
for r in deliver-serial floor-serial deliver-two floor-two; do
	[ "$(field "$r" failed)" = 0 ] && [ "$(field "$r" n)" = "$n" ] ||
		failed=1
done
for c in "$posts_serial" "$posts_two" "$rows_serial" "$rows_two"; do
	[ "$c" = "$n" ] || failed=1
done
[ "$failed" -eq 0 ] || echo "bench: FAILED: see the failures above" \
	>>"$report"

mkdir -p "$top/bench/out"
out=$top/bench/out/deliver-$(date +%Y-%m-%d-%H%M%S).txt
cp "$report" "$out"
cat "$report"
echo "(written to ${out#"$top"/})"
exit "$failed"
