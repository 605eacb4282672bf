#!/bin/sh
# demo.sh: listbridge end to end on this machine, in ./var.
#
# Starts a throwaway PostgreSQL under ./var (unix socket only), applies the
# migrations, creates the group "vorstand" with its list address and a few
# members, pipes the messages of tests/data/inbound through
# "listbridge deliver" as an MTA's pipe transport would (envelope in argv,
# message on stdin, as an unprivileged user), and prints the group.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
var=$top/var
lb=$top/listbridge
list=vorstand@lists.example.org

# A fresh cluster each time: the demo is throwaway.
sh "$top/tools/pg.sh" destroy "$var/pg"
mkdir -p "$var"
chmod 755 "$var"

# The server runs as "postgres", which cannot enter a checkout under a
# private home (/root is 0700): then ./var/pg links to a directory in /tmp.
if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$var"; then
	ln -s "$(mktemp -d /tmp/listbridge-demo-pg.XXXXXX)" "$var/pg"
	echo "(note: postgres cannot enter $top; ./var/pg links to" \
		"$(cd "$var/pg" && pwd -P))"
fi
sh "$top/tools/pg.sh" start "$var/pg" >/dev/null
trap 'sh "$top/tools/pg.sh" stop "$var/pg"' EXIT
pghost=$(cd "$var/pg" && pwd -P)
psql -q "host=$pghost user=postgres dbname=postgres" \
	-c 'CREATE DATABASE listbridge' >/dev/null

# The hook runs as "nobody", as Postfix's pipe(8) would run it, when that
# user can reach the binary; otherwise as root, which the demo allows.
hook_user=""
allow_root=false
if [ "$(id -u)" = 0 ]; then
	if setpriv --reuid=nobody --regid=nogroup --clear-groups \
		test -x "$lb" -a -r "$top/tests/data" -a -r "$pghost" \
		2>/dev/null; then
		hook_user=nobody
	else
		allow_root=true
		echo "(note: $top is not readable by nobody;" \
			"the demo runs the hook as root)"
	fi
fi
cat >"$var/listbridge.conf" <<CONF
[listbridge]
database = host=$pghost user=postgres dbname=listbridge
syslog_facility =
hook_allow_root = $allow_root
CONF
chmod 644 "$var/listbridge.conf"
export LISTBRIDGE_CONFIG="$var/listbridge.conf"

hook() {
	if [ -n "$hook_user" ]; then
		setpriv --reuid=nobody --regid=nogroup --clear-groups \
			--reset-env env LISTBRIDGE_CONFIG="$LISTBRIDGE_CONFIG" \
			"$lb" deliver "$@"
	else
		"$lb" deliver "$@"
	fi
}

echo "== set up"
"$lb" db migrate
"$lb" group add vorstand "Vorstand"
"$lb" list add "$list" --group vorstand --tag Vorstand
"$lb" member add juergen.mueller@example.org "Jürgen Müller" --group vorstand
"$lb" member add aenne@example.net "Änne Schäfer" \
	--address aenne.schaefer@example.com --group vorstand --role moderator
"$lb" member add t.weiss@example.org "Thomas Weiß" --group vorstand
"$lb" member add sarah@example.com "Sarah Connor-Becker" --group vorstand \
	--locale en --delivery daily

echo
echo "== delivering tests/data/inbound/*.eml to $list"
for f in "$top"/tests/data/inbound/*.eml; do
	sender=$(sed -n 's/^From:.*<\([^>]*\)>.*/\1/p' "$f" | head -n 1)
	rc=0
	hook -f "${sender:-}" "$list" <"$f" 2>"$var/hook.err" >/dev/null ||
		rc=$?
	printf '%-34s exit=%s  %s\n' "$(basename "$f")" "$rc" \
		"$(sed -n 's/.*verdict=\([a-z_]*\).*/verdict=\1/p' \
			"$var/hook.err" | tail -n 1)"
done

echo
echo "== the first message once more (an MTA retrying): stored once"
f=$(ls "$top"/tests/data/inbound/*.eml | head -n 1)
hook "$list" <"$f" 2>&1 >/dev/null | sed 's/^/   /'
echo
echo "== a message to an address that is no list"
rc=0
hook nobody@lists.example.org <"$f" >/dev/null 2>&1 || rc=$?
echo "   exit=$rc (67: no such list, the MTA bounces it)"

echo
echo "== listbridge show group vorstand"
"$lb" show group vorstand --lines 14
