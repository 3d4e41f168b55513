/* h1client.c: the native HTTP/1.1 upstream transport (see h1client.h).
 *
 * A connection is one socket with two events: a persistent read event registered once for the
 * connection's life, and a write event added only while a connect or a write waits. A call on a
 * pooled connection therefore costs one write and one read system call and no epoll_ctl: the
 * shape of nginx's upstream module, which is what issue #6 measured this against. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <event2/dns.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "adapters/http1.h"
#include "gateway/h1client.h"
#include "gateway/log.h"

/* One read takes up to this much; an answer's bytes are copied out of it at once (the body into
 * the call's response, a split head into the reader's own buffer), so one buffer serves the loop. */
#define READ_BUF (16u * 1024)
/* An idle connection older than this is closed rather than reused: firewalls and NATs between the
 * city and a partner drop idle flows silently, and a request written into one waits for the whole
 * timeout. curl's own limit is 118 s; partners' servers commonly close after 60 s. */
#define IDLE_REUSE_MS 50000u
/* See gateway/upstream.h: lt_upclient_max_host_connections. */
#define MAX_HOST_CONNECTIONS 32L
/* How often idle connections past IDLE_REUSE_MS are closed even when no call comes to find them
 * (an upstream left behind by a reload keeps none open for ever). */
#define REAP_EVERY_MS 10000

enum conn_state { K_RESOLVING, K_CONNECTING, K_HANDSHAKE, K_SENDING, K_READING, K_IDLE };
enum call_state { H_NEW, H_RUNNING };

struct h1_call;

struct h1_pool {
	struct h1_pool *next;
	struct lt_h1c *client;
	SSL_CTX *ctx;                   /* referenced; NULL for http:// */
	char host[256];
	unsigned port;
	struct h1_conn *idle;           /* most recently used first */
	size_t n_conns;                 /* open: connecting, busy or idle */
	size_t refs;                    /* calls that chose this pool */
	struct h1_call *wait_head, *wait_tail;   /* calls waiting for a connection, in order */
	SSL_SESSION *session;           /* the last resumable session, offered by the next connection */
};

struct h1_conn {
	struct h1_pool *pool;
	struct h1_conn *prev, *next;    /* in the pool's idle list */
	evutil_socket_t fd;
	SSL *ssl;
	struct event *rev, *wev;
	enum conn_state st;
	struct h1_call *call;           /* the call it serves; NULL when idle */
	unsigned served;                /* answers read on it: 0 for a fresh connection */
	uint64_t idle_since_ms;
	struct evutil_addrinfo *addrs, *next_addr;
	struct evdns_getaddrinfo_request *dns;
	int dns_rc, resolving_now;
	int last_errno;                 /* of the last failed connect, for the message */
	struct lt_buf out;              /* the request */
	size_t out_off;
	struct lt_h1_resp resp;
	int resp_live;
};

struct h1_call {
	struct lt_upcall *call;
	struct lt_h1c *client;
	struct h1_pool *pool;
	struct h1_conn *conn;
	struct h1_call *wait_next;
	struct h1_call *prev, *next;    /* every call in flight, for lt_h1c_free */
	int waiting;
	int stale_retries;              /* a reused connection that died before answering: once */
	int want_fresh;                 /* after such a death: do not take another idle connection */
	enum call_state st;
	struct event *timer;
	uint64_t start_us;
	uint64_t deadline_ms;           /* total */
	uint64_t connect_deadline_ms;   /* 0 unless a connection is being made for this call */
	struct lt_h1_url url;
};

struct lt_h1c {
	struct event_base *base;
	struct evdns_base *dns;
	struct h1_pool *pools;
	struct h1_call *calls;
	struct event *reaper;
	long max_host;
	char rbuf[READ_BUF];
};

static void conn_io(evutil_socket_t fd, short what, void *arg);
static void conn_try_next(struct h1_conn *k);
static void call_dispatch(struct h1_call *h);

/* ---- calls ---------------------------------------------------------------------------------- */

static void wait_remove(struct h1_call *h)
{
	struct h1_pool *p = h->pool;
	struct h1_call **pp = &p->wait_head, *prev = NULL;

	for (; *pp != NULL; prev = *pp, pp = &(*pp)->wait_next)
		if (*pp == h) {
			*pp = h->wait_next;
			if (p->wait_tail == h)
				p->wait_tail = prev;
			break;
		}
	h->waiting = 0;
	h->wait_next = NULL;
}

