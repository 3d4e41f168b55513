/* admin.c: the admin endpoints. */
#include <string.h>
#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>

#include "gateway/admin.h"
#include "gateway/callback.h"
#include "gateway/pipeline.h"
#include "gateway/server.h"

void lt_admin_send_json(struct evhttp_request *req, int status, const char *body, const char *request_id)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *out = evbuffer_new();

	evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_add_header(h, "X-Request-Id", request_id);
	evhttp_add_header(h, "Cache-Control", "no-store");
	if (out != NULL)
		evbuffer_add(out, body, strlen(body));
	evhttp_send_reply(req, status, NULL, out);
	if (out != NULL)
		evbuffer_free(out);
}

void lt_admin_handle(struct evhttp_request *req, void *arg)
{
	struct lt_listener_rt *l = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	int get = evhttp_request_get_command(req) == EVHTTP_REQ_GET;
	char request_id[65];
	struct lt_err err;

	lt_request_id(req, request_id);
	lt_err_clear(&err);
	if (path == NULL)
		path = "/";
	if (strcmp(path, "/healthz") == 0 && get) {
		lt_admin_send_json(req, 200, "{\"status\":\"ok\"}", request_id);
		return;
	}
	if (strcmp(path, "/readyz") == 0 && get) {
		if (l->srv->draining)
			lt_admin_send_json(req, 503, "{\"ready\":false,\"reason\":\"draining\"}", request_id);
		else
			lt_admin_send_json(req, 200, "{\"ready\":true}", request_id);
		return;
	}
	if (lt_callback_admin(l->srv, req, path, request_id))
		return;
	if (strcmp(path, "/healthz") == 0 || strcmp(path, "/readyz") == 0) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET");
		lt_err_set(&err, 405, "route.method_not_allowed", "only GET is allowed on %s", path);
	} else {
		lt_err_set(&err, 404, "route.not_found", "no admin endpoint %.200s", path);
	}
	lt_pipeline_send_error(req, &err, request_id);
}
