/* mask.c: personal data out of log lines (see mask.h for the rules and why). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/mask.h"
#include "adapters/json.h"

#define COLLECT_MAX 256
#define PATH_SEG_MAX 128

static int is_alnum(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c >= 0x80;
}

static int is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int is_local(unsigned char c)
{
	return is_alnum(c) || c == '.' || c == '%' || c == '+' || c == '-';
}

static int is_domain(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '.' || c == '-';
}

/* A number at s[i]: its length in bytes (digits and single inner separators) and its digit count.
 * Separators (space, dash) count only for card-like numbers (13+ digits), so that a date and a time
 * ("2025-01-15 08") never look like one number. */
static size_t number_at(const char *s, size_t n, size_t i, size_t *digits)
{
	size_t j = i, d = 0, plain_end = i, plain_digits = 0;
	int separated = 0;

	while (j < n) {
		if (is_digit((unsigned char)s[j])) {
			d++;
			j++;
			if (!separated) {
				plain_end = j;
				plain_digits = d;
			}
		} else if ((s[j] == ' ' || s[j] == '-') && j + 1 < n && is_digit((unsigned char)s[j + 1]) &&
			   j > i) {
			separated = 1;
			j++;
		} else {
			break;
		}
	}
	if (separated && d >= 13 && d <= 19 && !(j < n && is_alnum((unsigned char)s[j]))) {
		*digits = d;
		return j - i;
	}
	*digits = plain_digits;
	return plain_end - i;
}

/* How many leading and trailing digits stay readable for a number of d digits. */
static void keep_for(size_t d, size_t *head, size_t *tail)
{
	if (d == 12) {          /* CCCD: province + century/sex + birth year stay, as the issue shows */
		*head = 5;
		*tail = 2;
	} else if (d <= 11) {   /* phones, old 9-digit CMND */
		*head = 3;
		*tail = 2;
	} else {                /* cards and accounts */
		*head = 6;
		*tail = 4;
	}
}

static void put_number(struct lt_buf *out, const char *p, size_t len, size_t d)
{
	size_t head, tail, seen = 0;

	keep_for(d, &head, &tail);
	for (size_t k = 0; k < len; k++) {
		if (!is_digit((unsigned char)p[k])) {
			lt_buf_putc(out, p[k]);
			continue;
		}
		lt_buf_putc(out, seen < head || seen >= d - tail ? p[k] : '*');
		seen++;
	}
}

/* An e-mail whose '@' is at s[at]: [*start, *end) of the whole address, or 0. */
static int email_at(const char *s, size_t n, size_t at, size_t from, size_t *start, size_t *end)
{
	size_t a = at, b = at + 1;
	int dot = 0;

	while (a > from && is_local((unsigned char)s[a - 1]))
		a--;
	while (b < n && is_domain((unsigned char)s[b])) {
		dot |= s[b] == '.' && b > at + 1;
		b++;
	}
	while (b > at + 1 && (s[b - 1] == '.' || s[b - 1] == '-'))
		b--;
	if (a == at || !dot || b <= at + 1)
		return 0;
	*start = a;
	*end = b;
	return 1;
}

static size_t extra_at(const char *s, size_t n, size_t i, char *const *extra, size_t n_extra)
{
	for (size_t k = 0; k < n_extra; k++) {
		size_t len;

		/* The first byte rules out almost every value before strlen is paid for. */
		if (extra[k] == NULL || extra[k][0] != s[i])
			continue;
		len = strlen(extra[k]);
		if (len >= 2 && len <= n - i && memcmp(s + i, extra[k], len) == 0)
			return len;
	}
	return 0;
}

/* Appends s's bytes as they are, or as the inside of a JSON string. The masks' own bytes (digits,
 * '*', ' ', '-') need no JSON escape, and escaping is byte by byte, so masking straight into JSON
 * gives the bytes escaping the masked text would, without a copy in between. */
static void put_span(struct lt_buf *out, const char *s, size_t n, int json)
{
	if (json)
		lt_buf_json_text(out, s, n);
	else
		lt_buf_append(out, s, n);
}