static void pool_free(struct h1_pool *p)
{
	struct lt_h1c *c = p->client;
	struct h1_pool **pp = &c->pools;

	while (*pp != p)
		pp = &(*pp)->next;
	*pp = p->next;
	SSL_SESSION_free(p->session);
	SSL_CTX_free(p->ctx);
	free(p);
}

/* A pool lives while a call chose it, a connection is open in it or a call waits in it. Code that
 * may end calls (whose done() may start others) holds it across, so it never goes under its feet. */
static void pool_hold(struct h1_pool *p)
{
	p->refs++;
}

static void pool_release(struct h1_pool *p)
{
	if (--p->refs == 0 && p->n_conns == 0 && p->wait_head == NULL)
		pool_free(p);
}

/* Ends h: results into the call (msg NULL when it succeeded), then its done(). h must hold no
 * connection any more; the caller holds h's pool (pool_hold) when it uses the pool after this. */
static void call_finish(struct h1_call *h, enum lt_upfail fail, const char *msg)
{
	struct lt_upcall *call = h->call;
	struct lt_h1c *c = h->client;
	struct h1_pool *pool;

	if (h->waiting)
		wait_remove(h);
	call->fail = fail;
	if (msg != NULL)
		snprintf(call->errbuf, sizeof(call->errbuf), "%s", msg);
	call->elapsed_ms = (double)(lt_mono_us() - h->start_us) / 1000.0;
	if (h->prev != NULL)
		h->prev->next = h->next;
	else
		c->calls = h->next;
	if (h->next != NULL)
		h->next->prev = h->prev;
	event_free(h->timer);
	call->impl_ = NULL;
	pool = h->pool;
	free(h);
	lt_upcall_finished_(call);
	pool_release(pool);
}

static void arm_timer(struct h1_call *h)
{
	uint64_t t = h->deadline_ms, now = lt_mono_ms(), ms;
	struct timeval tv;

	if (h->connect_deadline_ms != 0 && h->connect_deadline_ms < t)
		t = h->connect_deadline_ms;
	ms = t > now ? t - now : 0;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(h->timer, &tv);
}

/* ---- connections ---------------------------------------------------------------------------- */

static void idle_remove(struct h1_conn *k)
{
	if (k->prev != NULL)
		k->prev->next = k->next;
	else
		k->pool->idle = k->next;
	if (k->next != NULL)
		k->next->prev = k->prev;
	k->prev = k->next = NULL;
}

static void idle_push(struct h1_conn *k)
{
	struct h1_pool *p = k->pool;

	k->prev = NULL;
	k->next = p->idle;
	if (p->idle != NULL)
		p->idle->prev = k;
	p->idle = k;
}

static void conn_drop_socket(struct h1_conn *k)
{
	if (k->rev != NULL)
		event_free(k->rev);
	if (k->wev != NULL)
		event_free(k->wev);
	k->rev = k->wev = NULL;
	if (k->ssl != NULL)
		SSL_free(k->ssl);
	k->ssl = NULL;
	/* The events went first: libevent never holds a closed fd whose number may come back. */
	if (k->fd >= 0)
		close(k->fd);
	k->fd = -1;
}

/* Closes k (its call, if any, must have been detached or be ended by the caller). */
static void conn_close(struct h1_conn *k)
{
	if (k->st == K_IDLE)
		idle_remove(k);
	if (k->dns != NULL) {
		struct evdns_getaddrinfo_request *r = k->dns;

		k->dns = NULL;
		evdns_getaddrinfo_cancel(r);     /* its callback sees EVUTIL_EAI_CANCEL and touches nothing */
	}
	if (k->addrs != NULL)
		evutil_freeaddrinfo(k->addrs);
	conn_drop_socket(k);
	lt_buf_free(&k->out);
	if (k->resp_live)
		lt_h1_resp_free(&k->resp);
	k->pool->n_conns--;
	free(k);
}

/* After a connection closed or came free: serves the calls waiting for one. The caller holds p. */
static void pool_service(struct h1_pool *p)
{
	struct lt_h1c *c = p->client;

	while (p->wait_head != NULL && (p->idle != NULL || (long)p->n_conns < c->max_host)) {
		struct h1_call *h = p->wait_head;

		wait_remove(h);
		call_dispatch(h);
	}
}

