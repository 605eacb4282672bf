/*
 * test_token: reply tokens are made, checked and refused (token.c), the
 * key file is read, added to and retired in, and "listbridge keygen"
 * says what it did.  Every test works on a key file of its own in a
 * temporary folder.
 */
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <sodium.h>

#include "../gateway/config.h"
#include "../gateway/lberror.h"
#include "../gateway/token.h"
#include "harness.h"

/* A valid key line's key: 32 zero bytes in base64. */
#define ZERO_KEY "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

static char *key_dir(void);
static char *key_file(int keys);
static char *write_file(const char *text, mode_t mode);
static void drop(char *path);
static char *make_in(enum token_purpose p, guint64 post, guint64 member,
		     gint64 seconds);
static enum token_reason reason_of(enum token_purpose p, const char *text);
static char *capture_stderr_load(const char *path, int *rc);
static char *forge(const guint8 *payload, size_t len);

/* key_dir: a new temporary folder (g_free it). */
static char *
key_dir(void)
{
	char *dir = g_dir_make_tmp("lbkeys-XXXXXX", NULL);

	ck_assert(dir != NULL);
	return dir;
}

/* key_file: a key file made by token_keygen() with keys keys, loaded. */
static char *
key_file(int keys)
{
	char *dir = key_dir();
	char *path = g_build_filename(dir, "keys", NULL);
	GError *err = NULL;
	int i;

	for (i = 1; i <= keys; i++)
		ck_assert_int_eq(token_keygen(path, &err), i);
	ck_assert_msg(token_keys_load(path, &err) == 0, "%s",
		      err != NULL ? err->message : "");
	g_free(dir);
	return path;
}

/* write_file: text in a new file "keys" of a new folder, with mode. */
static char *
write_file(const char *text, mode_t mode)
{
	char *dir = key_dir();
	char *path = g_build_filename(dir, "keys", NULL);

	ck_assert(g_file_set_contents(path, text, -1, NULL));
	ck_assert_int_eq(chmod(path, mode), 0);
	g_free(dir);
	return path;
}

/* drop: remove the key file path and its folder; free path. */
static void
drop(char *path)
{
	char *dir = g_path_get_dirname(path);

	unlink(path);
	rmdir(dir);
	g_free(dir);
	g_free(path);
}

/* make_in: a token that expires seconds from now. */
static char *
make_in(enum token_purpose p, guint64 post, guint64 member, gint64 seconds)
{
	GDateTime *now = g_date_time_new_now_utc();
	GDateTime *exp = g_date_time_add_seconds(now, (gdouble)seconds);
	char *tok = token_make(p, post, member, exp);

	ck_assert_ptr_nonnull(tok);
	g_date_time_unref(exp);
	g_date_time_unref(now);
	return tok;
}

/* reason_of: why token_check() refuses text (TOKEN_OK when it does
 * not), checking that rc, err and the fields agree with the reason. */
static enum token_reason
reason_of(enum token_purpose p, const char *text)
{
	GError *err = NULL;
	struct token t;
	int rc = token_check(p, text, &t, &err);

	if (rc == 0) {
		ck_assert_ptr_null(err);
		ck_assert_int_eq(t.reason, TOKEN_OK);
		return TOKEN_OK;
	}
	ck_assert_int_eq(rc, -1);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(lb_error_code(err), EX_NOUSER);
	ck_assert_int_ne(t.reason, TOKEN_OK);
	/* Only an authentic token may show its fields. */
	if (t.reason != TOKEN_EXPIRED && t.reason != TOKEN_WRONG_PURPOSE)
		ck_assert(t.post == 0 && t.member == 0 && t.expires == 0);
	g_error_free(err);
	return t.reason;
}

/* capture_stderr_load: token_keys_load(path) with what it writes on
 * stderr captured; *rc gets its result.  Returns that text (g_free). */
static char *
capture_stderr_load(const char *path, int *rc)
{
	char *name = NULL, *text = NULL;
	GError *err = NULL;
	int fd, saved;

	fd = g_file_open_tmp("lbstderr-XXXXXX", &name, NULL);
	ck_assert(fd >= 0);
	fflush(stderr);
	saved = dup(2);
	dup2(fd, 2);
	*rc = token_keys_load(path, &err);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(fd);
	ck_assert(g_file_get_contents(name, &text, NULL, NULL));
	unlink(name);
	g_free(name);
	g_clear_error(&err);
	return text;
}

/* forge: a token of payload (len bytes) with the MAC that key 1 of a
 * ZERO_KEY file gives it, computed here from the documented recipe:
 * HMAC-SHA-512-256 under crypto_kdf(subkey id = purpose byte, context
 * "lb-token", key), cut to 10 bytes. */
