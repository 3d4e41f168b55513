/* server.c: start-up, listeners, signals and graceful stop. */
#include <errno.h>
#include <signal.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <event2/thread.h>
#include <openssl/err.h>
#include <unistd.h>

#include "gateway/server.h"
#include "gateway/admin.h"
#include "gateway/delivery.h"
#include "gateway/log.h"
#include "gateway/metrics.h"
#include "gateway/pipeline.h"
#include "gateway/reload.h"
#include "gateway/workers.h"
#include "gateway/store.h"
#include "gateway/tls.h"
#include "adapters/auth.h"

/* How long SIGTERM waits for requests in flight before exiting anyway. */
#define DRAIN_BOUND_MS 30000
/* How long a drain waits for answers to be written out once no request is left: a client that
 * does not read its answer is not waited for. */
#define FLUSH_GRACE_MS 3000

struct lt_gen *lt_gen_ref(struct lt_gen *g)
{
	g->refs++;
	return g;
}

/* Event loops of the process, decided at start-up from gateway.workers. */
static size_t n_loops = 1;

size_t lt_server_loops(void)
{
	return n_loops;
}

struct lt_upstream_rt *lt_gen_upstream(struct lt_gen *g, int loop, int idx)
{
	return &g->ups[(size_t)loop * g->cfg->n_upstreams + (size_t)idx];
}

static void gen_free(struct lt_gen *g)
{
	if (g->ups != NULL) {
		for (size_t i = 0; i < g->cfg->n_upstreams * g->n_loops; i++) {
			lt_buf_free(&g->ups[i].headers);
			lt_session_free(&g->ups[i].session);
		}
		free(g->ups);
	}
	if (g->ssl != NULL) {
		for (size_t i = 0; i < g->cfg->n_listeners; i++)
			SSL_CTX_free(g->ssl[i]);
		free(g->ssl);
	}
	if (g->up_tls != NULL) {
		for (size_t i = 0; i < g->cfg->n_upstreams; i++)
			SSL_CTX_free(g->up_tls[i]);
		free(g->up_tls);
	}
	lt_router_free(&g->router);
	lt_certs_free(g->certs, g->n_certs);
	lt_config_free(g->cfg);
	free(g);
}

void lt_gen_unref(struct lt_gen *g)
{
	if (g != NULL && --g->refs == 0)
		gen_free(g);
}

struct lt_gen *lt_gen_build(struct lt_config *cfg, struct lt_err *e)
{
	struct lt_gen *g = lt_xcalloc(1, sizeof(*g));

	g->refs = 1;
	g->cfg = cfg;
	g->loaded_ms = lt_wall_ms();
	g->number = 1;
	g->n_certs = lt_certs_collect(cfg, &g->certs);
	lt_router_build(&g->router, cfg);
	g->ssl = lt_xcalloc(cfg->n_listeners ? cfg->n_listeners : 1, sizeof(*g->ssl));
	for (size_t i = 0; i < cfg->n_listeners; i++) {
		if (!cfg->listeners[i].tls)
			continue;
		g->ssl[i] = lt_tls_server_ctx(&cfg->listeners[i], e);
		if (g->ssl[i] == NULL)
			goto fail;
	}
	g->up_tls = lt_xcalloc(cfg->n_upstreams ? cfg->n_upstreams : 1, sizeof(*g->up_tls));
	for (size_t i = 0; i < cfg->n_upstreams; i++) {
		const struct lt_upstream_cfg *uc = &cfg->upstreams[i];
		int https = strncasecmp(uc->url, "https://", 8) == 0 ||
			    (uc->auth.token_url != NULL && strncasecmp(uc->auth.token_url, "https://", 8) == 0);

		if (!https || uc->client == LT_CLIENT_CURL)
			continue;
		g->up_tls[i] = lt_tls_client_ctx(uc, e);
		if (g->up_tls[i] == NULL)
			goto fail;
	}
	g->n_loops = n_loops;
	g->ups = lt_xcalloc(cfg->n_upstreams ? cfg->n_upstreams * n_loops : 1, sizeof(*g->ups));
	for (size_t i = 0; i < cfg->n_upstreams * n_loops; i++) {
		struct lt_upstream_rt *u = &g->ups[i];
		const struct lt_upstream_cfg *uc = &cfg->upstreams[i % cfg->n_upstreams];
		char *line;

		u->cfg = uc;
		u->tls = g->up_tls[i % cfg->n_upstreams];
		lt_session_init(&u->session, uc, u->tls);
		lt_circuit_init(&u->circuit, uc->circuit_failures, (uint64_t)uc->circuit_cooldown_ms);
		lt_buf_init(&u->headers, LT_UPCALL_MAX_HEADERS);
		for (size_t k = 0; k < uc->n_headers; k++)
			lt_header_add(&u->headers, uc->headers[k].name, uc->headers[k].value);
		if ((line = lt_auth_static_header(&uc->auth)) != NULL) {
			lt_header_line(&u->headers, line);
			memset(line, 0, strlen(line));
			free(line);
		}
	}
	return g;
fail:
	gen_free(g);
	return NULL;
}

