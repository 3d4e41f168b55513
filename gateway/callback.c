/* callback.c: queue mode's accept/ack path and the message endpoints. */
#include <stdlib.h>
#include <string.h>
#include "adapters/form.h"

#include "gateway/callback.h"
#include "gateway/admin.h"
#include "gateway/delivery.h"
#include "gateway/log.h"
#include "gateway/pipeline.h"
#include "gateway/server.h"
#include "gateway/store.h"
#include "gateway/util.h"
#include "adapters/json.h"
#include "adapters/verify.h"

#define IDEM_KEY_MAX 128
#define MESSAGES_PATH "/v1/messages/"
#define ADMIN_MESSAGES "/admin/messages"
#define ADMIN_LIST_DEFAULT 100

/* A request waiting for the store. */
struct pending {
	struct lt_cbreq r;
	struct lt_identity id;               /* GET /v1/messages: a copy, the connection may go */
	int have_id;
	struct lt_hreq *req;          /* admin */
	char request_id[65];
};

static struct pending *pending_new(const struct lt_cbreq *r)
{
	struct pending *p = lt_xcalloc(1, sizeof(*p));

	if (r != NULL)
		p->r = *r;
	return p;
}

/* ---- answers ----------------------------------------------------------------------------- */

static void reply_ack(const struct lt_cbreq *r, const struct lt_ack *a)
{
	const char *body = a->status == 204 || a->body == NULL ? "" : a->body;

	r->reply(r->txn, a->status, a->content_type ? a->content_type : "application/json", body, strlen(body));
}

static void reply_json(const struct lt_cbreq *r, int status, const char *body)
{
	r->reply(r->txn, status, "application/json", body, strlen(body));
}

/* A failure is told in the caller's dialect when the route has an `error` ack (a bank does not
 * read our envelope; it retries on anything but its success code), else as the envelope. */
static void fail(const struct lt_cbreq *r, const struct lt_err *e)
{
	if (r->route != NULL && r->route->ack_error.status != 0) {
		lt_log_warn("request %s route %s: %s (answered with the route's error ack)", r->request_id,
			    r->route->name, e->msg);
		reply_ack(r, &r->route->ack_error);
		return;
	}
	r->fail(r->txn, e);
}

static void audit_bad_signature(const struct lt_cbreq *r, const char *key, const char *reason)
{
	struct lt_buf b;

	lt_buf_init(&b, 2048);
	lt_buf_puts(&b, "\"route\":\"");
	lt_buf_json_str(&b, r->route->name, strlen(r->route->name));
	lt_buf_puts(&b, "\",\"client\":\"");
	lt_buf_json_str(&b, r->client, strlen(r->client));
	lt_buf_puts(&b, "\",\"request_id\":\"");
	lt_buf_json_str(&b, r->request_id, strlen(r->request_id));
	lt_buf_puts(&b, "\",\"key\":");
	if (key != NULL) {
		lt_buf_putc(&b, '"');
		lt_buf_json_text(&b, key, strlen(key));   /* may be the caller's header, as sent */
		lt_buf_putc(&b, '"');
	} else {
		lt_buf_puts(&b, "null");
	}
	lt_buf_puts(&b, ",\"reason\":\"");
	lt_buf_json_text(&b, reason, strlen(reason));
	lt_buf_putc(&b, '"');
	lt_log_audit("callback.bad_signature", b.overflow ? NULL : b.data);
	lt_buf_free(&b);
}

/* ---- accept ------------------------------------------------------------------------------ */

/* The idempotency key: the route's `idempotency_key` field of the input (a dotted path), else
 * the caller's Idempotency-Key header. *key is malloc'd or NULL. -1 with e when the route names
 * a field that is missing or not a scalar. */