/* Detaches k's call and closes k, then ends the call with the failure. */
static void conn_fail(struct h1_conn *k, enum lt_upfail fail, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void conn_fail(struct h1_conn *k, enum lt_upfail fail, const char *fmt, ...)
{
	struct h1_call *h = k->call;
	struct h1_pool *p = k->pool;
	char msg[LT_UPCALL_ERRBUF];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pool_hold(p);
	if (h != NULL)
		h->conn = NULL;
	k->call = NULL;
	conn_close(k);
	if (h != NULL)
		call_finish(h, fail, msg);
	pool_service(p);
	pool_release(p);
}

/* May the call go again after its connection died with the request sent and no answer? Only when
 * sending it twice does no harm: a GET, a HEAD, or a call that carries an Idempotency-Key (queued
 * deliveries do), the rule Go's HTTP client follows. A payment or a filing is not resent on a
 * guess; the city gets a 502 and decides (docs/config.md: sync calls are never retried). */
static int call_replayable(const struct h1_call *h)
{
	const struct lt_upcall *call = h->call;

	return strcmp(call->method, "GET") == 0 || strcmp(call->method, "HEAD") == 0 ||
	       lt_header_has(&call->headers, "Idempotency-Key");
}

/* The connection died before a byte of the answer. On a pooled connection that had served answers,
 * the upstream most likely closed it while idle and the request goes again, once, on a new
 * connection: always when it died while the request was being written (an upstream cannot act on
 * half a request), else only when the call is replayable. Anything else is the call's failure. */
static void conn_lost(struct h1_conn *k, const char *what, int err)
{
	struct h1_call *h = k->call;
	struct h1_pool *p = k->pool;
	int sending = k->st == K_SENDING;

	if (h != NULL && k->served > 0 && !(k->resp_live && k->resp.got_bytes) && h->stale_retries > 0 &&
	    (sending || call_replayable(h))) {
		h->stale_retries--;
		h->want_fresh = 1;
		h->conn = NULL;
		k->call = NULL;
		pool_hold(p);
		conn_close(k);
		call_dispatch(h);
		pool_service(p);
		pool_release(p);
		return;
	}
	if (err != 0)
		conn_fail(k, LT_UP_PROTOCOL, "%s failure: %s", what, strerror(err));
	else
		conn_fail(k, LT_UP_PROTOCOL, "%s", k->resp_live && k->resp.msg[0] ? k->resp.msg
						   : "connection closed without an answer");
}

/* The whole request in k->out, to go in one write. */
static void conn_request(struct h1_conn *k)
{
	struct h1_call *h = k->call;
	struct lt_upcall *call = h->call;
	struct lt_buf *o = &k->out;
	int get = strcmp(call->method, "GET") == 0;

	lt_buf_reset(o);
	k->out_off = 0;
	lt_buf_reserve(o, 64 + strlen(call->method) + h->url.target_len + h->url.authority_len +
		       call->headers.len + call->body_len);
	lt_buf_puts(o, call->method);
	lt_buf_putc(o, ' ');
	if (h->url.target_len == 0 || h->url.target[0] != '/')
		lt_buf_putc(o, '/');
	lt_buf_append(o, h->url.target, h->url.target_len);
	lt_buf_puts(o, " HTTP/1.1\r\n");
	if (!lt_header_has(&call->headers, "Host")) {
		lt_buf_puts(o, "Host: ");
		lt_buf_append(o, h->url.authority, h->url.authority_len);
		lt_buf_puts(o, "\r\n");
	}
	lt_buf_append(o, call->headers.data, call->headers.len);
	/* As curl does: every method but GET states its length, 0 included. */
	if (!get) {
		lt_buf_puts(o, "Content-Length: ");
		lt_buf_put_size(o, call->body_len);
		lt_buf_puts(o, "\r\n");
	}
	lt_buf_puts(o, "\r\n");
	if (!get && call->body_len > 0)
		lt_buf_append(o, call->body, call->body_len);
	if (k->resp_live)
		lt_h1_resp_free(&k->resp);
	lt_buf_reset(&call->response);
	lt_h1_resp_init(&k->resp, &call->response, strcmp(call->method, "HEAD") == 0);
	k->resp_live = 1;
}

static void conn_read(struct h1_conn *k);

/* A request buffer past this is given back once sent, so that an idle connection does not hold
 * the memory of the largest body it ever carried. */
#define OUT_KEEP (64u * 1024)

static void conn_send(struct h1_conn *k)
{
	while (k->out_off < k->out.len) {
		const char *p = k->out.data + k->out_off;
		size_t n = k->out.len - k->out_off;
		ssize_t r;

		if (k->ssl != NULL) {
			int rc, e;

			ERR_clear_error();
			rc = SSL_write(k->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
			if (rc > 0) {
				k->out_off += (size_t)rc;
				continue;
			}
			e = SSL_get_error(k->ssl, rc);
			if (e == SSL_ERROR_WANT_WRITE) {
				event_add(k->wev, NULL);
				return;
			}
			if (e == SSL_ERROR_WANT_READ)
				return;
			ERR_clear_error();
			conn_lost(k, "Send", e == SSL_ERROR_SYSCALL && errno != 0 ? errno : EPIPE);
			return;
		}
		r = send(k->fd, p, n, MSG_NOSIGNAL);
		if (r >= 0) {
			k->out_off += (size_t)r;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			event_add(k->wev, NULL);
			return;
		}
		conn_lost(k, "Send", errno);
		return;
	}
	if (k->out.cap > OUT_KEEP)
		lt_buf_free(&k->out);
	k->st = K_READING;
	/* An answer may already wait in the TLS layer's buffer, where no read event reports it. */
	if (k->ssl != NULL && SSL_pending(k->ssl) > 0)
		conn_read(k);
}

/* The answer is complete: the connection goes back to the pool (or closes), then the call ends. */
static void answer_done(struct h1_conn *k, int leftover)
{
	struct h1_call *h = k->call;
	struct lt_upcall *call = h->call;
	struct h1_pool *p = k->pool;
	int keep = k->resp.keep_alive && !leftover;

	pool_hold(p);
	call->status = k->resp.status;
	memcpy(call->content_type, k->resp.content_type, sizeof(call->content_type));
	lt_h1_resp_free(&k->resp);
	k->resp_live = 0;
	h->conn = NULL;
	k->call = NULL;
	if (keep) {
		if (k->ssl != NULL && k->served == 0 && !SSL_session_reused(k->ssl)) {
			/* Kept after the first answer, when TLS 1.3's tickets have been read. */
			SSL_SESSION *s = SSL_get1_session(k->ssl);

			if (s != NULL && SSL_SESSION_is_resumable(s)) {
				SSL_SESSION_free(p->session);
				p->session = s;
			} else {
				SSL_SESSION_free(s);
			}
		}
		k->served++;
		k->st = K_IDLE;
		k->idle_since_ms = lt_mono_ms();
		idle_push(k);
	} else {
		conn_close(k);
	}
	call_finish(h, LT_UP_OK, NULL);
	pool_service(p);
	pool_release(p);
}

static void conn_feed(struct h1_conn *k, const char *buf, size_t n, int *over)
{
	size_t used;
	enum lt_h1_rc rc = lt_h1_resp_feed(&k->resp, buf, n, &used);

	*over = 1;
	switch (rc) {
	case LT_H1_DONE:
		answer_done(k, used < n);
		return;
	case LT_H1_ERROR:
		conn_fail(k, LT_UP_PROTOCOL, "bad answer: %s", k->resp.msg);
		return;
	case LT_H1_TOO_LARGE:
		conn_fail(k, LT_UP_TOO_LARGE, "answer over %zu bytes", k->call->call->response.max);
		return;
	case LT_H1_MORE:
		*over = 0;
		return;
	}
}

static void conn_eof(struct h1_conn *k)
{
	if (k->resp.got_bytes && lt_h1_resp_eof(&k->resp) == LT_H1_DONE) {
		k->resp.keep_alive = 0;
		answer_done(k, 0);
		return;
	}
	conn_lost(k, "Recv", 0);
}

static void conn_read(struct h1_conn *k)
{
	char *buf = k->pool->client->rbuf;
	int over = 0;

	for (;;) {
		ssize_t n;

		if (k->ssl != NULL) {
			int rc, e;

			ERR_clear_error();
			rc = SSL_read(k->ssl, buf, READ_BUF);
			if (rc <= 0) {
				e = SSL_get_error(k->ssl, rc);
				if (e == SSL_ERROR_WANT_READ)
					return;
				if (e == SSL_ERROR_WANT_WRITE) {
					event_add(k->wev, NULL);
					return;
				}
				if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 &&
								   errno == 0)) {
					conn_eof(k);
					return;
				}
				if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
					conn_lost(k, "Recv", errno);
					return;
				}
				e = (int)ERR_get_error();
				ERR_clear_error();
				conn_fail(k, LT_UP_PROTOCOL, "TLS read failed: %s",
					  ERR_reason_error_string((unsigned long)e) ? ERR_reason_error_string((unsigned long)e)
										    : "unknown error");
				return;
			}
			conn_feed(k, buf, (size_t)rc, &over);
			if (over)
				return;
			continue;
		}
		n = recv(k->fd, buf, READ_BUF, 0);
		if (n > 0) {
			conn_feed(k, buf, (size_t)n, &over);
			/* A short read drained the socket: wait for the next event rather than pay for
			 * a read that would say EAGAIN. */
			if (over || (size_t)n < READ_BUF)
				return;
			continue;
		}
		if (n == 0) {
			conn_eof(k);
			return;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			conn_lost(k, "Recv", errno);
		return;
	}
}

