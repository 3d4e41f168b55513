/* delivery.c: queued messages to their upstreams, with retries and the circuit breaker. */
#include <stdlib.h>
#include <string.h>
#include <openssl/rand.h>

#include "gateway/delivery.h"
#include "gateway/arena.h"
#include "gateway/log.h"
#include "gateway/metrics.h"
#include "gateway/server.h"
#include "gateway/store.h"
#include "adapters/auth.h"

/* The longest the worker sleeps without looking at the store: a safety net, since every insert
 * and every finished delivery already wakes it. */
#define DELIVERY_POLL_MS 5000

struct lt_dup {                       /* one upstream's delivery state, by name, across reloads */
	struct lt_delivery *d;
	char *name;
	int inflight;
	int claiming;
	struct event *timer;
};

struct lt_delivery {
	struct lt_server *srv;
	struct lt_store *store;
	struct lt_dup **ups;
	size_t n_ups;
};

struct job {
	struct lt_dup *u;
	struct lt_gen *gen;                  /* one reference while the call runs */
	struct lt_upstream_rt *up;           /* borrowed from gen */
	struct lt_msg msg;
	struct lt_upcall call;
	struct lt_session_wait wait;
	char *token;
	int auth_retried;
};

uint64_t lt_delivery_backoff(const struct lt_upstream_cfg *u, int attempt, uint32_t rnd)
{
	uint64_t wait = u->retry_backoff_ms > 0 ? (uint64_t)u->retry_backoff_ms : 1;
	uint64_t cap = u->retry_max_backoff_ms > 0 ? (uint64_t)u->retry_max_backoff_ms : wait;

	for (int i = 1; i < attempt && wait < cap; i++)
		wait *= 2;
	if (wait > cap)
		wait = cap;
	return wait - (wait / 2) * rnd / UINT32_MAX;
}

int lt_delivery_retryable(const struct lt_upstream_cfg *u, enum lt_upfail fail, long status)
{
	switch (fail) {
	case LT_UP_OK:
		for (size_t i = 0; i < u->n_retry_status; i++)
			if (u->retry_status[i] == status)
				return 1;
		return 0;
	case LT_UP_CONNECT: return (u->retry_on & LT_RETRY_CONNECT) != 0;
	case LT_UP_TIMEOUT: return (u->retry_on & LT_RETRY_TIMEOUT) != 0;
	case LT_UP_TLS: return (u->retry_on & LT_RETRY_TLS) != 0;
	case LT_UP_PROTOCOL:
	case LT_UP_TOO_LARGE:
	case LT_UP_INTERNAL:
	default:
		return 0;
	}
}

int lt_delivery_unhealthy(enum lt_upfail fail, long status)
{
	return fail != LT_UP_OK || status >= 500;
}

static uint32_t random32(void)
{
	uint32_t r;

	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		r = (uint32_t)lt_mono_us();   /* jitter needs spread, not secrecy */
	return r;
}

static struct lt_upstream_rt *current_upstream(struct lt_server *srv, const char *name)
{
	struct lt_gen *g = srv->gen;

	for (size_t i = 0; i < g->cfg->n_upstreams; i++)
		if (strcmp(g->cfg->upstreams[i].name, name) == 0)
			return lt_gen_upstream(g, srv->loop, (int)i);
	return NULL;
}

static void on_timer(evutil_socket_t fd, short what, void *arg);

static struct lt_dup *dup_get(struct lt_delivery *d, const char *name)
{
	struct lt_dup *u;

	for (size_t i = 0; i < d->n_ups; i++)
		if (strcmp(d->ups[i]->name, name) == 0)
			return d->ups[i];
	u = lt_xcalloc(1, sizeof(*u));
	u->d = d;
	u->name = lt_xstrdup(name);
	u->timer = evtimer_new(d->srv->base, on_timer, u);
	d->ups = lt_xrealloc(d->ups, (d->n_ups + 1) * sizeof(*d->ups));
	d->ups[d->n_ups++] = u;
	return u;
}

static void arm(struct lt_dup *u, uint64_t ms)
{
	struct timeval tv;

	if (ms > DELIVERY_POLL_MS)
		ms = DELIVERY_POLL_MS;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(u->timer, &tv);
}

