#!/bin/sh
# pg.sh: a throwaway PostgreSQL cluster in a directory, unix socket only.
#
#   pg.sh start DIR   create (first time) and start; prints the conninfo
#   pg.sh stop DIR    stop it immediately (the data stays)
#   pg.sh destroy DIR stop it and remove DIR
#
# Runs the server binaries directly (no pg_ctlcluster, nothing in /etc).
# As root, the server runs as the "postgres" user.  PG_FSYNC=on keeps full
# durability (benchmarks); the default turns it off (tests, demo).
set -eu

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || {
	echo "usage: pg.sh start|stop|destroy DIR" >&2
	exit 64
}

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$bindir/initdb" ] || {
	echo "pg.sh: PostgreSQL server binaries not found" >&2
	exit 69
}

# As root, run everything as postgres; otherwise as ourselves.
asuser() {
	if [ "$(id -u)" = 0 ]; then
		(cd / && runuser -u postgres -- "$@")
	else
		"$@"
	fi
}

case "$cmd" in
start)
	mkdir -p "$dir"
	# The physical path: the server cannot follow a link through a
	# directory it may not enter.
	dir=$(cd "$dir" && pwd -P)
	chmod 755 "$dir"
	if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$dir"; then
		echo "pg.sh: the postgres user cannot enter $dir" \
			"(a parent directory is not searchable)" >&2
		exit 1
	fi
	[ "$(id -u)" = 0 ] && chown postgres "$dir"
	if [ ! -f "$dir/data/PG_VERSION" ]; then
		asuser "$bindir/initdb" -D "$dir/data" -U postgres -A trust \
			-E UTF8 --locale=C --no-sync --no-instructions \
			>"$dir/initdb.log" 2>&1 || {
			cat "$dir/initdb.log" >&2
			exit 1
		}
	fi
	if [ "${PG_FSYNC:-off}" = on ]; then
		opts="-c fsync=on -c synchronous_commit=on"
	else
		opts="-c fsync=off -c synchronous_commit=off"
		opts="$opts -c full_page_writes=off"
	fi
	asuser "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
		-o "-c listen_addresses='' -c unix_socket_directories=$dir $opts" \
		start >/dev/null || {
		cat "$dir/server.log" >&2
		exit 1
	}
	echo "host=$dir user=postgres dbname=postgres"
	;;
stop)
	# The physical path: the server's user may not pass a link's home.
	[ -d "$dir" ] && dir=$(cd "$dir" && pwd -P)
	[ -f "$dir/data/postmaster.pid" ] &&
		asuser "$bindir/pg_ctl" -D "$dir/data" -m immediate stop \
			>/dev/null 2>&1
	true
	;;
destroy)
	link=""
	if [ -L "$dir" ]; then
		link=$dir
	fi
	[ -d "$dir" ] && dir=$(cd "$dir" && pwd -P)
	[ -f "$dir/data/postmaster.pid" ] &&
		asuser "$bindir/pg_ctl" -D "$dir/data" -m immediate stop \
			>/dev/null 2>&1
	rm -rf "$dir"
	# A link to the real directory goes with it.
	[ -z "$link" ] || rm -f "$link"
	;;
*)
	echo "pg.sh: unknown command $cmd" >&2
	exit 64
	;;
esac
