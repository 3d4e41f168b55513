/* admin.c: the admin endpoints. */
#include <string.h>

#include "gateway/admin.h"
#include "gateway/callback.h"
#include "gateway/log.h"
#include "gateway/metrics.h"
#include "gateway/pipeline.h"
#include "gateway/reload.h"
#include "gateway/server.h"
#include "gateway/status.h"

/* A page is built whole before it is sent: big enough for thousands of routes. */
#define PAGE_MAX (8u << 20)

void lt_admin_send_json(struct lt_hreq *req, int status, const char *body, const char *request_id)
{
	lt_http_send(req, status, "application/json", body, strlen(body), request_id);
}

static void send_page(struct lt_hreq *req, const char *ctype, struct lt_buf *b, const char *request_id)
{
	if (b->overflow) {
		struct lt_err err;

		lt_err_set(&err, 500, "internal", "the page is larger than %u bytes", PAGE_MAX);
		lt_pipeline_send_error(req, &err, request_id);
		return;
	}
	lt_http_send(req, 200, ctype, b->data ? b->data : "", b->len, request_id);
}

/* Why the gateway should not get traffic now, or NULL when it should. */
static const char *not_ready(const struct lt_server *srv)
{
	if (!srv->ready)
		return "starting";
	if (srv->draining)
		return "draining";
	if (!lt_metrics_store_ok())
		return "store not writable";
	return NULL;
}

static void admin_reload(struct lt_hreq *req, struct lt_server *srv, const char *request_id)
{
	struct lt_err err;
	char body[128];

	lt_err_clear(&err);
	lt_log_audit("admin", "\"action\":\"reload\"");
	if (lt_reload(srv, "admin", &err) < 0) {
		lt_pipeline_send_error(req, &err, request_id);
		return;
	}
	snprintf(body, sizeof(body), "{\"reloaded\":true,\"generation\":%lu}", srv->gen->number);
	lt_admin_send_json(req, 200, body, request_id);
}

void lt_admin_handle(struct lt_hreq *req, struct lt_listener_rt *l)
{
	const char *path = req->path;
	int get = strcmp(req->method, "GET") == 0;
	char request_id[65];
	struct lt_err err;

	lt_request_id(req, request_id);
	lt_err_clear(&err);
	if (strcmp(path, "/healthz") == 0 && get) {
		lt_admin_send_json(req, 200, "{\"status\":\"ok\"}", request_id);
		return;
	}
	if (strcmp(path, "/readyz") == 0 && get) {
		const char *why = not_ready(l->srv);
		char body[128];

		if (why != NULL) {
			snprintf(body, sizeof(body), "{\"ready\":false,\"reason\":\"%s\"}", why);
			lt_admin_send_json(req, 503, body, request_id);
		} else {
			lt_admin_send_json(req, 200, "{\"ready\":true}", request_id);
		}
		return;
	}
	if ((strcmp(path, "/metrics") == 0 || strcmp(path, "/status") == 0) && get) {
		struct lt_buf b;
		int metrics = path[1] == 'm';

		lt_buf_init(&b, PAGE_MAX);
		if (metrics) {
			lt_metrics_render(&b);
			lt_status_gauges(&b, l->srv->gen);
		} else {
			lt_status_page(&b, l->srv, l->srv->gen);
		}
		send_page(req, metrics ? "text/plain; version=0.0.4; charset=utf-8" : "text/html; charset=utf-8", &b,
			  request_id);
		lt_buf_free(&b);
		return;
	}
	if (strcmp(path, "/admin/reload") == 0 && strcmp(req->method, "POST") == 0) {
		admin_reload(req, l->srv, request_id);
		return;
	}
	if (lt_callback_admin(l->srv, req, path, request_id))
		return;
	if (strcmp(path, "/admin/reload") == 0) {
		lt_hreq_add_header(req, "Allow", "POST");
		lt_err_set(&err, 405, "route.method_not_allowed", "only POST is allowed on %s", path);
	} else if (strcmp(path, "/healthz") == 0 || strcmp(path, "/readyz") == 0 || strcmp(path, "/metrics") == 0 ||
		   strcmp(path, "/status") == 0) {
		lt_hreq_add_header(req, "Allow", "GET");
		lt_err_set(&err, 405, "route.method_not_allowed", "only GET is allowed on %s", path);
	} else {
		lt_err_set(&err, 404, "route.not_found", "no admin endpoint %.200s", path);
	}
	lt_pipeline_send_error(req, &err, request_id);
}
