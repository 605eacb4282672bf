/*
 * token: reply tokens, the signed names in reply+TOKEN@, bounces+TOKEN@
 * and unsubscribe addresses.
 *
 * A token names a post (for a bounce token: an outbox row) and a member,
 * says until when it holds, which key made it, and carries a MAC.  It is
 * lowercase RFC 4648 base32 without padding (a-z, 2-7), so an MTA or a
 * mail client that changes the case of the address does not break it,
 * and a recipient_delimiter of "+" or "-" never splits it.
 *
 * The bytes, version 1:
 *   version (1) | key id (1) | purpose (1) | post id (LEB128 varint, 1-10)
 *   | member id (varint, 1-10) | expiry (3, big-endian) | MAC (10)
 * The expiry is in unix hours (seconds / 3600, rounded up): 3 bytes hold
 * hours until the year 3883.  The MAC is HMAC-SHA-512-256 (crypto_auth)
 * over everything before it, cut to its first 10 bytes (80 bits), under
 * a key derived for the purpose (crypto_kdf, subkey id = purpose byte)
 * from the key named by the key id.  The purpose is thus bound twice: a
 * reply token cannot pass as an unsubscribe or bounce token.
 *
 * Lengths: post 812, member 7: 19 bytes, 31 characters; post 10^12,
 * member 10^9: 27 bytes, 44 characters ("reply+" + token: 50, "bounces+"
 * + token: 52); the largest ids (2^64 - 1 both): 36 bytes, 58 characters
 * ("reply+" + token: 64, the limit of a local part).
 *
 * The key file (cfg.token_key_file), one key per line:
 *   ID KEY [retired]
 * ID is 1 to 255, KEY 32 bytes in standard base64 (44 characters), then
 * optionally the word "retired"; fields are separated by spaces or tabs;
 * blank lines and lines starting with '#' are ignored.  The last key
 * that is not retired makes new tokens; every key that is not retired
 * verifies; a retired key verifies nothing.  "listbridge keygen" writes
 * it.  The hooks must be able to read it, nobody else should.
 *
 * Functions: token_keys_load and token_keys_retire (0, or -1 with err),
 * token_keygen (the new key's id, or -1 with err), token_keys_clear;
 * token_make (a new string, or NULL without keys); token_check (0, or -1
 * with the reason and err); token_base32_encode/_decode; names for logs;
 * the commands token_keygen_main and token_main (exit codes).  Keys live
 * in sodium_malloc() memory and are wiped when replaced or cleared.
 *
 * Limits: the loaded keys are one per process (a global table, not
 * locked against threads: load them before starting threads).  A new key
 * reaches a running process only when it loads the file again.  keygen
 * gives a new key the highest id plus one; once id 255 is taken, the
 * lowest free id, and a token of a deleted key with that id then fails
 * as tampered, not as an unknown key.  Expiry has a granularity of one
 * hour (rounded up).
 */
#ifndef TOKEN_H
#define TOKEN_H

#include <glib.h>

/* What a token is for; the value is the purpose byte. */
enum token_purpose {
	TOKEN_REPLY = 1,       /* reply+TOKEN@: post id, member id */
	TOKEN_UNSUBSCRIBE = 2, /* unsubscribe address: group id, member id */
	TOKEN_BOUNCE = 3,      /* bounces+TOKEN@: outbox row id, member id */
};

/* Why token_check() refused a token. */
enum token_reason {
	TOKEN_OK = 0,
	TOKEN_MALFORMED,     /* not base32, wrong length or layout */
	TOKEN_TAMPERED,	     /* the MAC does not match: altered or forged */
	TOKEN_UNKNOWN_KEY,   /* its key id is not in the key file */
	TOKEN_RETIRED_KEY,   /* its key is retired */
	TOKEN_EXPIRED,	     /* authentic, but past its expiry */
	TOKEN_WRONG_PURPOSE, /* authentic, but made for another purpose */
};

/* A checked token.  post, member and expires are authentic only when
 * reason is TOKEN_OK, TOKEN_EXPIRED or TOKEN_WRONG_PURPOSE; else 0. */