static int idem_key(const struct lt_cbreq *r, json_t *in, char **key, struct lt_err *e)
{
	const char *path = r->route->idempotency_key;
	json_t *v = in;
	char part[256];

	*key = NULL;
	if (path == NULL || in == NULL) {
		const char *h = r->idem_header;

		if (h == NULL)
			return 0;
		if (*h == '\0' || strlen(h) > IDEM_KEY_MAX)
			return lt_err_set(e, 400, "request.idempotency_key", "the Idempotency-Key header must be 1 to "
					  "%d characters", IDEM_KEY_MAX);
		*key = lt_xstrdup(h);
		return 0;
	}
	while (*path != '\0' && v != NULL) {
		size_t n = strcspn(path, ".");

		snprintf(part, sizeof(part), "%.*s", (int)n, path);
		v = json_is_object(v) ? json_object_get(v, part) : NULL;
		path += n + (path[n] == '.');
	}
	if (json_is_string(v) && json_string_length(v) > 0 && json_string_length(v) <= IDEM_KEY_MAX)
		*key = lt_xstrdup(json_string_value(v));
	else if (json_is_integer(v))
		*key = lt_xasprintf("%lld", (long long)json_integer_value(v));
	if (*key != NULL)
		return 0;
	lt_err_set(e, 422, "callback.idempotency_key", "field '%s' (the idempotency key) is missing or not a "
		   "short string", r->route->idempotency_key);
	lt_err_field(e, r->route->idempotency_key);
	return -1;
}

/* The signature check of a route with `verify:`: on the caller's fields, before any mapping. A
 * route with verify but nothing decoded (no mapping) fails closed: what nobody checked is never
 * delivered. */
static int verify(const struct lt_cbreq *r, json_t *in, struct lt_err *e)
{
	if (r->route->verify.type == LT_VERIFY_NONE)
		return 0;
	if (in == NULL)
		return lt_err_set(e, 401, "callback.bad_signature", "the route has no mapping to read the signed fields");
	return lt_verify(&r->route->verify, in, e);
}

static void on_stored(struct lt_store_op *op, void *arg)
{
	struct pending *p = arg;
	const struct lt_cbreq *r = &p->r;
	const struct lt_route_cfg *route = r->route;
	char body[128];

	if (op->rc < 0) {
		fail(r, &op->err);
	} else if (op->duplicate) {
		lt_log_info("request %s route %s: idempotency key already seen (message %s): not queued again",
			    r->request_id, route->name, op->msg.id);
		if (route->ack_duplicate.status != 0) {
			reply_ack(r, &route->ack_duplicate);
		} else {
			snprintf(body, sizeof(body), "{\"message_id\":\"%s\",\"duplicate\":true}", op->msg.id);
			reply_json(r, 200, body);
		}
	} else {
		lt_delivery_kick(r->srv->delivery, route->upstream);
		if (route->ack_ok.status != 0) {
			reply_ack(r, &route->ack_ok);
		} else {
			snprintf(body, sizeof(body), "{\"message_id\":\"%s\"}", op->msg.id);
			reply_json(r, 202, body);
		}
	}
	free(p);
}

/* On a bad signature: the audit line, then the route's bad_signature ack (else the envelope). */
static void refuse_signature(const struct lt_cbreq *r, const char *key, const struct lt_err *err)
{
	audit_bad_signature(r, key, err->msg);
	if (r->route->ack_bad_signature.status != 0)
		reply_ack(r, &r->route->ack_bad_signature);
	else
		r->fail(r->txn, err);
}

int lt_callback_verify(const struct lt_cbreq *r, json_t *in)
{
	struct lt_err err;
	char *key = NULL;

	lt_err_clear(&err);
	if (verify(r, in, &err) == 0)
		return 0;
	(void)idem_key(r, in, &key, NULL);
	refuse_signature(r, key, &err);
	free(key);
	return -1;
}

/* The store and its completions live on the main loop only (gateway/store.h): a request that an
 * extra worker loop took cannot use them yet. It is refused with 503 (the route's error ack for a
 * callback, which its sender retries) instead of touching another loop's state. */