static char *
forge(const guint8 *payload, size_t len)
{
	unsigned char zero[crypto_kdf_KEYBYTES] = {0};
	unsigned char sub[crypto_auth_KEYBYTES], mac[crypto_auth_BYTES];
	guint8 bin[64];

	ck_assert_uint_le(len + 10, sizeof(bin));
	ck_assert_int_eq(crypto_kdf_derive_from_key(
			     sub, sizeof(sub), payload[2], "lb-token", zero),
			 0);
	ck_assert_int_eq(crypto_auth(mac, payload, len, sub), 0);
	memcpy(bin, payload, len);
	memcpy(bin + len, mac, 10);
	return token_base32_encode(bin, len + 10);
}

/* Round trips: every purpose, ids small, at varint steps, and huge. */
static const struct {
	enum token_purpose p;
	guint64 post, member;
} trips[] = {
    {TOKEN_REPLY, 812, 7},
    {TOKEN_UNSUBSCRIBE, 3, 12345},
    {TOKEN_BOUNCE, 99999999, 1},
    {TOKEN_REPLY, 0, 0},
    {TOKEN_REPLY, 127, 128},
    {TOKEN_UNSUBSCRIBE, 16383, 16384},
    {TOKEN_REPLY, 1000000000000ULL, 1000000000ULL},
    {TOKEN_BOUNCE, G_MAXUINT64, G_MAXUINT64},
};

START_TEST(round_trip)
{
	char *path = key_file(1);
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	char *tok =
	    make_in(trips[_i].p, trips[_i].post, trips[_i].member, 86400);
	GError *err = NULL;
	struct token t;

	/* Only the alphabet, and the fields back as made. */
	ck_assert_uint_eq(strspn(tok, "abcdefghijklmnopqrstuvwxyz234567"),
			  strlen(tok));
	ck_assert_msg(token_check(trips[_i].p, tok, &t, &err) == 0, "%s: %s",
		      tok, err != NULL ? err->message : "");
	ck_assert_int_eq(t.reason, TOKEN_OK);
	ck_assert_int_eq(t.purpose, trips[_i].p);
	ck_assert_uint_eq(t.post, trips[_i].post);
	ck_assert_uint_eq(t.member, trips[_i].member);
	ck_assert_int_eq(t.key_id, 1);

	/* The expiry, rounded up to the hour, never earlier. */
	ck_assert_int_ge(t.expires, now + 86400);
	ck_assert_int_le(t.expires, now + 86400 + 3600 + 5);
	ck_assert_int_eq(t.expires % 3600, 0);
	g_free(tok);
	token_keys_clear();
	drop(path);
}
END_TEST

/* The bytes are those token.h documents, for a known key. */
START_TEST(layout)
{
	char *path = write_file("1 " ZERO_KEY "\n", 0600);
	GDateTime *exp = g_date_time_new_utc(2090, 1, 1, 0, 0, 0);
	guint64 hours = (guint64)g_date_time_to_unix(exp) / 3600;
	/* version 1, key 1, reply, post 812 (0xac 0x06), member 7, expiry */
	guint8 payload[9] = {1, 1, TOKEN_REPLY, 0xac, 0x06, 7};
	char *want, *tok;
	GError *err = NULL;

	/* By hand. */
	payload[6] = (guint8)(hours >> 16);
	payload[7] = (guint8)(hours >> 8);
	payload[8] = (guint8)hours;
	want = forge(payload, sizeof(payload));

	/* By token_make(). */
	ck_assert_int_eq(token_keys_load(path, &err), 0);
	tok = token_make(TOKEN_REPLY, 812, 7, exp);
	ck_assert_str_eq(tok, want);
	g_date_time_unref(exp);
	g_free(want);
	g_free(tok);
	token_keys_clear();
	drop(path);
}
END_TEST

/* Authentic (the MAC matches) but badly laid out: refused all the same,
 * as malformed. */
static const struct {
	guint8 bytes[24];
	size_t len;
	enum token_reason want;
} forged[] = {
    /* Well formed: passes. */
    {{1, 1, 1, 1, 7, 0x0f, 0xff, 0xff}, 8, TOKEN_OK},
    /* The largest ids. */
    {{1, 1, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 7, 0x0f,
      0xff, 0xff},
     17,
     TOKEN_OK},
    /* Version 2. */
    {{2, 1, 1, 1, 7, 0x0f, 0xff, 0xff}, 8, TOKEN_MALFORMED},
    /* Purposes 0 and 4. */
    {{1, 1, 0, 1, 7, 0x0f, 0xff, 0xff}, 8, TOKEN_MALFORMED},
    {{1, 1, 4, 1, 7, 0x0f, 0xff, 0xff}, 8, TOKEN_MALFORMED},
    /* A varint longer than needed (1 as 0x81 0x00). */
    {{1, 1, 1, 0x81, 0x00, 7, 0x0f, 0xff, 0xff}, 9, TOKEN_MALFORMED},
    /* A varint over 64 bits. */
    {{1, 1, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 7, 0x0f,
      0xff, 0xff},
     17,
     TOKEN_MALFORMED},
    /* A byte too many, a byte too few. */
    {{1, 1, 1, 1, 7, 0x0f, 0xff, 0xff, 0}, 9, TOKEN_MALFORMED},
    {{1, 1, 1, 1, 7, 0x0f, 0xff}, 7, TOKEN_MALFORMED},
    /* A member varint cut off. */
    {{1, 1, 1, 1, 0x87, 0x0f, 0xff, 0xff}, 8, TOKEN_MALFORMED},
};

