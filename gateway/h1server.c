/* h1server.c: the city-facing HTTP/1.1 server (see h1server.h).
 *
 * The shape of gateway/h1client.c on the other side: a connection is one socket with a persistent
 * read event registered once for its life and a write event added only while an answer waits for
 * room, OpenSSL directly on the socket, one write per answer. A keep-alive request therefore costs
 * one read and one write system call and no epoll_ctl (evhttp's bufferevents turned reading off and
 * on around every request, and wrote status line and body as two TLS records before we joined them). */
/* accept4 (a new socket non-blocking and close-on-exec in one call) is a GNU extension. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <event2/util.h>
#include <openssl/err.h>

#include "adapters/http1.h"
#include "gateway/h1server.h"
#include "gateway/log.h"
#include "gateway/pipeline.h"
#include "gateway/server.h"

/* A connection's input buffer starts this big (a city request's head and a dossier's body fit)
 * and grows, only while a head is being read, up to limits.max_headers + READ_ROOM. */
#define IN_FIRST (8u * 1024)
/* Room beyond a head at its limit: what one read may bring with it (the start of the body). */
#define READ_ROOM (8u * 1024)
/* A body or answer buffer bigger than this is given back after its request, not kept for the
 * next one: a connection that once carried 1 MiB should not hold it while idle. */
#define KEEP_BUFFER (64u * 1024)
/* After an answer that closes the connection while the client may still be sending (a body
 * refused as too large, a malformed request), its bytes are read and dropped this long before the
 * close: closing with unread bytes makes the kernel send a reset, which can destroy the answer
 * in the client's receive buffer before it is read (nginx's lingering_close does the same). */
#define LINGER_MS 2000
/* Connections accepted per readiness event, so that one busy listener does not starve the loop. */
#define ACCEPT_BATCH 64
/* Out of file descriptors: accepting pauses this long instead of spinning on the ready listener. */
#define ACCEPT_PAUSE_MS 200

enum c_state {
	C_HANDSHAKE,                /* TLS handshake */
	C_HEAD,                     /* reading a head (idle when no byte of it has come) */
	C_BODY,                     /* reading a body */
	C_BUSY,                     /* the handler has the request */
	C_WRITING,                  /* the answer waits for room in the socket */
	C_LINGER                    /* answered and closing: input read and dropped */
};

struct h1s_conn {
	struct lt_listener_rt *l;   /* borrowed: listeners live until their server is freed */
	struct lt_server *srv;
	struct h1s_conn *prev, *next;
	evutil_socket_t fd;
	SSL *ssl;
	struct event *rev, *wev, *timer;
	enum c_state st;
	int depth;                  /* > 0 while the handler is on the stack */
	int dead;                   /* ended while the request was in use: freed when it is answered */
	int peer_eof;               /* the client shut its side: answer, then close */
	int paused;                 /* the read event is removed (buffer full, or the client shut) */
	int keep;                   /* the answer being written leaves the connection open */
	int body_timer;             /* the body timeout is armed for this request */
	char *in;                   /* every byte received and not yet used; a request starts at in[0] */
	size_t in_len, in_cap;
	size_t body_off;            /* where the body's bytes come, just after the head */
	size_t req_end;             /* where the next request's bytes start, once this one is read */
	struct lt_buf body, out, hdrs;
	size_t out_off;
	struct lt_h1_req rd;
	struct lt_hreq req;
	struct sockaddr_storage peer;
	socklen_t peer_len;
};

static void conn_io(evutil_socket_t fd, short what, void *arg);
static void conn_timeout(evutil_socket_t fd, short what, void *arg);
static int conn_process(struct h1s_conn *c);

static const struct lt_limits *limits(const struct h1s_conn *c)
{
	/* The generation current on this loop: a reload's limits apply from the next request on. */
	return &c->srv->gen->cfg->gateway.limits;
}

static void arm_timer(struct h1s_conn *c, long long ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

	evtimer_add(c->timer, &tv);
}

/* ---- connection life ------------------------------------------------------------------------ */

