/* http1.c: an upstream's HTTP/1.1 answer, read incrementally (see http1.h). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "adapters/http1.h"

/* The most a chunk-size line or a trailer field line may take: an extension has no business being
 * longer, and the bound keeps a hostile chunk line from growing a buffer. */
#define CHUNK_LINE_MAX 4096u
/* Hex digits of a chunk size: 15 keep the size below 2^60, far past any body bound. */
#define CHUNK_DIGITS_MAX 15

struct head_fields {
	int have_length, te, te_chunked, close, keep_alive;
	uint64_t length;
};

static enum lt_h1_rc fail(struct lt_h1_resp *p, const char *msg)
{
	snprintf(p->msg, sizeof(p->msg), "%s", msg);
	p->st = LT_H1_FINISHED;
	p->keep_alive = 0;
	return LT_H1_ERROR;
}

void lt_h1_resp_init(struct lt_h1_resp *p, struct lt_buf *body, int no_body)
{
	memset(p, 0, sizeof(*p));
	lt_buf_init(&p->head, LT_H1_MAX_HEAD);
	p->body = body;
	p->no_body = no_body;
	p->st = LT_H1_HEAD;
}

void lt_h1_resp_free(struct lt_h1_resp *p)
{
	lt_buf_free(&p->head);
}

/* The index just past the empty line that ends a head in d[0..len), searching line ends from
 * `from` on (earlier ones were searched already), or 0 when it is not there yet. */
static size_t head_end(const char *d, size_t len, size_t from)
{
	for (size_t k = from; k < len; k++) {
		const char *nl = memchr(d + k, '\n', len - k);

		if (nl == NULL)
			return 0;
		k = (size_t)(nl - d);
		if (k >= 1 && d[k - 1] == '\n')
			return k + 1;
		if (k >= 2 && d[k - 1] == '\r' && d[k - 2] == '\n')
			return k + 1;
	}
	return 0;
}

/* The next line of d[*pos..end), without its line end; NULL at the end. */
static const char *next_line(const char *d, size_t end, size_t *pos, size_t *n)
{
	const char *s = d + *pos, *nl;
	size_t len;

	if (*pos >= end)
		return NULL;
	nl = memchr(s, '\n', end - *pos);
	len = nl != NULL ? (size_t)(nl - s) : end - *pos;
	*pos += len + (nl != NULL);
	if (len > 0 && s[len - 1] == '\r')
		len--;
	*n = len;
	return s;
}

static int is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* Does the comma-separated list v[0..n) hold `token` (case-insensitive)? */
static int list_has(const char *v, size_t n, const char *token)
{
	size_t tn = strlen(token), i = 0;

	while (i < n) {
		size_t s, e;

		while (i < n && (is_ows(v[i]) || v[i] == ','))
			i++;
		s = i;
		while (i < n && v[i] != ',')
			i++;
		e = i;
		while (e > s && is_ows(v[e - 1]))
			e--;
		if (e - s == tn && strncasecmp(v + s, token, tn) == 0)
			return 1;
	}
	return 0;
}

/* The last coding of a Transfer-Encoding list is chunked? */
static int last_is_chunked(const char *v, size_t n)
{
	size_t e = n, s;

	while (e > 0 && (is_ows(v[e - 1]) || v[e - 1] == ','))
		e--;
	s = e;
	while (s > 0 && v[s - 1] != ',')
		s--;
	while (s < e && is_ows(v[s]))
		s++;
	return e - s == 7 && strncasecmp(v + s, "chunked", 7) == 0;
}

/* Content-Length: digits, or a list of the same digits (RFC 9110 §8.6); -1 when malformed or
 * when two values differ. */
static int parse_length(const char *v, size_t n, struct head_fields *f)
{
	size_t i = 0;

	while (i < n) {
		uint64_t x = 0;
		size_t digits = 0;

		while (i < n && (is_ows(v[i]) || v[i] == ','))
			i++;
		if (i == n)
			break;
		while (i < n && v[i] >= '0' && v[i] <= '9') {
			if (++digits > 18)
				return -1;
			x = x * 10 + (uint64_t)(v[i++] - '0');
		}
		while (i < n && is_ows(v[i]))
			i++;
		if (digits == 0 || (i < n && v[i] != ','))
			return -1;
		if (f->have_length && f->length != x)
			return -1;
		f->have_length = 1;
		f->length = x;
	}
	return f->have_length ? 0 : -1;
}