START_TEST(forged_layout)
{
	char *path = write_file("1 " ZERO_KEY "\n", 0600);
	char *tok = forge(forged[_i].bytes, forged[_i].len);
	GError *err = NULL;
	struct token t;

	ck_assert_int_eq(token_keys_load(path, &err), 0);
	ck_assert_msg(reason_of(TOKEN_REPLY, tok) == forged[_i].want, "%s",
		      token_reason_name(reason_of(TOKEN_REPLY, tok)));
	if (forged[_i].want == TOKEN_OK) {
		ck_assert_int_eq(token_check(TOKEN_REPLY, tok, &t, NULL), 0);
		ck_assert_uint_eq(t.member, 7);
		ck_assert_int_eq(t.expires, (gint64)0x0fffff * 3600);
	}
	g_free(tok);
	token_keys_clear();
	drop(path);
}
END_TEST

START_TEST(any_case)
{
	char *path = key_file(1);
	char *tok = make_in(TOKEN_REPLY, 4711, 42, 3600);
	char *upper = g_ascii_strup(tok, -1);
	char *mixed = g_strdup(tok);
	struct token t;
	size_t i;

	/* All upper case, and every other character. */
	for (i = 0; i < strlen(mixed); i += 2)
		mixed[i] = g_ascii_toupper(mixed[i]);
	ck_assert_str_ne(upper, tok);
	ck_assert_int_eq(token_check(TOKEN_REPLY, upper, &t, NULL), 0);
	ck_assert_uint_eq(t.post, 4711);
	ck_assert_int_eq(token_check(TOKEN_REPLY, mixed, &t, NULL), 0);
	ck_assert_uint_eq(t.member, 42);
	g_free(upper);
	g_free(mixed);
	g_free(tok);
	token_keys_clear();
	drop(path);
}
END_TEST

/* One flipped bit anywhere: a bit of the version makes it malformed, of
 * the key id an unknown key (the file has only key 1), any other bit a
 * bad MAC. */
START_TEST(every_bit_flipped)
{
	char *path = key_file(1);
	char *tok = make_in(TOKEN_REPLY, 1000000, 10000, 3600);
	guint8 bin[64];
	size_t len, bit;

	ck_assert_int_eq(token_base32_decode(tok, bin, sizeof(bin), &len), 0);
	ck_assert_uint_eq(len, 21);
	for (bit = 0; bit < len * 8; bit++) {
		enum token_reason want = bit < 8    ? TOKEN_MALFORMED
					 : bit < 16 ? TOKEN_UNKNOWN_KEY
						    : TOKEN_TAMPERED;
		char *bad;

		bin[bit / 8] ^= (guint8)(1u << (bit % 8));
		bad = token_base32_encode(bin, len);
		ck_assert_msg(reason_of(TOKEN_REPLY, bad) == want,
			      "bit %zu: %s, want %s", bit,
			      token_reason_name(reason_of(TOKEN_REPLY, bad)),
			      token_reason_name(want));
		bin[bit / 8] ^= (guint8)(1u << (bit % 8));
		g_free(bad);
	}

	/* Unchanged, it still passes. */
	ck_assert_int_eq(reason_of(TOKEN_REPLY, tok), TOKEN_OK);
	g_free(tok);
	token_keys_clear();
	drop(path);
}
END_TEST

/* Every prefix of a token is refused. */
START_TEST(truncated)
{
	char *path = key_file(1);
	char *tok = make_in(TOKEN_BOUNCE, 812, 7, 3600);
	size_t n, len = strlen(tok);

	for (n = 0; n < len; n++) {
		char *cut = g_strndup(tok, n);
		enum token_reason r = reason_of(TOKEN_BOUNCE, cut);

		ck_assert_msg(r == TOKEN_MALFORMED || r == TOKEN_TAMPERED,
			      "%zu characters: %s", n, token_reason_name(r));
		g_free(cut);
	}
	g_free(tok);
	token_keys_clear();
	drop(path);
}
END_TEST

/* Changes to a 31-character token (post 812, member 7); %s is the token.
 * where: replace the character at that index with with; -1: append. */
