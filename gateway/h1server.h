/* h1server.h: the city-facing HTTP/1.1 server: listening sockets (plain and TLS, one set per event
 * loop with SO_REUSEPORT when there are several), the connections they accept, and the request
 * API the handlers (gateway/pipeline.c, gateway/admin.c) answer through.
 *
 * Owns: every accepted connection of a loop, its socket, its TLS object, its buffers and its
 * timers. A connection reads one request at a time (head parsed in place by adapters/http1.c,
 * body into one contiguous buffer), hands it to the listener's handler, and reads the next one
 * only once the answer is written: pipelined bytes wait in its buffer. The request's struct lt_hreq
 * lives in the connection and is reused for the next request; it stays valid until the handler
 * calls lt_hreq_send, even when the client has gone meanwhile (the answer is then dropped).
 *
 * Errors the server makes itself (a malformed request, a head over limits.max_headers, a timeout)
 * are answered with SPEC's JSON envelope and X-Request-Id through lt_pipeline_send_error, and the
 * connection is closed after them (docs/operations.md lists them). */
#ifndef LT_H1SERVER_H
#define LT_H1SERVER_H

#include <stddef.h>
#include <openssl/ssl.h>

#include "gateway/err.h"

struct lt_server;
struct lt_listener_rt;
struct lt_listener_cfg;
struct h1s_conn;

/* One request, as a handler sees it. Everything is borrowed from the connection and valid until
 * lt_hreq_send (which must be called exactly once); nothing may be used after it. */
struct lt_hreq {
	const char *method;         /* as sent: "GET", "POST", ... (case-sensitive token) */
	const char *path;           /* the target up to '?', raw (not percent-decoded), starts with '/' */
	const char *query;          /* after '?', raw; NULL when the target has none */
	const char *body;           /* the decoded body (chunked undone), never NULL ("" when none) */
	size_t body_len;
	int body_too_large;         /* the body is over limits.max_body and was not read: answer 413 */
	SSL *ssl;                   /* the connection's TLS (lt_tls_identity); NULL on a plain listener */
	struct h1s_conn *conn_;     /* private */
};

/* The value of the first request header field called name (case-insensitive), or NULL. */
const char *lt_hreq_header(const struct lt_hreq *r, const char *name);
/* The client's address as "ip:port" into buf (n bytes, at least 64); "-" when unknown. */
void lt_hreq_peer(const struct lt_hreq *r, char *buf, size_t n);
/* Adds a header field to the answer (copied; CR and LF in value are dropped). Before lt_hreq_send. */
void lt_hreq_add_header(struct lt_hreq *r, const char *name, const char *value);
/* Sends the answer: status line, Date, Content-Type, Content-Length, the added fields and body
 * (borrowed, len bytes; not sent for HEAD, 204 and 304) in one write (one TLS record). Ends r. */
void lt_hreq_send(struct lt_hreq *r, int status, const char *ctype, const char *body, size_t len);

/* A handler: called on the loop with a complete request (or one whose body is too large). */
typedef void (*lt_hreq_handler)(struct lt_hreq *r, struct lt_listener_rt *l);

/* Binds l's socket (lc's address; SO_REUSEPORT when reuseport, so that every loop binds its own),
 * with TCP_NODELAY inherited by accepted sockets, and accepts on l->srv's loop into handler. A TLS
 * listener's connections take the server SSL_CTX of l->srv's generation current when they are
 * accepted. 0 / -1 with e. */
int lt_h1s_listen(struct lt_listener_rt *l, const struct lt_listener_cfg *lc, int reuseport,
		  lt_hreq_handler handler, struct lt_err *e);
/* Stops accepting on l (closes its socket); its connections go on. Idempotent. */
void lt_h1s_unlisten(struct lt_listener_rt *l);
/* Answers of srv's loop being written out (a drain waits for them). */
size_t lt_h1s_unflushed(const struct lt_server *srv);
/* Closes every connection of srv's loop, whatever it is doing (the loop is ending). */
void lt_h1s_close_all(struct lt_server *srv);

#endif
