/* pipeline.h: one request's way through the gateway (a "transaction"): route → client identity →
 * body limits and content type → request mapping → upstream auth token → upstream call → response
 * mapping → answer, with exactly one answer per request (JSON error envelope on every failure) and
 * one access-log line. */
#ifndef LT_PIPELINE_H
#define LT_PIPELINE_H

#include "gateway/h1server.h"
#include "gateway/server.h"

/* The request handler of a public (non-admin) listener l. */
void lt_pipeline_handle(struct lt_hreq *req, struct lt_listener_rt *l);

/* The one way an answer leaves: status, Content-Type, X-Request-Id, Cache-Control: no-store and the
 * body (borrowed, len bytes). Every path that answers a request ends here, exactly once. */
void lt_http_send(struct lt_hreq *req, int status, const char *ctype, const char *body, size_t len,
		  const char *request_id);

/* Answers req with the JSON error envelope of e (status e->status, 500 if unset) outside any
 * transaction (admin listener, refused connections). Adds X-Request-Id. */
void lt_pipeline_send_error(struct lt_hreq *req, const struct lt_err *e, const char *request_id);

/* Makes or keeps a request id: the caller's X-Request-Id when it is 1..64 characters of
 * [A-Za-z0-9._:-], else 32 random hex digits. buf must hold 65 bytes. */
void lt_request_id(const struct lt_hreq *req, char *buf);

#endif