/* Writes a message's new state; the job is finished with it. Fire and forget: should the write
 * fail, the message stays `delivering` and the next start queues it again (same key). */
static void save(struct lt_dup *u, struct lt_msg *m)
{
	struct lt_store_op *op = lt_store_op_new(LT_STORE_UPDATE);
	struct lt_err err;

	lt_err_clear(&err);
	memcpy(op->msg.id, m->id, sizeof(op->msg.id));
	memcpy(op->msg.state, m->state, sizeof(op->msg.state));
	op->msg.attempts = m->attempts;
	op->msg.next_at = m->next_at;
	op->msg.last_error = lt_xstrdup(m->last_error);
	op->now = (int64_t)lt_wall_ms();
	if (lt_store_submit(u->d->store, op, &err) < 0) {
		lt_log_error("message %s: cannot record its state %s: %s", m->id, m->state, err.msg);
		lt_store_op_free(op);
	}
}

static void job_free(struct job *j)
{
	if (j->wait.queued)
		lt_session_cancel(&j->up->session, &j->wait);
	lt_upcall_release(&j->call);
	lt_msg_clear(&j->msg);
	free(j->token);
	lt_gen_unref(j->gen);
	j->u->inflight--;
	free(j);
}

/* The job ends: record the outcome, free it, look for more work. */
static void job_end(struct job *j, const char *state, const char *error, uint64_t retry_in)
{
	struct lt_dup *u = j->u;

	snprintf(j->msg.state, sizeof(j->msg.state), "%s", state);
	free(j->msg.last_error);
	j->msg.last_error = lt_xstrdup(error);
	j->msg.next_at = (int64_t)(lt_wall_ms() + retry_in);
	save(u, &j->msg);
	job_free(j);
	lt_delivery_kick(u->d, u->name);
}

static void job_send(struct job *j);

static void on_token(void *arg, const char *token, const struct lt_err *err)
{
	struct job *j = arg;

	j->wait.queued = 0;
	if (err != NULL) {
		/* No login, no call: the message waits as a connect failure would make it wait. */
		j->msg.attempts--;
		job_end(j, "queued", err->msg,
			lt_delivery_backoff(j->up->cfg, j->msg.attempts > 0 ? j->msg.attempts : 1, random32()));
		return;
	}
	free(j->token);
	j->token = lt_xstrdup(token);
	job_send(j);
}

/* 1 when the token is there (or not needed), 0 when job_send runs later from on_token. */
static int job_need_token(struct job *j)
{
	const char *tok;

	if (!lt_auth_needs_token(&j->up->cfg->auth))
		return 1;
	tok = lt_session_token(&j->up->session, j->u->d->srv->up, &j->wait, on_token, j);
	if (tok == NULL)
		return 0;
	free(j->token);
	j->token = lt_xstrdup(tok);
	return 1;
}

/* A token that goes into the JSON body (`put: { body: FIELD }`) is placed into a copy of it. */
static void place_body_token(struct job *j)
{
	const struct lt_auth_cfg *auth = &j->up->cfg->auth;
	json_t *doc;
	char *out;

	if (j->token == NULL || auth->put_body == NULL)
		return;
	doc = json_loadb(j->msg.body, j->msg.body_len, 0, NULL);
	if (json_is_object(doc)) {
		lt_auth_place_body(auth, doc, j->token);
		out = lt_json_dumps(doc, JSON_COMPACT);
		if (out != NULL) {
			free(j->call.body);
			j->call.body = out;
			j->call.body_len = strlen(out);
		}
	}
	json_decref(doc);
}

static void on_call_done(struct lt_upcall *call, void *arg);