static void conn_free(struct h1s_conn *c)
{
	struct lt_server *srv = c->srv;

	if (c->st == C_WRITING && srv->unflushed > 0)
		srv->unflushed--;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		srv->h1_conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	/* The events go before the socket: libevent never holds a closed fd whose number may return. */
	if (c->rev != NULL)
		event_free(c->rev);
	if (c->wev != NULL)
		event_free(c->wev);
	if (c->timer != NULL)
		event_free(c->timer);
	if (c->ssl != NULL)
		SSL_free(c->ssl);
	close(c->fd);
	lt_h1_req_free(&c->rd);
	lt_buf_free(&c->body);
	lt_buf_free(&c->out);
	lt_buf_free(&c->hdrs);
	free(c->in);
	free(c);
}

/* Ends c. While its request is with the handler (or the handler is on the stack) nothing it uses
 * may go: the connection only goes quiet, and is freed once the answer is sent and dropped ("a
 * call runs to completion even when the client has gone"). The caller must not touch c after. */
static void conn_end(struct h1s_conn *c)
{
	if (c->depth > 0 || c->st == C_BUSY) {
		c->dead = 1;
		event_del(c->rev);
		event_del(c->wev);
		evtimer_del(c->timer);
		return;
	}
	conn_free(c);
}

static void pause_reading(struct h1s_conn *c)
{
	if (!c->paused) {
		c->paused = 1;
		event_del(c->rev);
	}
}

static void resume_reading(struct h1s_conn *c)
{
	if (c->paused && !c->peer_eof) {
		c->paused = 0;
		event_add(c->rev, NULL);
	}
}

static struct h1s_conn *conn_new(struct lt_listener_rt *l, evutil_socket_t fd, const struct sockaddr_storage *sa,
				 socklen_t salen)
{
	struct lt_server *srv = l->srv;
	const struct lt_limits *lim = &srv->gen->cfg->gateway.limits;
	struct h1s_conn *c = lt_xcalloc(1, sizeof(*c));

	c->l = l;
	c->srv = srv;
	c->req.conn_ = c;
	c->fd = fd;
	memcpy(&c->peer, sa, salen);
	c->peer_len = salen;
	c->in_cap = IN_FIRST;
	c->in = lt_xmalloc(c->in_cap);
	lt_buf_init(&c->body, lim->max_body);
	lt_buf_init(&c->out, (size_t)-1 / 2);
	lt_buf_init(&c->hdrs, 16 * 1024);
	lt_h1_req_init(&c->rd, &c->body, lim->max_headers);
	c->rev = event_new(srv->base, fd, EV_READ | EV_PERSIST, conn_io, c);
	c->wev = event_new(srv->base, fd, EV_WRITE, conn_io, c);
	c->timer = evtimer_new(srv->base, conn_timeout, c);
	c->next = srv->h1_conns;
	if (srv->h1_conns != NULL)
		srv->h1_conns->prev = c;
	srv->h1_conns = c;
	if (c->rev == NULL || c->wev == NULL || c->timer == NULL)
		goto fail;
	if (l->tls) {
		/* Each connection takes the current generation's context: a reload's new certificate
		 * is served to new connections while old ones keep theirs (SSL_new holds a reference). */
		c->ssl = SSL_new(srv->gen->ssl[l->index]);
		if (c->ssl == NULL || SSL_set_fd(c->ssl, fd) != 1)
			goto fail;
		SSL_set_accept_state(c->ssl);
		/* One read() takes a record's header and body, and the records behind it, instead of two
		 * reads per record. Safe here because this server asks SSL_has_pending() (which counts
		 * read-ahead bytes) before it waits for the socket; bufferevent_openssl did not. */
		SSL_set_read_ahead(c->ssl, 1);
		c->req.ssl = c->ssl;
		SSL_set_mode(c->ssl, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
		c->st = C_HANDSHAKE;
	} else {
		c->st = C_HEAD;
	}
	event_add(c->rev, NULL);
	arm_timer(c, lim->header_timeout_ms);
	return c;
fail:
	ERR_clear_error();
	lt_log_warn("cannot set up a new connection on listener %d", l->index);
	conn_free(c);
	return NULL;
}

/* ---- answers -------------------------------------------------------------------------------- */

static const char *reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return status < 300 ? "OK" : status < 400 ? "Redirect" : status < 500 ? "Client Error" : "Server Error";
	}
}

