/* pipeline.c: the request transaction. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gateway/pipeline.h"
#include "gateway/arena.h"
#include "gateway/callback.h"
#include "gateway/delivery.h"
#include "gateway/log.h"
#include "gateway/map.h"
#include "gateway/mask.h"
#include "gateway/metrics.h"
#include "gateway/reqid.h"
#include "gateway/tls.h"
#include "adapters/auth.h"

#define REQID_MAX 64

struct lt_txn {
	struct lt_server *srv;
	struct lt_gen *gen;                  /* one reference, for the transaction's life */
	struct lt_arena *arena;              /* its jansson trees (gateway/arena.h); NULL when off */
	struct lt_hreq *req;                 /* borrowed from the connection until the answer is sent */
	const struct lt_route_cfg *route;    /* borrowed from gen */
	struct lt_upstream_rt *up;           /* borrowed from gen */
	const char *method;                  /* borrowed from req: used only before the answer goes */
	const char *path;                    /* the same */
	char client[280];
	char request_id[REQID_MAX + 1];
	char traceparent[64];
	uint64_t t0_us;
	size_t bytes_in;
	json_t *doc;                         /* the mapped request, kept to resend with a new token */
	char *token;                         /* the token this call carries (copy) */
	int auth_retried;
	struct lt_session_wait wait;
	struct lt_upcall call;
	long upstream_status;
	double upstream_ms;
	char **masked;                       /* values of `mask: true` fields, hidden in the log */
	size_t n_masked;
};

static int reqid_ok(const char *s)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++) {
		char c = s[n];
		if (n >= REQID_MAX || !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
					c == '.' || c == '_' || c == ':' || c == '-'))
			return 0;
	}
	return n > 0;
}

void lt_request_id(const struct lt_hreq *req, char *buf)
{
	const char *given = lt_hreq_header(req, "X-Request-Id");

	if (given != NULL && reqid_ok(given)) {
		snprintf(buf, REQID_MAX + 1, "%s", given);
		return;
	}
	lt_reqid_new(buf);
}

static int all_zero(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != '0')
			return 0;
	return 1;
}

/* W3C trace context: kept when well-formed (00-32hex-16hex-2hex, ids not all zero, version not
 * ff), else a new trace is started here (flags 00: the gateway records no spans), so that every
 * access line and every upstream call carries one. */
static void take_traceparent(const struct lt_hreq *req, char *buf, size_t n)
{
	const char *tp = lt_hreq_header(req, "traceparent");
	size_t len;

	if (tp != NULL && (len = strlen(tp)) == 55 && tp[2] == '-' && tp[35] == '-' && tp[52] == '-' &&
	    strncmp(tp, "ff", 2) != 0 && !all_zero(tp + 3, 32) && !all_zero(tp + 36, 16)) {
		size_t i = 0;

		while (i < len && (tp[i] == '-' || (tp[i] >= '0' && tp[i] <= '9') || (tp[i] >= 'a' && tp[i] <= 'f')))
			i++;
		if (i == len) {
			snprintf(buf, n, "%s", tp);
			return;
		}
	}
	if (n > LT_TRACEPARENT_LEN)
		lt_traceparent_new(buf);
	else
		buf[0] = '\0';
}

void lt_http_send(struct lt_hreq *req, int status, const char *ctype, const char *body, size_t len,
		  const char *request_id)
{
	lt_hreq_add_header(req, "X-Request-Id", request_id);
	lt_hreq_add_header(req, "Cache-Control", "no-store");
	lt_hreq_send(req, status, ctype, body, len);
}

void lt_pipeline_send_error(struct lt_hreq *req, const struct lt_err *e, const char *request_id)
{
	char *body = lt_err_envelope(e, NULL, request_id);

	lt_http_send(req, e->status ? e->status : 500, "application/json", body, strlen(body), request_id);
	free(body);
}

static void txn_free(struct lt_txn *t)
{
	struct lt_server *srv = t->srv;

	json_decref(t->doc);
	for (size_t i = 0; i < t->n_masked; i++)
		free(t->masked[i]);
	free(t->masked);
	free(t->token);
	lt_upcall_release(&t->call);
	lt_gen_unref(t->gen);
	lt_arena_free(t->arena);
	free(t);
	srv->inflight--;
}

