/*
 * token: make and check reply tokens; read, add to and retire in the key
 * file (see token.h for the layout and the file format).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "config.h"
#include "lberror.h"
#include "log.h"
#include "token.h"

#define VERSION	       1
#define HEAD_BYTES     3 /* version, key id, purpose */
#define VARINT_MAX     10
#define EXPIRY_BYTES   3
#define EXPIRY_MAX     0xffffffu /* unix hours: the year 3883 */
#define MAC_BYTES      10
#define MIN_BYTES      (HEAD_BYTES + 1 + 1 + EXPIRY_BYTES + MAC_BYTES)
#define MAX_BYTES      (HEAD_BYTES + 2 * VARINT_MAX + EXPIRY_BYTES + MAC_BYTES)
#define MAX_CHARS      ((MAX_BYTES * 8 + 4) / 5)
#define KEY_IDS	       255
#define KEY_FILE_LIMIT (64 * 1024)
#define KEY_B64	       "44" /* characters of a key in base64 */
#define B64_VARIANT    sodium_base64_VARIANT_ORIGINAL
#define KEY_BYTES      crypto_auth_KEYBYTES
#define B64_SIZE       sodium_base64_ENCODED_LEN(KEY_BYTES, B64_VARIANT)
#define KDF_CONTEXT    "lb-token" /* crypto_kdf_CONTEXTBYTES: 8 */

struct key {
	int id;
	int retired;
	unsigned char bytes[crypto_auth_KEYBYTES];
};

struct keyset {
	int n;
	int signer; /* index of the key that signs; -1: none */
	struct key k[KEY_IDS];
};

/* The keys token_keys_load() read; NULL before. */
static struct keyset *keys;

static const char *const purpose_names[] = {"?", "reply", "unsubscribe",
					    "bounce"};
static const char *const reason_names[] = {
    "ok",	   "malformed", "tampered",	"unknown_key",
    "retired_key", "expired",	"wrong_purpose"};
static const char *const reason_texts[] = {
    "valid",
    "not a token (characters, length or layout)",
    "bad MAC: altered or forged",
    "made with a key the key file does not have",
    "made with a retired key",
    "expired",
    "made for another purpose"};

static const char b32_alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";

static const char new_file_header[] =
    "# listbridge reply token keys, one per line: ID KEY [retired].\n"
    "# The last key not retired signs; every key not retired verifies.\n"
    "# Written by \"listbridge keygen\"; keep it secret.\n";

static int init(GError **err);
static int purpose_ok(int p);
static struct keyset *keyset_new(void);
static void keyset_free(struct keyset *ks);
static const struct key *find_key(const struct keyset *ks, int id);
static int parse_line(const char *p, const char *end, struct key *k,
		      const char **why);
static int parse_keys(const char *path, const char *text, size_t len,
		      struct keyset *ks, GError **err);
static int open_locked(const char *path, int flags, int op, struct stat *st,
		       GError **err);
static char *read_all(int fd, const char *path, size_t *len, GError **err);
static void wipe_free(char *text, size_t len);
static int write_all(int fd, const char *buf, size_t len);
static int next_id(const struct keyset *ks);
static GString *mark_retired(const char *text, size_t len, int id);
static int replace_file(const char *path, const struct stat *st,
			const GString *text, GError **err);
static size_t put_varint(guint8 *p, guint64 v);
static size_t get_varint(const guint8 *p, size_t len, guint64 *v);
static void compute_mac(const struct key *k, const guint8 *msg, size_t len,
			unsigned char mac[crypto_auth_BYTES]);
static int parse_fields(const guint8 *buf, size_t len, struct token *t);
static int reject(struct token *out, enum token_reason r,
		  enum token_purpose want, enum token_purpose made,
		  GError **err);
static GString *verifying(int except, int *count);
static int parse_purpose(const char *name, enum token_purpose *p);
static int number(const char *s, guint64 *v);
static int show_token(enum token_purpose p, guint64 post, guint64 member,
		      gint64 days);
static int show_check(enum token_purpose p, const char *text);
static int failed(GError *err);

/* init: libsodium, once.  Returns 0, or -1 with err. */
static int
init(GError **err)
{
	if (sodium_init() < 0) {
		g_set_error(err, LB_ERROR, EX_SOFTWARE,
			    "libsodium could not be initialised");
		return -1;
	}
	return 0;
}

static int
purpose_ok(int p)
{
	return p >= TOKEN_REPLY && p <= TOKEN_BOUNCE;
}

const char *
token_purpose_name(enum token_purpose p)
{
	return purpose_ok(p) ? purpose_names[p] : "?";
}