/* "Date: ...\r\n", formatted once a second per loop thread. */
static const char *date_line(void)
{
	static _Thread_local time_t last;
	static _Thread_local char line[48];
	time_t now = time(NULL);

	if (now != last) {
		struct tm tm;

		gmtime_r(&now, &tm);
		strftime(line, sizeof(line), "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
		last = now;
	}
	return line;
}

/* Writes what is left of c->out. 1: it waits for room (c lives on); 0: it is written and the
 * connection went on to its next request or its close (c may be gone); -1: c was ended. */
static int conn_write(struct h1s_conn *c);

/* The next request: what came after this one moves to the front of the buffer. */
static void next_request(struct h1s_conn *c)
{
	const struct lt_limits *lim = limits(c);
	size_t rest = c->in_len - c->req_end;

	if (rest > 0)
		memmove(c->in, c->in + c->req_end, rest);
	c->in_len = rest;
	c->req_end = c->body_off = 0;
	if (c->body.cap > KEEP_BUFFER)
		lt_buf_free(&c->body);
	lt_buf_reset(&c->body);
	c->body.max = lim->max_body;
	if (c->out.cap > KEEP_BUFFER)
		lt_buf_free(&c->out);
	lt_buf_reset(&c->out);
	lt_buf_reset(&c->hdrs);
	lt_h1_req_free(&c->rd);
	lt_h1_req_init(&c->rd, &c->body, lim->max_headers);
	c->body_timer = 0;
	c->st = C_HEAD;
	/* header_timeout bounds the idle time before the next head and that head alike. */
	arm_timer(c, lim->header_timeout_ms);
	resume_reading(c);
	/* A pipelined request (or bytes TLS has already decrypted) is read on the next loop pass, not
	 * here, where the previous request's handler may still be on the stack. */
	if (rest > 0 || (c->ssl != NULL && SSL_has_pending(c->ssl)))
		event_active(c->rev, EV_READ, 0);
}

static void conn_linger(struct h1s_conn *c)
{
	int unread = c->rd.b.st != LT_H1_FINISHED || c->req.body_too_large || c->in_len > c->req_end;

	if (c->ssl != NULL) {
		/* close_notify, so that the client knows the answer was not cut (one try; no wait). */
		ERR_clear_error();
		(void)SSL_shutdown(c->ssl);
		ERR_clear_error();
	}
	if (!unread || c->peer_eof || c->dead) {
		conn_end(c);
		return;
	}
	c->st = C_LINGER;
	shutdown(c->fd, SHUT_WR);
	resume_reading(c);
	arm_timer(c, LINGER_MS);
}

static void answer_written(struct h1s_conn *c)
{
	if (c->srv->unflushed > 0)
		c->srv->unflushed--;
	if (c->keep)
		next_request(c);
	else
		conn_linger(c);
}

static int conn_write(struct h1s_conn *c)
{
	while (c->out_off < c->out.len) {
		const char *p = c->out.data + c->out_off;
		size_t n = c->out.len - c->out_off;
		ssize_t r;

		if (c->ssl != NULL) {
			int rc, e;

			ERR_clear_error();
			rc = SSL_write(c->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
			if (rc > 0) {
				c->out_off += (size_t)rc;
				continue;
			}
			e = SSL_get_error(c->ssl, rc);
			ERR_clear_error();
			if (e == SSL_ERROR_WANT_WRITE) {
				event_add(c->wev, NULL);
				return 1;
			}
			if (e == SSL_ERROR_WANT_READ)
				return 1;       /* the read event retries (conn_io) */
			conn_end(c);
			return -1;
		}
		r = send(c->fd, p, n, MSG_NOSIGNAL);
		if (r >= 0) {
			c->out_off += (size_t)r;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			event_add(c->wev, NULL);
			return 1;
		}
		conn_end(c);
		return -1;
	}
	answer_written(c);
	return 0;
}

/* A field value as given, without CR and LF: either would end the field and start another (a
 * Content-Type passed on from an upstream's answer included). */
static void put_value(struct lt_buf *h, const char *value)
{
	while (*value != '\0') {
		size_t n = strcspn(value, "\r\n");

		lt_buf_append(h, value, n);
		value += n;
		if (*value != '\0')
			value++;
	}
}

void lt_hreq_add_header(struct lt_hreq *r, const char *name, const char *value)
{
	struct lt_buf *h = &r->conn_->hdrs;

	lt_buf_puts(h, name);
	lt_buf_puts(h, ": ");
	put_value(h, value);
	lt_buf_puts(h, "\r\n");
}

void lt_hreq_send(struct lt_hreq *r, int status, const char *ctype, const char *body, size_t len)
{
	struct h1s_conn *c = r->conn_;
	struct lt_buf *o = &c->out;
	int bodiless = status < 200 || status == 204 || status == 304;
	int head = c->rd.method != NULL && strcmp(c->rd.method, "HEAD") == 0;

	if (c->st != C_BUSY)
		return;                 /* a second answer: the first one stands */
	if (c->dead) {
		/* The client went while the request was handled: the answer is dropped. */
		c->st = C_LINGER;
		if (c->depth == 0)
			conn_free(c);
		return;
	}
	c->keep = c->rd.keep_alive && !r->body_too_large && !c->peer_eof && !c->srv->draining;
	lt_buf_reset(o);
	c->out_off = 0;
	lt_buf_reserve(o, 256 + c->hdrs.len + (head || bodiless ? 0 : len));
	lt_buf_puts(o, "HTTP/1.1 ");
	lt_buf_put_size(o, (size_t)status);
	lt_buf_putc(o, ' ');
	lt_buf_puts(o, reason(status));
	lt_buf_puts(o, "\r\n");
	lt_buf_puts(o, date_line());
	if (!bodiless) {
		lt_buf_puts(o, "Content-Type: ");
		put_value(o, ctype);
		lt_buf_puts(o, "\r\nContent-Length: ");
		lt_buf_put_size(o, len);
		lt_buf_puts(o, "\r\n");
	}
	lt_buf_append(o, c->hdrs.data, c->hdrs.len);
	if (!c->keep)
		lt_buf_puts(o, "Connection: close\r\n");
	else if (c->rd.minor == 0)
		lt_buf_puts(o, "Connection: keep-alive\r\n");
	lt_buf_puts(o, "\r\n");
	if (!head && !bodiless)
		lt_buf_append(o, body, len);
	c->st = C_WRITING;
	c->srv->unflushed++;
	/* A client that does not read its answer is not waited for beyond the body timeout (when the
	 * answer goes at once, the next state's timer replaces whatever was armed). */
	if (conn_write(c) == 1)
		arm_timer(c, limits(c)->body_timeout_ms);
}

const char *lt_hreq_header(const struct lt_hreq *r, const char *name)
{
	return lt_h1_req_field(&r->conn_->rd, name);
}

void lt_hreq_peer(const struct lt_hreq *r, char *buf, size_t n)
{
	const struct h1s_conn *c = r->conn_;
	char ip[INET6_ADDRSTRLEN] = "";
	unsigned port = 0;

	if (c->peer.ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)&c->peer;

		inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
		port = ntohs(a->sin_port);
	} else if (c->peer.ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&c->peer;

		inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
		port = ntohs(a->sin6_port);
	}
	if (ip[0] == '\0')
		snprintf(buf, n, "-");
	else
		snprintf(buf, n, c->peer.ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip, port);
}

/* ---- requests ------------------------------------------------------------------------------- */

/* Hands the request to the handler (or, with e, answers it with the error). The caller must not
 * touch c after. */
static void conn_call(struct h1s_conn *c, const struct lt_err *e)
{
	c->st = C_BUSY;
	c->depth++;
	if (e != NULL) {
		char rid[65];

		lt_request_id(&c->req, rid);
		lt_log_info("request %s: %d %s: %s", rid, e->status, e->code, e->msg);
		lt_pipeline_send_error(&c->req, e, rid);
	} else {
		c->l->handler(&c->req, c->l);
	}
	c->depth--;
	if (c->dead && c->st != C_BUSY)
		conn_free(c);
}

/* A request the server refuses itself: the JSON envelope, then the connection closes. */
static void conn_refuse(struct h1s_conn *c, int status, const char *code, const char *msg)
{
	struct lt_err e;

	lt_err_clear(&e);
	lt_err_set(&e, status, code, "%s", msg);
	c->rd.keep_alive = 0;
	c->req.body = "";
	c->req.body_len = 0;
	conn_call(c, &e);
}

static void conn_dispatch(struct h1s_conn *c, int too_large)
{
	struct lt_hreq *r = &c->req;
	char *t = (char *)c->rd.target, *q;
	size_t n = c->rd.target_len;

	/* The target is NUL-terminated in the buffer: cut it into path and query there too. */
	if ((q = memchr(t, '#', n)) != NULL) {
		*q = '\0';
		n = (size_t)(q - t);
	}
	r->query = NULL;
	if ((q = memchr(t, '?', n)) != NULL) {
		*q = '\0';
		r->query = q + 1;
	}
	r->method = c->rd.method;
	r->path = t;
	r->body_too_large = too_large;
	r->body = too_large || c->body.data == NULL ? "" : c->body.data;
	r->body_len = too_large ? 0 : c->body.len;
	conn_call(c, NULL);
}

/* "100 Continue": the client waits for it before sending the body. 25 bytes into a socket that
 * has nothing else to send: written at once or the connection is given up. */
static int send_continue(struct h1s_conn *c)
{
	static const char line[] = "HTTP/1.1 100 Continue\r\n\r\n";
	int ok;

	if (c->ssl != NULL) {
		ERR_clear_error();
		ok = SSL_write(c->ssl, line, (int)sizeof(line) - 1) == (int)sizeof(line) - 1;
		ERR_clear_error();
	} else {
		ok = send(c->fd, line, sizeof(line) - 1, MSG_NOSIGNAL) == (ssize_t)(sizeof(line) - 1);
	}
	return ok ? 0 : -1;
}

/* Reads the request out of c->in as far as it goes. 0: it needs more bytes (or c is busy);
 * -1: it was handed on or refused, and c may be gone. */
static int conn_process(struct h1s_conn *c)
{
	size_t used;
	enum lt_h1_rc rc;

	if (c->st == C_HEAD) {
		if (c->in_len == 0)
			return 0;
		rc = lt_h1_req_head(&c->rd, c->in, c->in_len, &used);
		if (rc == LT_H1_MORE)
			return 0;
		if (rc == LT_H1_ERROR) {
			conn_refuse(c, c->rd.status, c->rd.code, c->rd.msg);
			return -1;
		}
		if (rc == LT_H1_TOO_LARGE) {
			/* The pipeline answers 413 with the route's name; the body is never read. */
			c->req_end = c->in_len;
			conn_dispatch(c, 1);
			return -1;
		}
		c->body_off = c->req_end = used;
		if (!c->rd.has_body) {
			conn_dispatch(c, 0);
			return -1;
		}
		c->st = C_BODY;
		if (c->rd.expect_continue && c->in_len == used && send_continue(c) < 0) {
			conn_end(c);
			return -1;
		}
	}
	if (c->st != C_BODY || c->in_len == c->body_off)
		goto wait_body;
	rc = lt_h1_req_body(&c->rd, c->in + c->body_off, c->in_len - c->body_off, &used);
	if (rc == LT_H1_DONE) {
		size_t rest = c->in_len - c->body_off - used;

		memmove(c->in + c->body_off, c->in + c->body_off + used, rest);
		c->in_len = c->body_off + rest;
		c->req_end = c->body_off;
		conn_dispatch(c, 0);
		return -1;
	}
	c->in_len = c->body_off;      /* decoded into c->body: the room is read into again */
	if (rc == LT_H1_TOO_LARGE) {
		c->req_end = c->body_off;
		conn_dispatch(c, 1);
		return -1;
	}
	if (rc == LT_H1_ERROR) {
		conn_refuse(c, c->rd.status, c->rd.code, c->rd.msg);
		return -1;
	}
wait_body:
	if (c->st == C_BODY && !c->body_timer) {
		c->body_timer = 1;
		arm_timer(c, limits(c)->body_timeout_ms);
	}
	return 0;
}

/* ---- reading -------------------------------------------------------------------------------- */

/* The client closed its side, or the connection broke (err). -1: c was ended. */
static int conn_closed(struct h1s_conn *c, int err)
{
	if (!err && (c->st == C_BUSY || c->st == C_WRITING)) {
		/* A half-close after the request is legitimate: the answer still goes. */
		c->peer_eof = 1;
		pause_reading(c);
		return 0;
	}
	conn_end(c);
	return -1;
}

/* Room for one more read. The buffer grows while a request is read (a head that filled it leaves
 * no room for its body otherwise); the parsed head moves with it. Once the handler has the
 * request it holds pointers into the buffer: then a full buffer stops reading until the answer. */
static size_t room(struct h1s_conn *c)
{
	/* The head's bound as this request's reader has it (a reload may change the limit meanwhile):
	 * a head at it leaves READ_ROOM, and a longer one is refused before the buffer is full. */
	size_t max = c->rd.max_head + READ_ROOM;

	if (c->in_len == c->in_cap && (c->st == C_HEAD || c->st == C_BODY) && c->in_cap < max) {
		uintptr_t old = (uintptr_t)c->in;

		c->in_cap = c->in_cap * 2 < max ? c->in_cap * 2 : max;
		c->in = lt_xrealloc(c->in, c->in_cap);
		if (c->st == C_BODY)
			lt_h1_req_moved(&c->rd, (intptr_t)((uintptr_t)c->in - old));
	}
	return c->in_cap - c->in_len;
}

/* Reads what the socket has into c->in: one read() per readiness event, TLS until the layer wants
 * more. 0: nothing more now; 1: the buffer is full while a request is read (use it, then call
 * again: the rest may be in TLS's buffer, where no event reports it); -1: c was ended. While a
 * request is busy a full buffer stops reading until the answer is written. */
static int conn_fill(struct h1s_conn *c)
{
	for (;;) {
		size_t space = c->st == C_LINGER ? c->in_cap : room(c);
		ssize_t n;

		if (c->st == C_LINGER)
			c->in_len = 0;          /* dropped */
		if (space == 0) {
			if (c->st == C_HEAD || c->st == C_BODY)
				return 1;
			pause_reading(c);
			return 0;
		}
		if (c->ssl != NULL) {
			int rc, e;

			ERR_clear_error();
			rc = SSL_read(c->ssl, c->in + c->in_len, space > INT32_MAX ? INT32_MAX : (int)space);
			if (rc > 0) {
				c->in_len += (size_t)rc;
				/* Nothing left in OpenSSL's buffers: what the socket may still hold is
				 * reported by the next (level-triggered) event, as with a short read(). */
				if (!SSL_has_pending(c->ssl))
					return 0;
				continue;
			}
			e = SSL_get_error(c->ssl, rc);
			if (e == SSL_ERROR_WANT_READ) {
				ERR_clear_error();
				return 0;
			}
			if (e == SSL_ERROR_WANT_WRITE) {
				ERR_clear_error();
				event_add(c->wev, NULL);
				return 0;
			}
			if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 && errno == 0)) {
				ERR_clear_error();
				return conn_closed(c, 0);
			}
			ERR_clear_error();
			return conn_closed(c, 1);
		}
		n = recv(c->fd, c->in + c->in_len, space, 0);
		if (n > 0) {
			c->in_len += (size_t)n;
			if ((size_t)n < space)
				return 0;       /* drained: the next event says when there is more */
			continue;
		}
		if (n == 0)
			return conn_closed(c, 0);
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		return conn_closed(c, 1);
	}
}

