/* http1.h: the HTTP/1.1 answer an upstream sends, read incrementally (RFC 9112): the status line,
 * the header fields the gateway uses, the body's framing (Content-Length, chunked, or up to the
 * close) and the connection's persistence. Pure: bytes in, a decoded body out, no sockets, so that
 * it is unit-tested and fuzzed alone (tests/unit/test_http1.c, tests/fuzz/http1).
 *
 * Lenient where RFC 9112 lets a recipient be (bare LF line ends, obsolete line folding, 1xx
 * interim answers skipped) and strict where a mistake would mis-frame a message: a bad or
 * conflicting Content-Length, a bad chunk size or a truncated body is an error, never a guess,
 * because a body read with the wrong frame is a wrong payment status handed on as a right one. */
#ifndef LT_HTTP1_H
#define LT_HTTP1_H

#include <stddef.h>
#include <stdint.h>
#include "gateway/util.h"

/* The most a head (status line and fields, or a chunked trailer) may take. */
#define LT_H1_MAX_HEAD (64u * 1024)

enum lt_h1_rc {
	LT_H1_MORE = 0,     /* give more bytes (or lt_h1_resp_eof at the end of the stream) */
	LT_H1_DONE,         /* the answer is complete */
	LT_H1_ERROR,        /* malformed: msg says why */
	LT_H1_TOO_LARGE     /* the body is over the buffer's bound */
};

enum lt_h1_state {
	LT_H1_HEAD, LT_H1_BODY_LENGTH, LT_H1_BODY_CLOSE, LT_H1_CHUNK_SIZE, LT_H1_CHUNK_DATA,
	LT_H1_CHUNK_END, LT_H1_TRAILER, LT_H1_FINISHED
};

struct lt_h1_resp {
	/* Results, valid from the end of the head on (status > 0). */
	int status;
	int keep_alive;              /* the connection may carry another request after this answer */
	int got_bytes;               /* some byte of an answer arrived (a reused connection that died
				      * before this says nothing of the request: it can be sent again) */
	char content_type[128];      /* "" when none; truncated at 127 bytes */
	char msg[128];               /* why, after LT_H1_ERROR */
	/* private */
	enum lt_h1_state st;
	int no_body;                 /* the request was HEAD */
	int minor;
	struct lt_buf head;          /* the head so far (bounded by LT_H1_MAX_HEAD) */
	struct lt_buf *body;         /* borrowed: where the decoded body goes */
	uint64_t left;               /* bytes of the body or chunk still to come */
	size_t scanned;              /* in a trailer: where its current line starts in head */
};

/* Prepares p for one answer, its body going to body (borrowed; bounded by body->max). no_body: the
 * request was HEAD. */
void lt_h1_resp_init(struct lt_h1_resp *p, struct lt_buf *body, int no_body);
/* Frees what p holds (not the body buffer). */
void lt_h1_resp_free(struct lt_h1_resp *p);
/* Feeds bytes. *used is how many were consumed: after LT_H1_DONE the rest belongs to no answer
 * (a well-behaved upstream sends nothing more). */
enum lt_h1_rc lt_h1_resp_feed(struct lt_h1_resp *p, const char *buf, size_t len, size_t *used);
/* The stream ended: LT_H1_DONE for an answer delimited by the close, else LT_H1_ERROR. */
enum lt_h1_rc lt_h1_resp_eof(struct lt_h1_resp *p);

/* An http:// or https:// URL as an HTTP/1.1 client needs it. */
struct lt_h1_url {
	int tls;                     /* https */
	char host[256];              /* a name, an IPv4 address, or an IPv6 address without brackets */
	unsigned port;               /* the URL's, else 80 or 443 */
	const char *authority;       /* host[:port] as written: the Host field (points into the URL) */
	size_t authority_len;
	const char *target;          /* path and query as written, up to a fragment (into the URL) */
	size_t target_len;           /* 0: the request target is "/" */
};

/* Splits url (borrowed: u points into it). Refuses, with a reason in why (static text): another
 * scheme, user info, an empty or overlong host, a bad port, and any space or control byte, which
 * would break the request line. 0 / -1. */
int lt_h1_url_parse(const char *url, struct lt_h1_url *u, const char **why);

#endif
