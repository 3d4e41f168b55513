/* http1.c: HTTP/1.1 answers and requests, read incrementally (see http1.h). */
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
	int te_fields, te_other;        /* requests: Transfer-Encoding fields, and one not "chunked" */
	uint64_t length;
};

/* ---- shared: lines, fields, framing --------------------------------------------------------- */

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

/* The fields both kinds of message frame their body with. -1 (why set) for a bad value. */
static int framing_field(const char *name, size_t nn, const char *v, size_t vn, struct head_fields *f,
			 const char **why)
{
	if (nn == 14 && strncasecmp(name, "Content-Length", 14) == 0) {
		if (parse_length(v, vn, f) < 0) {
			*why = "bad or conflicting Content-Length";
			return -1;
		}
	} else if (nn == 17 && strncasecmp(name, "Transfer-Encoding", 17) == 0) {
		f->te = 1;
		f->te_chunked = last_is_chunked(v, vn);
	} else if (nn == 10 && strncasecmp(name, "Connection", 10) == 0) {
		f->close |= list_has(v, vn, "close");
		f->keep_alive |= list_has(v, vn, "keep-alive");
	}
	return 0;
}

static void body_init(struct lt_h1_body *b, struct lt_buf *out)
{
	memset(b, 0, sizeof(*b));
	lt_buf_init(&b->line, LT_H1_MAX_HEAD);
	b->out = out;
	b->st = LT_H1_HEAD;
}

static enum lt_h1_rc body_fail(struct lt_h1_body *b, enum lt_h1_rc rc, const char *why)
{
	b->why = why;
	b->st = LT_H1_FINISHED;
	return rc;
}

/* Starts a body of a known length: 0 when it fits out's bound, else LT_H1_TOO_LARGE. */
static enum lt_h1_rc body_length(struct lt_h1_body *b, uint64_t length)
{
	if (length > (uint64_t)(b->out->max - b->out->len))
		return body_fail(b, LT_H1_TOO_LARGE, "body over the limit");
	b->left = length;
	b->st = length > 0 ? LT_H1_BODY_LENGTH : LT_H1_FINISHED;
	return length > 0 ? LT_H1_MORE : LT_H1_DONE;
}

/* Gathers one line of a chunked body (size line, end of data, trailer field) in b->line. Returns
 * 1 with the line (without its end) in b->line when complete, 0 when it needs more, -1 when it
 * is too long. */
static int chunk_line(struct lt_h1_body *b, const char *buf, size_t len, size_t *used, size_t max)
{
	const char *nl = memchr(buf, '\n', len);
	size_t n = nl != NULL ? (size_t)(nl - buf) : len;

	if (b->line.len + n > max)
		return -1;
	lt_buf_append(&b->line, buf, n);
	*used = n + (nl != NULL);
	if (nl == NULL)
		return 0;
	if (b->line.len > 0 && b->line.data[b->line.len - 1] == '\r')
		b->line.data[--b->line.len] = '\0';
	return 1;
}

static enum lt_h1_rc chunk_size(struct lt_h1_body *b)
{
	const char *s = b->line.data;
	size_t i = 0, n = b->line.len;
	uint64_t x = 0;
	int d;

	while (i < n && (d = lt_hex_digit((unsigned char)s[i])) >= 0) {
		if (i >= CHUNK_DIGITS_MAX)
			return body_fail(b, LT_H1_ERROR, "bad chunk size");
		x = x * 16 + (uint64_t)d;
		i++;
	}
	if (i == 0)
		return body_fail(b, LT_H1_ERROR, "bad chunk size");
	while (i < n && is_ows(s[i]))
		i++;
	if (i < n && s[i] != ';')
		return body_fail(b, LT_H1_ERROR, "bad chunk size");
	if (x > (uint64_t)(b->out->max - b->out->len))
		return body_fail(b, LT_H1_TOO_LARGE, "body over the limit");
	b->left = x;
	b->st = x > 0 ? LT_H1_CHUNK_DATA : LT_H1_TRAILER;
	return LT_H1_MORE;
}

