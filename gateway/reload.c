/* reload.c: swapping in a new generation (see reload.h). */
#include <string.h>

#include "gateway/reload.h"
#include "adapters/json.h"
#include "gateway/log.h"
#include "gateway/server.h"
#include "gateway/util.h"
#include "gateway/workers.h"

#define REASON_MAX 900      /* the first problems, enough for a person; the rest are in the log */

static int same_listeners(const struct lt_config *a, const struct lt_config *b, struct lt_err *e)
{
	if (a->n_listeners != b->n_listeners)
		return lt_err_set(e, 422, "reload.refused", "the listeners changed (%zu before, %zu now): restart "
				  "the gateway to change listeners", a->n_listeners, b->n_listeners);
	for (size_t i = 0; i < a->n_listeners; i++) {
		const struct lt_listener_cfg *x = &a->listeners[i], *y = &b->listeners[i];

		if (strcmp(x->name, y->name) != 0 || strcmp(x->host, y->host) != 0 || x->port != y->port ||
		    x->tls != y->tls || x->admin != y->admin)
			return lt_err_set(e, 422, "reload.refused", "listener '%s' changed its name, address, tls "
					  "or admin flag: restart the gateway to change listeners", y->name);
	}
	return 0;
}

static void refuse_audit(const char *source, const struct lt_err *e)
{
	struct lt_buf b;

	lt_buf_init(&b, 4096);
	lt_buf_puts(&b, "\"source\":\"");
	lt_buf_json_text(&b, source, strlen(source));
	lt_buf_puts(&b, "\",\"outcome\":\"refused\",\"reason\":\"");
	lt_buf_json_text(&b, e->msg, strlen(e->msg));
	lt_buf_putc(&b, '"');
	lt_log_audit("reload", b.overflow ? "\"outcome\":\"refused\"" : b.data);
	lt_buf_free(&b);
	lt_log_error("reload (%s) refused, the running configuration keeps serving: %s", source, e->msg);
}

static int same_str(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Everything that decides which token a login gives and where it is valid. */
static int same_auth(const struct lt_upstream_cfg *a, const struct lt_upstream_cfg *b)
{
	const struct lt_auth_cfg *x = &a->auth, *y = &b->auth;

	return same_str(a->url, b->url) && x->type == y->type && same_str(x->login_path, y->login_path) &&
	       (x->login_body == y->login_body || (x->login_body != NULL && y->login_body != NULL &&
						  json_equal(x->login_body, y->login_body))) &&
	       same_str(x->token_field, y->token_field) && same_str(x->token_url, y->token_url) &&
	       same_str(x->client_id, y->client_id) && same_str(x->client_secret, y->client_secret) &&
	       same_str(x->scope, y->scope);
}

void lt_reload_adopt_sessions(struct lt_gen *to, struct lt_gen *from, int loop)
{
	for (size_t i = 0; i < to->cfg->n_upstreams; i++) {
		const struct lt_upstream_cfg *u = &to->cfg->upstreams[i];

		if (u->auth.type != LT_AUTH_LOGIN && u->auth.type != LT_AUTH_OAUTH2)
			continue;
		for (size_t k = 0; k < from->cfg->n_upstreams; k++)
			if (strcmp(from->cfg->upstreams[k].name, u->name) == 0 && same_auth(&from->cfg->upstreams[k], u))
				lt_session_adopt(&lt_gen_upstream(to, loop, (int)i)->session,
						 &lt_gen_upstream(from, loop, (int)k)->session);
	}
}

int lt_reload(struct lt_server *srv, const char *source, struct lt_err *e)
{
	struct lt_diags d = { 0 };
	struct lt_config *cfg = NULL;
	struct lt_gen *g, *old = srv->gen;
	char audit[256];
	const char *queue_route = "";

	lt_log_info("reload (%s): loading %s", source, srv->config_path);
	if (lt_config_load(srv->config_path, &cfg, &d) < 0) {
		struct lt_buf b;

		/* Every problem goes to the log as `check` prints it; the reason carries the first. */
		lt_buf_init(&b, REASON_MAX);
		for (size_t i = 0; i < d.n; i++) {
			if (d.v[i].warning)
				continue;
			lt_log_error("reload: %s", d.v[i].text);
			if (b.len > 0)
				lt_buf_puts(&b, "; ");
			lt_buf_puts(&b, d.v[i].text);
		}
		lt_err_set(e, 422, "reload.refused", "%d problem(s) in the new configuration: %s", d.nerrors,
			   b.overflow ? "see the log" : b.data ? b.data : "");
		lt_buf_free(&b);
		lt_diags_free(&d);
		refuse_audit(source, e);
		return -1;
	}
	for (size_t i = 0; i < d.n; i++)
		lt_log_warn("reload: %s", d.v[i].text);
	lt_diags_free(&d);
	int one_loop = lt_server_loops() > 1 && lt_workers_single_loop_routes(cfg, &queue_route) > 0;

	if (one_loop)
		lt_err_set(e, 422, "reload.refused", "route '%s' is in queue mode, which runs on one event loop, and "
			   "the gateway runs %zu: restart it to add queue-mode routes", queue_route, lt_server_loops());
	if (one_loop || same_listeners(old->cfg, cfg, e) < 0) {
		lt_config_free(cfg);
		refuse_audit(source, e);
		return -1;
	}
	g = lt_gen_build(cfg, e);
	if (g == NULL) {
		lt_err_wrap(e, 422, "reload.refused", "the new configuration cannot run");
		refuse_audit(source, e);
		return -1;
	}
	g->number = old->number + 1;
	lt_reload_adopt_sessions(g, old, 0);
	srv->gen = g;
	/* Connections read their limits from the loop's current generation at each request. */
	lt_workers_post(srv, g, 0);
	lt_log_set_level(cfg->gateway.log_level);
	lt_log_info("reload (%s): generation %lu serves %zu routes, %zu upstreams; generation %lu finishes "
		    "what it started", source, g->number, cfg->n_routes, cfg->n_upstreams, old->number);
	snprintf(audit, sizeof(audit), "\"source\":\"%s\",\"outcome\":\"accepted\",\"generation\":%lu", source,
		 g->number);
	lt_log_audit("reload", audit);
	/* Requests in flight hold their own references: the old generation goes when the last ends. */
	lt_gen_unref(old);
	return 0;
}