/* Reads and uses what the connection has until it needs the next event. */
static void conn_read(struct h1s_conn *c)
{
	for (;;) {
		int r = conn_fill(c);

		if (r < 0 || conn_process(c) < 0 || r == 0)
			return;
	}
}

static void conn_handshake(struct h1s_conn *c)
{
	int rc, e;

	ERR_clear_error();
	rc = SSL_do_handshake(c->ssl);
	if (rc == 1) {
		c->st = C_HEAD;
		conn_read(c);
		return;
	}
	e = SSL_get_error(c->ssl, rc);
	ERR_clear_error();
	if (e == SSL_ERROR_WANT_READ)
		return;
	if (e == SSL_ERROR_WANT_WRITE) {
		event_add(c->wev, NULL);
		return;
	}
	/* A client without an acceptable certificate, a port scan, a plain HTTP request on TLS. */
	conn_end(c);
}

static void conn_io(evutil_socket_t fd, short what, void *arg)
{
	struct h1s_conn *c = arg;

	(void)fd;
	if (c->dead)
		return;
	switch (c->st) {
	case C_HANDSHAKE:
		conn_handshake(c);
		return;
	case C_WRITING:
		/* Written: a pipelined request is read on the next pass (next_request). */
		if (conn_write(c) != 1)
			return;
		/* Still blocked: bytes the client sends meanwhile wait in the buffer. */
		if ((what & EV_READ) && c->ssl == NULL)
			(void)conn_fill(c);
		else if (what & EV_READ)
			pause_reading(c);   /* TLS: one thing at a time until the answer is out */
		return;
	case C_LINGER:
		(void)conn_fill(c);
		return;
	case C_HEAD:
	case C_BODY:
	case C_BUSY:
		break;
	}
	conn_read(c);
}