/* The connection is up (and TLS done): the call's connect phase is over, the request goes. */
static void conn_ready(struct h1_conn *k)
{
	struct h1_call *h = k->call;

	h->connect_deadline_ms = 0;
	arm_timer(h);
	k->st = K_SENDING;
	conn_request(k);
	conn_send(k);
}

/* The upstream's key (SubjectPublicKeyInfo) hashed with SHA-256 is one of the pins. */
static int pin_matches(SSL *ssl, const char *pins)
{
	X509 *crt = SSL_get0_peer_certificate(ssl);
	unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char b64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
	int n, ok = 0;

	if (crt == NULL || (n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(crt), &der)) <= 0)
		return 0;
	if (EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha256(), NULL) == 1) {
		size_t bl = (size_t)EVP_EncodeBlock((unsigned char *)b64, md, (int)mdlen);

		for (const char *p = pins; *p != '\0' && !ok;) {
			size_t len = strcspn(p, ";");

			ok = len == 8 + bl && memcmp(p, "sha256//", 8) == 0 && memcmp(p + 8, b64, bl) == 0;
			p += len + (p[len] == ';');
		}
	}
	OPENSSL_free(der);
	return ok;
}

static void conn_handshake(struct h1_conn *k)
{
	int rc, e;
	long vr;

	ERR_clear_error();
	rc = SSL_do_handshake(k->ssl);
	if (rc == 1) {
		const char *pin = k->call->call->cfg->pin;

		if (pin != NULL && !pin_matches(k->ssl, pin)) {
			conn_fail(k, LT_UP_TLS, "SSL: public key does not match pinned public key");
			return;
		}
		conn_ready(k);
		return;
	}
	e = SSL_get_error(k->ssl, rc);
	if (e == SSL_ERROR_WANT_READ)
		return;
	if (e == SSL_ERROR_WANT_WRITE) {
		event_add(k->wev, NULL);
		return;
	}
	if ((vr = SSL_get_verify_result(k->ssl)) != X509_V_OK) {
		ERR_clear_error();
		conn_fail(k, LT_UP_TLS, "SSL certificate problem: %s", X509_verify_cert_error_string(vr));
		return;
	}
	if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
		conn_fail(k, LT_UP_TLS, "TLS handshake with %s:%u failed: %s", k->pool->host, k->pool->port,
			  errno != 0 ? strerror(errno) : "connection closed by the peer");
		return;
	}
	{
		unsigned long err = ERR_get_error();
		const char *why = ERR_reason_error_string(err);

		ERR_clear_error();
		conn_fail(k, LT_UP_TLS, "TLS handshake with %s:%u failed: %s", k->pool->host, k->pool->port,
			  why != NULL ? why : "unknown error");
	}
}