static void txn_log(struct lt_txn *t, int status, size_t bytes_out, const char *error_code)
{
	struct lt_access a = {
		.request_id = t->request_id,
		.method = t->method,
		.path = t->path,
		.route = t->route ? t->route->name : NULL,
		.client = t->client,
		.upstream = t->up ? t->up->cfg->name : NULL,
		.error_code = error_code,
		.traceparent = t->traceparent[0] ? t->traceparent : NULL,
		.status = status,
		.upstream_status = t->upstream_status,
		.bytes_in = t->bytes_in,
		.bytes_out = bytes_out,
		.latency_ms = (double)(lt_mono_us() - t->t0_us) / 1000.0,
		.upstream_ms = t->upstream_ms,
		.masked = t->masked,
		.n_masked = t->n_masked,
	};
	lt_log_access(&a);
	lt_metrics_request(a.route, status, a.latency_ms / 1000.0);
	lt_metrics_loop_request(t->srv->loop);
}

/* The transaction's one answer; frees it. The access line is written first: the method and path
 * it quotes belong to the request, which ends with the answer. */
static void txn_reply(struct lt_txn *t, int status, const char *ctype, const char *body, size_t len)
{
	txn_log(t, status, len, NULL);
	lt_http_send(t->req, status, ctype, body, len, t->request_id);
	txn_free(t);
}

static void txn_fail(struct lt_txn *t, const struct lt_err *e)
{
	int status = e->status ? e->status : 500;
	char *body;
	size_t len;

	if (t->route != NULL && t->route->ack_error.status != 0 && strncmp(e->code, "upstream.", 9) == 0) {
		/* A sync callback whose upstream cannot be reached: the caller hears its own dialect. */
		const struct lt_ack *a = &t->route->ack_error;

		lt_log_warn("request %s route %s: %s (answered with the route's error ack)", t->request_id,
			    t->route->name, e->msg);
		txn_log(t, a->status, a->body ? strlen(a->body) : 0, e->code);
		lt_http_send(t->req, a->status, a->content_type, a->body ? a->body : "", a->body ? strlen(a->body) : 0,
			  t->request_id);
		txn_free(t);
		return;
	}
	body = lt_err_envelope(e, t->route ? t->route->name : NULL, t->request_id);
	len = strlen(body);

	if (status >= 500 && lt_log_enabled(LT_LOG_WARN)) {
		char *msg = lt_mask_str(e->msg, t->masked, t->n_masked);

		lt_log_warn("request %s route %s: %s", t->request_id, t->route ? t->route->name : "-", msg);
		free(msg);
	}
	txn_log(t, status, len, e->code[0] ? e->code : "internal");
	lt_http_send(t->req, status, "application/json", body, len, t->request_id);
	free(body);
	txn_free(t);
}

static const char *txn_var(void *ctx, const char *name)
{
	struct lt_txn *t = ctx;

	if (strcmp(name, "auth.token") == 0) {
		/* Before the token is known the field is still created where the mapping puts it, and the
		 * real token replaces it in place (lt_auth_place_body). */
		if (t->up != NULL && lt_auth_needs_token(&t->up->cfg->auth))
			return t->token ? t->token : "";
		return NULL;
	}
	if (strcmp(name, "request.id") == 0)
		return t->request_id;
	if (strcmp(name, "route.name") == 0)
		return t->route ? t->route->name : NULL;
	if (strcmp(name, "client.identity") == 0)
		return t->client;
	return NULL;
}

static int ctype_matches(const char *ctype, enum lt_fmt fmt)
{
	size_t n = strcspn(ctype, ";");

	while (n > 0 && (ctype[n - 1] == ' ' || ctype[n - 1] == '\t'))
		n--;
	switch (fmt) {
	case LT_FMT_JSON:
		return (n == 16 && strncasecmp(ctype, "application/json", 16) == 0) ||
		       (n > 5 && strncasecmp(ctype + n - 5, "+json", 5) == 0);
	case LT_FMT_XML:
	case LT_FMT_SOAP:
		return (n == 8 && strncasecmp(ctype, "text/xml", 8) == 0) ||
		       (n == 15 && strncasecmp(ctype, "application/xml", 15) == 0) ||
		       (n == 20 && strncasecmp(ctype, "application/soap+xml", 20) == 0);
	case LT_FMT_FORM:
		return n == 33 && strncasecmp(ctype, "application/x-www-form-urlencoded", 33) == 0;
	case LT_FMT_QUERY:
	default:
		return 1;
	}
}