static enum lt_h1_rc parse_status(struct lt_h1_resp *p, const char *s, size_t n)
{
	if (n < 12 || memcmp(s, "HTTP/1.", 7) != 0 || (s[7] != '0' && s[7] != '1') || s[8] != ' ' ||
	    s[9] < '1' || s[9] > '5' || s[10] < '0' || s[10] > '9' || s[11] < '0' || s[11] > '9' ||
	    (n > 12 && s[12] != ' '))
		return fail(p, "bad status line");
	p->minor = s[7] - '0';
	p->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
	return LT_H1_MORE;
}

static enum lt_h1_rc parse_field(struct lt_h1_resp *p, const char *s, size_t n, struct head_fields *f)
{
	const char *colon = memchr(s, ':', n);
	size_t nn, vs, ve;

	if (colon == NULL || colon == s)
		return fail(p, "bad header field");
	nn = (size_t)(colon - s);
	while (nn > 0 && is_ows(s[nn - 1]))
		nn--;
	vs = (size_t)(colon - s) + 1;
	ve = n;
	while (vs < ve && is_ows(s[vs]))
		vs++;
	while (ve > vs && is_ows(s[ve - 1]))
		ve--;
	if (nn == 14 && strncasecmp(s, "Content-Length", 14) == 0) {
		if (parse_length(s + vs, ve - vs, f) < 0)
			return fail(p, "bad or conflicting Content-Length");
	} else if (nn == 17 && strncasecmp(s, "Transfer-Encoding", 17) == 0) {
		f->te = 1;
		f->te_chunked = last_is_chunked(s + vs, ve - vs);
	} else if (nn == 10 && strncasecmp(s, "Connection", 10) == 0) {
		f->close |= list_has(s + vs, ve - vs, "close");
		f->keep_alive |= list_has(s + vs, ve - vs, "keep-alive");
	} else if (nn == 12 && strncasecmp(s, "Content-Type", 12) == 0) {
		size_t m = ve - vs < sizeof(p->content_type) - 1 ? ve - vs : sizeof(p->content_type) - 1;

		memcpy(p->content_type, s + vs, m);
		p->content_type[m] = '\0';
	}
	return LT_H1_MORE;
}

/* Reads a complete head d[0..n) and sets the body's framing. */
static enum lt_h1_rc parse_head(struct lt_h1_resp *p, const char *d, size_t n)
{
	struct head_fields f = { 0 };
	size_t pos = 0, len;
	const char *line = next_line(d, n, &pos, &len);
	int last_framing = 0;      /* the previous field was Content-Length or Transfer-Encoding */

	if (parse_status(p, line, len) != LT_H1_MORE)
		return LT_H1_ERROR;
	p->content_type[0] = '\0';
	while ((line = next_line(d, n, &pos, &len)) != NULL && len > 0) {
		if (is_ows(line[0])) {
			/* Obsolete line folding continues the previous field's value. It is harmless for
			 * the fields read here except the two that frame the body, where it is refused. */
			if (last_framing)
				return fail(p, "folded Content-Length or Transfer-Encoding");
			continue;
		}
		if (parse_field(p, line, len, &f) != LT_H1_MORE)
			return LT_H1_ERROR;
		last_framing = (len >= 14 && strncasecmp(line, "Content-Length", 14) == 0) ||
			       (len >= 17 && strncasecmp(line, "Transfer-Encoding", 17) == 0);
	}
	if (p->status < 200) {
		if (p->status == 101)
			return fail(p, "switching protocols was not asked for");
		p->status = 0;          /* an interim answer: the real one follows */
		return LT_H1_MORE;
	}
	p->keep_alive = !f.close && (p->minor >= 1 || f.keep_alive);
	if (p->no_body || p->status == 204 || p->status == 304) {
		p->st = LT_H1_FINISHED;
		return LT_H1_DONE;
	}
	if (f.te) {
		/* Transfer-Encoding overrides Content-Length (RFC 9112 §6.3); a message that sent both
		 * may have been framed differently by someone on the way, so the connection ends. */
		if (f.have_length)
			p->keep_alive = 0;
		if (f.te_chunked) {
			p->st = LT_H1_CHUNK_SIZE;
			return LT_H1_MORE;
		}
		p->keep_alive = 0;
		p->st = LT_H1_BODY_CLOSE;
		return LT_H1_MORE;
	}
	if (f.have_length) {
		if (f.length > (uint64_t)(p->body->max - p->body->len)) {
			p->st = LT_H1_FINISHED;
			p->keep_alive = 0;
			snprintf(p->msg, sizeof(p->msg), "body over the limit");
			return LT_H1_TOO_LARGE;
		}
		p->left = f.length;
		p->st = f.length > 0 ? LT_H1_BODY_LENGTH : LT_H1_FINISHED;
		return f.length > 0 ? LT_H1_MORE : LT_H1_DONE;
	}
	p->keep_alive = 0;
	p->st = LT_H1_BODY_CLOSE;
	return LT_H1_MORE;
}