static int no_store(const struct lt_cbreq *r)
{
	struct lt_err err;

	if (r->srv->store != NULL)
		return 0;
	lt_err_clear(&err);
	lt_err_set(&err, 503, "store.unavailable", "queue mode is served by the main event loop only; try again");
	fail(r, &err);
	return 1;
}

void lt_callback_accept(const struct lt_cbreq *r, json_t *in, const struct lt_map_vars *vars)
{
	const struct lt_map_section *rs = r->route->map ? lt_map_request(r->route->map) : NULL;
	struct lt_store_op *op = lt_store_op_new(LT_STORE_INSERT);
	struct lt_msg *m = &op->msg;
	struct lt_err err;
	json_t *out = NULL;
	int rc;

	lt_err_clear(&err);
	if (no_store(r)) {
		lt_store_op_free(op);
		return;
	}
	rc = idem_key(r, in, &m->idem_key, &err);
	if (verify(r, in, &err) < 0) {
		refuse_signature(r, m->idem_key, &err);
		lt_store_op_free(op);
		return;
	}
	if (rc < 0)
		goto fail;
	if (rs != NULL) {
		if (lt_map_apply(rs, in, vars, &out, &err) < 0 ||
		    lt_map_encode(rs, out, &m->body, &m->body_len, &err) < 0)
			goto fail;
		m->content_type = lt_xstrdup(lt_map_content_type(rs));
	} else {
		m->body = lt_xstrndup(r->body, r->body_len);
		m->body_len = r->body_len;
		m->content_type = lt_xstrdup(r->content_type ? r->content_type : "application/octet-stream");
	}
	json_decref(out);
	out = NULL;
	lt_msg_new_id(m->id);
	m->route = lt_xstrdup(r->route->name);
	m->upstream = lt_xstrdup(r->route->upstream);
	m->path = lt_xstrdup(r->route->upstream_path);
	m->request_id = lt_xstrdup(r->request_id);
	op->now = (int64_t)lt_wall_ms();
	op->done = on_stored;
	op->arg = pending_new(r);
	if (lt_store_submit(r->srv->store, op, &err) < 0) {
		free(op->arg);
		goto fail;
	}
	return;
fail:
	json_decref(out);
	lt_store_op_free(op);
	fail(r, &err);
}

/* ---- GET /v1/messages/{id} --------------------------------------------------------------- */

static int id_ok(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef");

	return n == LT_MSG_ID_LEN && s[n] == '\0';
}

int lt_callback_is_status(const char *method, const char *path)
{
	return strcmp(method, "GET") == 0 && strncmp(path, MESSAGES_PATH, strlen(MESSAGES_PATH)) == 0;
}

static const struct lt_route_cfg *route_named(struct lt_server *srv, const char *name)
{
	const struct lt_config *c = srv->gen->cfg;

	for (size_t i = 0; name != NULL && i < c->n_routes; i++)
		if (strcmp(c->routes[i].name, name) == 0)
			return &c->routes[i];
	return NULL;
}

static void on_status(struct lt_store_op *op, void *arg)
{
	struct pending *p = arg;
	const struct lt_route_cfg *route = op->found ? route_named(p->r.srv, op->msg.route) : NULL;
	struct lt_err err;
	struct lt_buf b;

	lt_err_clear(&err);
	if (op->rc < 0) {
		p->r.fail(p->r.txn, &op->err);
	} else if (route == NULL ||
		   (route->n_allow > 0 && !(p->have_id && lt_identity_allowed(&p->id, route->allow, route->n_allow)))) {
		lt_err_set(&err, 404, "message.not_found", "no message %s for this client", op->msg.id);
		p->r.fail(p->r.txn, &err);
	} else {
		lt_buf_init(&b, 64 * 1024);
		lt_msg_json(&op->msg, &b);
		p->r.reply(p->r.txn, 200, "application/json", b.data, b.len);
		lt_buf_free(&b);
	}
	free(p);
}