static void txn_send(struct lt_txn *t);

/* The values the mapping marks `mask: true` in this request, so that no log line shows them. */
static void txn_collect_masked(struct lt_txn *t, const struct lt_map_section *rs)
{
	const char *const *paths;
	size_t n = lt_map_masked(rs, &paths);

	if (n > 0 && t->doc != NULL)
		lt_mask_collect(t->doc, paths, n, &t->masked, &t->n_masked);
}

static void on_token(void *arg, const char *token, const struct lt_err *err)
{
	struct lt_txn *t = arg;
	struct lt_arena *prev = lt_arena_enter(t->arena);

	if (err != NULL) {
		txn_fail(t, err);
	} else {
		free(t->token);
		t->token = lt_xstrdup(token);
		txn_send(t);
	}
	lt_arena_leave(prev);
}

/* Gets the token when the upstream needs one; 1 when it is there now, 0 when the transaction will
 * continue in on_token (the transaction may already be gone then). */
static int txn_need_token(struct lt_txn *t)
{
	const char *tok;

	if (!lt_auth_needs_token(&t->up->cfg->auth))
		return 1;
	tok = lt_session_token(&t->up->session, t->srv->up, &t->wait, on_token, t);
	if (tok == NULL)
		return 0;
	free(t->token);
	t->token = lt_xstrdup(tok);
	return 1;
}

static void on_upstream_done(struct lt_upcall *call, void *arg);

/* What the answer is expected to be, from the response mapping's input format. */
static const char *accept_for(const struct lt_map_section *rs)
{
	if (rs == NULL)
		return "*/*";
	switch (lt_map_in(rs)) {
	case LT_FMT_JSON: return "application/json";
	case LT_FMT_XML: return "application/xml, text/xml";
	case LT_FMT_SOAP: return "text/xml, application/soap+xml";
	case LT_FMT_FORM:
	case LT_FMT_QUERY:
	default: return "*/*";
	}
}

static void txn_send(struct lt_txn *t)
{
	const struct lt_map_section *rs = t->route->map ? lt_map_request(t->route->map) : NULL;
	const struct lt_auth_cfg *auth = &t->up->cfg->auth;
	struct lt_err err;
	struct lt_buf *h = &t->call.headers;
	char *line;

	lt_err_clear(&err);
	lt_upcall_release(&t->call);
	lt_upcall_init(&t->call);
	if (t->doc != NULL) {
		if (t->token != NULL)
			lt_auth_place_body(auth, t->doc, t->token);
		if (lt_map_encode(rs, t->doc, &t->call.body, &t->call.body_len, &err) < 0) {
			txn_fail(t, &err);
			return;
		}
		lt_header_add(h, "Content-Type", lt_map_content_type(rs));
		if (lt_map_soap_action(rs) != NULL) {
			line = lt_xasprintf("SOAPAction: \"%s\"", lt_map_soap_action(rs));
			lt_header_line(h, line);
			free(line);
		}
	} else {
		const char *ctype = lt_hreq_header(t->req, "Content-Type");

		t->call.body_len = t->req->body_len;
		t->call.body = lt_xmalloc(t->call.body_len + 1);
		memcpy(t->call.body, t->req->body, t->call.body_len);
		if (ctype != NULL)
			lt_header_add(h, "Content-Type", ctype);
	}
	lt_header_add(h, "Accept", accept_for(t->route->map ? lt_map_response(t->route->map) : NULL));
	lt_buf_append(h, t->up->headers.data, t->up->headers.len);
	if (t->token != NULL && (line = lt_auth_token_header(auth, t->token)) != NULL) {
		lt_header_line(h, line);
		free(line);
	}
	lt_header_add(h, "X-Request-Id", t->request_id);
	if (t->traceparent[0] != '\0')
		lt_header_add(h, "traceparent", t->traceparent);
	t->call.cfg = t->up->cfg;
	t->call.tls = t->up->tls;
	/* A GET whose query string was mapped into a document (`in: query`: VNPAY's IPN in sync mode)
	 * sends that document as a body, and a GET body means nothing to most servers: POST it. */
	t->call.method = t->doc != NULL && strcmp(t->method, "GET") == 0 ? "POST" : t->method;
	t->call.url = lt_xasprintf("%s%s", t->up->cfg->url, t->route->upstream_path ? t->route->upstream_path : "");
	t->call.done = on_upstream_done;
	t->call.arg = t;
	if (!lt_circuit_allow(&t->up->circuit, lt_mono_ms())) {
		lt_err_set(&err, 503, "upstream.circuit_open", "upstream '%s' is failing; calls are refused for "
			   "%llums", t->up->cfg->name,
			   (unsigned long long)lt_circuit_wait_ms(&t->up->circuit, lt_mono_ms()));
		txn_fail(t, &err);
		return;
	}
	if (lt_upcall_start(t->srv->up, &t->call, &err) < 0)
		txn_fail(t, &err);
}