static int is_ip_literal(const char *host)
{
	unsigned char a[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1;
}

static void conn_tls_start(struct h1_conn *k)
{
	struct h1_pool *p = k->pool;

	if ((k->ssl = SSL_new(p->ctx)) == NULL || SSL_set_fd(k->ssl, k->fd) != 1) {
		ERR_clear_error();
		conn_fail(k, LT_UP_INTERNAL, "cannot create a TLS connection");
		return;
	}
	SSL_set_connect_state(k->ssl);
	SSL_set_mode(k->ssl, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* Names get SNI and a host name check; addresses are checked against IP subject alt names. */
	if (is_ip_literal(p->host)) {
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(k->ssl), p->host);
	} else {
		SSL_set_tlsext_host_name(k->ssl, p->host);
		SSL_set1_host(k->ssl, p->host);
	}
	if (p->session != NULL)
		SSL_set_session(k->ssl, p->session);
	k->st = K_HANDSHAKE;
	conn_handshake(k);
}

static void conn_connected(struct h1_conn *k)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(k->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err == EINPROGRESS)
		return;
	if (err != 0) {
		k->last_errno = err;
		conn_drop_socket(k);
		k->next_addr = k->next_addr->ai_next;
		conn_try_next(k);
		return;
	}
	event_del(k->wev);
	if (k->pool->ctx != NULL)
		conn_tls_start(k);
	else
		conn_ready(k);
}

