/* admin.h: the admin listener (loopback): GET /healthz (the process answers), GET /readyz (it can
 * take traffic: not starting, not draining, the store writable), GET /metrics (Prometheus text),
 * GET /status (HTML for people), POST /admin/reload (as SIGHUP; audited). */
#ifndef LT_ADMIN_H
#define LT_ADMIN_H

#include <event2/http.h>

/* evhttp callback of an admin listener; arg is its struct lt_listener_rt. */
void lt_admin_handle(struct evhttp_request *req, void *arg);
/* Answers req with a JSON body (borrowed), X-Request-Id and no-store. */
void lt_admin_send_json(struct evhttp_request *req, int status, const char *body, const char *request_id);

#endif