/* 1 when the answer decodes to an upstream.* error (a SOAP fault), with e describing it. */
static int upstream_fault(const struct lt_map_section *rs, const struct lt_upcall *call, struct lt_err *e)
{
	json_t *doc = NULL;
	struct lt_err derr;

	lt_err_clear(&derr);
	if (lt_map_decode(rs, call->response.data ? call->response.data : "", call->response.len, &doc, &derr) == 0) {
		json_decref(doc);
		return 0;
	}
	if (strncmp(derr.code, "upstream.", 9) != 0)
		return 0;
	*e = derr;
	e->status = 502;
	return 1;
}

/* Maps a 2xx answer with the response section: doc is the answer already decoded (borrowed), or NULL
 * when it is not (not JSON, or it did not decode: derr says why). */
static int map_answer(const struct lt_map_section *rs, const struct lt_upcall *call, json_t *doc,
		      const struct lt_err *derr, char **out, size_t *outlen, struct lt_err *e)
{
	json_t *mapped = NULL;
	int rc;

	if (lt_map_in(rs) != LT_FMT_JSON)
		return lt_map_run(rs, call->response.data ? call->response.data : "", call->response.len, NULL, out,
				  outlen, e);
	if (doc == NULL) {
		*e = *derr;
		return -1;
	}
	if (lt_map_apply(rs, doc, NULL, &mapped, e) < 0)
		return -1;
	rc = lt_map_encode(rs, mapped, out, outlen, e);
	json_decref(mapped);
	return rc;
}