static void job_send(struct job *j)
{
	const struct lt_upstream_cfg *uc = j->up->cfg;
	struct lt_buf *h = &j->call.headers;
	struct lt_err err;
	char *line;

	lt_err_clear(&err);
	lt_upcall_release(&j->call);
	lt_upcall_init(&j->call);
	j->call.body = lt_xmalloc(j->msg.body_len + 1);
	memcpy(j->call.body, j->msg.body, j->msg.body_len + 1);
	j->call.body_len = j->msg.body_len;
	place_body_token(j);
	lt_header_add(h, "Content-Type", j->msg.content_type ? j->msg.content_type : "application/json");
	lt_buf_append(h, j->up->headers.data, j->up->headers.len);
	if (j->token != NULL && (line = lt_auth_token_header(&uc->auth, j->token)) != NULL) {
		lt_header_line(h, line);
		free(line);
	}
	lt_header_add(h, "Idempotency-Key", j->msg.idem_key ? j->msg.idem_key : j->msg.id);
	lt_header_add(h, "X-Request-Id", j->msg.request_id && *j->msg.request_id ? j->msg.request_id : j->msg.id);
	j->call.cfg = uc;
	j->call.tls = j->up->tls;
	j->call.method = "POST";
	j->call.url = lt_xasprintf("%s%s", uc->url, j->msg.path ? j->msg.path : "");
	j->call.done = on_call_done;
	j->call.arg = j;
	if (lt_upcall_start(j->u->d->srv->up, &j->call, &err) < 0)
		job_end(j, "queued", err.msg, lt_delivery_backoff(uc, j->msg.attempts, random32()));
}

static void on_call_done(struct lt_upcall *call, void *arg)
{
	struct job *j = arg;
	const struct lt_upstream_cfg *uc = j->up->cfg;
	struct lt_err err;
	char why[LT_ERR_MSG];

	lt_err_clear(&err);
	if (lt_delivery_unhealthy(call->fail, call->status))
		lt_circuit_failure(&j->up->circuit, lt_mono_ms());
	else
		lt_circuit_success(&j->up->circuit);
	if (call->fail == LT_UP_OK && !j->auth_retried &&
	    lt_auth_refused(&uc->auth, call->status, call->response.data, call->response.len)) {
		j->auth_retried = 1;
		lt_session_refused(&j->up->session, j->token);
		LT_FREE(j->token);
		if (job_need_token(j))
			job_send(j);
		return;
	}
	if (call->fail == LT_UP_OK && call->status >= 200 && call->status <= 299) {
		lt_metrics_upstream(uc->name, call->elapsed_ms / 1000.0, NULL);
		lt_log_info("message %s delivered to upstream '%s' (attempt %d, HTTP %ld)", j->msg.id, uc->name,
			    j->msg.attempts, call->status);
		job_end(j, "delivered", NULL, 0);
		return;
	}
	if (call->fail == LT_UP_OK) {
		snprintf(why, sizeof(why), "upstream '%s' answered HTTP %ld", uc->name, call->status);
		lt_metrics_upstream(uc->name, call->elapsed_ms / 1000.0, "status");
	} else {
		lt_upcall_error(call, uc->name, &err);
		snprintf(why, sizeof(why), "%s", err.msg);
		lt_metrics_upstream(uc->name, call->elapsed_ms / 1000.0, err.code + strlen("upstream."));
	}
	if (lt_delivery_retryable(uc, call->fail, call->status) && j->msg.attempts < uc->retry_attempts) {
		uint64_t wait = lt_delivery_backoff(uc, j->msg.attempts, random32());

		lt_log_info("message %s: attempt %d failed (%s); next in %llums", j->msg.id, j->msg.attempts, why,
			    (unsigned long long)wait);
		job_end(j, "queued", why, wait);
		return;
	}
	lt_log_warn("message %s to upstream '%s' is dead after %d attempts: %s", j->msg.id, uc->name,
		    j->msg.attempts, why);
	job_end(j, "dead", why, 0);
}

static void job_start(struct lt_dup *u, struct lt_msg *m)
{
	struct lt_server *srv = u->d->srv;
	struct job *j = lt_xcalloc(1, sizeof(*j));

	j->u = u;
	j->msg = *m;
	memset(m, 0, sizeof(*m));       /* the job owns its strings now */
	j->gen = lt_gen_ref(srv->gen);
	j->up = current_upstream(srv, u->name);
	u->inflight++;
	if (j->up == NULL) {
		/* A reload removed the upstream: keep the message for when it comes back. */
		job_end(j, "queued", "the upstream is no longer configured", DELIVERY_POLL_MS);
		return;
	}
	if (!lt_circuit_allow(&j->up->circuit, lt_mono_ms())) {
		job_end(j, "queued", j->msg.last_error, lt_circuit_wait_ms(&j->up->circuit, lt_mono_ms()));
		return;
	}
	j->msg.attempts++;
	if (job_need_token(j))
		job_send(j);
}