static void conn_io(evutil_socket_t fd, short what, void *arg)
{
	struct h1_conn *k = arg;

	(void)fd;
	switch (k->st) {
	case K_RESOLVING:
		return;
	case K_CONNECTING:
		conn_connected(k);
		return;
	case K_HANDSHAKE:
		conn_handshake(k);
		return;
	case K_SENDING:
		conn_send(k);
		return;
	case K_READING:
		conn_read(k);
		return;
	case K_IDLE:
		if (k->ssl != NULL) {
			char b;
			int rc;

			/* TLS 1.3 may send session tickets after an answer: not data, the connection stays. */
			ERR_clear_error();
			rc = SSL_read(k->ssl, &b, 1);
			if (rc <= 0 && SSL_get_error(k->ssl, rc) == SSL_ERROR_WANT_READ)
				return;
			ERR_clear_error();
		}
		/* The upstream closed an idle connection, or sent something nobody asked for. */
		(void)what;
		{
			struct h1_pool *p = k->pool;

			pool_hold(p);
			conn_close(k);
			pool_service(p);
			pool_release(p);
		}
		return;
	}
}

/* Connects to the next address of k's list, or fails the call when none is left. */
static void conn_try_next(struct h1_conn *k)
{
	struct lt_h1c *c = k->pool->client;
	int one = 1;

	for (; k->next_addr != NULL; k->next_addr = k->next_addr->ai_next) {
		const struct evutil_addrinfo *a = k->next_addr;

		k->fd = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
		if (k->fd < 0) {
			k->last_errno = errno;
			continue;
		}
		setsockopt(k->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(k->fd, a->ai_addr, a->ai_addrlen) < 0 && errno != EINPROGRESS) {
			k->last_errno = errno;
			close(k->fd);
			k->fd = -1;
			continue;
		}
		k->rev = event_new(c->base, k->fd, EV_READ | EV_PERSIST, conn_io, k);
		k->wev = event_new(c->base, k->fd, EV_WRITE, conn_io, k);
		if (k->rev == NULL || k->wev == NULL) {
			conn_fail(k, LT_UP_INTERNAL, "cannot watch a connection");
			return;
		}
		k->st = K_CONNECTING;
		event_add(k->rev, NULL);
		event_add(k->wev, NULL);
		return;
	}
	conn_fail(k, LT_UP_CONNECT, "Failed to connect to %s port %u: %s", k->pool->host, k->pool->port,
		  strerror(k->last_errno ? k->last_errno : ECONNREFUSED));
}

static void dns_resolved(struct h1_conn *k)
{
	if (k->dns_rc != 0) {
		conn_fail(k, LT_UP_CONNECT, "Could not resolve host: %s (%s)", k->pool->host,
			  evutil_gai_strerror(k->dns_rc));
		return;
	}
	k->next_addr = k->addrs;
	conn_try_next(k);
}

static void dns_cb(int result, struct evutil_addrinfo *res, void *arg)
{
	struct h1_conn *k = arg;

	if (result == EVUTIL_EAI_CANCEL)
		return;
	k->dns = NULL;
	k->dns_rc = result;
	k->addrs = res;
	if (!k->resolving_now)
		dns_resolved(k);
}