static void conn_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct h1s_conn *c = arg;

	(void)fd;
	(void)what;
	switch (c->st) {
	case C_BUSY:
		return;                 /* the upstream call has its own timeouts */
	case C_HEAD:
		/* Idle, or a head that did not come in time (slowloris): closed without an answer.
		 * Nothing of a request is known to answer to, and an answer would be work spent on a
		 * client that is not sending; a keep-alive client knows an idle close. */
		conn_end(c);
		return;
	case C_BODY:
		conn_refuse(c, 408, "request.timeout", "the request body did not arrive within limits.body_timeout");
		return;
	case C_HANDSHAKE:
	case C_WRITING:
	case C_LINGER:
		conn_end(c);
		return;
	}
}

/* ---- listeners ------------------------------------------------------------------------------ */

static void on_accept(evutil_socket_t fd, short what, void *arg);

static void accept_resume(evutil_socket_t fd, short what, void *arg)
{
	struct lt_listener_rt *l = arg;

	(void)fd;
	(void)what;
	if (l->fd >= 0)
		event_add(l->accept_ev, NULL);
}

static void on_accept(evutil_socket_t fd, short what, void *arg)
{
	struct lt_listener_rt *l = arg;

	(void)what;
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		struct sockaddr_storage sa;
		socklen_t len = sizeof(sa);
		int cfd = accept4(fd, (struct sockaddr *)&sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (cfd >= 0) {
			(void)conn_new(l, cfd, &sa, len);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			struct timeval tv = { 0, ACCEPT_PAUSE_MS * 1000 };

			lt_log_warn("cannot accept a connection: %s (pausing %d ms)", strerror(errno), ACCEPT_PAUSE_MS);
			event_del(l->accept_ev);
			evtimer_add(l->accept_pause, &tv);
		}
		return;
	}
}

