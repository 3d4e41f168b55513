/* upstream.h: HTTP(S) calls to upstreams with libcurl's multi interface driven by the gateway's
 * own libevent loop (STACK.md §2a, curl's hiperfifo pattern): no call ever blocks the loop, one
 * multi handle per loop keeps the connection pool (and TLS sessions) for the process's life.
 *
 * A call runs to completion even when the client that caused it has gone: for payments an
 * outcome that nobody records is worse than an answer nobody reads. */
#ifndef LT_UPSTREAM_H
#define LT_UPSTREAM_H

#include <stddef.h>
#include <curl/curl.h>
#include <event2/event.h>
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

struct lt_upcall {
	/* Set by the caller before lt_upcall_start; owned by the call from then on. */
	const struct lt_upstream_cfg *cfg;  /* borrowed: TLS, timeouts */
	const char *method;                 /* borrowed static string: "POST", "GET", ... */
	char *url;
	struct curl_slist *headers;
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
	char errbuf[CURL_ERROR_SIZE];
	double elapsed_ms;
	/* private */
	CURL *easy_;
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

/* Appends "Name: value" to a header list (new list when list is NULL). Never NULL. */
struct curl_slist *lt_header_add(struct curl_slist *list, const char *name, const char *value);

#endif