static const struct {
	int where;
	const char *with;
	enum token_reason want;
} edits[] = {
    /* Extra characters: a whole byte more moves the MAC. */
    {-1, "a", TOKEN_TAMPERED},
    {-1, "7", TOKEN_TAMPERED},
    {-1, "aa", TOKEN_MALFORMED},
    {-1, "=", TOKEN_MALFORMED},
    {-1, "\n", TOKEN_MALFORMED},
    {-1, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", TOKEN_MALFORMED},
    /* Characters outside the alphabet. */
    {5, "0", TOKEN_MALFORMED},
    {5, "1", TOKEN_MALFORMED},
    {5, "8", TOKEN_MALFORMED},
    {5, "9", TOKEN_MALFORMED},
    {5, "=", TOKEN_MALFORMED},
    {5, "-", TOKEN_MALFORMED},
    {5, "_", TOKEN_MALFORMED},
    {5, " ", TOKEN_MALFORMED},
    {5, "+", TOKEN_MALFORMED},
    {5, "\xc3", TOKEN_MALFORMED},
    {30, "@", TOKEN_MALFORMED},
};

START_TEST(edited)
{
	char *path = key_file(1);
	char *tok = make_in(TOKEN_REPLY, 812, 7, 3600);
	char *bad;

	/* The token of the table. */
	ck_assert_uint_eq(strlen(tok), 31);
	if (edits[_i].where < 0)
		bad = g_strconcat(tok, edits[_i].with, NULL);
	else {
		bad = g_strdup(tok);
		bad[edits[_i].where] = edits[_i].with[0];
	}
	ck_assert_int_eq(reason_of(TOKEN_REPLY, bad), edits[_i].want);
	g_free(bad);
	g_free(tok);
	token_keys_clear();
	drop(path);
}
END_TEST

/* Non-zero bits after the last byte: a non-canonical spelling. */
START_TEST(trailing_bits)
{
	char *path = key_file(1);
	char *tok = make_in(TOKEN_REPLY, 812, 7, 3600);
	char *bad = g_strdup(tok);
	const char *alphabet = "abcdefghijklmnopqrstuvwxyz234567";
	size_t last = strlen(bad) - 1;
	int v = (int)(strchr(alphabet, bad[last]) - alphabet);

	/* 19 bytes are 31 characters with 3 unused bits: set the lowest. */
	ck_assert_int_eq(v & 7, 0);
	bad[last] = alphabet[v | 1];
	ck_assert_int_eq(reason_of(TOKEN_REPLY, bad), TOKEN_MALFORMED);
	ck_assert_int_eq(reason_of(TOKEN_REPLY, tok), TOKEN_OK);
	g_free(bad);
	g_free(tok);
	token_keys_clear();
	drop(path);
}
END_TEST

/* RFC 4648 section 10, lower case, without padding. */
static const struct {
	const char *bin;
	const char *text;
} b32[] = {
    {"", ""},
    {"f", "my"},
    {"fo", "mzxq"},
    {"foo", "mzxw6"},
    {"foob", "mzxw6yq"},
    {"fooba", "mzxw6ytb"},
    {"foobar", "mzxw6ytboi"},
};

START_TEST(base32_vectors)
{
	guint8 bin[16];
	char *text = token_base32_encode((const guint8 *)b32[_i].bin,
					 strlen(b32[_i].bin));
	char *upper = g_ascii_strup(b32[_i].text, -1);
	size_t len = 99;

	ck_assert_str_eq(text, b32[_i].text);
	ck_assert_int_eq(token_base32_decode(upper, bin, sizeof(bin), &len), 0);
	ck_assert_uint_eq(len, strlen(b32[_i].bin));
	ck_assert(memcmp(bin, b32[_i].bin, len) == 0);
	g_free(upper);
	g_free(text);
}
END_TEST

/* Spellings no byte string has. */
static const char *const b32_bad[] = {
    "m",		/* 5 bits: no byte */
    "mzx",		/* 15 bits */
    "mzxw6y",		/* 30 bits */
    "mz",		/* "f" with a non-zero tail bit */
    "mzxw6ytboi======", /* padding */
    "mzxw6ytb0i",	/* zero is not a digit of it */
    "mzxw 6ytb",	/* space */
};

START_TEST(base32_refused)
{
	guint8 bin[16];
	size_t len;

	ck_assert_int_eq(
	    token_base32_decode(b32_bad[_i], bin, sizeof(bin), &len), -1);
}
END_TEST

START_TEST(base32_room)
{
	guint8 bin[5];
	size_t len;

	/* "foobar" needs 6 bytes. */
	ck_assert_int_eq(token_base32_decode("mzxw6ytboi", bin, 5, &len), -1);
	ck_assert_int_eq(token_base32_decode("mzxw6ytb", bin, 5, &len), 0);
	ck_assert_uint_eq(len, 5);
}
END_TEST

/* Made for one purpose, checked for another: authentic but refused. */
START_TEST(wrong_purpose)
{
	char *path = key_file(1);
	enum token_purpose made = (enum token_purpose)(1 + _i / 3);
	enum token_purpose asked = (enum token_purpose)(1 + _i % 3);
	char *tok = make_in(made, 55, 66, 3600);
	struct token t;

	if (made == asked) {
		ck_assert_int_eq(token_check(asked, tok, &t, NULL), 0);
	} else {
		ck_assert_int_eq(reason_of(asked, tok), TOKEN_WRONG_PURPOSE);
		ck_assert_int_eq(token_check(asked, tok, &t, NULL), -1);
		ck_assert_int_eq(t.purpose, made);
		ck_assert_uint_eq(t.post, 55);
	}
	g_free(tok);
	token_keys_clear();
	drop(path);
}
END_TEST

START_TEST(expired)
{
	char *path = key_file(1);
	char *tok = make_in(TOKEN_REPLY, 1, 2, -2 * 3600);
	GDateTime *epoch = g_date_time_new_from_unix_utc(0);
	char *old = token_make(TOKEN_REPLY, 1, 2, epoch);
	char *soon = make_in(TOKEN_REPLY, 1, 2, 60);
	struct token t;

	/* Two hours ago, and 1970: authentic, expired. */
	ck_assert_int_eq(reason_of(TOKEN_REPLY, tok), TOKEN_EXPIRED);
	ck_assert_int_eq(token_check(TOKEN_REPLY, tok, &t, NULL), -1);
	ck_assert_uint_eq(t.member, 2);
	ck_assert_int_eq(reason_of(TOKEN_REPLY, old), TOKEN_EXPIRED);

	/* A minute from now: rounded up, still valid. */
	ck_assert_int_eq(reason_of(TOKEN_REPLY, soon), TOKEN_OK);
	g_date_time_unref(epoch);
	g_free(old);
	g_free(soon);
	g_free(tok);
	token_keys_clear();
	drop(path);
}
END_TEST

/* Expiry dates until 2100 and beyond do not overflow. */
START_TEST(far_future)
{
	char *path = key_file(1);
	GDateTime *y2100 = g_date_time_new_utc(2100, 1, 1, 0, 0, 0);
	GDateTime *y3000 = g_date_time_new_utc(3000, 12, 31, 23, 0, 0);
	char *a = token_make(TOKEN_REPLY, 1, 2, y2100);
	char *b = token_make(TOKEN_UNSUBSCRIBE, 1, 2, y3000);
	struct token t;

	ck_assert_int_eq(token_check(TOKEN_REPLY, a, &t, NULL), 0);
	ck_assert_int_eq(t.expires, g_date_time_to_unix(y2100));
	ck_assert_int_eq(token_check(TOKEN_UNSUBSCRIBE, b, &t, NULL), 0);
	ck_assert_int_eq(t.expires, g_date_time_to_unix(y3000));
	g_date_time_unref(y2100);
	g_date_time_unref(y3000);
	g_free(a);
	g_free(b);
	token_keys_clear();
	drop(path);
}
END_TEST

START_TEST(unknown_key)
{
	char *path = key_file(1);
	char *tok = make_in(TOKEN_REPLY, 8, 9, 3600);
	char *other = write_file("2 " ZERO_KEY "\n", 0600);
	char *same_id = write_file("1 " ZERO_KEY "\n", 0600);
	GError *err = NULL;
	struct token t;

	/* A file without key 1. */
	ck_assert_int_eq(token_keys_load(other, &err), 0);
	ck_assert_int_eq(reason_of(TOKEN_REPLY, tok), TOKEN_UNKNOWN_KEY);
	ck_assert_int_eq(token_check(TOKEN_REPLY, tok, &t, NULL), -1);
	ck_assert_int_eq(t.key_id, 1);

	/* A different key 1: the MAC does not match. */
	ck_assert_int_eq(token_keys_load(same_id, &err), 0);
	ck_assert_int_eq(reason_of(TOKEN_REPLY, tok), TOKEN_TAMPERED);

	/* No keys at all: nothing is made, nothing passes. */
	token_keys_clear();
	ck_assert_ptr_null(token_make(TOKEN_REPLY, 8, 9, NULL));
	ck_assert_int_eq(reason_of(TOKEN_REPLY, tok), TOKEN_UNKNOWN_KEY);
	g_free(tok);
	drop(other);
	drop(same_id);
	drop(path);
}
END_TEST

START_TEST(rotation)
{
	char *path = key_file(1);
	char *t1 = make_in(TOKEN_REPLY, 100, 200, 3600), *t2;
	GError *err = NULL;
	struct token t;

	/* Key 2 added: key 1's token still passes, new ones use key 2. */
	ck_assert_int_eq(token_keygen(path, &err), 2);
	ck_assert_int_eq(token_keys_load(path, &err), 0);
	ck_assert_int_eq(token_check(TOKEN_REPLY, t1, &t, NULL), 0);
	ck_assert_int_eq(t.key_id, 1);
	t2 = make_in(TOKEN_REPLY, 100, 200, 3600);
	ck_assert_int_eq(token_check(TOKEN_REPLY, t2, &t, NULL), 0);
	ck_assert_int_eq(t.key_id, 2);

	/* Key 1 retired: its token fails, key 2's passes. */
	ck_assert_int_eq(token_keys_retire(path, 1, &err), 0);
	ck_assert_int_eq(token_keys_load(path, &err), 0);
	ck_assert_int_eq(reason_of(TOKEN_REPLY, t1), TOKEN_RETIRED_KEY);
	ck_assert_int_eq(reason_of(TOKEN_REPLY, t2), TOKEN_OK);

	/* Key 3: made with it, key 2 still verifies. */
	ck_assert_int_eq(token_keygen(path, &err), 3);
	ck_assert_int_eq(token_keys_load(path, &err), 0);
	ck_assert_int_eq(reason_of(TOKEN_REPLY, t2), TOKEN_OK);
	g_free(t1);
	g_free(t2);
	t1 = make_in(TOKEN_REPLY, 1, 1, 3600);
	ck_assert_int_eq(token_check(TOKEN_REPLY, t1, &t, NULL), 0);
	ck_assert_int_eq(t.key_id, 3);
	g_free(t1);
	token_keys_clear();
	drop(path);
}
END_TEST

START_TEST(retire_refused)
{
	char *path = key_file(2);
	char *before = NULL, *after = NULL;
	GError *err = NULL;
	struct stat st;

	/* No such key; then the last key not retired. */
	ck_assert(g_file_get_contents(path, &before, NULL, NULL));
	ck_assert_int_eq(token_keys_retire(path, 9, &err), -1);
	ck_assert_int_eq(lb_error_code(err), EX_USAGE);
	g_clear_error(&err);
	ck_assert_int_eq(chmod(path, 0640), 0);
	ck_assert_int_eq(token_keys_retire(path, 2, &err), 0);
	ck_assert_int_eq(token_keys_retire(path, 2, &err), -1);
	ck_assert_int_eq(lb_error_code(err), EX_USAGE);
	g_clear_error(&err);
	ck_assert_int_eq(token_keys_retire(path, 1, &err), -1);
	ck_assert_int_eq(lb_error_code(err), EX_USAGE);
	ck_assert_msg(strstr(err->message, "last key") != NULL, "%s",
		      err->message);
	g_clear_error(&err);

	/* The one retirement done: mode kept, one line marked. */
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0640);
	ck_assert(g_file_get_contents(path, &after, NULL, NULL));
	ck_assert_uint_eq(strlen(after), strlen(before) + strlen(" retired"));
	ck_assert(g_str_has_suffix(after, " retired\n"));
	ck_assert(strncmp(after, before, strlen(before) - 1) == 0);
	g_free(before);
	g_free(after);
	token_keys_clear();
	drop(path);
}
END_TEST

