/* session.c: the token cache and the login call behind it. */
#include <string.h>
#include <openssl/crypto.h>

#include "gateway/session.h"
#include "gateway/arena.h"
#include "gateway/log.h"
#include "adapters/auth.h"

/* An oauth2 token is dropped this long before it expires, so no call goes out with a token that
 * expires on the way. */
#define TOKEN_EARLY_MS 30000

void lt_session_init(struct lt_session *s, const struct lt_upstream_cfg *cfg, SSL_CTX *tls)
{
	memset(s, 0, sizeof(*s));
	s->cfg = cfg;
	s->tls = tls;
	TAILQ_INIT(&s->waiters);
	lt_upcall_init(&s->call);
}

void lt_session_free(struct lt_session *s)
{
	if (s->token != NULL) {
		memset(s->token, 0, strlen(s->token));
		LT_FREE(s->token);
	}
	lt_upcall_release(&s->call);
}

void lt_session_adopt(struct lt_session *to, const struct lt_session *from)
{
	if (to->token != NULL || from->token == NULL)
		return;
	to->token = lt_xstrdup(from->token);
	to->expires_ms = from->expires_ms;
}

static void drop_token(struct lt_session *s)
{
	if (s->token != NULL) {
		memset(s->token, 0, strlen(s->token));
		LT_FREE(s->token);
	}
	s->expires_ms = 0;
}

static void wake_all(struct lt_session *s, const struct lt_err *err)
{
	struct lt_session_waitq q;
	struct lt_session_wait *w;

	/* Move the list first: a callback may queue again (a retry) on this same session. */
	TAILQ_INIT(&q);
	TAILQ_CONCAT(&q, &s->waiters, link);
	while ((w = TAILQ_FIRST(&q)) != NULL) {
		TAILQ_REMOVE(&q, w, link);
		w->queued = 0;
		w->cb(w->arg, err ? NULL : s->token, err);
	}
}

static void login_done(struct lt_upcall *call, void *arg)
{
	struct lt_session *s = arg;
	struct lt_err err;
	char *token = NULL;
	long long ttl = 0;
	int rc;

	lt_err_clear(&err);
	s->logging_in = 0;
	if (call->fail != LT_UP_OK)
		rc = lt_upcall_error(call, s->cfg->name, &err);
	else
		rc = lt_auth_login_answer(&s->cfg->auth, call->status, call->response.data, call->response.len,
					  &token, &ttl, &err);
	lt_upcall_release(call);
	if (rc < 0) {
		/* A transport failure keeps its own code (connect, tls, timeout): that is the cause the
		 * operator must fix; the message says it happened while logging in. */
		if (call->fail != LT_UP_OK)
			lt_err_wrap(&err, err.status, NULL, "login to upstream '%s' failed", s->cfg->name);
		lt_log_warn("upstream '%s': login failed: %s", s->cfg->name, err.msg);
		wake_all(s, &err);
	} else {
		drop_token(s);
		s->token = token;
		s->expires_ms = ttl > TOKEN_EARLY_MS ? lt_mono_ms() + (uint64_t)(ttl - TOKEN_EARLY_MS) : 0;
		s->logins++;
		lt_log_info("upstream '%s': logged in", s->cfg->name);
		wake_all(s, NULL);
	}
	/* Nothing may touch s after wake_all: the last waiter may have held the last reference to the
	 * generation that owns it. */
}

static void login_start(struct lt_session *s, struct lt_upclient *c)
{
	struct lt_err err;
	const char *ctype;
	char *extra = NULL;

	lt_err_clear(&err);
	lt_upcall_release(&s->call);
	s->call.cfg = s->cfg;
	s->call.tls = s->tls;
	s->call.method = "POST";
	if (lt_auth_login_request(&s->cfg->auth, s->cfg->url, &s->call.url, &s->call.body, &s->call.body_len, &ctype,
				  &extra, &err) < 0)
		goto fail;
	if (extra != NULL) {
		lt_header_line(&s->call.headers, extra);
		OPENSSL_cleanse(extra, strlen(extra));
		free(extra);
	}
	lt_header_add(&s->call.headers, "Content-Type", ctype);
	lt_header_add(&s->call.headers, "Accept", "application/json");
	for (size_t i = 0; i < s->cfg->n_headers; i++)
		lt_header_add(&s->call.headers, s->cfg->headers[i].name, s->cfg->headers[i].value);
	s->call.done = login_done;
	s->call.arg = s;
	if (lt_upcall_start(c, &s->call, &err) < 0)
		goto fail;
	s->logging_in = 1;
	return;
fail:
	lt_upcall_release(&s->call);
	wake_all(s, &err);
}

/* The login belongs to the session, not to the transaction that happened to need the token first:
 * it runs outside that transaction's arena (gateway/arena.h), and so do the waiters it wakes when it
 * cannot start (each waiter enters its own). */
static void start_login(struct lt_session *s, struct lt_upclient *c)
{
	struct lt_arena *prev = lt_arena_enter(NULL);

	login_start(s, c);
	lt_arena_leave(prev);
}

const char *lt_session_token(struct lt_session *s, struct lt_upclient *c, struct lt_session_wait *w,
			     lt_session_cb cb, void *arg)
{
	if (s->token != NULL && (s->expires_ms == 0 || lt_mono_ms() < s->expires_ms))
		return s->token;
	drop_token(s);
	w->cb = cb;
	w->arg = arg;
	w->queued = 1;
	TAILQ_INSERT_TAIL(&s->waiters, w, link);
	if (!s->logging_in)
		start_login(s, c);
	return NULL;
}

void lt_session_refused(struct lt_session *s, const char *token)
{
	if (s->token != NULL && token != NULL && strcmp(s->token, token) == 0)
		drop_token(s);
}

void lt_session_cancel(struct lt_session *s, struct lt_session_wait *w)
{
	if (w->queued) {
		TAILQ_REMOVE(&s->waiters, w, link);
		w->queued = 0;
	}
}
