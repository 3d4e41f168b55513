/* session.h: an upstream's login token (auth type login or oauth2), shared by every call to that
 * upstream: one login at a time, the calls that need the token wait for it without blocking the
 * loop, and a token that an answer refused is dropped so the next call logs in again. */
#ifndef LT_SESSION_H
#define LT_SESSION_H

#include <stdint.h>
#include <sys/queue.h>
#include "gateway/config.h"
#include "gateway/upstream.h"

/* token is borrowed for the duration of the callback; err is set (and token NULL) when the login failed. */
typedef void (*lt_session_cb)(void *arg, const char *token, const struct lt_err *err);

struct lt_session_wait {
	TAILQ_ENTRY(lt_session_wait) link;
	lt_session_cb cb;
	void *arg;
	int queued;
};

TAILQ_HEAD(lt_session_waitq, lt_session_wait);

struct lt_session {
	const struct lt_upstream_cfg *cfg;   /* borrowed */
	SSL_CTX *tls;                        /* borrowed: the upstream's client context (lt_upcall.tls) */
	char *token;
	uint64_t expires_ms;                 /* monotonic; 0 = until refused */
	int logging_in;
	unsigned logins;                     /* how many logins so far (metrics, tests) */
	struct lt_upcall call;
	struct lt_session_waitq waiters;
};

void lt_session_init(struct lt_session *s, const struct lt_upstream_cfg *cfg, SSL_CTX *tls);
/* Frees the token; a login in flight must have finished (lt_upclient_free drops it otherwise). */
void lt_session_free(struct lt_session *s);

/* Takes over from's token (copied) when to has none yet: a reload that left the upstream's
 * authentication as it was keeps its session instead of logging in again. Same loop only. */
void lt_session_adopt(struct lt_session *to, const struct lt_session *from);

/* Returns the cached token (borrowed until the next session call) when there is a valid one.
 * Otherwise queues w (caller-owned, must stay alive until cb runs or lt_session_cancel) and starts
 * a login if none is running; cb runs later on the loop, or before this returns when the login
 * cannot even start: after a NULL return the caller must not touch arg. */
const char *lt_session_token(struct lt_session *s, struct lt_upclient *c, struct lt_session_wait *w,
			     lt_session_cb cb, void *arg);
/* An answer refused token: drop it, unless a newer one already replaced it. */
void lt_session_refused(struct lt_session *s, const char *token);
/* Removes a queued waiter (its cb will not run). */
void lt_session_cancel(struct lt_session *s, struct lt_session_wait *w);

#endif