START_TEST(keygen_file)
{
	char *dir = key_dir();
	char *path = g_build_filename(dir, "keys", NULL);
	char *one = NULL, *two = NULL;
	GError *err = NULL;
	struct stat st;
	mode_t old = umask(0277);

	/* Made 0600, whatever the umask (0277 alone would give 0400). */
	ck_assert_int_eq(token_keygen(path, &err), 1);
	umask(old);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	ck_assert(g_file_get_contents(path, &one, NULL, NULL));

	/* Again: the first key kept, a second one after it. */
	ck_assert_int_eq(token_keygen(path, &err), 2);
	ck_assert(g_file_get_contents(path, &two, NULL, NULL));
	ck_assert(g_str_has_prefix(two, one));
	ck_assert(strstr(two + strlen(one), "\n") != NULL);
	ck_assert(strncmp(two + strlen(one), "2 ", 2) == 0);
	ck_assert_int_eq(token_keys_load(path, &err), 0);
	g_free(one);
	g_free(two);
	token_keys_clear();
	drop(path);

	/* No folder: an error, no file. */
	path = g_build_filename(dir, "none", "keys", NULL);
	ck_assert_int_eq(token_keygen(path, &err), -1);
	ck_assert_int_eq(lb_error_code(err), EX_CONFIG);
	g_clear_error(&err);
	g_free(path);
	g_free(dir);
}
END_TEST