const char *
token_reason_name(enum token_reason r)
{
	if ((int)r < 0 || (size_t)r >= G_N_ELEMENTS(reason_names))
		return "?";
	return reason_names[r];
}

/* keyset_new: an empty key table in guarded memory (sodium_malloc). */
static struct keyset *
keyset_new(void)
{
	struct keyset *ks = sodium_malloc(sizeof(*ks));

	if (ks == NULL)
		g_error("token: out of memory for the key table");
	memset(ks, 0, sizeof(*ks));
	ks->signer = -1;
	return ks;
}

/* keyset_free: wipe and free ks (NULL is fine). */
static void
keyset_free(struct keyset *ks)
{
	if (ks != NULL)
		sodium_free(ks);
}

void
token_keys_clear(void)
{
	keyset_free(keys);
	keys = NULL;
}

static const struct key *
find_key(const struct keyset *ks, int id)
{
	int i;

	for (i = 0; ks != NULL && i < ks->n; i++)
		if (ks->k[i].id == id)
			return &ks->k[i];
	return NULL;
}

/*
 * parse_line: the line [p, end) of a key file into k.  Returns 1 for a
 * key, 0 for a blank line or a comment, -1 with *why for a bad line.
 */
static int
parse_line(const char *p, const char *end, struct key *k, const char **why)
{
	const char *field[3], *b64_end;
	size_t flen[3], bin_len;
	char b64[B64_SIZE];
	int n = 0, rc = -1;
	guint64 id;
	char num[4];

	/* Split at spaces and tabs (a CR of a CRLF line is space too). */
	while (p < end) {
		while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
			p++;
		if (p == end)
			break;
		if (n == 0 && *p == '#')
			return 0;
		if (n == 3) {
			*why = "too many fields (want: ID KEY [retired])";
			return -1;
		}
		field[n] = p;
		while (p < end && *p != ' ' && *p != '\t' && *p != '\r')
			p++;
		flen[n] = (size_t)(p - field[n]);
		n++;
	}
	if (n == 0)
		return 0;
	if (n < 2) {
		*why = "too few fields (want: ID KEY [retired])";
		return -1;
	}

	/* The id: a number from 1 to 255. */
	*why = "the id is not a number from 1 to 255";
	if (flen[0] >= sizeof(num))
		goto out;
	memcpy(num, field[0], flen[0]);
	num[flen[0]] = '\0';
	if (!g_ascii_string_to_unsigned(num, 10, 1, KEY_IDS, &id, NULL))
		goto out;
	k->id = (int)id;

	/* The key: 32 bytes in base64, nothing before or after. */
	*why = "the key is not " KEY_B64 " characters of base64 (32 bytes)";
	if (flen[1] != sizeof(b64) - 1)
		goto out;
	memcpy(b64, field[1], flen[1]);
	b64[flen[1]] = '\0';
	if (sodium_base642bin(k->bytes, sizeof(k->bytes), b64, flen[1], NULL,
			      &bin_len, &b64_end, B64_VARIANT) != 0 ||
	    bin_len != sizeof(k->bytes) || b64_end != b64 + flen[1])
		goto out;

	/* The mark: "retired" or nothing. */
	*why = "the third field can only be \"retired\"";
	k->retired = n == 3;
	if (n == 3 && (flen[2] != strlen("retired") ||
		       memcmp(field[2], "retired", flen[2]) != 0))
		goto out;
	rc = 1;
out:
	sodium_memzero(b64, sizeof(b64));
	return rc;
}

/*
 * parse_keys: the keys of text (len bytes, the file path) into ks.
 * Returns 0, or -1 with err naming path and line.
 */
static int
parse_keys(const char *path, const char *text, size_t len, struct keyset *ks,
	   GError **err)
{
	const char *p = text, *end = text + len, *eol, *why = NULL;
	struct key k;
	int line = 0, rc = -1, r;

	/* One line at a time. */
	while (p < end) {
		eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL)
			eol = end;
		line++;
		r = parse_line(p, eol, &k, &why);
		if (r < 0) {
			g_set_error(err, LB_ERROR, EX_CONFIG, "%s:%d: %s", path,
				    line, why);
			goto out;
		}
		if (r == 1 && find_key(ks, k.id) != NULL) {
			g_set_error(err, LB_ERROR, EX_CONFIG,
				    "%s:%d: key %d appears twice", path, line,
				    k.id);
			goto out;
		}

		/* The last key not retired signs. */
		if (r == 1) {
			ks->k[ks->n] = k;
			if (!k.retired)
				ks->signer = ks->n;
			ks->n++;
		}
		p = eol < end ? eol + 1 : end;
	}
	rc = 0;