/* Opens a new connection for h. */
static void conn_open(struct h1_call *h)
{
	struct h1_pool *p = h->pool;
	struct lt_h1c *c = p->client;
	struct h1_conn *k = lt_xcalloc(1, sizeof(*k));
	struct evutil_addrinfo hints;
	struct evdns_getaddrinfo_request *r;
	char port[8];

	k->pool = p;
	k->fd = -1;
	k->call = h;
	lt_buf_init(&k->out, (size_t)-1 / 2);
	p->n_conns++;
	h->conn = k;
	h->connect_deadline_ms = lt_mono_ms() + (uint64_t)h->call->cfg->connect_timeout_ms;
	arm_timer(h);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	snprintf(port, sizeof(port), "%u", p->port);
	if (is_ip_literal(p->host)) {
		hints.ai_flags = EVUTIL_AI_NUMERICHOST;
		k->dns_rc = evutil_getaddrinfo(p->host, port, &hints, &k->addrs);
		dns_resolved(k);
		return;
	}
	if (c->dns == NULL) {
		conn_fail(k, LT_UP_CONNECT, "Could not resolve host: %s (no resolver)", p->host);
		return;
	}
	k->st = K_RESOLVING;
	/* The answer may come before evdns_getaddrinfo returns (the hosts file): it is then taken
	 * here, after k->dns is settled, never from inside the call. */
	k->resolving_now = 1;
	k->dns_rc = EVUTIL_EAI_FAIL;
	r = evdns_getaddrinfo(c->dns, p->host, port, &hints, dns_cb, k);
	k->resolving_now = 0;
	if (r == NULL)
		dns_resolved(k);
	else
		k->dns = r;
}

/* Is an idle connection still open, and quiet? Its read event reports an upstream's close only at
 * the loop's next turn; an upstream that closes right after answering (without saying
 * `Connection: close`) would have its FIN arrive while this turn hands the connection to the next
 * call, and that call, a POST, may not be sent again once written (conn_lost). One peek per reuse
 * closes that window. */
static int idle_alive(struct h1_conn *k)
{
	char b;
	ssize_t n = recv(k->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	int rc;

	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK;
	if (n == 0 || k->ssl == NULL)
		return 0;
	/* TLS: a session ticket or a key update is not data; an alert or application data is. */
	ERR_clear_error();
	rc = SSL_read(k->ssl, &b, 1);
	if (rc <= 0 && SSL_get_error(k->ssl, rc) == SSL_ERROR_WANT_READ)
		return 1;
	ERR_clear_error();
	return 0;
}

/* Gives h a connection: an idle one, a new one, or a place in the pool's queue. */
static void call_dispatch(struct h1_call *h)
{
	struct h1_pool *p = h->pool;
	struct lt_h1c *c = p->client;
	struct h1_conn *k;
	uint64_t now = 0;

	while ((k = p->idle) != NULL && !(h->want_fresh && (long)p->n_conns < c->max_host)) {
		idle_remove(k);
		if (now == 0)
			now = lt_mono_ms();
		if (now - k->idle_since_ms > IDLE_REUSE_MS || !idle_alive(k)) {
			conn_close(k);
			continue;
		}
		k->call = h;
		h->conn = k;
		h->connect_deadline_ms = 0;
		k->st = K_SENDING;
		conn_request(k);
		conn_send(k);
		return;
	}
	if ((long)p->n_conns < c->max_host) {
		conn_open(h);
		return;
	}
	h->waiting = 1;
	h->wait_next = NULL;
	if (p->wait_tail != NULL)
		p->wait_tail->wait_next = h;
	else
		p->wait_head = h;
	p->wait_tail = h;
}

static void call_timer(evutil_socket_t fd, short what, void *arg)
{
	struct h1_call *h = arg;
	uint64_t now = lt_mono_ms();
	struct h1_conn *k = h->conn;
	struct h1_pool *p = h->pool;
	char msg[LT_UPCALL_ERRBUF];
	int connecting;

	(void)fd;
	(void)what;
	if (h->st == H_NEW) {
		h->st = H_RUNNING;
		arm_timer(h);
		call_dispatch(h);
		return;
	}
	connecting = h->connect_deadline_ms != 0 && now >= h->connect_deadline_ms;
	if (!connecting && now < h->deadline_ms) {
		arm_timer(h);                   /* woke early */
		return;
	}
	pool_hold(p);
	if (k != NULL) {
		h->conn = NULL;
		k->call = NULL;
		conn_close(k);
	}
	if (connecting)
		snprintf(msg, sizeof(msg), "Connection timed out after %llu milliseconds",
			 (unsigned long long)h->call->cfg->connect_timeout_ms);
	else
		snprintf(msg, sizeof(msg), "Operation timed out after %llu milliseconds with %zu bytes received",
			 (unsigned long long)((lt_mono_us() - h->start_us) / 1000), h->call->response.len);
	call_finish(h, LT_UP_TIMEOUT, msg);
	pool_service(p);
	pool_release(p);
}

/* ---- the client ----------------------------------------------------------------------------- */

static struct h1_pool *pool_get(struct lt_h1c *c, SSL_CTX *ctx, const char *host, unsigned port)
{
	struct h1_pool *p;

	for (p = c->pools; p != NULL; p = p->next)
		if (p->ctx == ctx && p->port == port && strcmp(p->host, host) == 0)
			return p;
	p = lt_xcalloc(1, sizeof(*p));
	p->client = c;
	if (ctx != NULL && SSL_CTX_up_ref(ctx) == 1)
		p->ctx = ctx;
	snprintf(p->host, sizeof(p->host), "%s", host);
	p->port = port;
	p->next = c->pools;
	c->pools = p;
	return p;
}

static void reap_idle(evutil_socket_t fd, short what, void *arg)
{
	struct lt_h1c *c = arg;
	uint64_t now = lt_mono_ms();
	struct h1_pool *p, *pn;

	(void)fd;
	(void)what;
	for (p = c->pools; p != NULL; p = pn) {
		struct h1_conn *k, *kn;

		pool_hold(p);
		for (k = p->idle; k != NULL; k = kn) {
			kn = k->next;
			if (now - k->idle_since_ms > IDLE_REUSE_MS)
				conn_close(k);
		}
		pn = p->next;
		pool_release(p);
	}
}

struct lt_h1c *lt_h1c_new(struct event_base *base)
{
	struct lt_h1c *c = lt_xcalloc(1, sizeof(*c));
	struct timeval every = { REAP_EVERY_MS / 1000, 0 };

	c->base = base;
	c->max_host = MAX_HOST_CONNECTIONS;
	c->reaper = event_new(base, -1, EV_PERSIST, reap_idle, c);
	if (c->reaper == NULL || event_add(c->reaper, &every) < 0) {
		lt_log_error("cannot start the upstream connection reaper");
		lt_h1c_free(c);
		return NULL;
	}
	/* Read once here (resolv.conf, the hosts file), not on a request. Without it, upstreams
	 * named by address still work and names fail with a clear message. */
	c->dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS | EVDNS_BASE_DISABLE_WHEN_INACTIVE);
	if (c->dns == NULL)
		lt_log_warn("no DNS resolver (resolv.conf): upstreams named by host name cannot be called");
	return c;
}