/* A file that is there but not a key file is left alone. */
START_TEST(keygen_no_clobber)
{
	char *path = write_file("not a key file\n", 0600);
	char *hand = write_file("7 " ZERO_KEY, 0600);
	char *text = NULL;
	GError *err = NULL;

	/* Not overwritten, not appended to. */
	ck_assert_int_eq(token_keygen(path, &err), -1);
	ck_assert_int_eq(lb_error_code(err), EX_CONFIG);
	ck_assert_msg(strstr(err->message, ":1:") != NULL, "%s", err->message);
	g_clear_error(&err);
	ck_assert(g_file_get_contents(path, &text, NULL, NULL));
	ck_assert_str_eq(text, "not a key file\n");
	g_free(text);

	/* A hand-made file without a last newline: key 8 on a new line. */
	ck_assert_int_eq(token_keygen(hand, &err), 8);
	ck_assert(g_file_get_contents(hand, &text, NULL, NULL));
	ck_assert(g_str_has_prefix(text, "7 " ZERO_KEY "\n8 "));
	g_free(text);
	drop(path);
	drop(hand);
}
END_TEST

START_TEST(readable_key_file_loads)
{
	char *path = write_file("1 " ZERO_KEY "\n", 0644);
	char *said;
	int rc;

	/* Others may read it: loaded, with a warning naming it. */
	said = capture_stderr_load(path, &rc);
	ck_assert_int_eq(rc, 0);
	ck_assert_msg(strstr(said, "readable_by_others") != NULL &&
			  strstr(said, path) != NULL,
		      "%s", said);
	g_free(said);

	/* Private: no warning. */
	ck_assert_int_eq(chmod(path, 0600), 0);
	said = capture_stderr_load(path, &rc);
	ck_assert_int_eq(rc, 0);
	ck_assert_str_eq(said, "");
	g_free(said);
	token_keys_clear();
	drop(path);
}
END_TEST