static int listener_open(struct lt_server *srv, struct lt_listener_rt *l, const struct lt_listener_cfg *lc,
			 struct lt_err *e)
{
	l->srv = srv;
	l->admin = lc->admin;
	l->tls = lc->tls;
	/* Every loop binds its own socket to the same address with SO_REUSEPORT: the kernel spreads
	 * new connections over the loops (no thundering herd, no accept lock), and each loop accepts,
	 * reads, maps and answers its connections alone. */
	if (lt_h1s_listen(l, lc, n_loops > 1 && !lc->admin, lc->admin ? lt_admin_handle : lt_pipeline_handle, e) < 0)
		return -1;
	if (srv->loop == 0)
		lt_log_info("listening on %s (%s%s%s)", lc->listen, lc->name, lc->tls ? ", TLS" : "",
			    n_loops > 1 && !lc->admin ? ", every loop" : "");
	return 0;
}

struct event_base *lt_server_base_new(void)
{
	struct event_config *cfg = event_config_new();
	struct event_base *base;

	if (cfg == NULL)
		return NULL;
	/* epoll's changelist folds the event_del/event_add a loop iteration makes on one fd (curl's
	 * sockets) into at most one epoll_ctl. Its
	 * caveat (libevent's event.h) is an fd cloned with dup(): closing one clone leaves the file
	 * in the epoll set and the deferred DEL fails. No fd handed to libevent here is ever dup'd
	 * (listeners, accepted connections, curl's sockets, the store's wake-up pipe, libevent's own
	 * signal socketpair), and a closed and reused fd number is handled by libevent (MOD fails
	 * with ENOENT, retried as ADD). */
	event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	return base;
}

int lt_server_listen(struct lt_server *srv, const struct lt_config *cfg, int admin, struct lt_err *e)
{
	srv->n_listeners = cfg->n_listeners;
	srv->listeners = lt_xcalloc(srv->n_listeners ? srv->n_listeners : 1, sizeof(*srv->listeners));
	for (size_t i = 0; i < cfg->n_listeners; i++) {
		srv->listeners[i].index = (int)i;
		srv->listeners[i].srv = srv;
		srv->listeners[i].fd = -1;
	}
	for (size_t i = 0; i < cfg->n_listeners; i++) {
		if (!admin && cfg->listeners[i].admin)
			continue;
		if (listener_open(srv, &srv->listeners[i], &cfg->listeners[i], e) < 0)
			return -1;
	}
	return 0;
}

static void stop_accepting(struct lt_server *srv)
{
	for (size_t i = 0; i < srv->n_listeners; i++)
		if (!srv->listeners[i].admin)
			lt_h1s_unlisten(&srv->listeners[i]);
}

static void on_drain_tick(evutil_socket_t fd, short what, void *arg)
{
	struct lt_server *srv = arg;
	struct timeval tv = { 0, 50000 };
	uint64_t now = lt_mono_ms();
	int busy = srv->inflight > 0 || lt_upclient_active(srv->up) > 0;

	(void)fd;
	(void)what;
	if (!busy && srv->unflushed > 0) {
		if (srv->flush_wait_ms == 0)
			srv->flush_wait_ms = now;
		busy = now - srv->flush_wait_ms < FLUSH_GRACE_MS;
	}
	if (!busy || now - srv->drain_started_ms > DRAIN_BOUND_MS) {
		if (srv->inflight > 0)
			lt_log_warn("stopping with %zu requests still in flight", srv->inflight);
		event_base_loopexit(srv->base, NULL);
		return;
	}
	evtimer_add(srv->drain_timer, &tv);
}

