/* json.c: strict JSON decoding (our own one-pass parser building jansson trees) and the compact
 * writer.
 *
 * The decoder reads the byte buffer once and builds the json_t tree directly; jansson's own
 * json_loadb reads byte by byte through a stream callback and copied every string through a
 * growing buffer, which made it half of lienthong's CPU per request (bench/NOTES.md). The refusals
 * jansson 2.14 did not make on its own are still made, before anything else and wherever they are
 * in the buffer: a UTF-8 byte order mark, a NUL byte (json_loadb stopped at it and accepted "123\0",
 * JSONTestSuite n_multidigit_number_then_00), and nesting deeper than LT_JSON_MAX_DEPTH. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "adapters/json.h"
#include "gateway/util.h"

#define ENCODE_MAX_DEPTH (2 * LT_JSON_MAX_DEPTH)

/* One pass over the bytes, aware of strings only so far as to skip brackets inside them. It
 * need not understand invalid input: whatever it lets through, the parser refuses. */
int lt_json_prescan(const char *buf, size_t len, struct lt_err *e)
{
	int line = 1, col = 0, depth = 0, in_str = 0, esc = 0;
	char reason[64];

	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		return lt_json_refuse(e, 1, 1, "byte order mark is not allowed");
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];

		if ((c & 0xc0) != 0x80)
			col++;
		if (c == '\n') {
			line++;
			col = 0;
			continue;
		}
		if (c == '\0')
			return lt_json_refuse(e, line, col, "NUL byte");
		if (in_str) {
			if (esc)
				esc = 0;
			else if (c == '\\')
				esc = 1;
			else if (c == '"')
				in_str = 0;
			continue;
		}
		if (c == '"') {
			in_str = 1;
		} else if (c == '[' || c == '{') {
			if (++depth > LT_JSON_MAX_DEPTH) {
				snprintf(reason, sizeof(reason), "nesting deeper than %d levels", LT_JSON_MAX_DEPTH);
				return lt_json_refuse(e, line, col, reason);
			}
		} else if ((c == ']' || c == '}') && depth > 0) {
			depth--;
		}
	}
	return 0;
}

size_t lt_json_utf8_next(const char *str, size_t n, uint32_t *cp)
{
	const unsigned char *s = (const unsigned char *)str;
	uint32_t c;
	size_t len;

	if (n == 0)
		return 0;
	if (s[0] < 0x80)
		len = 1, c = s[0];
	else if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, c = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, c = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, c = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	if (cp != NULL)
		*cp = c;
	return len;
}