static void upstream_answer(struct lt_upcall *call, struct lt_txn *t)
{
	const struct lt_map_section *rs;
	struct lt_err err, derr;
	json_t *doc = NULL;
	char *out = NULL;
	size_t outlen = 0;
	int refused, rc;

	lt_err_clear(&err);
	lt_err_clear(&derr);
	t->upstream_ms = call->elapsed_ms;
	if (lt_delivery_unhealthy(call->fail, call->status))
		lt_circuit_failure(&t->up->circuit, lt_mono_ms());
	else
		lt_circuit_success(&t->up->circuit);
	if (call->fail != LT_UP_OK) {
		lt_upcall_error(call, t->up->cfg->name, &err);
		lt_metrics_upstream(t->up->cfg->name, call->elapsed_ms / 1000.0,
				    strncmp(err.code, "upstream.", 9) == 0 ? err.code + 9 : err.code);
		txn_fail(t, &err);
		return;
	}
	lt_metrics_upstream(t->up->cfg->name, call->elapsed_ms / 1000.0,
			    call->status >= 200 && call->status <= 299 ? NULL : "status");
	t->upstream_status = call->status;
	rs = t->route->map ? lt_map_response(t->route->map) : NULL;
	/* A JSON answer is decoded once, for the session check and the response mapping alike. */
	if (rs != NULL && lt_map_in(rs) == LT_FMT_JSON)
		lt_map_decode(rs, call->response.data ? call->response.data : "", call->response.len, &doc, &derr);
	refused = rs != NULL && lt_map_in(rs) == LT_FMT_JSON ?
		  lt_auth_refused_doc(&t->up->cfg->auth, call->status, doc) :
		  lt_auth_refused(&t->up->cfg->auth, call->status, call->response.data, call->response.len);
	if (!t->auth_retried && refused) {
		/* The portal says the session is gone: log in again and resend once. */
		t->auth_retried = 1;
		lt_log_info("request %s: upstream '%s' refused the session, logging in again", t->request_id,
			    t->up->cfg->name);
		lt_session_refused(&t->up->session, t->token);
		LT_FREE(t->token);
		json_decref(doc);
		if (txn_need_token(t))
			txn_send(t);
		return;
	}
	if (call->status < 200 || call->status > 299) {
		json_decref(doc);
		/* A SOAP fault comes with HTTP 500: its code and text say more than the status does. */
		if (rs == NULL || lt_map_in(rs) != LT_FMT_SOAP || !upstream_fault(rs, call, &err))
			lt_err_set(&err, 502, "upstream.status", "upstream '%s' answered HTTP %ld", t->up->cfg->name,
				   call->status);
		txn_fail(t, &err);
		return;
	}
	if (rs == NULL) {
		txn_reply(t, (int)call->status, call->content_type[0] ? call->content_type : "application/json",
			  call->response.data ? call->response.data : "", call->response.len);
		return;
	}
	rc = map_answer(rs, call, doc, &derr, &out, &outlen, &err);
	json_decref(doc);
	if (rc < 0) {
		/* The upstream's answer, not the caller's request, failed: that is a bad gateway. */
		lt_err_wrap(&err, 502, strncmp(err.code, "upstream.", 9) == 0 ? NULL : "upstream.bad_response",
			    "upstream '%s' answer could not be mapped", t->up->cfg->name);
		txn_fail(t, &err);
		return;
	}
	txn_reply(t, 200, lt_map_content_type(rs), out, outlen);
	free(out);
}

/* A step of the transaction: its trees go into its arena. */
static void on_upstream_done(struct lt_upcall *call, void *arg)
{
	struct lt_txn *t = arg;
	struct lt_arena *prev = lt_arena_enter(t->arena);

	upstream_answer(call, t);
	lt_arena_leave(prev);
}

static void cb_reply(void *txn, int status, const char *ctype, const char *body, size_t len)
{
	txn_reply(txn, status, ctype, body, len);
}

static void cb_fail(void *txn, const struct lt_err *e)
{
	txn_fail(txn, e);
}

/* What queue mode (gateway/callback.c) needs of this transaction. */
static struct lt_cbreq txn_cbreq(struct lt_txn *t)
{
	struct lt_hreq *req = t->req;
	struct lt_cbreq r = {
		.srv = t->srv, .route = t->route, .request_id = t->request_id, .client = t->client,
		.body = req->body, .body_len = req->body_len,
		.content_type = lt_hreq_header(req, "Content-Type"),
		.idem_header = lt_hreq_header(req, "Idempotency-Key"),
		.reply = cb_reply, .fail = cb_fail, .txn = t,
	};
	return r;
}

