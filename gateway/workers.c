/* workers.c: the event loops beyond the main one (see workers.h). */
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>

#include "gateway/workers.h"
#include "gateway/log.h"
#include "gateway/metrics.h"
#include "gateway/reload.h"

/* On the worker's loop: a new generation and/or a stop from the main loop. */
static void on_cmd(evutil_socket_t fd, short what, void *arg)
{
	struct lt_server *w = arg;
	struct lt_gen *g, *old;
	int drain;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&w->cmd_mu);
	g = w->pending;
	w->pending = NULL;
	drain = w->drain_req;
	pthread_mutex_unlock(&w->cmd_mu);
	if (g != NULL) {
		old = w->gen;
		lt_reload_adopt_sessions(g, old, w->loop);
		/* The worker's connections take their limits from w->gen from their next request on. */
		w->gen = g;
		lt_gen_unref(old);
	}
	if (drain)
		lt_server_drain(w);
}

static void *worker_main(void *arg)
{
	struct lt_server *w = arg;

	if (event_base_dispatch(w->base) < 0)
		lt_log_error("event loop %d failed", w->loop);
	return NULL;
}

static void worker_free(struct lt_server *w)
{
	if (w->pending != NULL)
		lt_gen_unref(w->pending);
	if (w->cmd != NULL)
		event_free(w->cmd);
	pthread_mutex_destroy(&w->cmd_mu);
	lt_server_free(w);
	free(w);
}

static struct lt_server *worker_new(struct lt_server *srv, int loop, struct lt_err *e)
{
	struct lt_server *w = lt_xcalloc(1, sizeof(*w));

	pthread_mutex_init(&w->cmd_mu, NULL);
	w->loop = loop;
	w->ready = 1;
	w->gen = lt_gen_ref(srv->gen);
	w->base = lt_server_base_new();
	if (w->base == NULL) {
		lt_err_set(e, 0, "loop", "cannot create event loop %d", loop);
		goto fail;
	}
	w->up = lt_upclient_new(w->base);
	w->cmd = event_new(w->base, -1, 0, on_cmd, w);
	if (w->up == NULL || w->cmd == NULL) {
		lt_err_set(e, 0, "loop", "cannot set up event loop %d", loop);
		goto fail;
	}
	if (lt_server_listen(w, srv->gen->cfg, 0, e) < 0)
		goto fail;
	return w;
fail:
	worker_free(w);
	return NULL;
}

/* Upstream connections per host, for the whole process: 32, shared by the loops (min 4 each). */
#define HOST_CONNECTIONS 32

int lt_workers_start(struct lt_server *srv, struct lt_err *e)
{
	size_t n = lt_server_loops() - 1;
	long share = HOST_CONNECTIONS / (long)(n + 1) < 4 ? 4 : HOST_CONNECTIONS / (long)(n + 1);

	lt_upclient_max_host_connections(srv->up, share);

	srv->workers = lt_xcalloc(n ? n : 1, sizeof(*srv->workers));
	for (size_t i = 0; i < n; i++) {
		struct lt_server *w = worker_new(srv, (int)i + 1, e);

		if (w == NULL)
			goto fail;
		lt_upclient_max_host_connections(w->up, share);
		if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
			lt_err_set(e, 0, "loop", "cannot start the thread of event loop %zu", i + 1);
			worker_free(w);
			goto fail;
		}
		srv->workers[srv->n_workers++] = w;
	}
	return 0;
fail:
	srv->forced = 1;
	lt_workers_stop(srv);
	srv->forced = 0;
	return -1;
}

void lt_workers_post(struct lt_server *srv, struct lt_gen *g, int drain)
{
	for (size_t i = 0; i < srv->n_workers; i++) {
		struct lt_server *w = srv->workers[i];

		pthread_mutex_lock(&w->cmd_mu);
		if (g != NULL) {
			if (w->pending != NULL)
				lt_gen_unref(w->pending);
			w->pending = lt_gen_ref(g);
		}
		w->drain_req |= drain;
		pthread_mutex_unlock(&w->cmd_mu);
		event_active(w->cmd, EV_READ, 0);
	}
}

void lt_workers_stop(struct lt_server *srv)
{
	if (!srv->forced)
		lt_workers_post(srv, NULL, 1);
	for (size_t i = 0; i < srv->n_workers; i++) {
		struct lt_server *w = srv->workers[i];

		if (srv->forced)
			event_base_loopexit(w->base, NULL);
		pthread_join(w->thread, NULL);
		worker_free(w);
	}
	free(srv->workers);
	srv->workers = NULL;
	srv->n_workers = 0;
}

size_t lt_workers_single_loop_routes(const struct lt_config *cfg, const char **first)
{
	size_t n = 0;

	for (size_t i = 0; i < cfg->n_routes; i++)
		if (cfg->routes[i].mode == LT_MODE_QUEUE && n++ == 0 && first != NULL)
			*first = cfg->routes[i].name;
	return n;
}

size_t lt_workers_inflight(const struct lt_server *srv)
{
	size_t n = srv->inflight;

	for (size_t i = 0; i < srv->n_workers; i++)
		n += srv->workers[i]->inflight;
	return n;
}