size_t lt_json_utf8_put(char *p, uint32_t c)
{
	if (c < 0x80) {
		p[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		p[0] = (char)(0xc0 | (c >> 6));
		p[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		p[0] = (char)(0xe0 | (c >> 12));
		p[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		p[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	p[0] = (char)(0xf0 | (c >> 18));
	p[1] = (char)(0x80 | ((c >> 12) & 0x3f));
	p[2] = (char)(0x80 | ((c >> 6) & 0x3f));
	p[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

/* ---- JSON strings ------------------------------------------------------------------------------ */

/* A '"', a '\\' or a byte below 0x20: what a JSON string cannot hold as it is. */
static inline uint64_t json_special8(uint64_t w)
{
	return lt_word_has_below(w, 0x20) | lt_word_has_byte(w, '"') | lt_word_has_byte(w, '\\');
}

/* Where the first flagged byte of a word is (0-7), for a nonzero mask made of json_special8
 * and high bits: the lowest flag of the has-zero-byte test is always a true match, and a
 * little-endian load puts the word's first byte lowest. Elsewhere 0, and the caller's byte loop
 * walks to it. */
static inline unsigned json_first8(uint64_t mask)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return (unsigned)__builtin_ctzll(mask) / 8;
#else
	(void)mask;
	return 0;
#endif
}

#ifdef __SSE2__
/* json_special8 for the sixteen bytes at s, as a bit per byte (bit 0: s[0]); with high set, bytes
 * that are not ASCII are flagged too. Every x86-64 has SSE2: a few instructions for sixteen
 * bytes where the word test takes a dozen for eight. */
static inline unsigned special16(const void *s, int high)
{
	const __m128i v = _mm_loadu_si128((const __m128i *)s);
	__m128i m = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')));

	m = _mm_or_si128(m, _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v));
	if (high)
		m = _mm_or_si128(m, v);
	return (unsigned)_mm_movemask_epi8(m);
}
#endif

/* How many bytes at the start of s (n bytes) a JSON string holds as they are: up to the first
 * '"', '\\' or control character; n when there is none. Most strings the writer sees are keys
 * and short values, so no byte loop on little-endian machines: whole words, the last one
 * overlapping what was already checked (clean bytes, so its first flag is still the first
 * special byte), and below eight bytes two overlapping halves read as one word. */
static inline __attribute__((always_inline)) size_t plain_len(const char *s, size_t n)
{
	size_t i = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	uint64_t w, mask;

#ifdef __SSE2__
	if (n >= 16) {
		unsigned m;

		for (;; i += 16) {
			if (n - i <= 16)
				i = n - 16;
			if ((m = special16(s + i, 0)) != 0)
				return i + (unsigned)__builtin_ctz(m);
			if (i == n - 16)
				return n;
		}
	}
#endif
	if (n >= 8) {
		for (; n - i > 8; i += 8) {
			memcpy(&w, s + i, 8);
			if ((mask = json_special8(w)) != 0)
				return i + json_first8(mask);
		}
		memcpy(&w, s + n - 8, 8);
		mask = json_special8(w);
		return mask != 0 ? n - 8 + json_first8(mask) : n;
	}
	if (n >= 4) {
		uint32_t lo, hi;
		unsigned k;

		memcpy(&lo, s, 4);
		memcpy(&hi, s + n - 4, 4);
		if ((mask = json_special8(lo | (uint64_t)hi << 32)) == 0)
			return n;
		k = json_first8(mask);
		return k < 4 ? k : n - 8 + k;
	}
#endif
	for (; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == '"' || c == '\\')
			break;
	}
	return i;
}

/* JSON's two-character escapes, one table for the writer and the reader: the letter after the
 * backslash for byte c ('\n' -> 'n'), or 0 when c has none; and the byte a letter stands for
 * ('n' -> '\n', also '/', which is read but never written), or -1. */
static const char json_escapes[][2] = {
	{ '"', '"' }, { '\\', '\\' }, { 'n', '\n' }, { 'r', '\r' }, { 't', '\t' }, { 'b', '\b' }, { 'f', '\f' },
	{ '/', '/' },
};

static char escape_letter(unsigned char c)
{
	/* '/' is last: never written escaped, so it is not looked up here. */
	for (size_t i = 0; i + 1 < sizeof(json_escapes) / sizeof(json_escapes[0]); i++)
		if ((unsigned char)json_escapes[i][1] == c)
			return json_escapes[i][0];
	return 0;
}

static int unescape_letter(unsigned char letter)
{
	for (size_t i = 0; i < sizeof(json_escapes) / sizeof(json_escapes[0]); i++)
		if ((unsigned char)json_escapes[i][0] == letter)
			return (unsigned char)json_escapes[i][1];
	return -1;
}

int lt_buf_json_str(struct lt_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i = 0, k;

	/* Runs that need no escaping (nearly all text) go in with one append each. */
	while ((k = plain_len(s + i, n - i)) < n - i) {
		unsigned char c = (unsigned char)s[i + k];
		char esc[6] = { '\\', escape_letter(c) };

		lt_buf_append(b, s + i, k);
		if (esc[1] != 0) {
			lt_buf_append(b, esc, 2);
		} else {
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			lt_buf_append(b, esc, 6);
		}
		i += k + 1;
	}
	return lt_buf_append(b, s + i, n - i);
}

int lt_buf_json_text(struct lt_buf *b, const char *s, size_t n)
{
	size_t i = 0, run = 0, k;

	/* JSON text is UTF-8 (RFC 8259 § 8.1): one byte that is not makes a whole log line or error
	 * answer unreadable to a strict parser, and log shippers drop such lines. ASCII, nearly all
	 * of a log line, is passed over a block at a time. */
	while (i < n) {
		uint64_t w;

#ifdef __SSE2__
		while (n - i >= 16 && _mm_movemask_epi8(_mm_loadu_si128((const __m128i *)(const void *)(s + i))) == 0)
			i += 16;
#endif
		while (n - i >= 8 && (memcpy(&w, s + i, 8), (w & LT_WORD_HIGHS) == 0))
			i += 8;
		if (i >= n)
			break;
		if ((unsigned char)s[i] < 0x80) {
			i++;
		} else if ((k = lt_json_utf8_next(s + i, n - i, NULL)) > 0) {
			i += k;
		} else {
			lt_buf_json_str(b, s + run, i - run);
			lt_buf_append(b, "\xef\xbf\xbd", 3);
			run = ++i;
		}
	}
	return lt_buf_json_str(b, s + run, n - run);
}

/* jansson quotes the offending input ("near '...'"); the message travels in a JSON error
 * envelope and into logs, so bytes that are not printable UTF-8 become '?'. */
static void clean_text(char *dst, size_t n, const char *src)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t slen = strlen(src), o = 0;

	for (size_t i = 0; i < slen && o + 1 < n;) {
		size_t k = lt_json_utf8_next(src + i, slen - i, NULL);

		if (k == 0 || (k == 1 && (s[i] < 0x20 || s[i] == 0x7f))) {
			dst[o++] = '?';
			i++;
			continue;
		}
		if (o + k >= n)
			break;
		memcpy(dst + o, s + i, k);
		o += k;
		i += k;
	}
	dst[o] = '\0';
}

int lt_json_refuse(struct lt_err *e, int line, int col, const char *reason)
{
	char clean[LT_ERR_MSG / 2];

	clean_text(clean, sizeof(clean), reason);
	/* A position people read starts at 1, also for an empty document. */
	return lt_err_set(e, 400, "json.invalid", "invalid JSON at line %d column %d: %s", line > 0 ? line : 1,
			  col > 0 ? col : 1, clean);
}

/* ---- The decoder ----------------------------------------------------------------------------
 *
 * One pass over the bytes builds the jansson tree directly: no stream callback, strings without
 * escapes copied once from the input, objects filled with json_object_setn_new_nocheck after an
 * explicit duplicate check. It refuses exactly what the previous decoder (the pre-scan, then
 * jansson's json_loadb with JSON_REJECT_DUPLICATES | JSON_DECODE_ANY) refused, and reports the
 * same line, column and reason: callers and users match on those messages, and
 * tests/unit/test_json_diff.c checks the two against each other. So the lexer below follows
 * jansson 2.14's where that shows: which token an error is reported at, how far it had read
 * (`pos`, the bytes consumed, which gives line and column), and the token's text so far
 * (buf[start..pos), quoted as "near '...'" when it is at most 20 bytes, as jansson does).
 * Line and column are computed from `pos` only when something is refused. */

enum {
	TOK_INVALID = -1, TOK_EOF = 0,   /* '{' '}' '[' ']' ':' ',' stand for themselves */
	TOK_STRING = 256, TOK_INTEGER, TOK_REAL, TOK_TRUE, TOK_FALSE, TOK_NULL,
};

#define NEAR_MAX 20                  /* jansson quotes a token's text up to this many bytes */
#define SCRATCH_SMALL 256
/* Said of \u0000 in a key or a value alike; jansson's own text named its flag JSON_ALLOW_NUL. */
#define NUL_ESCAPE_REASON "\\u0000 is not allowed in strings"

/* Where escaped strings are decoded; two of them, so that an object key survives the scan of
 * its value. */
struct scratch {
	char *data;
	size_t len, cap;
	char small[SCRATCH_SMALL];
};

struct parser {
	const char *buf;
	size_t len;
	size_t pos;          /* bytes consumed */
	size_t start;        /* the current token's first byte */
	int tok;
	const char *str;     /* TOK_STRING: its value (in buf or in a scratch), str_len bytes */
	size_t str_len;
	int str_nul;         /* it holds a \u0000 */
	int str_in_scratch;
	json_int_t ival;
	double rval;
	struct scratch sc[2];
	int cur;             /* the scratch the next escaped string goes to */
	/* The refusal, once there is one: the first one wins, as in jansson. */
	int failed;
	size_t err_pos;
	char reason[128];
};

/* Byte classes inside a string: 0 plain, 1 '"', 2 '\\', 3 a control character, 4 not ASCII. */
static const unsigned char str_class[256] = {
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
	0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
	4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
	4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
	4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
};

/* Records the refusal: reason as given, at pos. The first one wins, as in jansson. Returns
 * TOK_INVALID for the lexer's convenience. */
static int fail_at(struct parser *p, size_t pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail_at(struct parser *p, size_t pos, const char *fmt, ...)
{
	va_list ap;

	if (p->failed)
		return TOK_INVALID;
	p->failed = 1;
	p->err_pos = pos;
	va_start(ap, fmt);
	vsnprintf(p->reason, sizeof(p->reason), fmt, ap);
	va_end(ap);
	return TOK_INVALID;
}

/* The same with the current token's text so far as context, the way jansson words it: "near
 * '...'" up to NEAR_MAX bytes, nothing past that, and "near end of file" when there is no token
 * text, except for undecodable bytes (utf8 set), which jansson reports bare. */
static int fail_ctx(struct parser *p, size_t pos, int utf8, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int fail_ctx(struct parser *p, size_t pos, int utf8, const char *fmt, ...)
{
	va_list ap;
	char msg[96];
	size_t near = pos - p->start;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (near > NEAR_MAX || (near == 0 && utf8))
		return fail_at(p, pos, "%s", msg);
	if (near == 0)
		return fail_at(p, pos, "%s near end of file", msg);
	return fail_at(p, pos, "%s near '%.*s'", msg, (int)near, p->buf + p->start);
}

/* The parser's refusals come after the token they are about: at its end, quoting it. */
static int fail_tok(struct parser *p, const char *msg)
{
	return fail_ctx(p, p->pos, 0, "%s", msg);
}

static int fail_utf8(struct parser *p, size_t at)
{
	return fail_ctx(p, at, 1, "unable to decode byte 0x%x", (unsigned char)p->buf[at]);
}

/* The length of the valid UTF-8 character at buf[at], or 0 (the refusal recorded). */
static size_t utf8_at(struct parser *p, size_t at)
{
	size_t k = lt_json_utf8_next(p->buf + at, p->len - at, NULL);

	if (k == 0)
		fail_utf8(p, at);
	return k;
}

/* A byte read past the end of a number or a word is read, as jansson does, to learn that the
 * token ended: when it starts an undecodable sequence, that is the refusal. */
static int lookahead_ok(struct parser *p)
{
	return p->pos >= p->len || (unsigned char)p->buf[p->pos] < 0x80 || utf8_at(p, p->pos) > 0;
}

static void scratch_reserve(struct scratch *s, size_t extra)
{
	size_t cap;

	if (s->data == NULL) {
		s->data = s->small;
		s->cap = sizeof(s->small);
	}
	if (extra <= s->cap - s->len)
		return;
	cap = s->cap * 2;
	while (cap - s->len < extra)
		cap *= 2;
	if (s->data == s->small) {
		s->data = lt_xmalloc(cap);
		memcpy(s->data, s->small, s->len);
	} else {
		s->data = lt_xrealloc(s->data, cap);
	}
	s->cap = cap;
}

static void scratch_put(struct scratch *s, const char *src, size_t n)
{
	scratch_reserve(s, n);
	memcpy(s->data + s->len, src, n);
	s->len += n;
}

/* The four hex digits of a \u escape whose 'u' is at buf[at - 1]; -1 with the refusal recorded. */
static long escape_hex(struct parser *p, size_t at)
{
	long v = 0;

	for (size_t i = at; i < at + 4; i++) {
		int h;

		if (i >= p->len)
			return fail_ctx(p, p->len, 0, "invalid escape");
		if ((unsigned char)p->buf[i] >= 0x80 && utf8_at(p, i) == 0)
			return -1;
		if ((h = lt_hex_digit(p->buf[i])) < 0)
			return fail_ctx(p, i + 1, 0, "invalid escape");
		v = (v << 4) | h;
	}
	return v;
}

/* The escape at buf[i] (a backslash), decoded into s. Returns its length in the input, or 0 with
 * the refusal recorded. A surrogate problem is not a refusal yet: jansson finds those only after
 * the whole string has been read, so an error further on in the string comes first; the first
 * one goes to bad (when bad is still empty) and decoding goes on. */
static size_t scan_escape(struct parser *p, size_t i, struct scratch *s, char *bad, size_t badn)
{
	const unsigned char *b = (const unsigned char *)p->buf;
	long v, v2;
	int c;

	if (i + 1 >= p->len) {
		fail_ctx(p, p->len, 0, "invalid escape");
		return 0;
	}
	if (b[i + 1] != 'u') {
		if ((c = unescape_letter(b[i + 1])) >= 0) {
			scratch_reserve(s, 1);
			s->data[s->len++] = (char)c;
			return 2;
		}
		if (b[i + 1] < 0x80 || utf8_at(p, i + 1) > 0)
			fail_ctx(p, i + 2, 0, "invalid escape");
		return 0;
	}
	if ((v = escape_hex(p, i + 2)) < 0)
		return 0;
	if (v >= 0xdc00 && v <= 0xdfff) {
		if (bad[0] == '\0')
			snprintf(bad, badn, "invalid Unicode '\\u%04lX'", (unsigned long)v);
		return 6;
	}
	if (v < 0xd800 || v > 0xdbff) {
		scratch_reserve(s, 4);
		s->len += lt_json_utf8_put(s->data + s->len, (uint32_t)v);
		p->str_nul |= v == 0;
		return 6;
	}
	if (i + 7 >= p->len || b[i + 6] != '\\' || b[i + 7] != 'u') {
		if (bad[0] == '\0')
			snprintf(bad, badn, "invalid Unicode '\\u%04lX'", (unsigned long)v);
		return 6;
	}
	if ((v2 = escape_hex(p, i + 8)) < 0)
		return 0;
	if (v2 < 0xdc00 || v2 > 0xdfff) {
		if (bad[0] == '\0')
			snprintf(bad, badn, "invalid Unicode '\\u%04lX\\u%04lX'", (unsigned long)v, (unsigned long)v2);
		return 12;
	}
	scratch_reserve(s, 4);
	s->len += lt_json_utf8_put(s->data + s->len, (uint32_t)(((v - 0xd800) << 10) + (v2 - 0xdc00) + 0x10000));
	return 12;
}

/* A string whose opening quote was just consumed. Plain runs are skipped in one loop; only a
 * string with escapes is decoded, into a scratch buffer. */
static __attribute__((noinline)) int scan_string(struct parser *p)
{
	const unsigned char *b = (const unsigned char *)p->buf;
	size_t i = p->pos, run = i, n = p->len, k;
	struct scratch *s = NULL;
	char bad[64];

	bad[0] = '\0';
	p->str_nul = 0;
	for (;;) {
		uint64_t w, mask;

		/* Plain ASCII sixteen or eight bytes at a time, straight to the first byte that is
		 * not; byte by byte in the last few. */
#ifdef __SSE2__
		while (n - i >= 16) {
			unsigned m = special16(b + i, 1);

			if (m != 0) {
				i += (unsigned)__builtin_ctz(m);
				goto found;
			}
			i += 16;
		}
#endif
		while (n - i >= 8) {
			memcpy(&w, b + i, 8);
			if ((mask = json_special8(w) | (w & LT_WORD_HIGHS)) != 0) {
				i += json_first8(mask);
				break;
			}
			i += 8;
		}
		while (i < n && str_class[b[i]] == 0)
			i++;
		if (i >= n)
			return fail_ctx(p, n, 0, "premature end of input");
found:
		switch (str_class[b[i]]) {
		case 1:
			goto done;
		case 4:
			/* Two- and three-byte characters without the checks that only the rarer lead
			 * bytes need (E0 and ED bound their second byte; F0-F4 are four bytes). */
			if (b[i] >= 0xc2 && b[i] <= 0xdf && n - i >= 2 && (b[i + 1] & 0xc0) == 0x80) {
				i += 2;
				continue;
			}
			if (b[i] >= 0xe1 && b[i] <= 0xef && b[i] != 0xed && n - i >= 3 && (b[i + 1] & 0xc0) == 0x80 &&
			    (b[i + 2] & 0xc0) == 0x80) {
				i += 3;
				continue;
			}
			if ((k = utf8_at(p, i)) == 0)
				return TOK_INVALID;
			i += k;
			continue;
		case 3:
			if (b[i] == '\n')
				return fail_ctx(p, i, 0, "unexpected newline");
			return fail_ctx(p, i, 0, "control character 0x%x", b[i]);
		default:
			if (s == NULL) {
				s = &p->sc[p->cur];
				s->len = 0;
			}
			scratch_put(s, p->buf + run, i - run);
			if ((k = scan_escape(p, i, s, bad, sizeof(bad))) == 0)
				return TOK_INVALID;
			i += k;
			run = i;
			continue;
		}
	}
done:
	if (bad[0] != '\0')
		return fail_ctx(p, i + 1, 0, "%s", bad);
	if (s == NULL) {
		p->str = p->buf + p->pos;
		p->str_len = i - p->pos;
	} else {
		scratch_put(s, p->buf + run, i - run);
		p->str = s->data;
		p->str_len = s->len;
	}
	p->str_in_scratch = s != NULL;
	p->pos = i + 1;
	return TOK_STRING;
}

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* strtod needs a terminated copy: the input buffer need not be terminated. */
static int scan_real(struct parser *p, size_t n)
{
	char small[64], *text = n < sizeof(small) ? small : lt_xmalloc(n + 1);
	double v;
	int overflow;

	memcpy(text, p->buf + p->start, n);
	text[n] = '\0';
	errno = 0;
	v = strtod(text, NULL);
	overflow = (v == HUGE_VAL || v == -HUGE_VAL) && errno == ERANGE;
	if (text != small)
		free(text);
	if (overflow)
		return fail_ctx(p, p->pos, 0, "real number overflow");
	p->rval = v;
	return TOK_REAL;
}

/* A number whose first byte ('-' or a digit) is at p->start, read the way jansson reads it: an
 * integer exactly in int64 ("too big integer" past it, where jansson's strtoll says ERANGE), a
 * fraction or an exponent makes a real through strtod ("real number overflow" when it is
 * infinite; an underflow reads as what strtod gives). */
static int scan_number(struct parser *p)
{
	const char *b = p->buf;
	size_t i = p->start, n = p->len;
	int neg = b[i] == '-', ok = 1, is_real = 0;

	if (neg)
		i++;
	if (i < n && b[i] == '0') {
		i++;
		ok = !(i < n && is_digit(b[i]));   /* no leading zero */
	} else if (i < n && is_digit(b[i])) {
		while (i < n && is_digit(b[i]))
			i++;
	} else {
		ok = 0;
	}
	if (ok && i < n && b[i] == '.') {
		ok = ++i < n && is_digit(b[i]);
		while (i < n && is_digit(b[i]))
			i++;
		is_real = 1;
	}
	if (ok && i < n && (b[i] == 'e' || b[i] == 'E')) {
		i++;
		if (i < n && (b[i] == '+' || b[i] == '-'))
			i++;
		ok = i < n && is_digit(b[i]);
		while (i < n && is_digit(b[i]))
			i++;
		is_real = 1;
	}
	p->pos = i;
	if (!lookahead_ok(p) || !ok)
		return TOK_INVALID;
	if (!is_real) {
		uint64_t u = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;

		for (size_t j = p->start + (size_t)neg; j < i; j++) {
			unsigned d = (unsigned)(b[j] - '0');

			if (u > (lim - d) / 10)
				return fail_ctx(p, i, 0, neg ? "too big negative integer" : "too big integer");
			u = u * 10 + d;
		}
		p->ival = !neg ? (json_int_t)u : u == lim ? INT64_MIN : -(json_int_t)u;
		return TOK_INTEGER;
	}
	return scan_real(p, i - p->start);
}

static int is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* A word: jansson reads every letter before deciding, so "truex" is one invalid token. */
static int scan_word(struct parser *p)
{
	size_t i = p->start + 1, n;

	while (i < p->len && is_alpha(p->buf[i]))
		i++;
	p->pos = i;
	if (!lookahead_ok(p))
		return TOK_INVALID;
	n = i - p->start;
	if (n == 4 && memcmp(p->buf + p->start, "true", 4) == 0)
		return TOK_TRUE;
	if (n == 5 && memcmp(p->buf + p->start, "false", 5) == 0)
		return TOK_FALSE;
	if (n == 4 && memcmp(p->buf + p->start, "null", 4) == 0)
		return TOK_NULL;
	return TOK_INVALID;
}

/* Byte classes between tokens: 1 whitespace, 2 a one-byte token ('{' '}' '[' ']' ':' ','),
 * 3 '"'; 0 the rest (numbers, words, what is invalid). */
static const unsigned char tok_class[256] = {
	['\t'] = 1, ['\n'] = 1, ['\r'] = 1, [' '] = 1,
	['{'] = 2, ['}'] = 2, ['['] = 2, [']'] = 2, [':'] = 2, [','] = 2,
	['"'] = 3,
};

/* A number, a word, or an invalid token starting at buf[i]: the rarer tokens, kept out of
 * next_token's way. */
static __attribute__((noinline)) int other_token(struct parser *p, size_t i)
{
	const unsigned char *b = (const unsigned char *)p->buf;
	size_t k;

	if (b[i] == '-' || (b[i] >= '0' && b[i] <= '9'))
		return scan_number(p);
	if (is_alpha(b[i]))
		return scan_word(p);
	/* Anything else is an invalid token of one character, which must be decodable. */
	k = b[i] < 0x80 ? 1 : utf8_at(p, i);
	p->pos = i + k;
	return TOK_INVALID;
}

/* The next token. Structure and strings are nearly all of them: those are read here with one
 * table look-up, and the string's scan (the bulk of it) is a call of its own, so this stays a
 * small function that the parser calls ~230 times per kilobyte and a half. */
static int next_token(struct parser *p)
{
	const unsigned char *b = (const unsigned char *)p->buf;
	size_t i = p->pos;
	unsigned cls = 0;

	while (i < p->len && (cls = tok_class[b[i]]) == 1)
		i++;
	p->start = p->pos = i;
	if (i >= p->len)
		return p->tok = TOK_EOF;
	if (cls == 2) {
		p->pos = i + 1;
		return p->tok = b[i];
	}
	if (cls == 3) {
		p->pos = i + 1;
#ifdef __SSE2__
		/* A short ASCII string with nothing to decode (most keys, many values) ends within
		 * the next sixteen bytes: taken here, without scan_string's call. */
		if (p->len - p->pos >= 16) {
			unsigned m = special16(b + p->pos, 1);

			if (m != 0 && b[p->pos + (unsigned)__builtin_ctz(m)] == '"') {
				p->str = p->buf + p->pos;
				p->str_len = (unsigned)__builtin_ctz(m);
				p->str_nul = 0;
				p->str_in_scratch = 0;
				p->pos += p->str_len + 1;
				return p->tok = TOK_STRING;
			}
		}
#endif
		return p->tok = scan_string(p);
	}
	return p->tok = other_token(p, i);
}

/* The next token, a structure byte right where the last token ended (compact JSON: the ':'
 * after a key, the ',' or the bracket after a value) taken inline; anything else from
 * next_token. */
static inline int lex(struct parser *p)
{
	size_t i = p->pos;

	if (i < p->len && tok_class[(unsigned char)p->buf[i]] == 2) {
		p->start = i;
		p->pos = i + 1;
		return p->tok = (unsigned char)p->buf[i];
	}
	return next_token(p);
}

/* A duplicate key, refused at the key (start..end, the token as written): jansson checked before
 * reading on, so this refusal comes before any that a later token made. jansson quotes the key as
 * written (escapes and all) when the token is short. */
static void fail_duplicate(struct parser *p, size_t start, size_t end)
{
	size_t raw = end - start;

	p->failed = 0;
	if (raw > NEAR_MAX)
		fail_at(p, end, "duplicate key");
	else
		fail_at(p, end, "duplicate key '%.*s'", (int)raw - 2, p->buf + start + 1);
}

/* jansson's constructors return NULL, and its setters -1, only when out of memory: the
 * gateway's policy is to abort then (gateway/util.h), as lt_xmalloc does. */
static void need(int ok)
{
	if (!ok) {
		fprintf(stderr, "lienthong: out of memory decoding JSON\n");
		abort();
	}
}

/* The grammar, with an explicit stack of the open arrays and objects. Each new value goes into
 * its parent as soon as it exists (containers before their content), so a refusal anywhere
 * frees the whole tree with one json_decref of the root. The order of the checks and of the
 * reads is jansson's (parse_value, parse_object, parse_array), so that the same token is blamed. */
static json_t *parse(struct parser *p)
{
	json_t *stack[LT_JSON_MAX_DEPTH], *root = NULL, *v, *top = NULL;
	size_t members[LT_JSON_MAX_DEPTH];   /* keys inserted so far into each open object */
	const char *key = NULL;      /* the key read and not yet inserted into top */
	size_t klen = 0, key_start = 0, key_end = 0;
	int depth = 0;

	lex(p);
value:
	switch (p->tok) {
	case TOK_STRING:
		if (p->str_nul) {
			fail_at(p, p->pos, "%s", NUL_ESCAPE_REASON);
			goto refused;
		}
		v = json_stringn_nocheck(p->str, p->str_len);
		break;
	case TOK_INTEGER:
		v = json_integer(p->ival);
		break;
	case TOK_REAL:
		v = json_real(p->rval);
		break;
	case TOK_TRUE:
		v = json_true();
		break;
	case TOK_FALSE:
		v = json_false();
		break;
	case TOK_NULL:
		v = json_null();
		break;
	case '{':
	case '[':
		if (depth == LT_JSON_MAX_DEPTH) {
			fail_at(p, p->pos, "nesting deeper than %d levels", LT_JSON_MAX_DEPTH);
			goto refused;
		}
		v = p->tok == '{' ? json_object() : json_array();
		break;
	case TOK_INVALID:
		fail_tok(p, "invalid token");
		goto refused;
	default:
		fail_tok(p, "unexpected token");
		goto refused;
	}
	need(v != NULL);
	if (top == NULL) {
		root = v;
	} else if (json_is_array(top)) {
		need(json_array_append_new(top, v) == 0);
	} else {
		/* The duplicate check is the insertion itself: a key already there is replaced, and
		 * the size stays. One hash of the key instead of a lookup and then an insertion. */
		need(json_object_setn_new_nocheck(top, key, klen, v) == 0);
		key = NULL;
		if (json_object_size(top) == members[depth - 1]++) {
			fail_duplicate(p, key_start, key_end);
			goto refused;
		}
	}
	if (json_is_object(v) || json_is_array(v)) {
		members[depth] = 0;
		stack[depth++] = top = v;
		lex(p);
		if (p->tok == (json_is_object(v) ? '}' : ']'))
			goto closed;
		goto member;
	}
next:
	if (top == NULL) {
		if (lex(p) != TOK_EOF) {
			fail_tok(p, "end of file expected");
			goto refused;
		}
		return root;
	}
	lex(p);
	if (p->tok == ',') {
		lex(p);
		goto member;
	}
	if (p->tok != (json_is_object(top) ? '}' : ']')) {
		fail_tok(p, json_is_object(top) ? "'}' expected" : "']' expected");
		goto refused;
	}
closed:
	depth--;
	top = depth > 0 ? stack[depth - 1] : NULL;
	goto next;
member:
	/* What comes after '{', '[' or ',': a key, or an array item (the end of the input here is
	 * jansson's "']' expected", not the "unexpected token" a missing value gets elsewhere). */
	if (json_is_object(top))
		goto key;
	if (p->tok == TOK_EOF) {
		fail_tok(p, "']' expected");
		goto refused;
	}
	goto value;
key:
	if (p->tok != TOK_STRING) {
		fail_tok(p, "string or '}' expected");
		goto refused;
	}
	if (p->str_nul) {
		fail_at(p, p->pos, "%s", NUL_ESCAPE_REASON);
		goto refused;
	}
	key = p->str;
	klen = p->str_len;
	key_start = p->start;
	key_end = p->pos;
	if (p->str_in_scratch)
		p->cur ^= 1;   /* the value's escapes go to the other scratch */
	if (lex(p) != ':') {
		fail_tok(p, "':' expected");
		goto refused;
	}
	lex(p);
	goto value;
refused:
	/* A key read but not yet inserted may be a duplicate, which jansson refused before reading
	 * what came after it. Its text is still where it was read: the tokens after it decode
	 * their escapes into the other scratch. */
	if (key != NULL && json_object_getn(top, key, klen) != NULL)
		fail_duplicate(p, key_start, key_end);
	json_decref(root);
	return NULL;
}

/* The refusal as people read it: line and column of the byte after the last one read, counting
 * characters, not bytes (as jansson and the pre-scan do). */
static int refuse_at(struct lt_err *e, const struct parser *p)
{
	int line = 1, col = 0;

	for (size_t i = 0; i < p->err_pos; i++) {
		if (p->buf[i] == '\n') {
			line++;
			col = 0;
		} else if ((p->buf[i] & 0xc0) != 0x80) {
			col++;
		}
	}
	return lt_json_refuse(e, line, col, p->reason);
}

int lt_json_decode(const char *buf, size_t len, json_t **out, struct lt_err *e)
{
	struct parser p;
	json_t *doc;

	/* jansson said this of a NULL buffer; kept so that no caller sees a change. */
	if (buf == NULL)
		return lt_json_refuse(e, 1, 1, "wrong arguments");
	p.buf = buf;
	p.len = len;
	p.pos = p.start = 0;
	p.failed = 0;
	p.cur = 0;
	p.sc[0].data = p.sc[1].data = NULL;
	p.sc[0].len = p.sc[1].len = 0;
	doc = parse(&p);
	for (int i = 0; i < 2; i++)
		if (p.sc[i].data != p.sc[i].small)
			free(p.sc[i].data);
	if (doc != NULL) {
		*out = doc;
		return 0;
	}
	/* The pre-scan's refusals come first wherever they are (they did when it ran before
	 * jansson); the parser refuses all they refuse, so running it on failure only is the same. */
	if (lt_json_prescan(buf, len, e) < 0)
		return -1;
	return refuse_at(e, &p);
}

size_t lt_json_real_text(double d, char *buf, size_t n)
{
	int len = 0;

	/* 17 significant digits always read back exactly; fewer often do and read better. %g and
	 * strtod follow LC_NUMERIC: the gateway never calls setlocale, so the point is a '.'. */
	for (int prec = 15; prec <= 17; prec++) {
		len = snprintf(buf, n, "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	if (len < 0)
		len = 0;
	if ((size_t)len >= n)
		return n ? n - 1 : 0;
	if (strpbrk(buf, ".eEn") == NULL && (size_t)len + 2 < n) {
		memcpy(buf + len, ".0", 3);
		len += 2;
	}
	return (size_t)len;
}

/* The writer appends a byte or a few around every value: the room is checked inline, and only
 * growing (and the bound, and the sticky overflow) is left to lt_buf. The terminating NUL is
 * written once, at the end. */
static void put(struct lt_buf *b, const char *s, size_t n)
{
	if (n < b->cap - b->len && n <= b->max - b->len && !b->overflow) {
		memcpy(b->data + b->len, s, n);
		b->len += n;
	} else {
		lt_buf_append(b, s, n);
	}
}

static void put1(struct lt_buf *b, char c)
{
	if (b->cap - b->len > 1 && b->len < b->max && !b->overflow)
		b->data[b->len++] = c;
	else
		lt_buf_append(b, &c, 1);
}

/* Decimal text of v in buf (24 bytes), as "%lld" writes it; returns its length. printf's
 * machinery cost more than the rest of writing an integer. */
static size_t int_text(json_int_t v, char *buf)
{
	char tmp[24];
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
	size_t n = 0, len = 0;

	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		buf[len++] = '-';
	while (n > 0)
		buf[len++] = tmp[--n];
	buf[len] = '\0';
	return len;
}

static inline __attribute__((always_inline)) void put_str(struct lt_buf *b, const char *s, size_t n)
{
	/* Nearly every string needs no escape: then it goes in with its quotes in one copy. */
	if (n + 2 < b->cap - b->len && n + 2 <= b->max - b->len && !b->overflow && plain_len(s, n) == n) {
		char *d = b->data + b->len;

		d[0] = '"';
		memcpy(d + 1, s, n);
		d[n + 1] = '"';
		b->len += n + 2;
		return;
	}
	put1(b, '"');
	lt_buf_json_str(b, s, n);
	put1(b, '"');
}

/* An object member's key with what goes around it, `,"key":` (no comma before the first), in one
 * copy when it needs no escape, as keys nearly never do. */
static void put_key(struct lt_buf *b, const char *key, size_t n, int first)
{
	size_t room = n + 4;

	if (room < b->cap - b->len && room <= b->max - b->len && !b->overflow && plain_len(key, n) == n) {
		char *d = b->data + b->len;

		if (!first)
			*d++ = ',';
		*d++ = '"';
		memcpy(d, key, n);
		d[n] = '"';
		d[n + 1] = ':';
		b->len = (size_t)(d + n + 2 - b->data);
		return;
	}
	if (!first)
		put1(b, ',');
	put_str(b, key, n);
	put1(b, ':');
}

static int encode_value(struct lt_buf *b, json_t *v, int depth)
{
	char num[40];
	size_t i, n;
	void *it;
	int first = 1;

	if (depth > ENCODE_MAX_DEPTH)
		return -1;
	switch (json_typeof(v)) {
	case JSON_NULL:
		put(b, "null", 4);
		return 0;
	case JSON_TRUE:
		put(b, "true", 4);
		return 0;
	case JSON_FALSE:
		put(b, "false", 5);
		return 0;
	case JSON_INTEGER:
		n = int_text(json_integer_value(v), num);
		put(b, num, n);
		return 0;
	case JSON_REAL:
		n = lt_json_real_text(json_real_value(v), num, sizeof(num));
		put(b, num, n);
		return 0;
	case JSON_STRING:
		put_str(b, json_string_value(v), json_string_length(v));
		return 0;
	case JSON_ARRAY:
		put1(b, '[');
		n = json_array_size(v);
		for (i = 0; i < n; i++) {
			if (i > 0)
				put1(b, ',');
			if (encode_value(b, json_array_get(v, i), depth + 1) < 0)
				return -1;
		}
		put1(b, ']');
		return 0;
	case JSON_OBJECT:
		put1(b, '{');
		/* The iterator itself, not json_object_keylen_foreach, which finds it again from the
		 * key three times per member: four library calls per member instead of seven. */
		for (it = json_object_iter(v); it != NULL; it = json_object_iter_next(v, it)) {
			put_key(b, json_object_iter_key(it), json_object_iter_key_len(it), first);
			first = 0;
			if (encode_value(b, json_object_iter_value(it), depth + 1) < 0)
				return -1;
		}
		put1(b, '}');
		return 0;
	}
	return -1;
}

/* Room for a typical answer or upstream body at once, instead of growing 256, 512, ... 4096. */
#define ENCODE_FIRST_CAP 4096

int lt_json_encode(json_t *doc, char **out, size_t *len, struct lt_err *e)
{
	struct lt_buf b;

	if (doc == NULL)
		return lt_err_set(e, 500, "json.encode", "no document to encode");
	lt_buf_init(&b, LT_JSON_MAX_OUTPUT);
	lt_buf_reserve(&b, ENCODE_FIRST_CAP);
	if (encode_value(&b, doc, 0) < 0 || b.overflow) {
		int too_big = b.overflow;

		lt_buf_free(&b);
		if (too_big)
			return lt_err_set(e, 500, "json.encode", "the encoded document is larger than %u bytes",
					  LT_JSON_MAX_OUTPUT);
		return lt_err_set(e, 500, "json.encode", "the document is nested deeper than %d levels",
				  ENCODE_MAX_DEPTH);
	}
	b.data[b.len] = '\0';
	*out = lt_buf_take(&b, len);
	return 0;
}

/* snprintf(buf, n, "%s", t), return value and all, without printf's machinery: a map on a
 * boolean field does this for every value. */
static size_t copy_text(char *buf, size_t n, const char *t)
{
	size_t len = strlen(t);

	if (n > 0) {
		size_t k = len < n ? len : n - 1;

		memcpy(buf, t, k);
		buf[k] = '\0';
	}
	return len;
}

int lt_json_scalar_text(const json_t *v, const char *null_text, char *buf, size_t n, const char **s, size_t *len)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		*s = json_string_value(v);
		*len = json_string_length(v);
		return 0;
	case JSON_INTEGER:
		*len = int_text(json_integer_value(v), buf);   /* at most 21 bytes: buf holds 32 */
		break;
	case JSON_REAL:
		*len = lt_json_real_text(json_real_value(v), buf, n);
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		*len = copy_text(buf, n, json_is_true(v) ? "true" : "false");
		break;
	case JSON_NULL:
		*len = copy_text(buf, n, null_text);
		break;
	default:
		return -1;
	}
	*s = buf;
	return 0;
}