out:
	sodium_memzero(&k, sizeof(k));
	return rc;
}

/*
 * open_locked: open path with flags and flock() it with op, making sure
 * the lock is on the file path names now, not on one a retirement has
 * replaced meanwhile.  Fills st.  Returns the descriptor, or -1 with err.
 */
static int
open_locked(const char *path, int flags, int op, struct stat *st, GError **err)
{
	struct stat now;
	int fd = -1, tries, saved;

	for (tries = 0; tries < 10; tries++) {
		/* Open and lock. */
		fd = open(path, flags | O_CLOEXEC);
		if (fd < 0)
			goto fail;
		if (flock(fd, op) < 0 || fstat(fd, st) < 0)
			goto fail;

		/* Still the file of that name? */
		if (stat(path, &now) == 0 && now.st_dev == st->st_dev &&
		    now.st_ino == st->st_ino)
			return fd;
		close(fd);
		fd = -1;
	}
	errno = EAGAIN;
fail:
	saved = errno;
	if (fd >= 0)
		close(fd);
	g_set_error(err, LB_ERROR, EX_CONFIG, "%s: %s", path,
		    g_strerror(saved));
	return -1;
}

/*
 * read_all: the contents of fd (the file path), at most KEY_FILE_LIMIT
 * bytes, NUL-terminated; *len gets the length.  Returns a new buffer (free
 * it with wipe_free()), or NULL with err.
 */