static void on_claimed(struct lt_store_op *op, void *arg)
{
	struct lt_dup *u = arg;
	uint64_t now = lt_wall_ms();

	u->claiming = 0;
	if (op->rc < 0) {
		lt_log_error("delivery to '%s': %s", u->name, op->err.msg);
		arm(u, DELIVERY_POLL_MS);
		return;
	}
	for (size_t i = 0; i < op->n_rows; i++)
		job_start(u, &op->rows[i]);
	if (op->next_due > 0)
		arm(u, (uint64_t)op->next_due > now ? (uint64_t)op->next_due - now : 0);
	else
		arm(u, DELIVERY_POLL_MS);
	if ((int)op->n_rows == op->limit)
		lt_delivery_kick(u->d, u->name);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct lt_dup *u = arg;

	(void)fd;
	(void)what;
	lt_delivery_kick(u->d, u->name);
}

void lt_delivery_kick(struct lt_delivery *d, const char *upstream)
{
	struct lt_dup *u = dup_get(d, upstream);
	struct lt_upstream_rt *up = current_upstream(d->srv, upstream);
	struct lt_store_op *op;
	struct lt_err err;
	uint64_t wait;
	int room = LT_DELIVERY_MAX_INFLIGHT - u->inflight;

	lt_err_clear(&err);
	if (d->srv->draining || u->claiming || room <= 0 || up == NULL)
		return;
	wait = lt_circuit_wait_ms(&up->circuit, lt_mono_ms());
	if (wait > 0) {
		arm(u, wait);
		return;
	}
	if (up->circuit.state != LT_CIRCUIT_CLOSED) {
		if (up->circuit.probing)
			return;             /* the trial's outcome kicks again */
		room = 1;
	}
	op = lt_store_op_new(LT_STORE_CLAIM);
	op->upstream = lt_xstrdup(upstream);
	op->limit = room;
	op->now = (int64_t)lt_wall_ms();
	op->done = on_claimed;
	op->arg = u;
	if (lt_store_submit(d->store, op, &err) < 0) {
		lt_store_op_free(op);
		arm(u, 100);
		return;
	}
	u->claiming = 1;
}

/* ---- what /metrics, /status and /readyz ask (gateway/metrics.h hooks) ---------------------- */

static int queue_hook(void *arg, struct lt_queue_depth *out)
{
	uint64_t c[LT_ST_N];

	lt_store_counts(arg, c);
	out->queued = c[LT_ST_QUEUED];
	out->delivering = c[LT_ST_DELIVERING];
	out->delivered = c[LT_ST_DELIVERED];
	out->dead = c[LT_ST_DEAD];
	return 0;
}

static int store_ok_hook(void *arg)
{
	return lt_store_ok(arg);
}

struct lt_delivery *lt_delivery_new(struct lt_server *srv, struct lt_store *store)
{
	struct lt_delivery *d = lt_xcalloc(1, sizeof(*d));

	d->srv = srv;
	d->store = store;
	lt_metrics_hook_queue(queue_hook, store);
	lt_metrics_hook_store_ok(store_ok_hook, store);
	for (size_t i = 0; i < srv->gen->cfg->n_upstreams; i++)
		lt_delivery_kick(d, srv->gen->cfg->upstreams[i].name);
	return d;
}

void lt_delivery_free(struct lt_delivery *d)
{
	if (d == NULL)
		return;
	lt_metrics_hook_queue(NULL, NULL);
	lt_metrics_hook_store_ok(NULL, NULL);
	for (size_t i = 0; i < d->n_ups; i++) {
		event_free(d->ups[i]->timer);
		free(d->ups[i]->name);
		free(d->ups[i]);
	}
	free(d->ups);
	free(d);
}
