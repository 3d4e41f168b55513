/* http1.h: HTTP/1.1 messages read incrementally (RFC 9112): the answer an upstream sends (status
 * line, the header fields the gateway uses) and the request a city client sends (request line,
 * header fields kept for lookup), with what both share: the body's framing (Content-Length,
 * chunked, or for an answer up to the close) and the connection's persistence. Pure: bytes in, a
 * decoded body out, no sockets, so that it is unit-tested and fuzzed alone
 * (tests/unit/test_http1.c, tests/fuzz/http1, tests/fuzz/http1req).
 *
 * Requests are read strictly: a server that guesses where a request ends is a request-smuggling
 * hole (a proxy in front framing it one way, the gateway another). So a request with both
 * Content-Length and Transfer-Encoding, a Transfer-Encoding other than chunked, folded or
 * malformed fields are refused, never repaired. Answers: as follows.
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

/* Where a body ends and what it decodes to: the part of the reader requests and answers share. */
struct lt_h1_body {
	enum lt_h1_state st;
	uint64_t left;               /* bytes of the body or chunk still to come */
	size_t scanned;              /* in a trailer: where its current line starts in line */
	struct lt_buf line;          /* a chunk-size line or the trailer so far (an answer's split head) */
	struct lt_buf *out;          /* borrowed: where the decoded body goes (bounded by out->max) */
	const char *why;             /* static text, after LT_H1_ERROR or LT_H1_TOO_LARGE */
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
	int no_body;                 /* the request was HEAD */
	int minor;
	struct lt_h1_body b;         /* b.line holds a head split over reads (bounded by LT_H1_MAX_HEAD) */
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

/* The most header fields a request may carry: more is answered 431 (h2o and Go stop at about as
 * many; a city client sends about ten). */
#define LT_H1_MAX_FIELDS 100

struct lt_h1_field {
	const char *name, *value;    /* NUL-terminated, in the caller's buffer; value without OWS */
	size_t name_len, value_len;
};

struct lt_h1_req {
	/* Results, valid after lt_h1_req_head said LT_H1_DONE. The strings point into the buffer the
	 * head was read in, which the reader wrote NULs into: it must stay in place while they are used. */
	const char *method;          /* a token, as sent (methods are case-sensitive) */
	const char *target;          /* origin-form: starts with '/'; raw, not percent-decoded */
	size_t target_len;
	int minor;                   /* HTTP/1.minor */
	int keep_alive;              /* the connection may carry another request after this one */
	int expect_continue;         /* HTTP/1.1 "Expect: 100-continue" with a body to come */
	int has_body;                /* a body follows: feed lt_h1_req_body until LT_H1_DONE */
	uint64_t content_length;     /* when has_body and not chunked */
	int chunked;
	struct lt_h1_field fields[LT_H1_MAX_FIELDS];
	size_t n_fields;
	/* After LT_H1_ERROR or LT_H1_TOO_LARGE: the answer the request gets and why. */
	int status;                  /* 400, 413, 431 or 501 */
	const char *code;            /* the error envelope's code: request.malformed, request.too_large, ... */
	char msg[128];
	/* private */
	struct lt_h1_body b;
	size_t max_head, scanned;
};

/* Prepares q for one request: its head may take max_head bytes (limits.max_headers), its body goes
 * to body (borrowed; bounded by body->max, limits.max_body). */
void lt_h1_req_init(struct lt_h1_req *q, struct lt_buf *body, size_t max_head);
/* Frees what q holds (not the body buffer). */
void lt_h1_req_free(struct lt_h1_req *q);
/* Reads the head: d[0..len) is every byte received since the request began, kept by the caller
 * where it lies (the head is parsed in place: no copy). LT_H1_MORE: not complete yet, call again
 * with more (already-scanned bytes are not scanned again). LT_H1_DONE: *used is the head's length
 * and the results are set; a body may follow (has_body). LT_H1_ERROR / LT_H1_TOO_LARGE: refused,
 * status, code and msg say how to answer; the connection cannot carry another request. */
enum lt_h1_rc lt_h1_req_head(struct lt_h1_req *q, char *d, size_t len, size_t *used);
/* Feeds body bytes (those after the head). *used is how many belong to this request: after
 * LT_H1_DONE the rest is the next request's. Errors as for lt_h1_req_head. */
enum lt_h1_rc lt_h1_req_body(struct lt_h1_req *q, const char *buf, size_t len, size_t *used);
/* The value of the first field called name (case-insensitive), or NULL. */
const char *lt_h1_req_field(const struct lt_h1_req *q, const char *name);
/* The buffer the head was read in moved by delta bytes (realloc): the results follow it. */
void lt_h1_req_moved(struct lt_h1_req *q, intptr_t delta);

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
