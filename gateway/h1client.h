/* h1client.h: the native HTTP/1.1 transport of upstream calls (the default, `client: native`),
 * behind gateway/upstream.h. One per event loop.
 *
 * It owns per-upstream connection pools (keep-alive, a cap per host, calls waiting in order for a
 * connection), non-blocking connects with name resolution through evdns, TLS with OpenSSL directly
 * on the socket (the upstream's SSL_CTX from lt_tls_client_ctx, SNI, host name or IP verification,
 * public-key pins, session resumption), request writing in one write, and answer reading through
 * adapters/http1. Why it exists instead of libcurl alone: bench/NOTES.md (issue #6). */
#ifndef LT_H1CLIENT_H
#define LT_H1CLIENT_H

#include <event2/event.h>
#include "gateway/upstream.h"

struct lt_h1c;

/* NULL on failure (logged). */
struct lt_h1c *lt_h1c_new(struct event_base *base);
/* Closes every connection; calls still running are dropped without their done(). c may be NULL. */
void lt_h1c_free(struct lt_h1c *c);
void lt_h1c_max_host_connections(struct lt_h1c *c, long n);
/* Starts call (prepared by lt_upcall_start); its end goes to lt_upcall_finished_, never from
 * inside this function. 0 / -1 (a URL it cannot call). */
int lt_h1c_start(struct lt_h1c *c, struct lt_upcall *call, struct lt_err *e);

#endif
