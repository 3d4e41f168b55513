/* fuzz.c (http1req): libFuzzer driver for the HTTP/1.1 request reader (adapters/http1.c).
 *
 * The first input byte chooses a piece size, a second one the body bound; the rest is a client's
 * byte stream, read as the server does (the head in place in one growing buffer, then the body).
 * Properties checked beyond "no crash, no sanitizer report": whole or in pieces, the reader comes
 * to the same verdict, answer status and persistence and, when it accepts, the same method, target,
 * body and count of bytes taken; an accepted body is within its bound; a refused request never
 * leaves the connection reusable and always says which answer it gets.
 *
 *   build/fuzz/fuzz_http1req -dict=tests/fuzz/http1/http1.dict tests/fuzz/http1req/corpus */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/http1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_HEAD 2048

struct verdict {
	enum lt_h1_rc rc;
	int status, keep_alive;
	size_t used;
	char method[MAX_HEAD], target[MAX_HEAD];
	struct lt_buf body;
};

static void read_stream(const char *s, size_t len, size_t piece, size_t max, struct verdict *v)
{
	struct lt_h1_req *q = malloc(sizeof(*q));
	char *buf = malloc(len ? len : 1);
	size_t have = 0, off = 0, used;
	int in_head = 1;

	if (q == NULL || buf == NULL)
		abort();
	memset(v->method, 0, sizeof(v->method));
	memset(v->target, 0, sizeof(v->target));
	lt_buf_init(&v->body, max);
	lt_h1_req_init(q, &v->body, MAX_HEAD);
	v->rc = LT_H1_MORE;
	while (v->rc == LT_H1_MORE && have < len) {
		size_t n = len - have < piece ? len - have : piece;

		memcpy(buf + have, s + have, n);
		have += n;
		if (in_head) {
			v->rc = lt_h1_req_head(q, buf, have, &used);
			if (v->rc != LT_H1_DONE)
				continue;
			if (used > have || strlen(q->method) >= sizeof(v->method) || q->target_len >= MAX_HEAD)
				abort();
			memcpy(v->method, q->method, strlen(q->method));
			memcpy(v->target, q->target, q->target_len);
			off = used;
			in_head = 0;
			v->rc = q->has_body ? LT_H1_MORE : LT_H1_DONE;
		}
		if (v->rc == LT_H1_MORE && off < have) {
			v->rc = lt_h1_req_body(q, buf + off, have - off, &used);
			if (used > have - off || (v->rc == LT_H1_MORE && used != have - off))
				abort();
			off += used;
		}
	}
	v->used = off;
	v->status = q->status;
	v->keep_alive = q->keep_alive;
	if ((v->rc == LT_H1_ERROR || v->rc == LT_H1_TOO_LARGE) && (q->status < 400 || q->code == NULL))
		abort();
	lt_h1_req_free(q);
	free(q);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct verdict whole, cut;
	size_t piece, max;

	if (size < 2)
		return 0;
	piece = (size_t)data[0] % 17 + 1;
	max = (size_t)data[1] * 16;
	data += 2;
	size -= 2;
	read_stream((const char *)data, size, size ? size : 1, max, &whole);
	read_stream((const char *)data, size, piece, max, &cut);
	if (whole.rc != cut.rc || whole.status != cut.status || whole.keep_alive != cut.keep_alive)
		abort();
	if (whole.rc == LT_H1_DONE &&
	    (whole.used != cut.used || whole.body.len != cut.body.len || whole.body.len > max ||
	     strcmp(whole.method, cut.method) != 0 || strcmp(whole.target, cut.target) != 0 ||
	     (whole.body.len && memcmp(whole.body.data, cut.body.data, whole.body.len) != 0)))
		abort();
	if ((whole.rc == LT_H1_ERROR || whole.rc == LT_H1_TOO_LARGE) && whole.keep_alive)
		abort();
	lt_buf_free(&whole.body);
	lt_buf_free(&cut.body);
	return 0;
}
