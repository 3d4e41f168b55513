/* server.h: the daemon's runtime: the event loop, the listeners (gateway/h1server.c), signals,
 * and the current "generation" (a loaded config with its router, TLS contexts and upstream state).
 *
 * A generation is reference-counted: every request holds the generation it started on until its
 * answer is sent, so a reload (issue: hot reload) can swap in a new one while old requests finish
 * on the old config. */
#ifndef LT_SERVER_H
#define LT_SERVER_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <event2/event.h>
#include <openssl/ssl.h>

#include "gateway/certs.h"
#include "gateway/circuit.h"
#include "gateway/config.h"
#include "gateway/h1server.h"
#include "gateway/router.h"
#include "gateway/session.h"
#include "gateway/upstream.h"

struct lt_server;
struct lt_store;
struct lt_delivery;

/* Per-upstream runtime state of a generation. */
struct lt_upstream_rt {
	const struct lt_upstream_cfg *cfg;  /* borrowed from the generation's config */
	SSL_CTX *tls;                       /* borrowed from the generation: lt_upcall.tls */
	struct lt_buf headers;              /* configured headers + static auth: copied into each call */
	struct lt_session session;          /* login/oauth2 token */
	struct lt_circuit circuit;          /* sync calls and queued deliveries alike */
};

struct lt_gen {
	_Atomic int refs;                   /* atomic: the loops of several workers share a generation */
	struct lt_config *cfg;              /* owned */
	struct lt_router router;
	SSL_CTX **ssl;                      /* per listener, NULL for plain HTTP */
	SSL_CTX **up_tls;                   /* per upstream: its client context, NULL when it calls no
					     * https:// URL or goes through libcurl */
	struct lt_upstream_rt *ups;         /* per loop and upstream: lt_gen_upstream() (login sessions and
					     * their waiters belong to one loop) */
	size_t n_loops;
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
	evutil_socket_t fd;                 /* the listening socket; -1 when not listening (any more) */
	struct event *accept_ev, *accept_pause;
	lt_hreq_handler handler;            /* lt_pipeline_handle or lt_admin_handle */
};

struct lt_server {
	struct event_base *base;
	struct lt_upclient *up;
	struct lt_gen *gen;                 /* current generation (one reference) */
	struct lt_listener_rt *listeners;
	size_t n_listeners;
	struct event *sig_term, *sig_int, *sig_hup, *drain_timer;
	_Atomic size_t inflight;            /* requests received and not yet answered on this loop */
	struct h1s_conn *h1_conns;          /* this loop's city-facing connections (gateway/h1server.c) */
	size_t unflushed;                   /* answers being written out (gateway/h1server.c) */
	uint64_t flush_wait_ms;             /* draining: when only unflushed answers were left */
	int draining;
	int ready;                          /* set when the loop starts: /readyz says "starting" before */
	uint64_t drain_started_ms;           /* when SIGTERM arrived */
	char *config_path;
	struct lt_store *store;              /* queue mode's durable messages (gateway/store.h) */
	struct lt_delivery *delivery;        /* their delivery worker (gateway/delivery.h) */
	/* Workers (gateway/workers.c): the main server is loop 0 and also owns the admin listener and
	 * the signals; each worker is a struct lt_server of its own with its loop, listeners (bound with
	 * SO_REUSEPORT), upstream client and generation reference, run by its own thread. */
	int loop;                           /* 0 = the main loop */
	struct lt_server **workers;         /* main only: loops 1..n_workers */
	size_t n_workers;
	pthread_t thread;
	pthread_mutex_t cmd_mu;             /* guards pending and drain_req, set by the main loop */
	struct event *cmd;                  /* activated by the main loop: look at pending/drain_req */
	struct lt_gen *pending;             /* a new generation to swap in (one reference) */
	int drain_req;
	int forced;                         /* second stop signal: exit without waiting */
};

/* Loads the config and starts listening. 0 / -1 (problems printed to stderr). */
int lt_server_start(struct lt_server *srv, const char *config_path);
/* Runs the loop until stopped (SIGTERM/SIGINT). Returns the exit status. */
int lt_server_run(struct lt_server *srv);
void lt_server_free(struct lt_server *srv);

/* Builds everything a config needs at run time (TLS contexts, router, upstream state); takes cfg,
 * also on failure. NULL with e filled. Blocking (reads certificates): start-up and reload only. */
struct lt_gen *lt_gen_build(struct lt_config *cfg, struct lt_err *e);
/* A function run once when the gateway stops, after requests in flight are answered (the store
 * flushes there). At most LT_STOP_HOOKS; registered before lt_server_run. */
#define LT_STOP_HOOKS 8
void lt_server_on_stop(void (*fn)(void *arg), void *arg);

/* The runtime state of upstream idx for the given loop (borrowed from g). */
struct lt_upstream_rt *lt_gen_upstream(struct lt_gen *g, int loop, int idx);
/* How many event loops the process runs (1 + workers); fixed at start-up. */
size_t lt_server_loops(void);
/* A new event loop, set up as every loop of the gateway is (epoll with its changelist). NULL on failure. */
struct event_base *lt_server_base_new(void);
/* Opens srv's listeners (the admin one only when admin is 1) on srv->base. 0 / -1 with e. */
int lt_server_listen(struct lt_server *srv, const struct lt_config *cfg, int admin, struct lt_err *e);
/* Stops accepting on srv's public listeners and waits (on srv's loop) for its requests in flight,
 * then ends srv's loop. For the main loop and for each worker's. */
void lt_server_drain(struct lt_server *srv);

/* Generation references: every request takes one for its life. */
struct lt_gen *lt_gen_ref(struct lt_gen *g);
void lt_gen_unref(struct lt_gen *g);

#endif
