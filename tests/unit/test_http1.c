/* The HTTP/1.1 readers. Requests (the city's side): request line, fields kept for lookup,
 * framing, the refusals that keep requests from being smuggled, bounds. Answers: framing (Content-Length, chunked, up to the close), persistence,
 * interim answers, and every malformed answer it must refuse rather than guess at. Each answer is
 * also fed in every two-piece split and one byte at a time: the result may not depend on how the
 * network cut the stream. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/http1.h"

struct outcome {
	enum lt_h1_rc rc;           /* after the bytes, then (when MORE) after the end of the stream */
	int status, keep_alive;
	char body[512];
	char ctype[128];
	char msg[128];
	size_t used;                /* bytes consumed when DONE */
};

/* Feeds s[0..len) in pieces of at most `piece` bytes, or in two at `split` when piece is 0. eof:
 * the stream then ends. */
static struct outcome run(const char *s, size_t len, size_t piece, size_t split, int eof, size_t max)
{
	struct outcome o;
	struct lt_buf body;
	struct lt_h1_resp p;
	size_t off = 0, used;

	memset(&o, 0, sizeof(o));
	lt_buf_init(&body, max);
	lt_h1_resp_init(&p, &body, 0);
	o.rc = LT_H1_MORE;
	while (off < len && o.rc == LT_H1_MORE) {
		size_t n = piece ? (len - off < piece ? len - off : piece) : (off < split ? split : len - off);

		o.rc = lt_h1_resp_feed(&p, s + off, n, &used);
		assert_true(used <= n);
		if (o.rc == LT_H1_MORE)
			assert_int_equal(used, n);
		off += used;
	}
	if (o.rc == LT_H1_MORE && eof)
		o.rc = lt_h1_resp_eof(&p);
	o.used = off;
	o.status = p.status;
	o.keep_alive = p.keep_alive;
	snprintf(o.body, sizeof(o.body), "%.*s", (int)body.len, body.data ? body.data : "");
	snprintf(o.ctype, sizeof(o.ctype), "%s", p.content_type);
	snprintf(o.msg, sizeof(o.msg), "%s", p.msg);
	lt_h1_resp_free(&p);
	lt_buf_free(&body);
	return o;
}

/* The outcome of the whole answer in one piece, checked to be the same for every split. */
static struct outcome read_all(const char *s, int eof, size_t max)
{
	size_t len = strlen(s);
	struct outcome whole = run(s, len, len ? len : 1, 0, eof, max);
	struct outcome o;

	for (size_t k = 1; k < len; k++) {
		o = run(s, len, 0, k, eof, max);
		assert_int_equal(o.rc, whole.rc);
		assert_int_equal(o.status, whole.status);
		assert_int_equal(o.keep_alive, whole.keep_alive);
		assert_string_equal(o.msg, whole.msg);
		if (whole.rc == LT_H1_DONE) {     /* a refused answer's partial body is dropped */
			assert_string_equal(o.body, whole.body);
			assert_int_equal(o.used, whole.used);
		}
	}
	o = run(s, len, 1, 0, eof, max);
	assert_int_equal(o.rc, whole.rc);
	assert_int_equal(o.keep_alive, whole.keep_alive);
	if (whole.rc == LT_H1_DONE) {
		assert_string_equal(o.body, whole.body);
		assert_int_equal(o.used, whole.used);
	}
	return whole;
}