static enum lt_h1_rc feed_head(struct lt_h1_resp *p, const char *buf, size_t len, size_t *used)
{
	size_t end, old = p->head.len, take;
	enum lt_h1_rc rc;

	*used = 0;
	if (old == 0) {
		/* Empty lines before a status line are tolerated (RFC 9112 §2.2). */
		while (*used < len && (buf[*used] == '\r' || buf[*used] == '\n'))
			(*used)++;
		buf += *used;
		len -= *used;
		if (len == 0)
			return LT_H1_MORE;
		/* The usual case: the whole head came in one read, read where it lies. */
		if ((end = head_end(buf, len, 0)) != 0) {
			*used += end;
			return parse_head(p, buf, end);
		}
	}
	take = len < LT_H1_MAX_HEAD - old ? len : LT_H1_MAX_HEAD - old;
	lt_buf_append(&p->head, buf, take);
	end = head_end(p->head.data, p->head.len, old > 2 ? old - 2 : 0);
	if (end == 0) {
		if (p->head.len >= LT_H1_MAX_HEAD)
			return fail(p, "header block too large");
		*used += take;
		return LT_H1_MORE;
	}
	*used += end - old;
	rc = parse_head(p, p->head.data, end);
	lt_buf_reset(&p->head);
	return rc;
}

/* Gathers one line of a chunked body (size line, end of data, trailer field) in p->head. Returns
 * 1 with the line (without its end) in p->head when complete, 0 when it needs more, -1 when it
 * is too long. */
static int chunk_line(struct lt_h1_resp *p, const char *buf, size_t len, size_t *used, size_t max)
{
	const char *nl = memchr(buf, '\n', len);
	size_t n = nl != NULL ? (size_t)(nl - buf) : len;

	if (p->head.len + n > max)
		return -1;
	lt_buf_append(&p->head, buf, n);
	*used = n + (nl != NULL);
	if (nl == NULL)
		return 0;
	if (p->head.len > 0 && p->head.data[p->head.len - 1] == '\r')
		p->head.data[--p->head.len] = '\0';
	return 1;
}

static enum lt_h1_rc chunk_size(struct lt_h1_resp *p)
{
	const char *s = p->head.data;
	size_t i = 0, n = p->head.len;
	uint64_t x = 0;
	int d;

	while (i < n && (d = lt_hex_digit((unsigned char)s[i])) >= 0) {
		if (i >= CHUNK_DIGITS_MAX)
			return fail(p, "bad chunk size");
		x = x * 16 + (uint64_t)d;
		i++;
	}
	if (i == 0)
		return fail(p, "bad chunk size");
	while (i < n && is_ows(s[i]))
		i++;
	if (i < n && s[i] != ';')
		return fail(p, "bad chunk size");
	if (x > (uint64_t)(p->body->max - p->body->len)) {
		p->st = LT_H1_FINISHED;
		p->keep_alive = 0;
		snprintf(p->msg, sizeof(p->msg), "body over the limit");
		return LT_H1_TOO_LARGE;
	}
	p->left = x;
	p->st = x > 0 ? LT_H1_CHUNK_DATA : LT_H1_TRAILER;
	return LT_H1_MORE;
}

static enum lt_h1_rc body_bytes(struct lt_h1_resp *p, const char *buf, size_t n)
{
	if (lt_buf_append(p->body, buf, n) < 0) {
		p->st = LT_H1_FINISHED;
		p->keep_alive = 0;
		snprintf(p->msg, sizeof(p->msg), "body over the limit");
		return LT_H1_TOO_LARGE;
	}
	return LT_H1_MORE;
}

enum lt_h1_rc lt_h1_resp_feed(struct lt_h1_resp *p, const char *buf, size_t len, size_t *used)
{
	size_t i = 0;