static enum lt_h1_rc body_bytes(struct lt_h1_body *b, const char *buf, size_t n)
{
	if (lt_buf_append(b->out, buf, n) < 0)
		return body_fail(b, LT_H1_TOO_LARGE, "body over the limit");
	return LT_H1_MORE;
}

/* Reads body bytes in whatever framing the head chose. */
static enum lt_h1_rc body_feed(struct lt_h1_body *b, const char *buf, size_t len, size_t *used)
{
	size_t i = 0;

	while (i < len) {
		enum lt_h1_rc rc = LT_H1_MORE;
		size_t n = 0;
		int r;

		switch (b->st) {
		case LT_H1_HEAD:               /* not a body state: the callers read heads themselves */
		case LT_H1_FINISHED:
			*used = i;
			return LT_H1_DONE;
		case LT_H1_BODY_LENGTH:
			n = len - i < b->left ? len - i : (size_t)b->left;
			rc = body_bytes(b, buf + i, n);
			b->left -= n;
			if (rc == LT_H1_MORE && b->left == 0) {
				b->st = LT_H1_FINISHED;
				rc = LT_H1_DONE;
			}
			break;
		case LT_H1_BODY_CLOSE:
			n = len - i;
			rc = body_bytes(b, buf + i, n);
			break;
		case LT_H1_CHUNK_SIZE:
			if ((r = chunk_line(b, buf + i, len - i, &n, CHUNK_LINE_MAX)) < 0)
				rc = body_fail(b, LT_H1_ERROR, "chunk size line too long");
			else if (r > 0) {
				rc = chunk_size(b);
				lt_buf_reset(&b->line);
			}
			break;
		case LT_H1_CHUNK_DATA:
			n = len - i < b->left ? len - i : (size_t)b->left;
			rc = body_bytes(b, buf + i, n);
			if ((b->left -= n) == 0)
				b->st = LT_H1_CHUNK_END;
			break;
		case LT_H1_CHUNK_END:
			if ((r = chunk_line(b, buf + i, len - i, &n, 1)) < 0 || (r > 0 && b->line.len > 0))
				rc = body_fail(b, LT_H1_ERROR, "chunk data longer than its size");
			else if (r > 0)
				b->st = LT_H1_CHUNK_SIZE;
			break;
		case LT_H1_TRAILER:
			/* Trailer fields are read and dropped; together they share the head's bound.
			 * b->scanned is where the current line starts in b->line. */
			if ((r = chunk_line(b, buf + i, len - i, &n, LT_H1_MAX_HEAD - 1)) < 0)
				rc = body_fail(b, LT_H1_ERROR, "trailer too large");
			else if (r > 0 && b->line.len == b->scanned) {
				b->st = LT_H1_FINISHED;
				rc = LT_H1_DONE;
			} else if (r > 0) {
				lt_buf_putc(&b->line, '\n');
				b->scanned = b->line.len;
			}
			break;
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

/* ---- answers -------------------------------------------------------------------------------- */

static enum lt_h1_rc fail(struct lt_h1_resp *p, const char *msg)
{
	snprintf(p->msg, sizeof(p->msg), "%s", msg);
	p->b.st = LT_H1_FINISHED;
	p->keep_alive = 0;
	return LT_H1_ERROR;
}

/* An error or an over-long body from the shared body reader: the answer's verdict. */
static enum lt_h1_rc resp_verdict(struct lt_h1_resp *p, enum lt_h1_rc rc)
{
	if (rc == LT_H1_ERROR)
		return fail(p, p->b.why);
	if (rc == LT_H1_TOO_LARGE) {
		p->keep_alive = 0;
		snprintf(p->msg, sizeof(p->msg), "%s", p->b.why);
	}
	return rc;
}

void lt_h1_resp_init(struct lt_h1_resp *p, struct lt_buf *body, int no_body)
{
	memset(p, 0, sizeof(*p));
	body_init(&p->b, body);
	p->no_body = no_body;
}

void lt_h1_resp_free(struct lt_h1_resp *p)
{
	lt_buf_free(&p->b.line);
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
	const char *colon = memchr(s, ':', n), *why = NULL;
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
	if (framing_field(s, nn, s + vs, ve - vs, f, &why) < 0)
		return fail(p, why);
	if (nn == 12 && strncasecmp(s, "Content-Type", 12) == 0) {
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
		p->b.st = LT_H1_FINISHED;
		return LT_H1_DONE;
	}
	if (f.te) {
		/* Transfer-Encoding overrides Content-Length (RFC 9112 §6.3); a message that sent both
		 * may have been framed differently by someone on the way, so the connection ends. */
		if (f.have_length)
			p->keep_alive = 0;
		if (f.te_chunked) {
			p->b.st = LT_H1_CHUNK_SIZE;
			return LT_H1_MORE;
		}
		p->keep_alive = 0;
		p->b.st = LT_H1_BODY_CLOSE;
		return LT_H1_MORE;
	}
	if (f.have_length)
		return resp_verdict(p, body_length(&p->b, f.length));
	p->keep_alive = 0;
	p->b.st = LT_H1_BODY_CLOSE;
	return LT_H1_MORE;
}

static enum lt_h1_rc feed_head(struct lt_h1_resp *p, const char *buf, size_t len, size_t *used)
{
	struct lt_buf *head = &p->b.line;
	size_t end, old = head->len, take;
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
	lt_buf_append(head, buf, take);
	end = head_end(head->data, head->len, old > 2 ? old - 2 : 0);
	if (end == 0) {
		if (head->len >= LT_H1_MAX_HEAD)
			return fail(p, "header block too large");
		*used += take;
		return LT_H1_MORE;
	}
	*used += end - old;
	rc = parse_head(p, head->data, end);
	lt_buf_reset(head);
	return rc;
}

enum lt_h1_rc lt_h1_resp_feed(struct lt_h1_resp *p, const char *buf, size_t len, size_t *used)
{
	size_t i = 0, n;
	enum lt_h1_rc rc;

	if (len > 0)
		p->got_bytes = 1;
	while (i < len && p->b.st == LT_H1_HEAD) {
		rc = feed_head(p, buf + i, len - i, &n);
		i += n;
		if (rc != LT_H1_MORE) {
			*used = i;
			return rc;
		}
	}
	rc = body_feed(&p->b, buf + i, len - i, &n);
	*used = i + n;
	return resp_verdict(p, rc);
}

enum lt_h1_rc lt_h1_resp_eof(struct lt_h1_resp *p)
{
	if (p->b.st == LT_H1_BODY_CLOSE) {
		p->b.st = LT_H1_FINISHED;
		return LT_H1_DONE;
	}
	if (p->b.st == LT_H1_FINISHED && p->status > 0 && p->msg[0] == '\0')
		return LT_H1_DONE;
	return fail(p, p->got_bytes ? "connection closed before the answer ended"
				    : "connection closed without an answer");
}

/* ---- requests ------------------------------------------------------------------------------- */

static enum lt_h1_rc req_fail(struct lt_h1_req *q, enum lt_h1_rc rc, int status, const char *code,
			      const char *msg)
{
	q->status = status;
	q->code = code;
	snprintf(q->msg, sizeof(q->msg), "%s", msg);
	q->keep_alive = 0;
	q->b.st = LT_H1_FINISHED;
	return rc;
}

/* A request's verdict from the shared body reader. */
static enum lt_h1_rc req_verdict(struct lt_h1_req *q, enum lt_h1_rc rc)
{
	if (rc == LT_H1_ERROR)
		return req_fail(q, rc, 400, "request.malformed", q->b.why);
	if (rc == LT_H1_TOO_LARGE) {
		char msg[96];

		snprintf(msg, sizeof(msg), "the body is larger than %zu bytes", q->b.out->max);
		return req_fail(q, rc, 413, "request.too_large", msg);
	}
	return rc;
}

void lt_h1_req_init(struct lt_h1_req *q, struct lt_buf *body, size_t max_head)
{
	q->n_fields = 0;
	q->status = 0;
	q->code = NULL;
	q->msg[0] = '\0';
	q->method = q->target = NULL;
	q->target_len = 0;
	q->minor = q->keep_alive = q->expect_continue = q->has_body = q->chunked = 0;
	q->content_length = 0;
	q->max_head = max_head;
	q->scanned = 0;
	/* The fields array is not cleared: n_fields says how much of it is valid (it is 3 KiB, and a
	 * connection prepares a request each time it has answered one). */
	body_init(&q->b, body);
}

void lt_h1_req_free(struct lt_h1_req *q)
{
	lt_buf_free(&q->b.line);
}

/* tchar of RFC 9110 §5.6.2: the bytes of a method or a field name. */
static int is_tchar(unsigned char c)
{
	static const char extra[] = "!#$%&'*+-.^_`|~";

	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && memchr(extra, c, sizeof(extra) - 1) != NULL);
}

static enum lt_h1_rc bad(struct lt_h1_req *q, const char *msg)
{
	return req_fail(q, LT_H1_ERROR, 400, "request.malformed", msg);
}

/* method SP origin-form SP HTTP/1.x, in place: NULs end the method and the target. */
static enum lt_h1_rc parse_request_line(struct lt_h1_req *q, char *s, size_t n)
{
	size_t m = 0, t;

	while (m < n && is_tchar((unsigned char)s[m]))
		m++;
	if (m == 0 || m >= n || s[m] != ' ')
		return bad(q, "bad request line");
	t = m + 1;
	if (t >= n || s[t] != '/')
		return bad(q, t < n && s[t] != ' ' ? "the request target is not a path" : "bad request line");
	while (t < n && s[t] != ' ') {
		unsigned char c = (unsigned char)s[t];

		if (c < 0x21 || c == 0x7f)
			return bad(q, "a control character in the request target");
		t++;
	}
	if (n - t != 9 || memcmp(s + t, " HTTP/1.", 8) != 0 || s[t + 8] < '0' || s[t + 8] > '9')
		return bad(q, "bad request line");
	q->minor = s[t + 8] > '0';         /* HTTP/1.2 and on are read as 1.1 (RFC 9110 §2.5) */
	s[m] = '\0';
	s[t] = '\0';
	q->method = s;
	q->target = s + m + 1;
	q->target_len = t - m - 1;
	return LT_H1_MORE;
}

/* name ":" OWS value OWS, in place: NULs end the name (at the colon) and the value. */
static enum lt_h1_rc parse_req_field(struct lt_h1_req *q, char *s, size_t n, struct head_fields *f)
{
	size_t nn = 0, vs, ve;
	const char *why = NULL;
	struct lt_h1_field *fl;

	while (nn < n && is_tchar((unsigned char)s[nn]))
		nn++;
	if (nn == 0 || nn >= n || s[nn] != ':')
		return bad(q, "bad header field");     /* also a space before the colon (RFC 9112 §5.1) */
	vs = nn + 1;
	ve = n;
	while (vs < ve && is_ows(s[vs]))
		vs++;
	while (ve > vs && is_ows(s[ve - 1]))
		ve--;
	for (size_t i = vs; i < ve; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return bad(q, "a control character in a header field");
	}
	if (q->n_fields >= LT_H1_MAX_FIELDS)
		return req_fail(q, LT_H1_ERROR, 431, "request.headers_too_large", "too many header fields");
	if (framing_field(s, nn, s + vs, ve - vs, f, &why) < 0)
		return bad(q, why);
	if (nn == 6 && strncasecmp(s, "Expect", 6) == 0 && ve - vs == 12 && strncasecmp(s + vs, "100-continue", 12) == 0)
		q->expect_continue = 1;
	if (nn == 17 && strncasecmp(s, "Transfer-Encoding", 17) == 0) {
		/* Anything but one "chunked": a coding the gateway cannot undo, or chunked twice. */
		f->te_fields++;
		f->te_other |= !(ve - vs == 7 && strncasecmp(s + vs, "chunked", 7) == 0);
	}
	fl = &q->fields[q->n_fields++];
	s[nn] = '\0';
	s[ve] = '\0';                          /* OWS, CR or LF: inside the head either way */
	fl->name = s;
	fl->name_len = nn;
	fl->value = s + vs;
	fl->value_len = ve - vs;
	return LT_H1_MORE;
}

static enum lt_h1_rc parse_req_head(struct lt_h1_req *q, char *d, size_t n)
{
	struct head_fields f = { 0 };
	size_t pos = 0, len;
	char *line = (char *)next_line(d, n, &pos, &len);

	if (parse_request_line(q, line, len) != LT_H1_MORE)
		return LT_H1_ERROR;
	while ((line = (char *)next_line(d, n, &pos, &len)) != NULL && len > 0) {
		if (is_ows(line[0]))
			return bad(q, "a folded header field");    /* RFC 9112 §5.2: refuse or unfold */
		if (parse_req_field(q, line, len, &f) != LT_H1_MORE)
			return LT_H1_ERROR;
	}
	q->keep_alive = !f.close && (q->minor >= 1 || f.keep_alive);
	if (f.te && f.have_length)
		return bad(q, "both Content-Length and Transfer-Encoding");
	if (f.te && (f.te_other || f.te_fields > 1))
		return req_fail(q, LT_H1_ERROR, 501, "request.transfer_encoding",
				"only the chunked transfer coding is accepted");
	if (f.te) {
		q->has_body = q->chunked = 1;
		q->b.st = LT_H1_CHUNK_SIZE;
	} else if (f.have_length && f.length > 0) {
		q->has_body = 1;
		q->content_length = f.length;
		if (req_verdict(q, body_length(&q->b, f.length)) == LT_H1_TOO_LARGE)
			return LT_H1_TOO_LARGE;
	} else {
		q->b.st = LT_H1_FINISHED;
	}
	q->expect_continue &= q->has_body && q->minor >= 1;
	return LT_H1_DONE;
}

enum lt_h1_rc lt_h1_req_head(struct lt_h1_req *q, char *d, size_t len, size_t *used)
{
	size_t start = 0, end;
	enum lt_h1_rc rc;

	*used = 0;
	if (q->b.st != LT_H1_HEAD)
		return req_fail(q, LT_H1_ERROR, 400, "request.malformed", "the head was read already");
	/* Empty lines before a request line are ignored (RFC 9112 §2.2): some clients send a CRLF
	 * after a POST body. They count towards the head's bound. */
	while (start < len && (d[start] == '\r' || d[start] == '\n'))
		start++;
	end = start < len ? head_end(d + start, len - start, q->scanned > start ? q->scanned - start : 0) : 0;
	if (end == 0) {
		if (len > q->max_head)
			return req_fail(q, LT_H1_ERROR, 431, "request.headers_too_large",
					"the request head is over limits.max_headers");
		/* The last two bytes may begin the empty line: scanned again with what follows. */
		q->scanned = len > 2 ? len - 2 : 0;
		return LT_H1_MORE;
	}
	if (start + end > q->max_head)
		return req_fail(q, LT_H1_ERROR, 431, "request.headers_too_large",
				"the request head is over limits.max_headers");
	rc = parse_req_head(q, d + start, end);
	if (rc == LT_H1_DONE)
		*used = start + end;
	return rc;
}

enum lt_h1_rc lt_h1_req_body(struct lt_h1_req *q, const char *buf, size_t len, size_t *used)
{
	enum lt_h1_rc rc;

	if (q->b.st == LT_H1_HEAD) {
		*used = 0;
		return req_fail(q, LT_H1_ERROR, 400, "request.malformed", "a body before the head");
	}
	rc = body_feed(&q->b, buf, len, used);
	if (rc == LT_H1_MORE && q->b.st == LT_H1_FINISHED)
		rc = LT_H1_DONE;
	return req_verdict(q, rc);
}

static const char *shift(const char *p, intptr_t delta)
{
	return p != NULL ? (const char *)((uintptr_t)p + (uintptr_t)delta) : NULL;
}

void lt_h1_req_moved(struct lt_h1_req *q, intptr_t delta)
{
	q->method = shift(q->method, delta);
	q->target = shift(q->target, delta);
	for (size_t i = 0; i < q->n_fields; i++) {
		q->fields[i].name = shift(q->fields[i].name, delta);
		q->fields[i].value = shift(q->fields[i].value, delta);
	}
}

const char *lt_h1_req_field(const struct lt_h1_req *q, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < q->n_fields; i++)
		if (q->fields[i].name_len == n && strcasecmp(q->fields[i].name, name) == 0)
			return q->fields[i].value;
	return NULL;
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