void lt_server_drain(struct lt_server *srv)
{
	if (srv->draining)
		return;
	srv->draining = 1;
	srv->drain_started_ms = lt_mono_ms();
	stop_accepting(srv);
	if (srv->drain_timer == NULL && (srv->drain_timer = evtimer_new(srv->base, on_drain_tick, srv)) == NULL) {
		event_base_loopexit(srv->base, NULL);
		return;
	}
	on_drain_tick(-1, 0, srv);
}

static void on_stop_signal(evutil_socket_t sig, short what, void *arg)
{
	struct lt_server *srv = arg;

	(void)what;
	if (srv->draining) {
		lt_log_warn("second stop signal: exiting now");
		srv->forced = 1;
		event_base_loopexit(srv->base, NULL);
		return;
	}
	lt_log_info("signal %d: no new requests; finishing %zu in flight", (int)sig, lt_workers_inflight(srv));
	lt_workers_post(srv, NULL, 1);
	lt_server_drain(srv);
}

/* lienthong_circuit_open and the status page: the main loop's breaker (each loop keeps its own;
 * the delivery worker's calls, the likeliest to trip one, run on the main loop). */
static int circuit_open(void *arg, const char *upstream)
{
	struct lt_server *srv = arg;
	const struct lt_config *cfg = srv->gen->cfg;

	for (size_t i = 0; i < cfg->n_upstreams; i++)
		if (strcmp(cfg->upstreams[i].name, upstream) == 0)
			return lt_gen_upstream(srv->gen, 0, (int)i)->circuit.state == LT_CIRCUIT_OPEN;
	return 0;
}

static void on_reload_signal(evutil_socket_t sig, short what, void *arg)
{
	struct lt_err err;

	(void)sig;
	(void)what;
	lt_err_clear(&err);
	/* lt_reload logs and audits the outcome either way. */
	(void)lt_reload(arg, "SIGHUP", &err);
}