/* Bad key files: each error names the file and the line. */
static const struct {
	const char *text;
	const char *says;
} bad_files[] = {
    {"1\n", ":1:"},
    {"# keys\n\nx " ZERO_KEY "\n", ":3:"},
    {"0 " ZERO_KEY "\n", ":1:"},
    {"256 " ZERO_KEY "\n", ":1:"},
    {"-1 " ZERO_KEY "\n", ":1:"},
    {"1 AAAA\n", ":1:"},
    {"1 " ZERO_KEY "A\n", ":1:"},
    {"1 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n", ":1:"},
    {"1 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA-=\n", ":1:"},
    {"1 " ZERO_KEY " retird\n", ":1:"},
    {"1 " ZERO_KEY " retired extra\n", ":1:"},
    {"1 " ZERO_KEY "\n1 " ZERO_KEY "\n", ":2:"},
    {"1 " ZERO_KEY " retired\n", "no key"},
    {"", "no key"},
    {"# only a comment\n", "no key"},
};

START_TEST(bad_key_file)
{
	char *good = key_file(1);
	char *path = write_file(bad_files[_i].text, 0600);
	char *tok;
	GError *err = NULL;

	/* Refused, named. */
	ck_assert_int_eq(token_keys_load(path, &err), -1);
	ck_assert_int_eq(lb_error_code(err), EX_CONFIG);
	ck_assert_msg(strstr(err->message, path) != NULL &&
			  strstr(err->message, bad_files[_i].says) != NULL,
		      "%s", err->message);
	g_clear_error(&err);

	/* The keys loaded before still work. */
	tok = make_in(TOKEN_REPLY, 1, 1, 3600);
	ck_assert_int_eq(reason_of(TOKEN_REPLY, tok), TOKEN_OK);
	g_free(tok);
	token_keys_clear();
	drop(path);
	drop(good);
}
END_TEST

START_TEST(missing_key_file)
{
	GError *err = NULL;

	ck_assert_int_eq(token_keys_load("/nonexistent/listbridge/keys", &err),
			 -1);
	ck_assert_int_eq(lb_error_code(err), EX_CONFIG);
	ck_assert(strstr(err->message, "/nonexistent/listbridge/keys") != NULL);
	g_error_free(err);
}
END_TEST

/* "reply+" and "bounces+" with a token fit in a local part (64). */
static const struct {
	guint64 post, member;
	size_t chars; /* the token's length */
} lengths[] = {
    {812, 7, 31},
    {1000000, 10000, 34},
    {1000000000000ULL, 1000000000ULL, 44},
    {G_MAXUINT64, G_MAXUINT64, 58},
};

START_TEST(fits_local_part)
{
	char *path = key_file(1);
	char *reply = make_in(TOKEN_REPLY, lengths[_i].post, lengths[_i].member,
			      86400 * 180);
	char *bounce = make_in(TOKEN_BOUNCE, lengths[_i].post,
			       lengths[_i].member, 86400 * 180);

	ck_assert_uint_eq(strlen(reply), lengths[_i].chars);
	ck_assert_uint_le(strlen("reply+") + strlen(reply), 64);
	/* Bounce tokens fit for outbox rows up to 10^12. */
	if (lengths[_i].post <= 1000000000000ULL)
		ck_assert_uint_le(strlen("bounces+") + strlen(bounce), 64);
	g_free(reply);
	g_free(bounce);
	token_keys_clear();
	drop(path);
}
END_TEST

