/* fuzz.c (http1): libFuzzer driver for the HTTP/1.1 answer reader (adapters/http1.c).
 *
 * The first input byte chooses a piece size, a second one the body bound; the rest is an upstream's
 * byte stream, followed by its end. Properties checked beyond "no crash, no sanitizer report": fed
 * whole or in pieces, the reader comes to the same verdict, status, persistence and (when it
 * accepts) the same body and the same count of bytes consumed; an accepted body is within bounds.
 *
 *   build/fuzz/fuzz_http1 -dict=tests/fuzz/http1/http1.dict tests/fuzz/http1/corpus */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/http1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct verdict {
	enum lt_h1_rc rc;
	int status, keep_alive;
	size_t used;
	struct lt_buf body;
};

static void read_stream(const char *s, size_t len, size_t piece, size_t max, struct verdict *v)
{
	struct lt_h1_resp p;
	size_t off = 0, used;

	lt_buf_init(&v->body, max);
	lt_h1_resp_init(&p, &v->body, 0);
	v->rc = LT_H1_MORE;
	while (off < len && v->rc == LT_H1_MORE) {
		size_t n = len - off < piece ? len - off : piece;

		v->rc = lt_h1_resp_feed(&p, s + off, n, &used);
		if (used > n || (v->rc == LT_H1_MORE && used != n))
			abort();
		off += used;
	}
	if (v->rc == LT_H1_MORE)
		v->rc = lt_h1_resp_eof(&p);
	v->used = off;
	v->status = p.status;
	v->keep_alive = p.keep_alive;
	lt_h1_resp_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct verdict whole, cut;
	size_t piece, max;

	if (size < 2)
		return 0;
	piece = (size_t)data[0] % 17 + 1;
	max = (size_t)data[1] * 64;
	data += 2;
	size -= 2;
	read_stream((const char *)data, size, size ? size : 1, max, &whole);
	read_stream((const char *)data, size, piece, max, &cut);
	if (whole.rc != cut.rc || whole.status != cut.status || whole.keep_alive != cut.keep_alive)
		abort();
	if (whole.rc == LT_H1_DONE &&
	    (whole.used != cut.used || whole.body.len != cut.body.len || whole.body.len > max ||
	     (whole.body.len && memcmp(whole.body.data, cut.body.data, whole.body.len) != 0)))
		abort();
	if (whole.rc == LT_H1_ERROR && whole.keep_alive)
		abort();
	lt_buf_free(&whole.body);
	lt_buf_free(&cut.body);
	return 0;
}