	if (len > 0)
		p->got_bytes = 1;
	while (i < len) {
		enum lt_h1_rc rc = LT_H1_MORE;
		size_t n = 0;
		int r;

		switch (p->st) {
		case LT_H1_HEAD:
			rc = feed_head(p, buf + i, len - i, &n);
			break;
		case LT_H1_BODY_LENGTH:
			n = len - i < p->left ? len - i : (size_t)p->left;
			rc = body_bytes(p, buf + i, n);
			p->left -= n;
			if (rc == LT_H1_MORE && p->left == 0) {
				p->st = LT_H1_FINISHED;
				rc = LT_H1_DONE;
			}
			break;
		case LT_H1_BODY_CLOSE:
			n = len - i;
			rc = body_bytes(p, buf + i, n);
			break;
		case LT_H1_CHUNK_SIZE:
			if ((r = chunk_line(p, buf + i, len - i, &n, CHUNK_LINE_MAX)) < 0)
				rc = fail(p, "chunk size line too long");
			else if (r > 0) {
				rc = chunk_size(p);
				lt_buf_reset(&p->head);
			}
			break;
		case LT_H1_CHUNK_DATA:
			n = len - i < p->left ? len - i : (size_t)p->left;
			rc = body_bytes(p, buf + i, n);
			if ((p->left -= n) == 0)
				p->st = LT_H1_CHUNK_END;
			break;
		case LT_H1_CHUNK_END:
			if ((r = chunk_line(p, buf + i, len - i, &n, 1)) < 0 || (r > 0 && p->head.len > 0))
				rc = fail(p, "chunk data longer than its size");
			else if (r > 0)
				p->st = LT_H1_CHUNK_SIZE;
			break;
		case LT_H1_TRAILER:
			/* Trailer fields are read and dropped; together they share the head's bound.
			 * p->scanned is where the current line starts in p->head. */
			if ((r = chunk_line(p, buf + i, len - i, &n, LT_H1_MAX_HEAD - 1)) < 0)
				rc = fail(p, "trailer too large");
			else if (r > 0 && p->head.len == p->scanned) {
				p->st = LT_H1_FINISHED;
				rc = LT_H1_DONE;
			} else if (r > 0) {
				lt_buf_putc(&p->head, '\n');
				p->scanned = p->head.len;
			}
			break;
		case LT_H1_FINISHED:
			*used = i;
			return LT_H1_DONE;
		}
		i += n;
		if (rc != LT_H1_MORE) {
			*used = i;
			return rc;
		}
	}
	*used = i;
	return LT_H1_MORE;
}

enum lt_h1_rc lt_h1_resp_eof(struct lt_h1_resp *p)
{
	if (p->st == LT_H1_BODY_CLOSE) {
		p->st = LT_H1_FINISHED;
		return LT_H1_DONE;
	}
	if (p->st == LT_H1_FINISHED && p->status > 0 && p->msg[0] == '\0')
		return LT_H1_DONE;
	return fail(p, p->got_bytes ? "connection closed before the answer ended"
				    : "connection closed without an answer");
}

int lt_h1_url_parse(const char *url, struct lt_h1_url *u, const char **why)
{
	const char *a, *p, *host, *port = NULL;
	size_t hn;

	memset(u, 0, sizeof(*u));
	if (strncasecmp(url, "https://", 8) == 0) {
		u->tls = 1;
		a = url + 8;
	} else if (strncasecmp(url, "http://", 7) == 0) {
		a = url + 7;
	} else {
		*why = "not an http:// or https:// URL";
		return -1;
	}
	for (p = url; *p != '\0' && *p != '#'; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f) {
			*why = "a space or control character in the URL";
			return -1;
		}
	u->authority = a;
	u->authority_len = strcspn(a, "/?#");
	u->target = a + u->authority_len;
	u->target_len = (size_t)(p - u->target);
	if (memchr(a, '@', u->authority_len) != NULL) {
		*why = "user info in the URL (put credentials in auth:)";
		return -1;
	}
	host = a;
	if (*a == '[') {
		const char *close = memchr(a, ']', u->authority_len);

		if (close == NULL) {
			*why = "an unclosed [ in the URL's host";
			return -1;
		}
		host = a + 1;
		hn = (size_t)(close - host);
		if (close + 1 < a + u->authority_len) {
			if (close[1] != ':') {
				*why = "a bad port in the URL";
				return -1;
			}
			port = close + 2;
		}
	} else {
		const char *colon = memchr(a, ':', u->authority_len);

		hn = colon != NULL ? (size_t)(colon - a) : u->authority_len;
		port = colon != NULL ? colon + 1 : NULL;
	}
	if (hn == 0 || hn >= sizeof(u->host)) {
		*why = hn == 0 ? "no host in the URL" : "the URL's host is too long";
		return -1;
	}
	memcpy(u->host, host, hn);
	u->port = u->tls ? 443 : 80;
	if (port != NULL) {
		unsigned v = 0;
		const char *end = a + u->authority_len;

		if (port == end || end - port > 5) {
			*why = "a bad port in the URL";
			return -1;
		}
		for (const char *q = port; q < end; q++) {
			if (*q < '0' || *q > '9') {
				*why = "a bad port in the URL";
				return -1;
			}
			v = v * 10 + (unsigned)(*q - '0');
		}
		if (v == 0 || v > 65535) {
			*why = "a bad port in the URL";
			return -1;
		}
		u->port = v;
	}
	return 0;
}
