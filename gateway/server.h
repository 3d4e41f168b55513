/* server.h: the daemon's runtime: the event loop, the listeners (evhttp over OpenSSL), signals,
 * and the current "generation" (a loaded config with its router, TLS contexts and upstream state).
 *
 * A generation is reference-counted: every request holds the generation it started on until its
 * answer is sent, so a reload (issue: hot reload) can swap in a new one while old requests finish
 * on the old config. */
#ifndef LT_SERVER_H
#define LT_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <event2/event.h>
#include <event2/http.h>
#include <openssl/ssl.h>

#include "gateway/certs.h"
#include "gateway/circuit.h"
#include "gateway/config.h"
#include "gateway/router.h"
#include "gateway/session.h"
#include "gateway/upstream.h"

struct lt_server;
struct lt_store;
struct lt_delivery;

/* Per-upstream runtime state of a generation. */
struct lt_upstream_rt {
	const struct lt_upstream_cfg *cfg;  /* borrowed from the generation's config */
	struct curl_slist *headers;         /* configured headers + static auth: copied into each call */
	struct lt_session session;          /* login/oauth2 token */
	struct lt_circuit circuit;          /* sync calls and queued deliveries alike */
};

struct lt_gen {
	int refs;
	struct lt_config *cfg;              /* owned */
	struct lt_router router;
	SSL_CTX **ssl;                      /* per listener, NULL for plain HTTP */
	struct lt_upstream_rt *ups;         /* per upstream */
	uint64_t loaded_ms;
	unsigned long number;               /* 1 at start-up, +1 per accepted reload */
	struct lt_cert_info *certs;         /* expiry of every certificate the config names */
	size_t n_certs;
};

struct lt_listener_rt {
	struct lt_server *srv;
	int index;                          /* into the generation's config listeners */
	int admin;
	int tls;
	struct evhttp *http;
	struct evhttp_bound_socket *bound;  /* NULL once it stopped accepting */
};

struct lt_server {
	struct event_base *base;
	struct lt_upclient *up;
	struct lt_gen *gen;                 /* current generation (one reference) */
	struct lt_listener_rt *listeners;
	size_t n_listeners;
	struct event *sig_term, *sig_int, *sig_hup, *drain_timer;
	size_t inflight;                    /* requests received and not yet answered */
	int draining;
	int ready;                          /* set when the loop starts: /readyz says "starting" before */
	uint64_t drain_started_ms;           /* when SIGTERM arrived */
	char *config_path;
	struct lt_store *store;              /* queue mode's durable messages (gateway/store.h) */
	struct lt_delivery *delivery;        /* their delivery worker (gateway/delivery.h) */
};

/* Loads the config and starts listening. 0 / -1 (problems printed to stderr). */
int lt_server_start(struct lt_server *srv, const char *config_path);
/* Runs the loop until stopped (SIGTERM/SIGINT). Returns the exit status. */
int lt_server_run(struct lt_server *srv);
void lt_server_free(struct lt_server *srv);

/* Builds everything a config needs at run time (TLS contexts, router, upstream state); takes cfg,
 * also on failure. NULL with e filled. Blocking (reads certificates): start-up and reload only. */
struct lt_gen *lt_gen_build(struct lt_config *cfg, struct lt_err *e);
/* Applies a config's limits (body, headers, timeouts) to a listener's evhttp. */
void lt_listener_limits(struct lt_listener_rt *l, const struct lt_limits *lim);
/* A function run once when the gateway stops, after requests in flight are answered (the store
 * flushes there). At most LT_STOP_HOOKS; registered before lt_server_run. */
#define LT_STOP_HOOKS 8
void lt_server_on_stop(void (*fn)(void *arg), void *arg);

/* Generation references: every request takes one for its life. */
struct lt_gen *lt_gen_ref(struct lt_gen *g);
void lt_gen_unref(struct lt_gen *g);

#endif
