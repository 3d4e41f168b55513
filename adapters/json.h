/* json.h: the strict JSON codec for request and response bodies (SPEC.md § HTTP behaviour).
 *
 * This module owns what "valid JSON" means at the gateway's edge: RFC 8259, plus the refusals
 * that keep two parsers from disagreeing about one signed message (duplicate object keys,
 * \u0000 inside strings, a byte order mark), and a nesting bound so that a hostile document is
 * refused in one cheap pass instead of by recursion. It also owns the one writer: compact,
 * UTF-8 kept, object keys in insertion order, reals in their shortest exact form. */
#ifndef LT_JSON_H
#define LT_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "gateway/err.h"

#define LT_JSON_MAX_DEPTH 512                  /* arrays and objects, counted together */
#define LT_JSON_MAX_OUTPUT (64u * 1024 * 1024)  /* an encoded document, in bytes */

/* Decodes buf (len bytes, need not be NUL-terminated). Any JSON value is accepted at the top
 * level (RFC 8259 allows scalars). On error returns -1 with e->status 400, e->code
 * "json.invalid" and e->msg "invalid JSON at line L column C: <reason>" (reason: jansson 2.14's
 * text, which this decoder keeps word for word, e.g. "unexpected token near ']'", or "duplicate key 'x'", "\u0000 is not allowed in strings", "byte order mark is not
 * allowed", "NUL byte", "nesting deeper than 512 levels").
 * *out is a new reference, set only on success. */
int lt_json_decode(const char *buf, size_t len, json_t **out, struct lt_err *e);

/* The refusals lt_json_decode makes before any other, wherever they are in buf: a byte order
 * mark, a NUL byte, brackets (outside strings) nested deeper than LT_JSON_MAX_DEPTH. -1 with e
 * filled as lt_json_decode does at the first one, 0 when there is none. Exported with
 * lt_json_refuse for the differential test's reference decoder (tests/unit/json_oracle.h). */
int lt_json_prescan(const char *buf, size_t len, struct lt_err *e);

/* Fills e with lt_json_decode's refusal at line, column (1 when less) for reason (borrowed;
 * bytes that are not printable UTF-8 become '?'). Always returns -1. */
int lt_json_refuse(struct lt_err *e, int line, int col, const char *reason);

/* Encodes doc (borrowed, not modified) compactly: no whitespace, UTF-8 as is, object keys in
 * insertion order, integers exactly, reals as the shortest text that reads back to the same
 * double (0.1, not 0.10000000000000001). *out is malloc'd and NUL-terminated (caller frees),
 * *len its length (len may be NULL). Fails (status 500, "json.encode") only past
 * LT_JSON_MAX_OUTPUT bytes or 2 * LT_JSON_MAX_DEPTH levels. */
int lt_json_encode(json_t *doc, char **out, size_t *len, struct lt_err *e);

/* Writes the shortest decimal text that strtod() reads back as d, with ".0" added when it would
 * otherwise read as an integer ("100.0", "0.1", "1e+300"). buf should hold 32 bytes; always
 * NUL-terminated. Returns the length written. Shared by the encoder and by the mapping rules
 * that turn numbers into text, so that both print a number the same way. */
size_t lt_json_real_text(double d, char *buf, size_t n);

/* The text of a scalar, the same way everywhere it is compared or written: a string as it is, an
 * integer in decimal, a real as lt_json_real_text, true/false, and null as null_text. *s points
 * into v or into buf (32 bytes at least). Returns -1 for an object or an array. */
int lt_json_scalar_text(const json_t *v, const char *null_text, char *buf, size_t n, const char **s, size_t *len);

/* Decodes the UTF-8 character at s (at most n bytes) into *cp (cp may be NULL) and returns its
 * length, or 0 when the bytes are not valid UTF-8 (overlong forms, surrogates, past U+10FFFF,
 * truncated) or n is 0. JSON text is UTF-8, so its checker lives here; the mapping rules use it
 * to count, trim and case-map characters. */
size_t lt_json_utf8_next(const char *s, size_t n, uint32_t *cp);

/* Writes code point c (at most U+10FFFF, not a surrogate) as UTF-8 at p, which has room for 4
 * bytes; returns the length. The decoder uses it for \u escapes, the mapping rules to case-map. */
size_t lt_json_utf8_put(char *p, uint32_t c);

struct lt_buf;
/* Appends s as the inside of a JSON string (quotes not added), escaping as RFC 8259 requires. s is
 * valid UTF-8 (a jansson tree's string): bytes the gateway did not check go to lt_buf_json_text.
 * 0 / -1 on overflow, as lt_buf_append. */
int lt_buf_json_str(struct lt_buf *b, const char *s, size_t n);
/* Appends bytes the gateway did not make or check (a request's path, a header, a message quoting
 * them) as the inside of a JSON string: as lt_buf_json_str, and each byte that does not begin a
 * valid UTF-8 character as U+FFFD. 0 / -1 on overflow, as lt_buf_append. Strings of jansson trees
 * are valid UTF-8 already and go to lt_buf_json_str. */
int lt_buf_json_text(struct lt_buf *b, const char *s, size_t n);

#endif