struct token {
	enum token_reason reason;
	enum token_purpose purpose; /* as made */
	guint64 post;		    /* post, group (unsubscribe), outbox row */
	guint64 member;		    /* member id */
	gint64 expires;		    /* unix time: valid before this second */
	int key_id;		    /* 1..255; 0 when not decoded */
};

/* token_keys_load: read the key file path and make its keys the ones
 * that sign and verify, replacing keys loaded before.  Returns 0, or -1
 * with err set (LB_ERROR, EX_CONFIG) naming the file, and the line of a
 * bad one, when it is missing, unreadable, badly formed or has no key
 * that is not retired; the keys loaded before then stay.  A file that
 * its group or others may read or write is loaded after a log_warn()
 * line. */
int token_keys_load(const char *path, GError **err);

/* token_keys_clear: forget the loaded keys (wiped from memory). */
void token_keys_clear(void);

/* token_make: a token for purpose p naming post_or_row and member, valid
 * until expires (NULL: cfg.reply_token_lifetime days from now; a time
 * in the past makes a token that is already expired), made with the
 * newest key that is not retired.  Returns a new string (g_free it), or
 * NULL when no key is loaded or p is not a purpose. */
char *token_make(enum token_purpose p, guint64 post_or_row, guint64 member,
		 GDateTime *expires);

/* token_check: whether text (any case, without "reply+" and "@...") is
 * an authentic, unexpired token for purpose p.  Returns 0 with out
 * filled, or -1 with out->reason saying why (see struct token) and err
 * set (LB_ERROR, EX_NOUSER: the address names nobody) with a message
 * that names the purpose and the reason but not the text.  out may be
 * NULL.  Logs nothing: the caller logs tampering. */
int token_check(enum token_purpose p, const char *text, struct token *out,
		GError **err);

/* token_keygen: add a fresh key to the key file path: create the file
 * (mode 0600, never over an existing one) with key 1 when it is missing,
 * else append a key with the next id (see Limits), keeping the others.
 * Returns the new key's id, or -1 with err set (LB_ERROR, EX_CONFIG)
 * naming the file (and line) when it cannot be read, written or is
 * badly formed; the file is then unchanged.  Prints nothing, loads
 * nothing. */
int token_keygen(const char *path, GError **err);

/* token_keys_retire: mark key id of the file path retired, so that its
 * tokens no longer verify.  The file is replaced whole (same mode and
 * owner).  Returns 0, or -1 with err set: EX_USAGE when the file has no
 * such key, the key is retired already or it is the last key that is
 * not retired; EX_CONFIG when the file cannot be read or written or is
 * badly formed (then it is unchanged). */
int token_keys_retire(const char *path, int id, GError **err);

/* token_purpose_name, token_reason_name: "reply", "tampered" ... for log
 * lines; "?" for a value out of range. */
const char *token_purpose_name(enum token_purpose p);
const char *token_reason_name(enum token_reason r);

/* token_base32_encode: len bytes of bin as lowercase base32 without
 * padding.  Returns a new string (g_free it). */
char *token_base32_encode(const guint8 *bin, size_t len);

/* token_base32_decode: text (base32, any case, no padding) into bin (room
 * for max bytes); *len gets the number of bytes.  Returns 0, or -1 for a
 * character outside the alphabet, a length no byte string encodes to,
 * non-zero bits after the last byte, or more than max bytes. */
int token_base32_decode(const char *text, guint8 *bin, size_t max, size_t *len);

/* token_keygen_main: "listbridge keygen [--retire ID]" on
 * cfg.token_key_file; prints what it did on stdout.  Returns 0,
 * EX_USAGE, or the error's code (EX_CONFIG). */
int token_keygen_main(int argc, char **argv);

/* token_main: "listbridge token make PURPOSE POST MEMBER [DAYS]" prints a
 * token; "listbridge token check PURPOSE TOKEN" prints its fields.  For
 * admins and test scripts.  Returns 0; EX_DATAERR for a token that does
 * not pass, EX_USAGE, EX_CONFIG. */
int token_main(int argc, char **argv);

#endif