static void content_length(void **state)
{
	const char *s = "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n"
			"Content-Length: 11\r\n\r\n{\"ok\":true}";
	struct outcome o = read_all(s, 0, 1024);

	(void)state;
	assert_int_equal(o.rc, LT_H1_DONE);
	assert_int_equal(o.status, 200);
	assert_int_equal(o.keep_alive, 1);
	assert_string_equal(o.body, "{\"ok\":true}");
	assert_string_equal(o.ctype, "application/json; charset=utf-8");
	assert_int_equal(o.used, strlen(s));

	/* A byte past the answer belongs to nobody: it is not consumed. */
	o = read_all("HTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\nhiXYZ", 0, 1024);
	assert_int_equal(o.rc, LT_H1_DONE);
	assert_int_equal(o.status, 201);
	assert_string_equal(o.body, "hi");
	assert_int_equal(o.used, strlen("HTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\nhi"));

	/* A list of the same length is one length (RFC 9110 §8.6). */
	o = read_all("HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\nContent-Length: 2\r\n\r\nok", 0, 1024);
	assert_int_equal(o.rc, LT_H1_DONE);
	assert_string_equal(o.body, "ok");

	o = read_all("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0, 1024);
	assert_int_equal(o.rc, LT_H1_DONE);
	assert_string_equal(o.body, "");
}

static void chunked(void **state)
{
	const char *s = "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
			"5;name=value\r\nhello\r\n1\r\n \r\n00005 \r\nworld\r\n0\r\nX-Trailer: 1\r\nY: 2\r\n\r\n";
	struct outcome o;

	(void)state;
	o = read_all("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 0, 1024);
	assert_int_equal(o.rc, LT_H1_DONE);
	assert_string_equal(o.body, "hello");
	assert_int_equal(o.keep_alive, 1);

	o = read_all(s, 0, 1024);
	assert_int_equal(o.rc, LT_H1_DONE);
	assert_string_equal(o.body, "hello world");
	assert_int_equal(o.used, strlen(s));

	/* Transfer-Encoding wins over Content-Length, and the connection is not trusted after. */
	o = read_all("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
		     "5\r\nhello\r\n0\r\n\r\n", 0, 1024);
	assert_int_equal(o.rc, LT_H1_DONE);
	assert_string_equal(o.body, "hello");
	assert_int_equal(o.keep_alive, 0);

	/* Bare LF line ends are read as CRLF. */
	o = read_all("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n2\nhi\n0\n\n", 0, 1024);
	assert_int_equal(o.rc, LT_H1_DONE);
	assert_string_equal(o.body, "hi");
}

static void until_close(void **state)
{
	struct outcome o;

	(void)state;
	o = read_all("HTTP/1.0 200 OK\r\nContent-Type: text/xml\r\n\r\n<a/>", 1, 1024);
	assert_int_equal(o.rc, LT_H1_DONE);
	assert_string_equal(o.body, "<a/>");
	assert_int_equal(o.keep_alive, 0);

	/* A coding other than chunked last: the body runs to the close. */
	o = read_all("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\nraw", 1, 1024);
	assert_int_equal(o.rc, LT_H1_DONE);
	assert_string_equal(o.body, "raw");
	assert_int_equal(o.keep_alive, 0);

	/* HTTP/1.1 without a length: nothing says where it ends but the close. */
	o = read_all("HTTP/1.1 200 OK\r\n\r\nabc", 1, 1024);
	assert_int_equal(o.rc, LT_H1_DONE);
	assert_string_equal(o.body, "abc");
	assert_int_equal(o.keep_alive, 0);
}

static void persistence(void **state)
{
	(void)state;
	assert_int_equal(read_all("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", 0, 64)
			 .keep_alive, 0);
	assert_int_equal(read_all("HTTP/1.1 200 OK\r\nConnection: Upgrade, CLOSE\r\nContent-Length: 0\r\n\r\n", 0, 64)
			 .keep_alive, 0);
	assert_int_equal(read_all("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", 0, 64).keep_alive, 0);
	assert_int_equal(read_all("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", 0, 64)
			 .keep_alive, 1);
}

static void interim_and_bodiless(void **state)
{
	struct outcome o;
	struct lt_buf body;
	struct lt_h1_resp p;
	size_t used;
	const char *head = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n";

	(void)state;
	o = read_all("\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\nX: y\r\n\r\n"
		     "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 0, 64);
	assert_int_equal(o.rc, LT_H1_DONE);
	assert_int_equal(o.status, 200);
	assert_string_equal(o.body, "ok");

	o = read_all("HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n", 0, 64);
	assert_int_equal(o.rc, LT_H1_DONE);
	assert_int_equal(o.status, 204);
	assert_int_equal(o.keep_alive, 1);

	/* The answer to HEAD has no body whatever its Content-Length says. */
	lt_buf_init(&body, 64);
	lt_h1_resp_init(&p, &body, 1);
	assert_int_equal(lt_h1_resp_feed(&p, head, strlen(head), &used), LT_H1_DONE);
	assert_int_equal(used, strlen(head));
	assert_int_equal(body.len, 0);
	lt_h1_resp_free(&p);
	lt_buf_free(&body);
}

static void refuses(void **state)
{
	static const struct { const char *in; int eof; const char *msg; } bad[] = {
		{ "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", 1,
		  "connection closed before the answer ended" },
		{ "", 1, "connection closed without an answer" },
		{ "HTTP/1.1 200 OK\r\nContent-Le", 1, "connection closed before the answer ended" },
		{ "HTTP/2 200\r\n\r\n", 0, "bad status line" },
		{ "ICY 200 OK\r\n\r\n", 0, "bad status line" },
		{ "HTTP/1.1 20 OK\r\n\r\n", 0, "bad status line" },
		{ "HTTP/1.1 200OK\r\n\r\n", 0, "bad status line" },
		{ "HTTP/1.1 600 Nope\r\n\r\n", 0, "bad status line" },
		{ "HTTP/1.1 101 Switching Protocols\r\n\r\n", 0, "switching protocols was not asked for" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc", 0,
		  "bad or conflicting Content-Length" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\nabc", 0, "bad or conflicting Content-Length" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", 0, "bad or conflicting Content-Length" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 1e3\r\n\r\n", 0, "bad or conflicting Content-Length" },
		{ "HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n", 0, "bad or conflicting Content-Length" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n 3\r\n\r\nab", 0,
		  "folded Content-Length or Transfer-Encoding" },
		{ "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", 0, "bad header field" },
		{ "HTTP/1.1 200 OK\r\n: empty name\r\n\r\n", 0, "bad header field" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 0, "bad chunk size" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5x\r\n", 0, "bad chunk size" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1234567890abcdef0\r\n", 0, "bad chunk size" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n", 0,
		  "chunk data longer than its size" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n", 1,
		  "connection closed before the answer ended" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct outcome o = read_all(bad[i].in, bad[i].eof, 1024);

		if (o.rc != LT_H1_ERROR || strcmp(o.msg, bad[i].msg) != 0)
			fail_msg("case %zu (%s): rc %d, msg '%s'", i, bad[i].in, o.rc, o.msg);
		assert_int_equal(o.keep_alive, 0);
	}
}

static void bounds(void **state)
{
	struct lt_buf body, big;
	struct lt_h1_resp p;
	struct outcome o;
	size_t used, n = LT_H1_MAX_HEAD + 100;
	char *head = malloc(n);

	(void)state;
	assert_non_null(head);
	/* A body over the bound is known from its Content-Length, before a byte of it arrives. */
	o = read_all("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", 0, 8);
	assert_int_equal(o.rc, LT_H1_TOO_LARGE);
	o = read_all("HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n12345678", 0, 8);
	assert_int_equal(o.rc, LT_H1_DONE);
	o = read_all("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n12345\r\n4\r\n1234\r\n0\r\n\r\n", 0, 8);
	assert_int_equal(o.rc, LT_H1_TOO_LARGE);
	o = read_all("HTTP/1.0 200 OK\r\n\r\n123456789", 1, 8);
	assert_int_equal(o.rc, LT_H1_TOO_LARGE);

	/* A head that never ends is refused at its bound, not buffered forever. */
	memcpy(head, "HTTP/1.1 200 OK\r\nX: ", 20);
	memset(head + 20, 'a', n - 20);
	lt_buf_init(&body, 64);
	lt_h1_resp_init(&p, &body, 0);
	assert_int_equal(lt_h1_resp_feed(&p, head, 100, &used), LT_H1_MORE);
	assert_int_equal(lt_h1_resp_feed(&p, head + 100, n - 100, &used), LT_H1_ERROR);
	assert_string_equal(p.msg, "header block too large");
	lt_h1_resp_free(&p);

	/* The same for trailers. */
	lt_h1_resp_init(&p, &body, 0);
	lt_buf_init(&big, 2 * n);
	lt_buf_puts(&big, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n");
	for (int i = 0; i < 2000; i++)
		lt_buf_puts(&big, "X-Trailer: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
	assert_int_equal(lt_h1_resp_feed(&p, big.data, big.len, &used), LT_H1_ERROR);
	assert_string_equal(p.msg, "trailer too large");
	lt_h1_resp_free(&p);
	lt_buf_free(&big);
	lt_buf_free(&body);
	free(head);
}


/* ---- requests ------------------------------------------------------------------------------- */

struct req_outcome {
	enum lt_h1_rc rc;
	int status, keep_alive, expect, minor;
	char method[16], target[256], body[512], msg[128], code[48];
	char host[64], ctype[64];
	size_t used;                /* bytes of the stream the request took (head and body) */
	size_t n_fields;
};

/* Reads one request from s[0..len) as a server does: the bytes received so far lie in one buffer
 * (the head is read in place), arriving `split` bytes first and then the rest, or `piece` bytes at
 * a time; after the head, the body is fed from the same stream. */
static struct req_outcome req_run(const char *s, size_t len, size_t piece, size_t split, size_t max_body)
{
	struct req_outcome o;
	struct lt_buf body;
	struct lt_h1_req *q = malloc(sizeof(*q));
	char *buf = malloc(len + 1);
	size_t have = 0, head = 0, off = 0, used;
	int in_head = 1;

	assert_non_null(q);
	assert_non_null(buf);
	memset(&o, 0, sizeof(o));
	lt_buf_init(&body, max_body);
	lt_h1_req_init(q, &body, 256);
	o.rc = LT_H1_MORE;
	while (o.rc == LT_H1_MORE && have < len) {
		size_t n = piece ? (len - have < piece ? len - have : piece) : (have < split ? split : len - have);

		memcpy(buf + have, s + have, n);
		have += n;
		if (in_head) {
			o.rc = lt_h1_req_head(q, buf, have, &used);
			if (o.rc != LT_H1_DONE)
				continue;
			head = off = used;
			in_head = 0;
			o.rc = q->has_body ? LT_H1_MORE : LT_H1_DONE;
		}
		if (o.rc == LT_H1_MORE && off < have) {
			o.rc = lt_h1_req_body(q, buf + off, have - off, &used);
			assert_true(used <= have - off);
			off += used;
		}
	}
	(void)head;
	o.used = in_head ? 0 : off;
	o.status = q->status;
	o.keep_alive = q->keep_alive;
	o.expect = q->expect_continue;
	o.minor = q->minor;
	o.n_fields = q->n_fields;
	if (!in_head) {
		snprintf(o.method, sizeof(o.method), "%s", q->method);
		snprintf(o.target, sizeof(o.target), "%.*s", (int)q->target_len, q->target);
		snprintf(o.host, sizeof(o.host), "%s", lt_h1_req_field(q, "host") ? lt_h1_req_field(q, "host") : "-");
		snprintf(o.ctype, sizeof(o.ctype), "%s",
			 lt_h1_req_field(q, "Content-Type") ? lt_h1_req_field(q, "Content-Type") : "-");
	}
	snprintf(o.body, sizeof(o.body), "%.*s", (int)body.len, body.data ? body.data : "");
	snprintf(o.msg, sizeof(o.msg), "%s", q->msg);
	snprintf(o.code, sizeof(o.code), "%s", q->code ? q->code : "");
	lt_h1_req_free(q);
	lt_buf_free(&body);
	free(q);
	free(buf);
	return o;
}

/* One request read whole, checked to come out the same in every two-piece split and byte by byte. */
static struct req_outcome req_all(const char *s, size_t max_body)
{
	size_t len = strlen(s);
	struct req_outcome whole = req_run(s, len, len ? len : 1, 0, max_body), o;

	for (size_t k = 0; k <= len; k++) {
		o = k < len ? req_run(s, len, 0, k ? k : 1, max_body) : req_run(s, len, 1, 0, max_body);
		if (o.rc != whole.rc || o.status != whole.status || o.keep_alive != whole.keep_alive ||
		    strcmp(o.msg, whole.msg) != 0 || (whole.rc == LT_H1_DONE && (strcmp(o.body, whole.body) != 0 || o.used != whole.used)) ||
		    strcmp(o.target, whole.target) != 0 || strcmp(o.host, whole.host) != 0)
			fail_msg("split %zu of %s: rc %d/%d msg '%s'/'%s' used %zu/%zu", k, s, o.rc, whole.rc, o.msg,
				 whole.msg, o.used, whole.used);
	}
	return whole;
}

static void request_basics(void **state)
{
	const char *s = "POST /v1/dvcqg/dossiers?x=1 HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"
			"Content-Length: 11\r\nX-Empty:\r\n\r\n{\"ok\":true}GET / HTTP/1.1\r\n\r\n";
	struct req_outcome o = req_all(s, 1024);

	(void)state;
	assert_int_equal(o.rc, LT_H1_DONE);
	assert_string_equal(o.method, "POST");
	assert_string_equal(o.target, "/v1/dvcqg/dossiers?x=1");
	assert_string_equal(o.host, "gw");
	assert_string_equal(o.ctype, "application/json");
	assert_string_equal(o.body, "{\"ok\":true}");
	assert_int_equal(o.n_fields, 4);
	assert_int_equal(o.keep_alive, 1);
	/* The next pipelined request is not consumed. */
	assert_int_equal(o.used, strlen(s) - strlen("GET / HTTP/1.1\r\n\r\n"));

	/* No body; bare LF line ends; empty lines before the request line; OWS around values. */
	o = req_all("\r\n\r\nGET /healthz HTTP/1.1\nHost:   a b  \n\n", 1024);
	assert_int_equal(o.rc, LT_H1_DONE);
	assert_string_equal(o.method, "GET");
	assert_string_equal(o.host, "a b");
	assert_string_equal(o.body, "");
	/* Bytes that are not ASCII pass in a target: the router answers for them. */
	o = req_all("GET /v1/\xff\xfe-x HTTP/1.1\r\n\r\n", 1024);
	assert_int_equal(o.rc, LT_H1_DONE);
	assert_string_equal(o.target, "/v1/\xff\xfe-x");
}

static void request_chunked(void **state)
{
	struct req_outcome o = req_all("POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
				       "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\nNEXT", 1024);

	(void)state;
	assert_int_equal(o.rc, LT_H1_DONE);
	assert_string_equal(o.body, "hello world");
	assert_int_equal(o.keep_alive, 1);
	o = req_all("POST /a HTTP/1.1\r\ntransfer-encoding: Chunked\r\n\r\n0\r\n\r\n", 1024);
	assert_int_equal(o.rc, LT_H1_DONE);
	assert_string_equal(o.body, "");
}

static void request_persistence(void **state)
{
	(void)state;
	assert_int_equal(req_all("GET / HTTP/1.1\r\n\r\n", 64).keep_alive, 1);
	assert_int_equal(req_all("GET / HTTP/1.1\r\nConnection: close\r\n\r\n", 64).keep_alive, 0);
	assert_int_equal(req_all("GET / HTTP/1.0\r\n\r\n", 64).keep_alive, 0);
	assert_int_equal(req_all("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", 64).keep_alive, 1);
	assert_int_equal(req_all("GET / HTTP/1.1\r\nConnection: keep-alive, close\r\n\r\n", 64).keep_alive, 0);
	assert_int_equal(req_all("GET / HTTP/1.0\r\n\r\n", 64).minor, 0);
	assert_int_equal(req_all("GET / HTTP/1.9\r\n\r\n", 64).minor, 1);
	/* 100-continue: only HTTP/1.1 with a body to come. */
	assert_int_equal(req_all("POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx", 64).expect, 1);
	assert_int_equal(req_all("POST / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n", 64).expect, 0);
	assert_int_equal(req_all("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx", 64).expect, 0);
}

static void request_refused(void **state)
{
	static const struct { const char *in; int status; const char *msg; } bad[] = {
		/* Smuggling: two framings, a coding that is not chunked alone, conflicting lengths. */
		{ "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400,
		  "both Content-Length and Transfer-Encoding" },
		{ "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501,
		  "only the chunked transfer coding is accepted" },
		{ "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 501,
		  "only the chunked transfer coding is accepted" },
		{ "POST / HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n", 501,
		  "only the chunked transfer coding is accepted" },
		{ "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400,
		  "bad or conflicting Content-Length" },
		{ "POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\na", 400, "bad or conflicting Content-Length" },
		{ "POST / HTTP/1.1\r\nContent-Length : 1\r\n\r\na", 400, "bad header field" },
		{ "POST / HTTP/1.1\r\nX: a\r\n folded\r\n\r\n", 400, "a folded header field" },
		{ "POST / HTTP/1.1\r\nX: a\x01" "b\r\n\r\n", 400, "a control character in a header field" },
		{ "POST / HTTP/1.1\r\nno colon\r\n\r\n", 400, "bad header field" },
		/* Request lines. */
		{ "GET http://host/ HTTP/1.1\r\n\r\n", 400, "the request target is not a path" },
		{ "GET * HTTP/1.1\r\n\r\n", 400, "the request target is not a path" },
		{ "GET  / HTTP/1.1\r\n\r\n", 400, "bad request line" },
		{ "GET / HTTP/1.1 \r\n\r\n", 400, "bad request line" },
		{ "GET / HTTP/2.0\r\n\r\n", 400, "bad request line" },
		{ "GET /\x7f HTTP/1.1\r\n\r\n", 400, "a control character in the request target" },
		{ "G(T / HTTP/1.1\r\n\r\n", 400, "bad request line" },
		{ "GET /\r\n\r\n", 400, "bad request line" },
		/* Bodies. */
		{ "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400, "bad chunk size" },
		{ "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n", 400,
		  "chunk data longer than its size" },
		/* Bounds: body 16 bytes, head 256. */
		{ "POST / HTTP/1.1\r\nContent-Length: 17\r\n\r\n", 413, "the body is larger than 16 bytes" },
		{ "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n9\r\n123456789\r\n9\r\n", 413,
		  "the body is larger than 16 bytes" },
		{ "GET / HTTP/1.1\r\nX: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n",
		  431, "the request head is over limits.max_headers" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct req_outcome o = req_all(bad[i].in, 16);

		if ((o.rc != LT_H1_ERROR && o.rc != LT_H1_TOO_LARGE) || o.status != bad[i].status ||
		    strcmp(o.msg, bad[i].msg) != 0)
			fail_msg("case %zu (%s): rc %d, status %d, msg '%s'", i, bad[i].in, o.rc, o.status, o.msg);
		assert_int_equal(o.keep_alive, 0);
		assert_true(o.code[0] != '\0');
	}
}

static void request_bounds(void **state)
{
	struct lt_buf body, head;
	struct lt_h1_req *q = malloc(sizeof(*q));
	size_t used;

	(void)state;
	assert_non_null(q);
	/* A body over the bound is known from Content-Length; the head's results are still there, so
	 * that the answer can name the route and keep the caller's request id. */
	lt_buf_init(&body, 16);
	lt_h1_req_init(q, &body, 1024);
	{
		char s[] = "POST /x HTTP/1.1\r\nX-Request-Id: r1\r\nContent-Length: 99\r\n\r\n";

		assert_int_equal(lt_h1_req_head(q, s, strlen(s), &used), LT_H1_TOO_LARGE);
		assert_string_equal(q->method, "POST");
		assert_string_equal(lt_h1_req_field(q, "x-request-id"), "r1");
		assert_int_equal(q->status, 413);
		assert_string_equal(q->code, "request.too_large");
	}
	lt_h1_req_free(q);
	/* Too many fields: 431, whatever their size. */
	lt_buf_init(&head, 1u << 20);
	lt_buf_puts(&head, "GET / HTTP/1.1\r\n");
	for (int i = 0; i <= LT_H1_MAX_FIELDS; i++)
		lt_buf_printf(&head, "X-%d: v\r\n", i);
	lt_buf_puts(&head, "\r\n");
	lt_h1_req_init(q, &body, 1u << 20);
	assert_int_equal(lt_h1_req_head(q, head.data, head.len, &used), LT_H1_ERROR);
	assert_int_equal(q->status, 431);
	assert_string_equal(q->msg, "too many header fields");
	lt_h1_req_free(q);
	lt_buf_free(&head);

	/* A buffer that moves (the server grows it) takes the parsed head along. */
	{
		char a[] = "PUT /moved?q=1 HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n\r\n";
		char *b = malloc(sizeof(a));

		assert_non_null(b);
		lt_h1_req_init(q, &body, 1024);
		assert_int_equal(lt_h1_req_head(q, a, strlen(a), &used), LT_H1_DONE);
		memcpy(b, a, sizeof(a));
		memset(a, 'x', sizeof(a) - 1);
		lt_h1_req_moved(q, (intptr_t)((uintptr_t)b - (uintptr_t)a));
		assert_string_equal(q->method, "PUT");
		assert_string_equal(q->target, "/moved?q=1");
		assert_string_equal(lt_h1_req_field(q, "x-a"), "1");
		assert_string_equal(lt_h1_req_field(q, "Host"), "h");
		lt_h1_req_free(q);
		free(b);
	}
	lt_buf_free(&body);
	free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(content_length),
		cmocka_unit_test(chunked),
		cmocka_unit_test(until_close),
		cmocka_unit_test(persistence),
		cmocka_unit_test(interim_and_bodiless),
		cmocka_unit_test(refuses),
		cmocka_unit_test(bounds),
		cmocka_unit_test(request_basics),
		cmocka_unit_test(request_chunked),
		cmocka_unit_test(request_persistence),
		cmocka_unit_test(request_refused),
		cmocka_unit_test(request_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
