/* util.h: allocation policy, bounded buffers, and small parsers shared by every module.
 *
 * OOM policy (decided once, as h2o does): our own allocations abort the process with a message
 * instead of returning NULL; a gateway that cannot allocate 1 KiB cannot do anything useful and a
 * half-handled OOM path is where data gets lost. Library calls that may return NULL are still checked. */
#ifndef LT_UTIL_H
#define LT_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include "gateway/err.h"

void *lt_xmalloc(size_t n);                 /* never NULL */
void *lt_xcalloc(size_t n, size_t size);    /* never NULL, zeroed */
void *lt_xrealloc(void *p, size_t n);       /* never NULL */
char *lt_xstrdup(const char *s);            /* s NULL -> NULL */
char *lt_xstrndup(const char *s, size_t n); /* copies at most n bytes, always terminates */
char *lt_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* free() and NULL the pointer (HAProxy ha_free). */
#define LT_FREE(p) do { free(p); (p) = NULL; } while (0)

/* A bounded, sticky-error byte buffer (curl dynbuf + Varnish vsb): appends past `max` set
 * `overflow`, drop the data, and every later append is a no-op; check once at the end. */
struct lt_buf {
	char *data;      /* always NUL-terminated when non-NULL */
	size_t len, cap;
	size_t max;      /* hard limit on len */
	int overflow;
};

void lt_buf_init(struct lt_buf *b, size_t max);
int lt_buf_append(struct lt_buf *b, const void *p, size_t n);   /* 0 / -1 on overflow */
/* Makes room for n more bytes (no more than max allows) so that appending them does not
 * reallocate: for a writer that knows about how much it will write. Never sets overflow. */
void lt_buf_reserve(struct lt_buf *b, size_t n);
int lt_buf_puts(struct lt_buf *b, const char *s);
int lt_buf_putc(struct lt_buf *b, char c);
/* v in decimal: what a Content-Length needs, without printf's engine (a few hundred instructions
 * per call on a path that runs per message). */
int lt_buf_put_size(struct lt_buf *b, size_t v);
int lt_buf_printf(struct lt_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int lt_buf_vprintf(struct lt_buf *b, const char *fmt, va_list ap);
/* Tests on the 8 bytes of a word loaded with memcpy, for scanners that skip plain text eight
 * bytes at a time. Each is the classic "has a zero byte" test: nonzero exactly when some byte
 * matches, and its lowest flag (0x80 in that byte) marks the first byte that does. */
#define LT_WORD_ONES 0x0101010101010101ULL
#define LT_WORD_HIGHS 0x8080808080808080ULL

static inline uint64_t lt_word_has_below(uint64_t w, unsigned char n)   /* a byte < n (n <= 128) */
{
	return (w - LT_WORD_ONES * n) & ~w & LT_WORD_HIGHS;
}

static inline uint64_t lt_word_has_byte(uint64_t w, unsigned char c)
{
	uint64_t x = w ^ (LT_WORD_ONES * c);

	return (x - LT_WORD_ONES) & ~x & LT_WORD_HIGHS;
}

void lt_buf_reset(struct lt_buf *b);        /* len = 0, keeps memory and max, clears overflow */
void lt_buf_free(struct lt_buf *b);
/* Returns the data (caller frees; never NULL: "" when empty) and empties the buffer. */
char *lt_buf_take(struct lt_buf *b, size_t *len);

/* The value of hex digit c (either case), or -1. */
int lt_hex_digit(int c);

/* "250ms", "2s", "5m", "1h"; a bare number is milliseconds. 0 / -1. */
int lt_parse_duration_ms(const char *s, long long *ms);
/* "64KiB", "1MiB", "1GiB", "512" (bytes), also "KB"/"MB" as 1000-multiples. 0 / -1. */
int lt_parse_size(const char *s, size_t *out);

/* Monotonic milliseconds / microseconds (for latency), and wall-clock milliseconds since the epoch. */
uint64_t lt_mono_ms(void);
uint64_t lt_mono_us(void);
uint64_t lt_wall_ms(void);

/* Reads a whole file, refusing more than max bytes. *out is malloc'd and NUL-terminated.
 * Errors name the file ("config.file"). 0 / -1. Blocking: only at startup, check or reload. */
int lt_read_file(const char *path, size_t max, char **out, size_t *len, struct lt_err *e);

/* Joins dir and path unless path is absolute. Returns malloc'd string. dir may be NULL or "". */
char *lt_path_join(const char *dir, const char *path);
/* Directory part of path ("." when none). malloc'd. */
char *lt_path_dir(const char *path);

/* Constant-time comparison of two byte strings of the same length; 1 if equal. */
int lt_ct_equal(const void *a, const void *b, size_t n);

#endif
