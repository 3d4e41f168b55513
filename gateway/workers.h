/* workers.h: the event loops beyond the main one (`gateway.workers`, auto = one per core).
 *
 * Each worker is a thread with its own struct lt_server: its own event_base, listeners (gateway/h1server.c) bound
 * to the same addresses with SO_REUSEPORT, libcurl multi handle, login sessions (lt_gen_upstream)
 * and generation reference. Nothing on a request's path is shared but read-only config, the
 * reference-counted generation (atomic) and the metrics (one mutex). The main loop keeps the admin
 * listener, the signals and reloads, and tells workers about a new generation or a stop through
 * one event per worker (event_active, thread-safe with evthread_use_pthreads). */
#ifndef LT_WORKERS_H
#define LT_WORKERS_H

#include "gateway/err.h"
#include "gateway/server.h"

/* Starts lt_server_loops() - 1 workers for the main server srv (serving srv->gen). 0 / -1 with e
 * (no worker left running). */
int lt_workers_start(struct lt_server *srv, struct lt_err *e);
/* From the main loop: hand every worker generation g (each takes its own reference; NULL = none)
 * and, when drain is 1, make each stop accepting and finish its requests in flight. */
void lt_workers_post(struct lt_server *srv, struct lt_gen *g, int drain);
/* After the main loop ended: drain the workers (or end them at once after a second signal),
 * join their threads and free them. Idempotent. */
void lt_workers_stop(struct lt_server *srv);
/* The routes that keep the process on one loop: queue mode answers from the store, whose results
 * come back on the main loop only (gateway/store.h). 0 when cfg can run on several loops. */
size_t lt_workers_single_loop_routes(const struct lt_config *cfg, const char **first);
/* Requests in flight on every loop. */
size_t lt_workers_inflight(const struct lt_server *srv);

#endif
