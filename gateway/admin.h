/* admin.h: the admin listener (loopback): GET /healthz (the process answers), GET /readyz (it can
 * take traffic: not starting, not draining, the store writable), GET /metrics (Prometheus text),
 * GET /status (HTML for people), POST /admin/reload (as SIGHUP; audited). */
#ifndef LT_ADMIN_H
#define LT_ADMIN_H

#include "gateway/h1server.h"

/* The request handler of an admin listener l. */
void lt_admin_handle(struct lt_hreq *req, struct lt_listener_rt *l);
/* Answers req with a JSON body (borrowed), X-Request-Id and no-store. */
void lt_admin_send_json(struct lt_hreq *req, int status, const char *body, const char *request_id);

#endif
