/* upstream.h: HTTP(S) calls to upstreams, one interface over two transports chosen per upstream
 * (`client:` in the config): the native HTTP/1.1 client (gateway/h1client.c, the default) and
 * libcurl's multi interface (gateway/curlclient.c). Both run on the gateway's own libevent loop and
 * never block it; both keep their connections (and TLS sessions) for the next calls.
 *
 * A call runs to completion even when the client that caused it has gone: for payments an
 * outcome that nobody records is worse than an answer nobody reads. */
#ifndef LT_UPSTREAM_H
#define LT_UPSTREAM_H

#include <stddef.h>
#include <event2/event.h>
#include <openssl/ssl.h>
#include "gateway/config.h"
#include "gateway/err.h"
#include "gateway/util.h"

struct lt_upclient;

enum lt_upfail {
	LT_UP_OK = 0,       /* an HTTP answer arrived (any status) */
	LT_UP_CONNECT,      /* refused, unreachable, DNS */
	LT_UP_TIMEOUT,      /* connect or total timeout */
	LT_UP_TLS,          /* handshake, certificate, pinned key */
	LT_UP_PROTOCOL,     /* connection dropped, garbage, no answer */
	LT_UP_TOO_LARGE,    /* answer over the response limit */
	LT_UP_INTERNAL
};

/* The bound on a call's header lines: far above what a gateway sends, it only stops a runaway. */
#define LT_UPCALL_MAX_HEADERS (64u * 1024)
#define LT_UPCALL_ERRBUF 256

struct lt_upcall {
	/* Set by the caller before lt_upcall_start; owned by the call from then on. */
	const struct lt_upstream_cfg *cfg;  /* borrowed: TLS, timeouts, transport */
	SSL_CTX *tls;                       /* borrowed: the upstream's client context (lt_tls_client_ctx),
					     * NULL when neither its url nor its token_url is https */
	const char *method;                 /* borrowed static string: "POST", "GET", ... */
	char *url;
	struct lt_buf headers;              /* "Name: value\r\n" lines: lt_header_add */
	char *body;
	size_t body_len;
	size_t max_response;                /* 0 = 8 MiB */
	void (*done)(struct lt_upcall *call, void *arg);  /* called once, from the loop */
	void *arg;
	/* Results, valid in done(). */
	enum lt_upfail fail;
	long status;
	struct lt_buf response;
	char content_type[128];
	char errbuf[LT_UPCALL_ERRBUF];
	double elapsed_ms;
	/* private: the transport's state of a call in flight */
	void *impl_;
	struct lt_upclient *client_;
};

/* One per event loop. NULL on failure (logged). */
struct lt_upclient *lt_upclient_new(struct event_base *base);
/* Aborts calls still running (their done() is NOT called) and frees everything. */
void lt_upclient_free(struct lt_upclient *c);
/* Caps the connections this client opens to one host (default 32). With several event loops each
 * gets its share, so that an upstream sees the same number of connections whatever the loops. */
void lt_upclient_max_host_connections(struct lt_upclient *c, long n);
/* Calls in flight, for draining. */
size_t lt_upclient_active(const struct lt_upclient *c);

void lt_upcall_init(struct lt_upcall *call);
/* Starts the call; done() runs later on the loop, never from inside this function. 0 / -1. */
int lt_upcall_start(struct lt_upclient *c, struct lt_upcall *call, struct lt_err *e);
/* Frees url, headers, body and response so the struct can be reused (a retry) or dropped. */
void lt_upcall_release(struct lt_upcall *call);
/* Describes a failed call as the gateway's error: 502 upstream.connect | upstream.tls |
 * upstream.protocol | upstream.too_large, 504 upstream.timeout. Returns -1. */
int lt_upcall_error(const struct lt_upcall *call, const char *upstream, struct lt_err *e);

/* Appends "Name: value\r\n" to a header block. A CR or LF in the value (a token from a login
 * answer, say) becomes a space: it must never start a header line of its own. */
void lt_header_add(struct lt_buf *h, const char *name, const char *value);
/* Appends a prepared "Name: value" line (lt_auth_static_header), with the same care. */
void lt_header_line(struct lt_buf *h, const char *line);
/* 1 when the block has a header of that name (case-insensitive). */
int lt_header_has(const struct lt_buf *h, const char *name);

/* For the transports: the call is over (results set); counts it and runs its done(). */
void lt_upcall_finished_(struct lt_upcall *call);

#endif