int lt_server_start(struct lt_server *srv, const char *config_path)
{
	struct lt_diags d = { 0 };
	struct lt_config *cfg = NULL;
	struct lt_err err;

	memset(srv, 0, sizeof(*srv));
	lt_err_clear(&err);
	srv->config_path = lt_xstrdup(config_path);
	if (lt_config_load(config_path, &cfg, &d) < 0) {
		lt_diags_print(&d, stderr);
		lt_diags_free(&d);
		fprintf(stderr, "lienthong: %s: configuration refused\n", config_path);
		return -1;
	}
	lt_diags_print(&d, stderr);
	lt_diags_free(&d);
	lt_log_init(cfg->gateway.log_level, cfg->gateway.log_format);
	if (cfg->gateway.workers > 0) {
		n_loops = (size_t)cfg->gateway.workers;
	} else {
		long cores = sysconf(_SC_NPROCESSORS_ONLN);

		n_loops = cores > 0 ? (size_t)cores : 1;
	}
	if (n_loops > 1) {
		const char *route = NULL;
		size_t n = lt_workers_single_loop_routes(cfg, &route);

		if (n > 0) {
			lt_log_warn("gateway.workers: running one event loop, not %zu: %zu queue-mode route(s) ('%s', ...) "
				    "are served by the main loop only, where the store answers", n_loops, n, route);
			n_loops = 1;
		}
	}
	/* Loops are told about reloads and stops from the main loop: libevent must lock. */
	if (n_loops > 1 && evthread_use_pthreads() < 0) {
		lt_config_free(cfg);
		fprintf(stderr, "lienthong: cannot enable libevent threads\n");
		return -1;
	}
	if (lt_tls_init() < 0) {
		lt_config_free(cfg);
		fprintf(stderr, "lienthong: cannot initialise TLS\n");
		return -1;
	}
	srv->gen = lt_gen_build(cfg, &err);
	if (srv->gen == NULL)
		goto fail;
	srv->base = lt_server_base_new();
	if (srv->base == NULL) {
		lt_err_set(&err, 0, "loop", "cannot create the event loop");
		goto fail;
	}
	srv->up = lt_upclient_new(srv->base);
	if (srv->up == NULL) {
		lt_err_set(&err, 0, "curl", "cannot initialise libcurl");
		goto fail;
	}
	srv->store = lt_store_open(cfg->gateway.store, srv->base, &err);
	if (srv->store == NULL)
		goto fail;
	srv->delivery = lt_delivery_new(srv, srv->store);
	if (lt_server_listen(srv, cfg, 1, &err) < 0)
		goto fail;
	signal(SIGPIPE, SIG_IGN);
	srv->sig_term = evsignal_new(srv->base, SIGTERM, on_stop_signal, srv);
	srv->sig_int = evsignal_new(srv->base, SIGINT, on_stop_signal, srv);
	srv->sig_hup = evsignal_new(srv->base, SIGHUP, on_reload_signal, srv);
	srv->drain_timer = evtimer_new(srv->base, on_drain_tick, srv);
	if (srv->sig_term == NULL || srv->sig_int == NULL || srv->sig_hup == NULL || srv->drain_timer == NULL ||
	    evsignal_add(srv->sig_term, NULL) < 0 || evsignal_add(srv->sig_int, NULL) < 0 ||
	    evsignal_add(srv->sig_hup, NULL) < 0) {
		lt_err_set(&err, 0, "signals", "cannot install signal handlers");
		goto fail;
	}
	if (lt_workers_start(srv, &err) < 0)
		goto fail;
	lt_metrics_hook_circuit(circuit_open, srv);
	lt_log_info("lienthong %s started with %s: %zu routes, %zu upstreams, %zu event loops", LT_VERSION,
		    config_path, cfg->n_routes, cfg->n_upstreams, n_loops);
	return 0;
fail:
	fprintf(stderr, "lienthong: %s\n", err.msg);
	return -1;
}

static struct {
	void (*fn)(void *arg);
	void *arg;
} stop_hooks[LT_STOP_HOOKS];
static size_t n_stop_hooks;

void lt_server_on_stop(void (*fn)(void *arg), void *arg)
{
	if (n_stop_hooks >= LT_STOP_HOOKS) {
		lt_log_error("too many stop hooks: one is not registered");
		return;
	}
	stop_hooks[n_stop_hooks].fn = fn;
	stop_hooks[n_stop_hooks++].arg = arg;
}

int lt_server_run(struct lt_server *srv)
{
	int rc;

	srv->ready = 1;
	rc = event_base_dispatch(srv->base);
	/* The workers drain on their own loops (or leave at once after a second signal). */
	lt_workers_stop(srv);
	if (rc < 0)
		return 1;
	/* Requests in flight are answered (or the bound passed): now the store may flush and close. */
	for (size_t i = 0; i < n_stop_hooks; i++)
		stop_hooks[i].fn(stop_hooks[i].arg);
	lt_log_info("stopped");
	return 0;
}

void lt_server_free(struct lt_server *srv)
{
	lt_workers_stop(srv);
	/* Connections first: a request still held by an unfinished call goes with its connection (the
	 * loop has ended; nothing will answer it). */
	lt_h1s_close_all(srv);
	for (size_t i = 0; i < srv->n_listeners; i++)
		lt_h1s_unlisten(&srv->listeners[i]);
	free(srv->listeners);
	lt_delivery_free(srv->delivery);
	/* The writer finishes what was submitted (state updates of the last deliveries) first. */
	lt_store_close(srv->store);
	lt_upclient_free(srv->up);
	if (srv->sig_term != NULL)
		event_free(srv->sig_term);
	if (srv->sig_int != NULL)
		event_free(srv->sig_int);
	if (srv->sig_hup != NULL)
		event_free(srv->sig_hup);
	if (srv->drain_timer != NULL)
		event_free(srv->drain_timer);
	if (srv->gen != NULL)
		lt_gen_unref(srv->gen);
	if (srv->base != NULL)
		event_base_free(srv->base);
	free(srv->config_path);
	memset(srv, 0, sizeof(*srv));
}
