# listbridge: hand-written Makefile.
#
#   make            build ./listbridge
#   make check      install missing packages, run unit and integration tests
#   make demo       install missing packages, run the demo against ./var
#   make bench      run the benchmarks in bench/
#   make install    install under PREFIX (default /usr/local)
#   make clean

PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
SYSCONFDIR ?= /etc
DATADIR    ?= $(PREFIX)/share/listbridge
DESTDIR    ?=

CC      ?= cc
PKGS     = gmime-3.0 libpq libsodium libpcre2-8 gumbo json-glib-1.0
# libetpan.pc leaks Debian's "-specs=" build flag: filter it out.
ETPAN_LIBS = $(filter-out -specs=%,$(shell pkg-config --libs libetpan 2>/dev/null))

WARN     = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wformat=2 -Wwrite-strings -Wvla
HARDEN   = -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE
CFLAGS  ?= -O2 -g
ALL_CFLAGS = -std=gnu11 $(WARN) $(HARDEN) $(CFLAGS) \
           -DCONFIG_PATH='"$(SYSCONFDIR)/listbridge/listbridge.conf"' \
           $(shell pkg-config --cflags $(PKGS))
# --as-needed: a library the program does not call is not loaded at every
# start of the hook.
ALL_LDFLAGS = -pie -Wl,-z,relro -Wl,-z,now -Wl,--as-needed $(LDFLAGS)
LIBS     = $(shell pkg-config --libs $(PKGS)) $(ETPAN_LIBS)
CHECK_CFLAGS = $(shell pkg-config --cflags check)
CHECK_LIBS   = $(shell pkg-config --libs check)

CORE = gateway/lberror.c gateway/log.c gateway/config.c gateway/db.c \
       gateway/sql_embed.c gateway/text.c gateway/message.c \
       gateway/thread.c gateway/store.c gateway/inbound.c gateway/admin.c \
       gateway/eval.c gateway/trim.c gateway/trim_embed.c gateway/html.c \
       gateway/token.c \
       gateway/outbox.c \
       gateway/smtp.c gateway/compose.c gateway/templates_embed.c \
       gateway/send.c
HOOKS = mta-hooks/deliver.c
MAIN  = gateway/listbridge.c
CORE_OBJS = $(CORE:.c=.o) $(HOOKS:.c=.o)

TESTS = tests/test_config tests/test_log tests/test_text tests/test_trim \
        tests/test_html \
        tests/test_message tests/test_thread tests/test_admin \
        tests/test_inbound tests/test_send tests/test_token \
        tests/test_smtp

# Keep the test objects between runs.
.SECONDARY:

.PHONY: all check unit integration eval demo bench bench-send install clean deps format

all: listbridge

# "make V=1" shows the commands.
Q = $(if $(V),,@)

listbridge: $(CORE_OBJS) $(MAIN:.c=.o)
	@echo "  LD   $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

%.o: %.c
	@echo "  CC   $@"
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

gateway/sql_embed.c: tools/embed-sql.sh $(wildcard sql/*.sql)
	@echo "  GEN  $@"
	$(Q)sh tools/embed-sql.sh $(sort $(wildcard sql/*.sql)) > $@

gateway/templates_embed.c: tools/embed-templates.sh $(wildcard templates/*.txt templates/*.html)
	@echo "  GEN  $@"
	$(Q)sh tools/embed-templates.sh $(sort $(wildcard templates/*.txt templates/*.html)) > $@

gateway/trim_embed.c: tools/embed-text.sh gateway/trim.patterns
	@echo "  GEN  $@"
	$(Q)sh tools/embed-text.sh trim_builtin gateway/trim.patterns > $@

tests/test_%.o: tests/test_%.c
	@echo "  CC   $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(CHECK_CFLAGS) -MMD -MP -c -o $@ $<

tests/test_%: tests/test_%.o tests/harness.o $(CORE_OBJS)
	@echo "  LD   $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(LIBS) $(CHECK_LIBS)

tests/harness.o: tests/harness.c
	@echo "  CC   $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(CHECK_CFLAGS) -MMD -MP -c -o $@ $<

deps:
	@sh tools/deps.sh

# The README's test command: unit tests, integration tests, corpus runs.
check: deps
	@$(MAKE) --no-print-directory all $(TESTS)
	@sh tests/run.sh $(TESTS)

demo: deps
	@$(MAKE) --no-print-directory all
	@sh tools/demo.sh

bench: deps
	@$(MAKE) --no-print-directory all bench/run bench/floor bench/extract
	@bench/extract
	@sh bench/deliver.sh
	@sh bench/send.sh

# The outbox benchmark alone (part of "make bench").
bench-send: deps
	@$(MAKE) --no-print-directory all bench/run
	@sh bench/send.sh

bench/extract: bench/extract.o $(CORE_OBJS)
	@echo "  LD   $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

# The benchmark's tools: the same warnings and hardening as listbridge.
# The floor links GMime and libpq only, the least a delivery needs.
BENCH_CFLAGS = -std=gnu11 $(WARN) $(HARDEN) $(CFLAGS)
FLOOR_PKGS   = gmime-3.0 libpq

bench/run: bench/run.c
	@echo "  LD   $@"
	$(Q)$(CC) $(BENCH_CFLAGS) $(ALL_LDFLAGS) -o $@ $<

bench/floor: bench/floor.c
	@echo "  LD   $@"
	$(Q)$(CC) $(BENCH_CFLAGS) $(shell pkg-config --cflags $(FLOOR_PKGS)) \
		$(ALL_LDFLAGS) -o $@ $< $(shell pkg-config --libs $(FLOOR_PKGS))

install: listbridge
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)/sql \
		$(DESTDIR)$(SYSCONFDIR)/listbridge
	install -m 755 listbridge $(DESTDIR)$(BINDIR)/listbridge
	install -m 644 sql/*.sql $(DESTDIR)$(DATADIR)/sql/
	install -m 644 gateway/trim.patterns $(DESTDIR)$(DATADIR)/
	install -d $(DESTDIR)$(DATADIR)/templates
	install -m 644 templates/*.txt templates/*.html $(DESTDIR)$(DATADIR)/templates/
	install -m 644 mta-hooks/postfix/*.example $(DESTDIR)$(DATADIR)/
	test -e $(DESTDIR)$(SYSCONFDIR)/listbridge/listbridge.conf || \
		install -m 640 listbridge.conf.example \
		$(DESTDIR)$(SYSCONFDIR)/listbridge/listbridge.conf

format:
	clang-format -i $(filter-out gateway/%_embed.c,$(wildcard \
		gateway/*.[ch] mta-hooks/*.[ch] tests/*.[ch] bench/*.c))

clean:
	rm -f listbridge gateway/*.o gateway/*.d mta-hooks/*.o mta-hooks/*.d \
		tests/*.o tests/*.d $(TESTS) gateway/sql_embed.c \
		gateway/trim_embed.c gateway/templates_embed.c \
		bench/floor bench/run bench/extract bench/*.o
	rm -rf var bench/out

-include $(wildcard gateway/*.d mta-hooks/*.d tests/*.d)