START_TEST(settings)
{
	char *conf = write_file("[listbridge]\n", 0600);
	char *bad =
	    write_file("[listbridge]\nreply_token_lifetime = 0\n", 0600);
	char *path;
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	GError *err = NULL;
	struct token t;
	char *tok;

	/* The defaults. */
	ck_assert_int_eq(cfg_load(conf, &err), 0);
	ck_assert_str_eq(cfg.token_key_file, "/etc/listbridge/keys");
	ck_assert_int_eq(cfg.reply_token_lifetime, 180);

	/* No expiry given: the lifetime from now. */
	path = key_file(1);
	tok = token_make(TOKEN_REPLY, 1, 2, NULL);
	ck_assert_int_eq(token_check(TOKEN_REPLY, tok, &t, NULL), 0);
	ck_assert_int_ge(t.expires, now + 180 * 86400);
	ck_assert_int_le(t.expires, now + 180 * 86400 + 3600 + 5);

	/* Out of bounds. */
	ck_assert_int_eq(cfg_load(bad, &err), -1);
	ck_assert_int_eq(lb_error_code(err), EX_CONFIG);
	ck_assert(strstr(err->message, "reply_token_lifetime") != NULL);
	g_clear_error(&err);
	g_free(tok);
	token_keys_clear();
	drop(path);
	drop(conf);
	drop(bad);
}
END_TEST

/* The command: what it says, what it does to the file. */
static const struct {
	const char *args;
	int rc;
	const char *says; /* on stdout, sent to stderr; @: the key file */
} steps[] = {
    {"keygen 1>&2", 0, "key 1 added to @; no other key verifies"},
    {"keygen 1>&2", 0, "key 2 added to @; key 1 still verifies"},
    {"keygen 1>&2", 0, "key 3 added to @; keys 1, 2 still verify"},
    {"keygen --retire 2 1>&2", 0,
     "key 2 retired in @; key 3 signs; "
     "keys 1, 3 verify"},
    {"keygen --retire 2 1>&2", EX_USAGE, "key 2 is retired already"},
    {"keygen --retire 0 1>&2", EX_USAGE, "from 1 to 255"},
    {"keygen extra 1>&2", EX_USAGE, "usage"},
    {"token make reply 812 7 1>&2", 0, ""},
};

START_TEST(keygen_command)
{
	char *dir = key_dir();
	char *keys = g_build_filename(dir, "keys", NULL);
	char *text = g_strdup_printf("[listbridge]\ntoken_key_file = %s\n"
				     "syslog_facility =\n",
				     keys);
	char *conf = write_file(text, 0600);
	size_t i;

	g_setenv("LISTBRIDGE_CONFIG", conf, TRUE);
	for (i = 0; i < G_N_ELEMENTS(steps); i++) {
		char *out = NULL;
		char **parts = g_strsplit(steps[i].says, "@", -1);
		char *want = g_strjoinv(keys, parts);
		int rc = harness_run(NULL, &out, steps[i].args);

		ck_assert_msg(rc == steps[i].rc, "%s: %d %s", steps[i].args, rc,
			      out);
		ck_assert_msg(strstr(out, want) != NULL, "%s: %s",
			      steps[i].args, out);
		g_strfreev(parts);
		g_free(want);
		g_free(out);
	}
	g_unsetenv("LISTBRIDGE_CONFIG");
	drop(keys);
	drop(conf);
	g_free(text);
	g_free(dir);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("token");
	TCase *tc = tcase_create("core");
	TCase *keys = tcase_create("keys");

	/* Making and checking. */
	tcase_add_loop_test(tc, round_trip, 0, (int)G_N_ELEMENTS(trips));
	tcase_add_test(tc, layout);
	tcase_add_loop_test(tc, forged_layout, 0, (int)G_N_ELEMENTS(forged));
	tcase_add_test(tc, any_case);
	tcase_add_test(tc, every_bit_flipped);
	tcase_add_test(tc, truncated);
	tcase_add_loop_test(tc, edited, 0, (int)G_N_ELEMENTS(edits));
	tcase_add_test(tc, trailing_bits);
	tcase_add_loop_test(tc, base32_vectors, 0, (int)G_N_ELEMENTS(b32));
	tcase_add_loop_test(tc, base32_refused, 0, (int)G_N_ELEMENTS(b32_bad));
	tcase_add_test(tc, base32_room);
	tcase_add_loop_test(tc, wrong_purpose, 0, 9);
	tcase_add_test(tc, expired);
	tcase_add_test(tc, far_future);
	tcase_add_loop_test(tc, fits_local_part, 0, (int)G_N_ELEMENTS(lengths));
	suite_add_tcase(s, tc);

	/* The key file. */
	tcase_add_test(keys, unknown_key);
	tcase_add_test(keys, rotation);
	tcase_add_test(keys, retire_refused);
	tcase_add_test(keys, keygen_file);
	tcase_add_test(keys, keygen_no_clobber);
	tcase_add_test(keys, readable_key_file_loads);
	tcase_add_loop_test(keys, bad_key_file, 0,
			    (int)G_N_ELEMENTS(bad_files));
	tcase_add_test(keys, missing_key_file);
	tcase_add_test(keys, settings);
	tcase_add_test(keys, keygen_command);
	suite_add_tcase(s, keys);
	return harness_main(s);
}
