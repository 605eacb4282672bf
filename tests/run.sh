#!/bin/sh
# run.sh: the whole test run of "make check".
#
#   tests/run.sh TEST_BINARY...
#
# Starts a throwaway PostgreSQL and an SMTP sink (tests/smtp_sink.py, its
# port and directory in LB_TEST_SMTP_PORT and LB_TEST_SMTP_DIR) in a
# temporary directory, runs each Check test program against them, then sends every message of the MIME evaluation
# corpus (../shared/corpus, when present) through "listbridge deliver" and
# runs "listbridge eval mime".  Exits non-zero when anything failed.
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
corpus=${LB_CORPUS:-$top/../shared/corpus}
tmp=$(mktemp -d /tmp/listbridge-test.XXXXXX)
chmod 755 "$tmp"
failed=0
sink_pid=""

cleanup() {
	if [ -n "$sink_pid" ]; then
		kill "$sink_pid" 2>/dev/null
		wait "$sink_pid" 2>/dev/null
	fi
	sh "$top/tools/pg.sh" destroy "$tmp/pg" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

sh "$top/tools/pg.sh" start "$tmp/pg" >/dev/null || exit 1
export LB_TEST_PGHOST="$tmp/pg" LB_TEST_TOP="$top"
export LB_TEST_BIN="$top/listbridge"
export TMPDIR="$tmp"

# The SMTP sink: on port 0 it picks a free port and says "port=N" first.
mkdir "$tmp/smtp"
/usr/bin/python3 "$top/tests/smtp_sink.py" 0 "$tmp/smtp" \
	>"$tmp/smtp.out" 2>"$tmp/smtp.err" &
sink_pid=$!
n=0
until grep -q '^port=' "$tmp/smtp.out" 2>/dev/null; do
	n=$((n + 1))
	if [ "$n" -gt 100 ] || ! kill -0 "$sink_pid" 2>/dev/null; then
		echo "run.sh: smtp_sink.py did not start" >&2
		cat "$tmp/smtp.err" >&2
		exit 1
	fi
	sleep 0.1
done
LB_TEST_SMTP_PORT=$(sed -n 's/^port=//p' "$tmp/smtp.out")
export LB_TEST_SMTP_PORT LB_TEST_SMTP_DIR="$tmp/smtp"

# 1. The Check programs: unit tests, then integration tests.
for t in "$@"; do
	echo "== $t"
	"$top/$t" || failed=$((failed + 1))
done

# 2. Our own trim fixtures: every one must pass.
echo "== eval: listbridge eval trim tests/data/trim"
"$top/listbridge" eval trim "$top/tests/data/trim" --min 100 --verbose ||
	failed=$((failed + 1))

# 3. Every corpus message through the real hook: no crash, only the
#    documented exit codes.
eml="$corpus/mime/resources/eml"
if [ -d "$eml" ]; then
	echo "== corpus: every message of $eml through deliver"
	psql -q "host=$tmp/pg user=postgres dbname=postgres" \
		-c 'CREATE DATABASE lbt_corpus' >/dev/null
	cat >"$tmp/corpus.conf" <<CONF
[listbridge]
database = host=$tmp/pg user=postgres dbname=lbt_corpus
syslog_facility =
hook_allow_root = true
CONF
	export LISTBRIDGE_CONFIG="$tmp/corpus.conf"
	lb="$top/listbridge"
	"$lb" db migrate >/dev/null &&
		"$lb" group add corpus Corpus >/dev/null &&
		"$lb" list add corpus@lists.example.org --group corpus \
			--policy accept >/dev/null || failed=$((failed + 1))
	n=0 bad=0
	: >"$tmp/codes"
	for f in $(find "$eml" -name '*.eml' | sort); do
		n=$((n + 1))
		rc=0
		"$lb" deliver corpus@lists.example.org <"$f" \
			>/dev/null 2>>"$tmp/corpus.log" || rc=$?
		echo "$rc" >>"$tmp/codes"
		case $rc in
		0 | 65 | 67 | 75 | 77) ;;
		*)
			echo "   undocumented exit $rc: $f"
			bad=$((bad + 1))
			;;
		esac
	done
	stored=$(psql -tAq "host=$tmp/pg user=postgres dbname=lbt_corpus" \
		-c 'SELECT count(*) FROM gateway.message')
	codes=$(sort -n "$tmp/codes" | uniq -c |
		awk '{printf "%s%s x%s", sep, $2, $1; sep=", "}')
	echo "corpus mime: $n messages, $stored stored;" \
		"exit codes: $codes; undocumented: $bad"
	[ "$bad" -eq 0 ] || failed=$((failed + 1))
	unset LISTBRIDGE_CONFIG

	# 4. The evaluation: decoded headers and body text against the
	#    corpus's expected results.
	echo "== eval: listbridge eval mime $eml"
	"$lb" eval mime "$eml" --min 98 || failed=$((failed + 1))
else
	echo "== corpus: $eml not present, skipped"
fi

# 5. The trimmer against the reply-trimming corpus: at least 60 of 64.
trim="$corpus/reply-trimming"
if [ -d "$trim/test/emails" ]; then
	echo "== eval: listbridge eval trim $trim"
	"$top/listbridge" eval trim "$trim" --min 93.75 ||
		failed=$((failed + 1))
fi

echo
if [ "$failed" -eq 0 ]; then
	echo "check: all passed"
else
	echo "check: $failed part(s) failed"
fi
[ "$failed" -eq 0 ]