void lt_callback_status(const struct lt_cbreq *r, const char *path, const struct lt_identity *id)
{
	const char *mid = path + strlen(MESSAGES_PATH);
	struct lt_store_op *op;
	struct pending *p;
	struct lt_err err;

	lt_err_clear(&err);
	if (no_store(r))
		return;
	if (!id_ok(mid)) {
		lt_err_set(&err, 404, "message.not_found", "no message %.64s", mid);
		r->fail(r->txn, &err);
		return;
	}
	op = lt_store_op_new(LT_STORE_GET);
	memcpy(op->msg.id, mid, LT_MSG_ID_LEN + 1);
	p = pending_new(r);
	if (id != NULL) {
		p->id = *id;
		p->have_id = 1;
	}
	op->done = on_status;
	op->arg = p;
	if (lt_store_submit(r->srv->store, op, &err) < 0) {
		free(p);
		lt_store_op_free(op);
		r->fail(r->txn, &err);
	}
}

/* ---- admin ------------------------------------------------------------------------------- */

static void on_admin_list(struct lt_store_op *op, void *arg)
{
	struct pending *p = arg;
	struct lt_buf b;

	if (op->rc < 0) {
		lt_pipeline_send_error(p->req, &op->err, p->request_id);
		free(p);
		return;
	}
	lt_buf_init(&b, 64u * 1024 * 1024);
	lt_buf_printf(&b, "{\"state\":\"%s\",\"count\":%zu,\"messages\":[", op->state, op->n_rows);
	for (size_t i = 0; i < op->n_rows; i++) {
		if (i > 0)
			lt_buf_putc(&b, ',');
		lt_msg_json(&op->rows[i], &b);
	}
	lt_buf_puts(&b, "]}");
	lt_admin_send_json(p->req, 200, b.data, p->request_id);
	lt_buf_free(&b);
	free(p);
}

static void on_admin_replay(struct lt_store_op *op, void *arg)
{
	struct pending *p = arg;
	struct lt_server *srv = p->r.srv;
	struct lt_err err;
	struct lt_buf b;

	lt_err_clear(&err);
	if (op->rc < 0) {
		lt_pipeline_send_error(p->req, &op->err, p->request_id);
	} else if (!op->found) {
		lt_err_set(&err, 404, "message.not_found", "no message %s", op->msg.id);
		lt_pipeline_send_error(p->req, &err, p->request_id);
	} else if (!op->replayed) {
		lt_err_set(&err, 409, "message.not_dead", "message %s is %s; only dead messages are replayed",
			   op->msg.id, op->msg.state);
		lt_pipeline_send_error(p->req, &err, p->request_id);
	} else {
		lt_buf_init(&b, 64 * 1024);
		lt_buf_printf(&b, "\"message\":\"%s\",\"route\":\"", op->msg.id);
		lt_buf_json_str(&b, op->msg.route, strlen(op->msg.route));
		lt_buf_printf(&b, "\",\"request_id\":\"%s\"", p->request_id);
		lt_log_audit("message.replay", b.data);
		lt_buf_reset(&b);
		lt_buf_puts(&b, "{\"replayed\":true,\"message\":");
		lt_msg_json(&op->msg, &b);
		lt_buf_putc(&b, '}');
		lt_admin_send_json(p->req, 200, b.data, p->request_id);
		lt_buf_free(&b);
		lt_delivery_kick(srv->delivery, op->msg.upstream);
	}
	free(p);
}

/* The value of one query parameter (decoded), or NULL (also when the query is malformed). Caller
 * frees. */
