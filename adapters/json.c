/* json.c: strict JSON decoding (jansson behind a cheap pre-scan) and the compact writer.
 *
 * jansson does the real parsing; the pre-scan in front of it exists for the three things
 * jansson 2.14 does not refuse on its own or refuses too late: a UTF-8 byte order mark, a NUL
 * byte (json_loadb stops at it and accepts "123\0", JSONTestSuite n_multidigit_number_then_00),
 * and nesting deeper than LT_JSON_MAX_DEPTH (jansson's own bound is 2048 recursive calls). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/json.h"
#include "gateway/util.h"

#define ENCODE_MAX_DEPTH (2 * LT_JSON_MAX_DEPTH)

static int refuse(struct lt_err *e, int line, int col, const char *reason)
{
	return lt_err_set(e, 400, "json.invalid", "invalid JSON at line %d column %d: %s", line, col, reason);
}

/* One pass over the bytes, aware of strings only so far as to skip brackets inside them. It
 * need not understand invalid input: whatever it lets through, jansson refuses. */
static int prescan(const char *buf, size_t len, struct lt_err *e)
{
	int line = 1, col = 0, depth = 0, in_str = 0, esc = 0;
	char reason[64];

	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		return refuse(e, 1, 1, "byte order mark is not allowed");
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
			return refuse(e, line, col, "NUL byte");
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
				return refuse(e, line, col, reason);
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

/* jansson's duplicate-key text is "duplicate object key near '"KEY"'": keep KEY only. */
static void duplicate_reason(char *dst, size_t n, const char *text)
{
	const char *p = strstr(text, "near '\""), *end;
	char key[160];

	if (p == NULL || (end = strrchr(text, '"')) == NULL || end < p + 7) {
		snprintf(dst, n, "duplicate key");
		return;
	}
	p += 7;
	snprintf(key, sizeof(key), "%.*s", (int)(end - p), p);
	snprintf(dst, n, "duplicate key '%s'", key);
}

int lt_json_decode(const char *buf, size_t len, json_t **out, struct lt_err *e)
{
	json_error_t jerr;
	json_t *doc;
	char reason[LT_ERR_MSG / 2], clean[LT_ERR_MSG / 2];

	if (prescan(buf, len, e) < 0)
		return -1;
	/* Never JSON_ALLOW_NUL: "\u0000" in a string is refused on purpose (conformance/README.md). */
	doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (doc != NULL) {
		*out = doc;
		return 0;
	}
	switch (json_error_code(&jerr)) {
	case json_error_duplicate_key:
		duplicate_reason(reason, sizeof(reason), jerr.text);
		break;
	case json_error_null_character:
	case json_error_null_byte_in_key:
		/* jansson's own text names its flag JSON_ALLOW_NUL, which means nothing to a caller. */
		snprintf(reason, sizeof(reason), "\\u0000 is not allowed in strings");
		break;
	default:
		snprintf(reason, sizeof(reason), "%s", jerr.text);
		break;
	}
	clean_text(clean, sizeof(clean), reason);
	/* jansson says column 0 for an empty document; a position people read starts at 1. */
	return refuse(e, jerr.line > 0 ? jerr.line : 1, jerr.column > 0 ? jerr.column : 1, clean);
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

static int encode_value(struct lt_buf *b, json_t *v, int depth)
{
	char num[40];
	size_t i, n;
	const char *key;
	size_t klen;
	json_t *item;
	int first = 1;

	if (depth > ENCODE_MAX_DEPTH)
		return -1;
	switch (json_typeof(v)) {
	case JSON_NULL:
		return lt_buf_append(b, "null", 4);
	case JSON_TRUE:
		return lt_buf_append(b, "true", 4);
	case JSON_FALSE:
		return lt_buf_append(b, "false", 5);
	case JSON_INTEGER:
		return lt_buf_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	case JSON_REAL:
		n = lt_json_real_text(json_real_value(v), num, sizeof(num));
		return lt_buf_append(b, num, n);
	case JSON_STRING:
		lt_buf_putc(b, '"');
		lt_buf_json_str(b, json_string_value(v), json_string_length(v));
		return lt_buf_putc(b, '"');
	case JSON_ARRAY:
		lt_buf_putc(b, '[');
		for (i = 0; i < json_array_size(v); i++) {
			if (i > 0)
				lt_buf_putc(b, ',');
			if (encode_value(b, json_array_get(v, i), depth + 1) < 0)
				return -1;
		}
		return lt_buf_putc(b, ']');
	case JSON_OBJECT:
		lt_buf_putc(b, '{');
		json_object_keylen_foreach(v, key, klen, item) {
			if (!first)
				lt_buf_putc(b, ',');
			first = 0;
			lt_buf_putc(b, '"');
			lt_buf_json_str(b, key, klen);
			lt_buf_append(b, "\":", 2);
			if (encode_value(b, item, depth + 1) < 0)
				return -1;
		}
		return lt_buf_putc(b, '}');
	}
	return -1;
}

int lt_json_encode(json_t *doc, char **out, size_t *len, struct lt_err *e)
{
	struct lt_buf b;

	if (doc == NULL)
		return lt_err_set(e, 500, "json.encode", "no document to encode");
	lt_buf_init(&b, LT_JSON_MAX_OUTPUT);
	if (encode_value(&b, doc, 0) < 0 || b.overflow) {
		int too_big = b.overflow;

		lt_buf_free(&b);
		if (too_big)
			return lt_err_set(e, 500, "json.encode", "the encoded document is larger than %u bytes",
					  LT_JSON_MAX_OUTPUT);
		return lt_err_set(e, 500, "json.encode", "the document is nested deeper than %d levels",
				  ENCODE_MAX_DEPTH);
	}
	*out = lt_buf_take(&b, len);
	return 0;
}

int lt_json_scalar_text(const json_t *v, const char *null_text, char *buf, size_t n, const char **s, size_t *len)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		*s = json_string_value(v);
		*len = json_string_length(v);
		return 0;
	case JSON_INTEGER:
		*len = (size_t)snprintf(buf, n, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		break;
	case JSON_REAL:
		*len = lt_json_real_text(json_real_value(v), buf, n);
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		*len = (size_t)snprintf(buf, n, "%s", json_is_true(v) ? "true" : "false");
		break;
	case JSON_NULL:
		*len = (size_t)snprintf(buf, n, "%s", null_text);
		break;
	default:
		return -1;
	}
	*s = buf;
	return 0;
}