void lt_h1c_max_host_connections(struct lt_h1c *c, long n)
{
	c->max_host = n > 0 ? n : 1;
}

void lt_h1c_free(struct lt_h1c *c)
{
	if (c == NULL)
		return;
	while (c->calls != NULL) {
		struct h1_call *h = c->calls;

		c->calls = h->next;
		if (h->conn != NULL) {
			h->conn->call = NULL;
			conn_close(h->conn);
		}
		h->call->impl_ = NULL;
		event_free(h->timer);
		free(h);
	}
	while (c->pools != NULL) {
		struct h1_pool *p = c->pools;

		/* Busy connections went with their calls above. */
		while (p->idle != NULL)
			conn_close(p->idle);
		c->pools = p->next;
		SSL_SESSION_free(p->session);
		SSL_CTX_free(p->ctx);
		free(p);
	}
	if (c->dns != NULL)
		evdns_base_free(c->dns, 0);
	if (c->reaper != NULL)
		event_free(c->reaper);
	free(c);
}

int lt_h1c_start(struct lt_h1c *c, struct lt_upcall *call, struct lt_err *e)
{
	struct h1_call *h = lt_xcalloc(1, sizeof(*h));
	const char *why = NULL;

	if (lt_h1_url_parse(call->url, &h->url, &why) < 0) {
		free(h);
		return lt_err_set(e, 502, "upstream.connect", "cannot call upstream '%s': %s", call->cfg->name, why);
	}
	if (h->url.tls && call->tls == NULL) {
		free(h);
		return lt_err_set(e, 500, "internal", "no TLS context for upstream '%s'", call->cfg->name);
	}
	h->call = call;
	h->client = c;
	h->start_us = lt_mono_us();
	h->deadline_ms = lt_mono_ms() + (uint64_t)call->cfg->total_timeout_ms;
	h->stale_retries = 1;
	h->timer = evtimer_new(c->base, call_timer, h);
	h->pool = pool_get(c, h->url.tls ? call->tls : NULL, h->url.host, h->url.port);
	h->pool->refs++;
	h->next = c->calls;
	if (c->calls != NULL)
		c->calls->prev = h;
	c->calls = h;
	call->impl_ = h;
	/* The work starts from the loop, so that done() never runs inside this function. */
	event_active(h->timer, EV_TIMEOUT, 0);
	return 0;
}