static void mask_into(struct lt_buf *out, const char *s, size_t n, char *const *extra, size_t n_extra, int json)
{
	size_t i = 0, flushed = 0;
	/* Bit c of a set: byte c. Digits (0x30-0x39) and '@' (0x40) may always start a rule. */
	static const uint64_t starts[4] = { 0x03ff000000000000ULL, 0x1 };
	uint64_t vals[4] = { 0 }, may[4];

	/* Only a digit, an '@' or the first byte of a value to hide starts anything below: the
	 * bytes in between are passed over with one look-up each, not a try of every rule, and a
	 * value is looked for only where its first byte is (request ids and traceparents are
	 * half digits). */
	for (size_t k = 0; k < n_extra; k++)
		if (extra[k] != NULL)
			vals[(unsigned char)extra[k][0] >> 6] |= 1ULL << ((unsigned char)extra[k][0] & 63);
	for (size_t k = 0; k < 4; k++)
		may[k] = starts[k] | vals[k];
	/* Plain bytes are copied in spans; an e-mail's local part is already copied when its '@' is
	 * seen, so the output is cut back to where the address starts. */
	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		size_t len, d, start, end;

		if (!((may[c >> 6] >> (c & 63)) & 1)) {
			i++;
			continue;
		}
		if (((vals[c >> 6] >> (c & 63)) & 1) && (len = extra_at(s, n, i, extra, n_extra)) > 0) {
			put_span(out, s + flushed, i - flushed, json);
			lt_buf_puts(out, "***");
			i += len;
			flushed = i;
			continue;
		}
		if (c == '@' && email_at(s, n, i, flushed, &start, &end)) {
			/* The address's first character stays: all of its bytes, not its lead byte alone. */
			size_t first = lt_json_utf8_next(s + start, i - start, NULL);

			put_span(out, s + flushed, start - flushed, json);
			put_span(out, s + start, first ? first : 1, json);
			lt_buf_puts(out, "***");
			put_span(out, s + i, end - i, json);
			i = end;
			flushed = i;
			continue;
		}
		if (is_digit(c) && (i == 0 || !is_alnum((unsigned char)s[i - 1]))) {
			len = number_at(s, n, i, &d);
			if (d >= 9 && !(i + len < n && is_alnum((unsigned char)s[i + len]))) {
				put_span(out, s + flushed, i - flushed, json);
				put_number(out, s + i, len, d);
				i += len;
				flushed = i;
				continue;
			}
			/* Skip the whole run: its tail is not the start of another number. */
			while (i < n && is_alnum((unsigned char)s[i]))
				i++;
			continue;
		}
		i++;
	}
	put_span(out, s + flushed, n - flushed, json);
}

void lt_mask_text(struct lt_buf *out, const char *s, size_t n, char *const *extra, size_t n_extra)
{
	mask_into(out, s, n, extra, n_extra, 0);
}

void lt_mask_json(struct lt_buf *out, const char *s, size_t n, char *const *extra, size_t n_extra)
{
	mask_into(out, s, n, extra, n_extra, 1);
}

char *lt_mask_str(const char *s, char *const *extra, size_t n_extra)
{
	struct lt_buf b;

	if (s == NULL)
		return NULL;
	lt_buf_init(&b, SIZE_MAX / 2);
	lt_mask_text(&b, s, strlen(s), extra, n_extra);
	return lt_buf_take(&b, NULL);
}

static void collect(const json_t *node, const char *path, char ***vals, size_t *n)
{
	char seg[PATH_SEG_MAX];
	size_t len = strcspn(path, ".");
	int each = len >= 2 && path[len - 2] == '[' && path[len - 1] == ']';
	const json_t *child;

	if (node == NULL || *n >= COLLECT_MAX || len >= sizeof(seg))
		return;
	memcpy(seg, path, len - (each ? 2 : 0));
	seg[len - (each ? 2 : 0)] = '\0';
	child = json_is_object(node) ? json_object_get(node, seg) : NULL;
	if (each) {
		size_t i;
		const json_t *item;

		json_array_foreach(child, i, item) {
			if (path[len] == '.')
				collect(item, path + len + 1, vals, n);
			else
				collect(item, "", vals, n);
		}
		return;
	}
	if (*path != '\0' && path[len] == '.') {
		collect(child, path + len + 1, vals, n);
		return;
	}
	if (*path == '\0')
		child = node;
	if (json_is_string(child)) {
		*vals = lt_xrealloc(*vals, (*n + 1) * sizeof(**vals));
		(*vals)[(*n)++] = lt_xstrdup(json_string_value(child));
	} else if (json_is_integer(child)) {
		*vals = lt_xrealloc(*vals, (*n + 1) * sizeof(**vals));
		(*vals)[(*n)++] = lt_xasprintf("%lld", (long long)json_integer_value(child));
	}
}

void lt_mask_collect(const json_t *doc, const char *const *paths, size_t n_paths, char ***vals, size_t *n)
{
	for (size_t i = 0; i < n_paths; i++)
		collect(doc, paths[i], vals, n);
}
