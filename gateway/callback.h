/* callback.h: queue mode (SPEC.md § HTTP behaviour) between the pipeline and the store:
 * a partner's callback or the city's outbound work is verified (when the route has `verify:`),
 * mapped, written durably, and only then acknowledged in the caller's dialect (the route's `ack`),
 * or with 202 {"message_id": ...} for a route without acks. It also answers
 * GET /v1/messages/{id} on the public listener and the admin listener's
 * GET /admin/messages?state=... and POST /admin/messages/{id}/replay. */
#ifndef LT_CALLBACK_H
#define LT_CALLBACK_H

#include <stddef.h>
#include <jansson.h>
#include "gateway/h1server.h"
#include "gateway/config.h"
#include "gateway/map.h"
#include "gateway/tls.h"

struct lt_server;

/* One public request as queue mode needs it. Everything is borrowed from the pipeline's
 * transaction, which stays alive until reply or fail is called (exactly one of them, once). */
struct lt_cbreq {
	struct lt_server *srv;
	const struct lt_route_cfg *route;
	const char *request_id;
	const char *client;                 /* the caller's identity for logs ("CN=...") */
	const char *body;                   /* the request body as received */
	size_t body_len;
	const char *content_type;           /* of body, NULL when none */
	const char *idem_header;            /* the caller's Idempotency-Key header, NULL when none */
	void (*reply)(void *txn, int status, const char *ctype, const char *body, size_t len);
	void (*fail)(void *txn, const struct lt_err *e);
	void *txn;
};

/* Takes a queue-mode request whose input was decoded into in (borrowed; NULL for a route without
 * mapping, whose body is delivered as received): verify, map with vars, store, answer. */
void lt_callback_accept(const struct lt_cbreq *r, json_t *in, const struct lt_map_vars *vars);

/* A sync-mode route's signature check (routes with `verify:`), on the decoded input in (borrowed):
 * 0 when valid or not configured; else the audit line is written, the request answered (the
 * bad_signature ack) and -1 returned: the caller must not touch the transaction again. */
int lt_callback_verify(const struct lt_cbreq *r, json_t *in);

/* 1 when (method, path) is GET /v1/messages/{id}. */
int lt_callback_is_status(const char *method, const char *path);
/* Answers GET /v1/messages/{id}: the message when the caller (id, NULL on a plain listener) is
 * allowed on the route that created it, else 404 message.not_found (whether it exists or not). */
void lt_callback_status(const struct lt_cbreq *r, const char *path, const struct lt_identity *id);

/* The admin listener's /admin/messages endpoints; 1 when path is one of them (answered), else 0. */
int lt_callback_admin(struct lt_server *srv, struct lt_hreq *req, const char *path,
		      const char *request_id);

#endif