static void txn_start(struct lt_hreq *req, struct lt_listener_rt *l, struct lt_arena *arena)
{
	struct lt_server *srv = l->srv;
	struct lt_txn *t = lt_xcalloc(1, sizeof(*t));
	struct lt_gen *gen = srv->gen;
	const struct lt_map_section *rs;
	struct lt_err err;
	char allow[128] = "";

	lt_err_clear(&err);
	srv->inflight++;
	t->srv = srv;
	t->gen = lt_gen_ref(gen);
	t->arena = arena;
	t->req = req;
	t->t0_us = lt_mono_us();
	t->method = req->method;
	t->path = req->path;
	t->bytes_in = req->body_len;
	t->upstream_ms = -1;
	snprintf(t->client, sizeof(t->client), "-");
	lt_request_id(req, t->request_id);
	take_traceparent(req, t->traceparent, sizeof(t->traceparent));

	if (srv->draining) {
		lt_err_set(&err, 503, "gateway.draining", "the gateway is shutting down");
		goto fail;
	}
	if (l->tls) {
		const struct lt_identity *id = lt_tls_identity(req->ssl);

		snprintf(t->client, sizeof(t->client), "%s", id->display);
		if (lt_callback_is_status(t->method, t->path)) {
			struct lt_cbreq r = txn_cbreq(t);

			lt_callback_status(&r, t->path, id);
			return;
		}
		if (lt_router_match(&gen->router, l->index, t->method, t->path, strlen(t->path), &t->route, allow,
				    sizeof(allow), &err) < 0)
			goto fail;
		if (t->route->n_allow > 0 && !lt_identity_allowed(id, t->route->allow, t->route->n_allow)) {
			lt_err_set(&err, 403, "auth.forbidden", "client %s is not allowed on route %s",
				   id->verified ? id->display : "without a verified certificate", t->route->name);
			goto fail;
		}
	} else if (lt_callback_is_status(t->method, t->path)) {
		struct lt_cbreq r = txn_cbreq(t);

		lt_callback_status(&r, t->path, NULL);
		return;
	} else if (lt_router_match(&gen->router, l->index, t->method, t->path, strlen(t->path), &t->route, allow,
				   sizeof(allow), &err) < 0) {
		goto fail;
	} else if (t->route->n_allow > 0) {
		lt_err_set(&err, 403, "auth.forbidden", "route %s requires a client certificate", t->route->name);
		goto fail;
	}
	if (req->body_too_large) {
		lt_err_set(&err, 413, "request.too_large", "the body is larger than %zu bytes",
			   gen->cfg->gateway.limits.max_body);
		goto fail;
	}
	rs = t->route->map ? lt_map_request(t->route->map) : NULL;
	if (rs != NULL && t->bytes_in > 0) {
		const char *ctype = lt_hreq_header(req, "Content-Type");

		if (ctype != NULL && !ctype_matches(ctype, lt_map_in(rs))) {
			lt_err_set(&err, 415, "request.content_type", "content type '%.100s' is not accepted here",
				   ctype);
			goto fail;
		}
	}
	if (t->route->upstream_index >= 0)
		t->up = lt_gen_upstream(gen, srv->loop, t->route->upstream_index);
	if (t->route->mode == LT_MODE_QUEUE && rs == NULL) {
		struct lt_cbreq r = txn_cbreq(t);

		lt_callback_accept(&r, NULL, NULL);
		return;
	}
	if (rs != NULL) {
		struct lt_map_vars vars = { txn_var, t };
		const char *body = req->body;
		size_t body_len = t->bytes_in;
		json_t *doc = NULL;
		int rc;

		if (lt_map_in(rs) == LT_FMT_QUERY) {
			/* A GET callback (VNPAY's IPN) carries its fields in the query string. */
			body = req->query ? req->query : "";
			body_len = strlen(body);
		}
		if (lt_map_decode(rs, body, body_len, &doc, &err) < 0)
			goto fail;
		if (t->route->mode == LT_MODE_QUEUE) {
			struct lt_cbreq r = txn_cbreq(t);

			lt_callback_accept(&r, doc, &vars);   /* answers, now or later: t may be gone */
			json_decref(doc);
			return;
		}
		if (t->route->verify.type != LT_VERIFY_NONE) {
			/* A sync callback's signature, checked before the upstream hears of it. */
			struct lt_cbreq r = txn_cbreq(t);

			if (lt_callback_verify(&r, doc) < 0) {
				json_decref(doc);
				return;
			}
		}
		rc = lt_map_apply(rs, doc, &vars, &t->doc, &err);
		json_decref(doc);
		if (rc < 0)
			goto fail;
		txn_collect_masked(t, rs);
	}
	if (t->up == NULL) {
		lt_err_set(&err, 500, "internal", "route %s has no upstream", t->route->name);
		goto fail;
	}
	if (txn_need_token(t))
		txn_send(t);
	return;
fail:
	if (err.status == 405 && allow[0] != '\0')
		lt_hreq_add_header(req, "Allow", allow);
	txn_fail(t, &err);
}

/* The transaction's first step; every later one (on_upstream_done, on_token) enters its arena too. */
void lt_pipeline_handle(struct lt_hreq *req, struct lt_listener_rt *l)
{
	struct lt_arena *arena = lt_arena_txn_new(l->srv->gen->cfg->gateway.limits.max_body);
	struct lt_arena *prev = lt_arena_enter(arena);

	txn_start(req, l, arena);
	lt_arena_leave(prev);
}