static char *
read_all(int fd, const char *path, size_t *len, GError **err)
{
	char *buf = g_malloc(KEY_FILE_LIMIT + 1);
	size_t n = 0;
	ssize_t r;

	/* Read until the end, or one byte over the limit. */
	while (n <= KEY_FILE_LIMIT) {
		r = read(fd, buf + n, KEY_FILE_LIMIT + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			g_set_error(err, LB_ERROR, EX_CONFIG, "%s: %s", path,
				    g_strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > KEY_FILE_LIMIT) {
		g_set_error(err, LB_ERROR, EX_CONFIG,
			    "%s: larger than %d bytes: not a key file", path,
			    KEY_FILE_LIMIT);
		goto fail;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
fail:
	wipe_free(buf, n);
	return NULL;
}

/* wipe_free: free text (len bytes read from a key file) after wiping it. */
static void
wipe_free(char *text, size_t len)
{
	if (text == NULL)
		return;
	sodium_memzero(text, len);
	g_free(text);
}

/* write_all: all of buf to fd.  Returns 0, or -1 with errno. */
static int
write_all(int fd, const char *buf, size_t len)
{
	ssize_t r;

	while (len > 0) {
		r = write(fd, buf, len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		buf += r;
		len -= (size_t)r;
	}
	return 0;
}

int
token_keys_load(const char *path, GError **err)
{
	struct keyset *ks = NULL;
	char *text = NULL;
	struct stat st;
	size_t len = 0;
	int fd = -1, rc = -1;

	/* Open under a shared lock: keygen may be appending. */
	if (init(err) < 0)
		goto out;
	fd = open_locked(path, O_RDONLY, LOCK_SH, &st, err);
	if (fd < 0)
		goto out;

	/* A secret others can read deserves a warning, as in Postfix; the
	 * hooks still work. */
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
		log_warn("keys=%s mode=%04o status=readable_by_others "
			 "(chmod 600 it, owned by the user the hooks run as)",
			 path, (unsigned)(st.st_mode & 07777));

	/* Read and parse. */
	text = read_all(fd, path, &len, err);
	if (text == NULL)
		goto out;
	ks = keyset_new();
	if (parse_keys(path, text, len, ks, err) < 0)
		goto out;
	if (ks->signer < 0) {
		g_set_error(err, LB_ERROR, EX_CONFIG,
			    "%s: no key that is not retired (add one with "
			    "\"listbridge keygen\")",
			    path);
		goto out;
	}

	/* Replace the keys loaded before. */
	keyset_free(keys);
	keys = ks;
	ks = NULL;
	rc = 0;
out:
	keyset_free(ks);
	wipe_free(text, len);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* next_id: the id for a new key in ks, or 0 when all are taken. */
static int
next_id(const struct keyset *ks)
{
	int i, max = 0;

	/* One more than the highest. */
	for (i = 0; i < ks->n; i++)
		if (ks->k[i].id > max)
			max = ks->k[i].id;
	if (max < KEY_IDS)
		return max + 1;

	/* Else the lowest free one. */
	for (i = 1; i <= KEY_IDS; i++)
		if (find_key(ks, i) == NULL)
			return i;
	return 0;
}

int
token_keygen(const char *path, GError **err)
{
	char b64[B64_SIZE], *text = NULL, *line = NULL;
	struct keyset *ks = NULL;
	struct key k;
	struct stat st;
	size_t len = 0;
	int fd = -1, rc = -1, created = 0, id;

	/* Create the file, never over one that exists, or open that one. */
	if (init(err) < 0)
		goto out;
	fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0) {
		created = 1;
		if (fchmod(fd, 0600) < 0 || flock(fd, LOCK_EX) < 0) {
			g_set_error(err, LB_ERROR, EX_CONFIG, "%s: %s", path,
				    g_strerror(errno));
			goto out;
		}
	} else if (errno != EEXIST) {
		g_set_error(err, LB_ERROR, EX_CONFIG, "%s: %s", path,
			    g_strerror(errno));
		goto out;
	} else if ((fd = open_locked(path, O_RDWR | O_APPEND, LOCK_EX, &st,
				     err)) < 0)
		goto out;

	/* Read what is there (another keygen may have been first). */
	text = read_all(fd, path, &len, err);
	if (text == NULL)
		goto out;
	ks = keyset_new();
	if (parse_keys(path, text, len, ks, err) < 0)
		goto out;
	id = next_id(ks);
	if (id == 0) {
		g_set_error(err, LB_ERROR, EX_CONFIG,
			    "%s: all %d key ids are taken: delete retired "
			    "keys first",
			    path, KEY_IDS);
		goto out;
	}

	/* A fresh key, appended as one line in one write. */
	crypto_auth_keygen(k.bytes);
	sodium_bin2base64(b64, sizeof(b64), k.bytes, sizeof(k.bytes),
			  B64_VARIANT);
	line = g_strdup_printf("%s%s%d %s\n", len == 0 ? new_file_header : "",
			       len > 0 && text[len - 1] != '\n' ? "\n" : "", id,
			       b64);
	if (write_all(fd, line, strlen(line)) < 0 || fsync(fd) < 0) {
		g_set_error(err, LB_ERROR, EX_CONFIG, "%s: %s", path,
			    g_strerror(errno));
		goto out;
	}
	rc = id;
out:
	/* A file made here and still empty goes again. */
	if (rc < 0 && created && len == 0)
		unlink(path);
	if (fd >= 0)
		close(fd);
	if (line != NULL) {
		sodium_memzero(line, strlen(line));
		g_free(line);
	}
	sodium_memzero(&k, sizeof(k));
	sodium_memzero(b64, sizeof(b64));
	keyset_free(ks);
	wipe_free(text, len);
	return rc;
}

/*
 * mark_retired: text (len bytes of a key file that parses) with " retired"
 * after the fields of key id.  Returns a new GString; wipe and free it.
 */
static GString *
mark_retired(const char *text, size_t len, int id)
{
	/* Sized so that it never moves (no copy of a key left behind). */
	GString *s = g_string_sized_new(len + 16);
	const char *p = text, *end = text + len, *eol, *stop, *why;
	struct key k;

	/* Copy line by line; the line of key id gets the mark. */
	while (p < end) {
		eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL)
			eol = end;
		stop = eol;
		if (parse_line(p, eol, &k, &why) == 1 && k.id == id) {
			while (stop > p && g_ascii_isspace(stop[-1]))
				stop--;
			g_string_append_len(s, p, stop - p);
			g_string_append(s, " retired");
		} else
			g_string_append_len(s, p, eol - p);
		if (eol < end)
			g_string_append_c(s, '\n');
		p = eol < end ? eol + 1 : end;
	}
	sodium_memzero(&k, sizeof(k));
	return s;
}

/*
 * replace_file: write text to a new file beside path, with the mode and
 * owner of st, and rename it over path.  Returns 0, or -1 with err (path
 * is then unchanged).
 */
static int
replace_file(const char *path, const struct stat *st, const GString *text,
	     GError **err)
{
	char *tmp = g_strdup_printf("%s.XXXXXX", path);
	char *dir = g_path_get_dirname(path);
	int fd, dfd, r, rc = -1;

	/* The new file, private from the start. */
	fd = g_mkstemp_full(tmp, O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) {
		g_set_error(err, LB_ERROR, EX_CONFIG, "%s: %s", tmp,
			    g_strerror(errno));
		g_free(tmp);
		tmp = NULL;
		goto out;
	}

	/* The same owner and mode, then the text, on disk. */
	if (((st->st_uid != geteuid() || st->st_gid != getegid()) &&
	     fchown(fd, st->st_uid, st->st_gid) < 0) ||
	    fchmod(fd, st->st_mode & 07777) < 0 ||
	    write_all(fd, text->str, text->len) < 0 || fsync(fd) < 0) {
		g_set_error(err, LB_ERROR, EX_CONFIG, "%s: %s", tmp,
			    g_strerror(errno));
		goto out;
	}
	r = close(fd);
	fd = -1;
	if (r < 0 || rename(tmp, path) < 0) {
		g_set_error(err, LB_ERROR, EX_CONFIG, "%s: %s", path,
			    g_strerror(errno));
		goto out;
	}
	g_free(tmp);
	tmp = NULL;

	/* The rename itself on disk; a file system that cannot sync a
	 * directory has done what it can. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (tmp != NULL) {
		unlink(tmp);
		g_free(tmp);
	}
	g_free(dir);
	return rc;
}

int
token_keys_retire(const char *path, int id, GError **err)
{
	struct keyset *ks = NULL;
	const struct key *k;
	GString *text2 = NULL;
	char *text = NULL;
	struct stat st;
	size_t len = 0;
	int fd = -1, rc = -1, i, others = 0;

	/* Read the file under the lock keygen takes. */
	if (init(err) < 0)
		goto out;
	fd = open_locked(path, O_RDONLY, LOCK_EX, &st, err);
	if (fd < 0)
		goto out;
	text = read_all(fd, path, &len, err);
	if (text == NULL)
		goto out;
	ks = keyset_new();
	if (parse_keys(path, text, len, ks, err) < 0)
		goto out;

	/* The key must be there, not retired, and not the last that signs. */
	k = find_key(ks, id);
	for (i = 0; i < ks->n; i++)
		if (!ks->k[i].retired && ks->k[i].id != id)
			others++;
	if (k == NULL || k->retired || others == 0) {
		g_set_error(err, LB_ERROR, EX_USAGE,
			    k == NULL	 ? "%s: there is no key %d"
			    : k->retired ? "%s: key %d is retired already"
					 : "%s: key %d is the last key that is "
					   "not retired: add one first "
					   "(\"listbridge keygen\")",
			    path, id);
		goto out;
	}

	/* The same lines, that of key id marked, in place of the file. */
	text2 = mark_retired(text, len, id);
	if (replace_file(path, &st, text2, err) < 0)
		goto out;
	rc = 0;
out:
	if (text2 != NULL) {
		sodium_memzero(text2->str, text2->allocated_len);
		g_string_free(text2, TRUE);
	}
	if (fd >= 0)
		close(fd);
	keyset_free(ks);
	wipe_free(text, len);
	return rc;
}

char *
token_base32_encode(const guint8 *bin, size_t len)
{
	char *s = g_malloc((len * 8 + 4) / 5 + 1);
	guint32 acc = 0;
	size_t i, n = 0;
	int bits = 0;

	/* Five bits at a time, high bits first. */
	for (i = 0; i < len; i++) {
		acc = (acc << 8) | bin[i];
		bits += 8;
		while (bits >= 5) {
			s[n++] = b32_alphabet[(acc >> (bits - 5)) & 31];
			bits -= 5;
		}
		acc &= (1u << bits) - 1;
	}

	/* The last bits, padded with zero bits (no '='). */
	if (bits > 0)
		s[n++] = b32_alphabet[(acc << (5 - bits)) & 31];
	s[n] = '\0';
	return s;
}

int
token_base32_decode(const char *text, guint8 *bin, size_t max, size_t *len)
{
	const char *c;
	guint32 acc = 0;
	size_t n = 0;
	int bits = 0, v;

	/* Each character, any case, to five bits. */
	for (c = text; *c != '\0'; c++) {
		char ch = g_ascii_tolower(*c);

		if (ch >= 'a' && ch <= 'z')
			v = ch - 'a';
		else if (ch >= '2' && ch <= '7')
			v = ch - '2' + 26;
		else
			return -1;
		acc = (acc << 5) | (guint32)v;
		bits += 5;
		if (bits >= 8) {
			if (n == max)
				return -1;
			bin[n++] = (guint8)(acc >> (bits - 8));
			bits -= 8;
			acc &= (1u << bits) - 1;
		}
	}

	/* Canonical only: no whole character left over, zero tail bits. */
	if (bits >= 5 || acc != 0)
		return -1;
	*len = n;
	return 0;
}

/* put_varint: v as LEB128 at p.  Returns the number of bytes (1-10). */
static size_t
put_varint(guint8 *p, guint64 v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (guint8)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (guint8)v;
	return n;
}

/*
 * get_varint: a LEB128 number from the len bytes at p into *v.  Returns
 * the bytes used, or 0 when it is cut off, longer than needed or over 64
 * bits.
 */
static size_t
get_varint(const guint8 *p, size_t len, guint64 *v)
{
	guint64 x = 0;
	size_t i;

	for (i = 0; i < len && i < VARINT_MAX; i++) {
		if (i == VARINT_MAX - 1 && p[i] > 1)
			return 0;
		x |= (guint64)(p[i] & 0x7f) << (7 * i);
		if ((p[i] & 0x80) == 0) {
			if (i > 0 && p[i] == 0)
				return 0;
			*v = x;
			return i + 1;
		}
	}
	return 0;
}

/*
 * compute_mac: HMAC-SHA-512-256 of msg (len bytes, a token's payload)
 * under the key derived from k for the purpose byte msg[2].
 */
static void
compute_mac(const struct key *k, const guint8 *msg, size_t len,
	    unsigned char mac[crypto_auth_BYTES])
{
	unsigned char sub[crypto_auth_KEYBYTES];

	/* A key per purpose: no token passes for another purpose. */
	crypto_kdf_derive_from_key(sub, sizeof(sub), msg[2], KDF_CONTEXT,
				   k->bytes);
	crypto_auth(mac, msg, len, sub);
	sodium_memzero(sub, sizeof(sub));
}

char *
token_make(enum token_purpose p, guint64 post_or_row, guint64 member,
	   GDateTime *expires)
{
	unsigned char mac[crypto_auth_BYTES];
	guint8 buf[MAX_BYTES];
	const struct key *k;
	guint64 hours;
	char *s = NULL;
	size_t n = 0;
	gint64 t;

	/* Sanity checks. */
	if (keys == NULL || keys->signer < 0 || !purpose_ok(p))
		goto out;
	k = &keys->k[keys->signer];

	/* The expiry in unix hours, rounded up, within three bytes. */
	if (expires != NULL)
		t = g_date_time_to_unix(expires);
	else
		t = g_get_real_time() / G_USEC_PER_SEC +
		    (gint64)cfg.reply_token_lifetime * 86400;
	hours = t <= 0 ? 0 : ((guint64)t + 3599) / 3600;
	if (hours > EXPIRY_MAX)
		hours = EXPIRY_MAX;

	/* The payload. */
	buf[n++] = VERSION;
	buf[n++] = (guint8)k->id;
	buf[n++] = (guint8)p;
	n += put_varint(buf + n, post_or_row);
	n += put_varint(buf + n, member);
	buf[n++] = (guint8)(hours >> 16);
	buf[n++] = (guint8)(hours >> 8);
	buf[n++] = (guint8)hours;

	/* The MAC, cut short, and the whole in base32. */
	compute_mac(k, buf, n, mac);
	memcpy(buf + n, mac, MAC_BYTES);
	n += MAC_BYTES;
	s = token_base32_encode(buf, n);
out:
	sodium_memzero(mac, sizeof(mac));
	return s;
}

/*
 * parse_fields: purpose, post, member and expiry of the payload buf (len
 * bytes, the MAC not included) into t.  Returns 0, or -1 (t unchanged)
 * for a purpose out of range, a bad varint or bytes too few or too many.
 */
static int
parse_fields(const guint8 *buf, size_t len, struct token *t)
{
	size_t used = HEAD_BYTES, n;
	guint64 post, member;
	const guint8 *e;

	/* The purpose byte, then two varints, then exactly the expiry. */
	if (!purpose_ok(buf[2]))
		return -1;
	n = get_varint(buf + used, len - used, &post);
	if (n == 0)
		return -1;
	used += n;
	n = get_varint(buf + used, len - used, &member);
	if (n == 0 || used + n + EXPIRY_BYTES != len)
		return -1;
	e = buf + used + n;

	/* All good: fill t. */
	t->purpose = buf[2];
	t->post = post;
	t->member = member;
	t->expires =
	    (gint64)(((guint64)e[0] << 16) | ((guint64)e[1] << 8) | e[2]) *
	    3600;
	return 0;
}

/*
 * reject: token_check()'s failure: out->reason, err.  Returns -1.
 */
static int
reject(struct token *out, enum token_reason r, enum token_purpose want,
       enum token_purpose made, GError **err)
{
	out->reason = r;
	if (r == TOKEN_WRONG_PURPOSE)
		g_set_error(err, LB_ERROR, EX_NOUSER, "%s token: %s (%s)",
			    token_purpose_name(want), reason_texts[r],
			    token_purpose_name(made));
	else
		g_set_error(err, LB_ERROR, EX_NOUSER, "%s token: %s",
			    token_purpose_name(want), reason_texts[r]);
	return -1;
}

int
token_check(enum token_purpose p, const char *text, struct token *out,
	    GError **err)
{
	unsigned char mac[crypto_auth_BYTES];
	guint8 buf[MAX_BYTES];
	const struct key *k;
	struct token dummy;
	size_t len = 0, n;
	int rc = -1;

	/* Nothing is known yet. */
	if (out == NULL)
		out = &dummy;
	memset(out, 0, sizeof(*out));
	memset(mac, 0, sizeof(mac));

	/* Base32 of a length a token can have, our version. */
	if (text == NULL || strlen(text) > MAX_CHARS ||
	    token_base32_decode(text, buf, sizeof(buf), &len) < 0 ||
	    len < MIN_BYTES || buf[0] != VERSION) {
		rc = reject(out, TOKEN_MALFORMED, p, 0, err);
		goto out;
	}

	/* A key that verifies. */
	out->key_id = buf[1];
	k = find_key(keys, buf[1]);
	if (k == NULL || k->retired) {
		rc = reject(out,
			    k == NULL ? TOKEN_UNKNOWN_KEY : TOKEN_RETIRED_KEY,
			    p, 0, err);
		goto out;
	}

	/* The MAC, in constant time, before anything else is believed. */
	n = len - MAC_BYTES;
	compute_mac(k, buf, n, mac);
	if (sodium_memcmp(mac, buf + n, MAC_BYTES) != 0) {
		rc = reject(out, TOKEN_TAMPERED, p, 0, err);
		goto out;
	}

	/* The fields; authentic, so a bad one is our own making. */
	if (parse_fields(buf, len - MAC_BYTES, out) < 0) {
		rc = reject(out, TOKEN_MALFORMED, p, 0, err);
		goto out;
	}

	/* For this purpose, and not expired. */
	if (out->purpose != p) {
		rc = reject(out, TOKEN_WRONG_PURPOSE, p, out->purpose, err);
		goto out;
	}
	if (g_get_real_time() / G_USEC_PER_SEC >= out->expires) {
		rc = reject(out, TOKEN_EXPIRED, p, 0, err);
		goto out;
	}
	out->reason = TOKEN_OK;
	rc = 0;
out:
	sodium_memzero(mac, sizeof(mac));
	return rc;
}

/*
 * verifying: the ids of the loaded keys that verify, but except, as
 * "key 2" or "keys 1, 2"; *count gets their number.  A new GString.
 */
static GString *
verifying(int except, int *count)
{
	GString *ids = g_string_new(NULL);
	int i;

	*count = 0;
	for (i = 0; keys != NULL && i < keys->n; i++) {
		if (keys->k[i].retired || keys->k[i].id == except)
			continue;
		g_string_append_printf(ids, "%s%d", *count > 0 ? ", " : "",
				       keys->k[i].id);
		(*count)++;
	}
	g_string_prepend(ids, *count == 1 ? "key " : "keys ");
	return ids;
}

/* failed: print err, free it; returns its exit code. */
static int
failed(GError *err)
{
	int rc = lb_error_code(err);

	fprintf(stderr, "listbridge: %s\n", err->message);
	g_error_free(err);
	return rc;
}

int
token_keygen_main(int argc, char **argv)
{
	const char *path = cfg.token_key_file;
	GString *others = NULL;
	GError *err = NULL;
	guint64 id = 0;
	int count, r = 0;

	/* No arguments, or --retire ID. */
	if (argc == 3 && strcmp(argv[1], "--retire") == 0) {
		if (!g_ascii_string_to_unsigned(argv[2], 10, 1, KEY_IDS, &id,
						NULL)) {
			fprintf(stderr, "listbridge: keygen: --retire wants "
					"a key id from 1 to 255\n");
			return EX_USAGE;
		}
	} else if (argc != 1) {
		fprintf(stderr, "usage: listbridge keygen [--retire ID]\n");
		return EX_USAGE;
	}

	/* Retire, or add. */
	if (id > 0) {
		if (token_keys_retire(path, (int)id, &err) < 0)
			return failed(err);
	} else {
		r = token_keygen(path, &err);
		if (r < 0)
			return failed(err);
	}

	/* Say what the hooks will see now. */
	if (token_keys_load(path, &err) < 0)
		return failed(err);
	if (id > 0) {
		others = verifying(0, &count);
		printf("key %d retired in %s; key %d signs; %s verif%s\n",
		       (int)id, path, keys->k[keys->signer].id, others->str,
		       count == 1 ? "ies" : "y");
	} else {
		others = verifying(r, &count);
		if (count == 0)
			printf("key %d added to %s; no other key verifies\n", r,
			       path);
		else
			printf("key %d added to %s; %s still verif%s\n", r,
			       path, others->str, count == 1 ? "ies" : "y");
	}
	g_string_free(others, TRUE);
	return EX_OK;
}

/* parse_purpose: "reply", "unsubscribe", "bounce" into *p.  Returns 0 or
 * -1. */
static int
parse_purpose(const char *name, enum token_purpose *p)
{
	int i;

	for (i = TOKEN_REPLY; i <= TOKEN_BOUNCE; i++) {
		if (strcmp(name, purpose_names[i]) == 0) {
			*p = i;
			return 0;
		}
	}
	return -1;
}

/* number: s as a whole number from 0 to 2^64 - 1.  Returns 1 or 0. */
static int
number(const char *s, guint64 *v)
{
	return g_ascii_string_to_unsigned(s, 10, 0, G_MAXUINT64, v, NULL);
}

/* show_token: "listbridge token make": print a token valid for days. */
static int
show_token(enum token_purpose p, guint64 post, guint64 member, gint64 days)
{
	GDateTime *now = g_date_time_new_now_utc();
	GDateTime *until = g_date_time_add_days(now, (gint)days);
	char *tok = token_make(p, post, member, until);
	int rc = EX_OK;

	/* token_make() fails only without keys; they were loaded. */
	if (tok == NULL) {
		fprintf(stderr, "listbridge: no key to make a token with\n");
		rc = EX_SOFTWARE;
	} else
		printf("%s\n", tok);
	g_free(tok);
	g_date_time_unref(until);
	g_date_time_unref(now);
	return rc;
}

/* show_check: "listbridge token check": print the fields of text, or why
 * it does not pass (also on stderr). */
static int
show_check(enum token_purpose p, const char *text)
{
	GError *err = NULL;
	GDateTime *exp;
	struct token t;
	char *when;
	int rc = EX_OK;

	/* Check it. */
	if (token_check(p, text, &t, &err) < 0) {
		fprintf(stderr, "listbridge: %s\n", err->message);
		g_error_free(err);
		rc = EX_DATAERR;
	}

	/* One line: the reason, and the fields when they are authentic. */
	printf("reason=%s", token_reason_name(t.reason));
	if (t.expires != 0) {
		exp = g_date_time_new_from_unix_utc(t.expires);
		when = g_date_time_format(exp, "%Y-%m-%dT%H:%M:%SZ");
		printf(" purpose=%s post=%" G_GUINT64_FORMAT
		       " member=%" G_GUINT64_FORMAT " key=%d expires=%s",
		       token_purpose_name(t.purpose), t.post, t.member,
		       t.key_id, when);
		g_free(when);
		g_date_time_unref(exp);
	}
	printf("\n");
	return rc;
}

int
token_main(int argc, char **argv)
{
	enum token_purpose p = TOKEN_REPLY;
	gint64 days = cfg.reply_token_lifetime;
	guint64 post = 0, member = 0;
	GError *err = NULL;
	int make, ok;

	/* Arguments: make PURPOSE POST MEMBER [DAYS], check PURPOSE TOKEN. */
	make = argc >= 2 && strcmp(argv[1], "make") == 0;
	ok = argc >= 3 && parse_purpose(argv[2], &p) == 0;
	if (make)
		ok =
		    ok && argc >= 5 && argc <= 6 && number(argv[3], &post) &&
		    number(argv[4], &member) &&
		    (argc == 5 || g_ascii_string_to_signed(argv[5], 10, -36500,
							   36500, &days, NULL));
	else
		ok = ok && argc == 4 && strcmp(argv[1], "check") == 0;
	if (!ok) {
		fprintf(stderr, "usage: listbridge token make PURPOSE POST "
				"MEMBER [DAYS]\n"
				"       listbridge token check PURPOSE TOKEN\n"
				"PURPOSE: reply, unsubscribe or bounce\n");
		return EX_USAGE;
	}

	/* The keys, then the work. */
	if (token_keys_load(cfg.token_key_file, &err) < 0)
		return failed(err);
	if (make)
		return show_token(p, post, member, days);
	return show_check(p, argv[3]);
}