int lt_h1s_listen(struct lt_listener_rt *l, const struct lt_listener_cfg *lc, int reuseport,
		  lt_hreq_handler handler, struct lt_err *e)
{
	struct evutil_addrinfo hints, *ai = NULL;
	char port[8];
	int one = 1, fd = -1;

	l->fd = -1;
	l->handler = handler;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = EVUTIL_AI_PASSIVE | EVUTIL_AI_ADDRCONFIG;
	snprintf(port, sizeof(port), "%d", lc->port);
	if (evutil_getaddrinfo(lc->host, port, &hints, &ai) != 0 || ai == NULL)
		return lt_err_set(e, 0, "listen", "listener '%s': cannot resolve %s", lc->name, lc->listen);
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 511) < 0) {
		int err = errno;

		if (fd >= 0)
			close(fd);
		evutil_freeaddrinfo(ai);
		return lt_err_set(e, 0, "listen", "listener '%s': cannot listen on %s: %s", lc->name, lc->listen,
				  strerror(err));
	}
	evutil_freeaddrinfo(ai);
	/* Accepted sockets inherit it. Without it a TLS answer waits for the client's delayed ACK
	 * when it takes more than one segment (bench/NOTES.md §1). nginx does the same. */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
		lt_log_warn("listener '%s': cannot set TCP_NODELAY: %s", lc->name, strerror(errno));
	l->accept_ev = event_new(l->srv->base, fd, EV_READ | EV_PERSIST, on_accept, l);
	l->accept_pause = evtimer_new(l->srv->base, accept_resume, l);
	if (l->accept_ev == NULL || l->accept_pause == NULL || event_add(l->accept_ev, NULL) < 0) {
		close(fd);
		return lt_err_set(e, 0, "listen", "listener '%s': cannot watch its socket", lc->name);
	}
	l->fd = fd;
	return 0;
}

void lt_h1s_unlisten(struct lt_listener_rt *l)
{
	if (l->accept_ev != NULL)
		event_free(l->accept_ev);
	if (l->accept_pause != NULL)
		event_free(l->accept_pause);
	l->accept_ev = l->accept_pause = NULL;
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}

size_t lt_h1s_unflushed(const struct lt_server *srv)
{
	return srv->unflushed;
}

void lt_h1s_close_all(struct lt_server *srv)
{
	while (srv->h1_conns != NULL)
		conn_free(srv->h1_conns);
}