static char *query_param(struct lt_hreq *req, const char *name)
{
	json_t *params = NULL, *v;
	struct lt_err e;
	char *out = NULL;

	if (req->query == NULL || lt_form_decode(req->query, strlen(req->query), &params, &e) < 0)
		return NULL;
	if ((v = json_object_get(params, name)) != NULL && json_is_string(v))
		out = lt_xstrdup(json_string_value(v));
	json_decref(params);
	return out;
}

static int admin_list(struct lt_server *srv, struct lt_hreq *req, struct lt_store_op *op, struct lt_err *e)
{
	char *state = query_param(req, "state"), *limit = query_param(req, "limit");
	const char *st = state ? state : "dead";
	long n = ADMIN_LIST_DEFAULT;
	char *end = NULL;
	int rc = 0;

	(void)srv;
	if (strcmp(st, "queued") != 0 && strcmp(st, "delivering") != 0 && strcmp(st, "delivered") != 0 &&
	    strcmp(st, "dead") != 0)
		rc = lt_err_set(e, 400, "request.query", "state must be queued, delivering, delivered or dead");
	if (limit != NULL) {
		n = strtol(limit, &end, 10);
		if (*limit == '\0' || *end != '\0' || n < 1 || n > LT_STORE_LIST_MAX)
			rc = lt_err_set(e, 400, "request.query", "limit must be 1 to %d", LT_STORE_LIST_MAX);
	}
	snprintf(op->state, sizeof(op->state), "%s", st);
	op->limit = (int)n;
	free(state);
	free(limit);
	return rc;
}

int lt_callback_admin(struct lt_server *srv, struct lt_hreq *req, const char *path, const char *request_id)
{
	const char *cmd = req->method;
	const char *rest = path + strlen(ADMIN_MESSAGES);
	struct lt_store_op *op = NULL;
	struct pending *p;
	struct lt_err err;
	size_t n;

	lt_err_clear(&err);
	if (strncmp(path, ADMIN_MESSAGES, strlen(ADMIN_MESSAGES)) != 0 || (rest[0] != '\0' && rest[0] != '/'))
		return 0;
	if (rest[0] == '\0' && strcmp(cmd, "GET") == 0) {
		op = lt_store_op_new(LT_STORE_LIST);
		op->done = on_admin_list;
		if (admin_list(srv, req, op, &err) < 0)
			goto fail;
	} else if (rest[0] == '/' && (n = strlen(rest + 1)) == LT_MSG_ID_LEN + 7 &&
		   strcmp(rest + 1 + LT_MSG_ID_LEN, "/replay") == 0) {
		char id[LT_MSG_ID_LEN + 1];

		snprintf(id, sizeof(id), "%.*s", LT_MSG_ID_LEN, rest + 1);
		if (strcmp(cmd, "POST") != 0) {
			lt_hreq_add_header(req, "Allow", "POST");
			lt_err_set(&err, 405, "route.method_not_allowed", "only POST is allowed on %s", path);
			goto fail;
		}
		if (!id_ok(id)) {
			lt_err_set(&err, 404, "message.not_found", "no message %s", id);
			goto fail;
		}
		op = lt_store_op_new(LT_STORE_REPLAY);
		memcpy(op->msg.id, id, sizeof(id));
		op->now = (int64_t)lt_wall_ms();
		op->done = on_admin_replay;
	} else {
		lt_err_set(&err, rest[0] == '\0' ? 405 : 404, rest[0] == '\0' ? "route.method_not_allowed" :
			   "route.not_found", "no admin endpoint %s %.200s", rest[0] == '\0' ? "for this method at" : "",
			   path);
		goto fail;
	}
	p = pending_new(NULL);
	p->r.srv = srv;
	p->req = req;
	snprintf(p->request_id, sizeof(p->request_id), "%s", request_id);
	op->arg = p;
	if (lt_store_submit(srv->store, op, &err) < 0) {
		free(p);
		goto fail;
	}
	return 1;
fail:
	lt_store_op_free(op);
	lt_pipeline_send_error(req, &err, request_id);
	return 1;
}
