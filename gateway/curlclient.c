/* curlclient.c: the libcurl transport of upstream calls: curl's multi interface driven by the
 * gateway's libevent loop (STACK.md §2a, curl's hiperfifo pattern), for upstreams configured with
 * `client: curl`. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>

#include "gateway/curlclient.h"
#include "gateway/log.h"

/* Connections to one upstream (host and port) at once; more calls queue inside curl and reuse
 * them. A burst of city requests must not become a burst of TLS handshakes at the national portal:
 * the handshakes alone would time out, and partners rate-limit connections. */
#define UPSTREAM_MAX_HOST_CONNECTIONS 32L

/* Easy handles kept for the next calls (per loop): curl_easy_init + cleanup cost ~14k
 * instructions a call, and the constant options need not be set again. */
#define IDLE_HANDLES_MAX 64

struct lt_curlc {
	struct event_base *base;
	CURLM *multi;
	CURLSH *share;
	struct event *timer;
	/* curl's connection sockets by fd, from the sockopt callback (just after socket()) to the
	 * closesocket callback (just before close()): see socket_cb for why. */
	struct sock_watch **conns;
	size_t n_conns;
	CURL *idle[IDLE_HANDLES_MAX];
	size_t n_idle;
	char *default_cainfo;           /* the CA bundle of a fresh handle, restored for upstreams without `ca` */
	size_t expect_above;            /* POST bodies past this size get "Expect:" (see expect_threshold) */
};

/* One per socket curl watches, assigned with curl_multi_assign. */
struct sock_watch {
	struct lt_curlc *client;
	struct event *ev;               /* NULL until the socket is first watched */
	curl_socket_t fd;
	short kind;                     /* EV_READ | EV_WRITE registered with ev now; 0 when none */
	int conn;                       /* a connection socket: closed only through close_cb */
	int parked;                     /* curl said REMOVE: idle in the pool, still registered */
};

/* A finished transfer's handle goes back to the pool; curl resets its per-transfer state when it
 * is added again. Nothing reads the call's pointers it still holds (errbuf, headers, body) while
 * it is idle. */
static void handle_put(struct lt_curlc *c, CURL *h)
{
	if (c->n_idle < IDLE_HANDLES_MAX)
		c->idle[c->n_idle++] = h;
	else
		curl_easy_cleanup(h);
}

static void check_done(struct lt_curlc *c)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(c->multi, &left)) != NULL) {
		struct lt_upcall *call = NULL;
		CURLcode rc;
		char *ctype = NULL;
		double total = 0;
		CURL *easy;

		if (msg->msg != CURLMSG_DONE)
			continue;
		rc = msg->data.result;
		/* msg lives inside the easy handle's state: curl_multi_remove_handle ends its validity. */
		easy = msg->easy_handle;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&call);
		curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &call->status);
		curl_easy_getinfo(easy, CURLINFO_TOTAL_TIME, &total);
		if (curl_easy_getinfo(easy, CURLINFO_CONTENT_TYPE, &ctype) == CURLE_OK && ctype != NULL)
			snprintf(call->content_type, sizeof(call->content_type), "%s", ctype);
		call->elapsed_ms = total * 1000.0;
		switch (rc) {
		case CURLE_OK:
			call->fail = LT_UP_OK;
			break;
		case CURLE_COULDNT_CONNECT:
		case CURLE_COULDNT_RESOLVE_HOST:
		case CURLE_COULDNT_RESOLVE_PROXY:
			call->fail = LT_UP_CONNECT;
			break;
		case CURLE_OPERATION_TIMEDOUT:
			call->fail = LT_UP_TIMEOUT;
			break;
		case CURLE_SSL_CONNECT_ERROR:
		case CURLE_PEER_FAILED_VERIFICATION:
		case CURLE_SSL_CERTPROBLEM:
		case CURLE_SSL_CIPHER:
		case CURLE_SSL_CACERT_BADFILE:
		case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		case CURLE_SSL_INVALIDCERTSTATUS:
		case CURLE_SSL_ISSUER_ERROR:
		case CURLE_SSL_CRL_BADFILE:
		case CURLE_SSL_ENGINE_INITFAILED:
		case CURLE_USE_SSL_FAILED:
			call->fail = LT_UP_TLS;
			break;
		case CURLE_WRITE_ERROR:
			call->fail = call->response.overflow ? LT_UP_TOO_LARGE : LT_UP_INTERNAL;
			break;
		default:
			call->fail = LT_UP_PROTOCOL;
			break;
		}
		if (call->fail != LT_UP_OK && call->errbuf[0] == '\0')
			snprintf(call->errbuf, sizeof(call->errbuf), "%s", curl_easy_strerror(rc));
		curl_multi_remove_handle(c->multi, easy);
		handle_put(c, easy);
		curl_slist_free_all(call->impl_);
		call->impl_ = NULL;
		lt_upcall_finished_(call);
	}
}

static void watch_free(struct sock_watch *w)
{
	if (w->ev != NULL)
		event_free(w->ev);
	free(w);
}

static void on_socket_event(evutil_socket_t fd, short what, void *arg)
{
	struct sock_watch *w = arg;
	struct lt_curlc *c = w->client;
	int mask = 0, running;

	if (w->parked) {
		/* An idle pooled connection became readable: the peer closed it or sent something
		 * unasked. No transfer wants it; stop watching (curl's liveness check on reuse finds it
		 * dead and closes it) rather than spin on a level-triggered event. */
		event_del(w->ev);
		w->kind = 0;
		return;
	}
	if (what & EV_READ)
		mask |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		mask |= CURL_CSELECT_OUT;
	curl_multi_socket_action(c->multi, fd, mask, &running);
	check_done(c);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct lt_curlc *c = arg;
	int running;

	(void)fd;
	(void)what;
	curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(c);
}

/* The watch of a connection socket curl opened, or NULL. */
static struct sock_watch *conn_watch(struct lt_curlc *c, curl_socket_t s)
{
	return s >= 0 && (size_t)s < c->n_conns ? c->conns[s] : NULL;
}

/* Registers exactly `kind` for w's socket, touching libevent only when it changes: curl repeats
 * the same request for every transfer on a connection. */
static void watch_set(struct lt_curlc *c, struct sock_watch *w, short kind)
{
	if (w->ev != NULL && w->kind == kind)
		return;
	if (w->ev == NULL) {
		w->ev = event_new(c->base, w->fd, EV_PERSIST | kind, on_socket_event, w);
		if (w->ev == NULL)
			return;
	} else {
		event_del(w->ev);
		event_assign(w->ev, c->base, w->fd, EV_PERSIST | kind, on_socket_event, w);
	}
	if (event_add(w->ev, NULL) == 0)
		w->kind = kind;
}

/* Never calls back into curl (CURLM_RECURSIVE_API_CALL) and never returns -1: that would abort
 * every transfer of the multi handle, not just this socket's (curl #8083).
 *
 * A connection socket stays registered when curl says REMOVE (its transfer is done and it goes
 * back to the pool): the next transfer on it asks for the same events, and keeping them saves an
 * epoll_ctl DEL and ADD per request. This is safe because such a socket is closed only through
 * close_cb (CURLOPT_CLOSESOCKETFUNCTION, which curl calls for every connection socket it closes),
 * and close_cb frees the event before close(): an fd is never closed while libevent still has it,
 * so a reused fd number can never inherit a stale registration. Sockets curl did not open for a
 * connection (a resolver's socketpair, closed without that callback) are unregistered on REMOVE. */
static int socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct lt_curlc *c = userp;
	struct sock_watch *w = socketp != NULL ? socketp : conn_watch(c, s);

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (w != NULL && w->conn)
			w->parked = 1;
		else if (w != NULL)
			watch_free(w);
		return 0;
	}
	if (w == NULL) {
		w = lt_xcalloc(1, sizeof(*w));
		w->client = c;
		w->fd = s;
	}
	if (socketp == NULL)
		curl_multi_assign(c->multi, s, w);
	w->parked = 0;
	watch_set(c, w, (short)(((what & CURL_POLL_IN) ? EV_READ : 0) | ((what & CURL_POLL_OUT) ? EV_WRITE : 0)));
	return 0;
}

/* curl made a connection socket: from now on it is closed only through close_cb. */
static int sockopt_cb(void *clientp, curl_socket_t s, curlsocktype purpose)
{
	struct lt_curlc *c = clientp;
	struct sock_watch *w;

	if (purpose != CURLSOCKTYPE_IPCXN || s < 0)
		return CURL_SOCKOPT_OK;
	if ((size_t)s >= c->n_conns) {
		size_t n = (size_t)s + 16;

		c->conns = lt_xrealloc(c->conns, n * sizeof(*c->conns));
		memset(c->conns + c->n_conns, 0, (n - c->n_conns) * sizeof(*c->conns));
		c->n_conns = n;
	}
	if (c->conns[s] != NULL)        /* cannot happen: its close went through close_cb */
		watch_free(c->conns[s]);
	w = lt_xcalloc(1, sizeof(*w));
	w->client = c;
	w->fd = s;
	w->conn = 1;
	c->conns[s] = w;
	return CURL_SOCKOPT_OK;
}

/* curl closes a connection socket: its event goes first, while the fd is still this socket. */
static int close_cb(void *clientp, curl_socket_t s)
{
	struct lt_curlc *c = clientp;
	struct sock_watch *w = conn_watch(c, s);

	if (w != NULL) {
		c->conns[s] = NULL;
		watch_free(w);
	}
	return close(s);
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct lt_curlc *c = userp;
	struct timeval tv;

	(void)multi;
	if (timeout_ms < 0) {
		evtimer_del(c->timer);
		return 0;
	}
	/* 0 too is armed, not run here: running it now would recurse into curl. */
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	evtimer_add(c->timer, &tv);
	return 0;
}

/* libcurl asks the server for "100-continue" before sending a POST body larger than this and
 * waits for it, which some legacy endpoints never send; an "Expect:" header turns that off. It is
 * sent only when curl would ask, because each custom header costs curl ~3.8k instructions to
 * format (bench/NOTES.md). libcurl 7.88 asks past 1 MiB (checked: 1,048,576 bytes go without,
 * 1,048,577 with); older ones are taken to ask past 1 KiB, as libcurl once did. */
static size_t expect_threshold(void)
{
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);

	return v != NULL && v->version_num >= 0x075800 ? 1024u * 1024 : 1024u;
}

struct lt_curlc *lt_curlc_new(struct event_base *base)
{
	struct lt_curlc *c = lt_xcalloc(1, sizeof(*c));

	c->base = base;
	c->multi = curl_multi_init();
	c->expect_above = expect_threshold();
	c->share = curl_share_init();
	c->timer = evtimer_new(base, on_timer, c);
	if (c->multi == NULL || c->share == NULL || c->timer == NULL) {
		lt_log_error("cannot initialise libcurl multi handle");
		lt_curlc_free(c);
		return NULL;
	}
	/* Single-threaded per loop: no lock callbacks needed. TLS sessions resume across calls. */
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, 256L);
	curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, UPSTREAM_MAX_HOST_CONNECTIONS);
	return c;
}

void lt_curlc_max_host_connections(struct lt_curlc *c, long n)
{
	curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, n > 0 ? n : 1L);
}

void lt_curlc_free(struct lt_curlc *c)
{
	if (c == NULL)
		return;
	/* The pool's connections are closed through close_cb, which still needs c->conns. */
	if (c->multi != NULL)
		curl_multi_cleanup(c->multi);
	while (c->n_idle > 0)
		curl_easy_cleanup(c->idle[--c->n_idle]);
	if (c->share != NULL)
		curl_share_cleanup(c->share);
	for (size_t i = 0; i < c->n_conns; i++)
		if (c->conns[i] != NULL)
			watch_free(c->conns[i]);
	free(c->conns);
	free(c->default_cainfo);
	if (c->timer != NULL)
		event_free(c->timer);
	free(c);
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct lt_upcall *call = userdata;
	size_t n = size * nmemb;

	if (lt_buf_append(&call->response, ptr, n) < 0)
		return CURL_WRITEFUNC_ERROR;
	return n;
}

/* A handle from the pool, or a new one with the options every call shares. NULL when curl cannot. */
static CURL *handle_get(struct lt_curlc *c)
{
	CURL *h;

	if (c->n_idle > 0)
		return c->idle[--c->n_idle];
	if ((h = curl_easy_init()) == NULL)
		return NULL;
	if (c->default_cainfo == NULL) {
		char *ca = NULL;

		curl_easy_getinfo(h, CURLINFO_CAINFO, &ca);
		c->default_cainfo = lt_xstrdup(ca != NULL ? ca : "");
	}
	curl_easy_setopt(h, CURLOPT_SHARE, c->share);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(h, CURLOPT_SOCKOPTFUNCTION, sockopt_cb);
	curl_easy_setopt(h, CURLOPT_SOCKOPTDATA, c);
	curl_easy_setopt(h, CURLOPT_CLOSESOCKETFUNCTION, close_cb);
	curl_easy_setopt(h, CURLOPT_CLOSESOCKETDATA, c);
	return h;
}

/* The call's header block as curl's list, one entry per line. */
static struct curl_slist *header_list(const struct lt_buf *h)
{
	struct curl_slist *list = NULL, *n;
	const char *p = h->data, *end = h->data + h->len;

	while (p != NULL && p < end) {
		const char *eol = memchr(p, '\r', (size_t)(end - p));
		size_t len = eol != NULL ? (size_t)(eol - p) : (size_t)(end - p);
		char *line = lt_xstrndup(p, len);

		n = curl_slist_append(list, line);
		free(line);
		if (n == NULL) {
			fprintf(stderr, "lienthong: out of memory building headers\n");
			abort();
		}
		list = n;
		p += len + 2;
	}
	return list;
}

int lt_curlc_start(struct lt_curlc *c, struct lt_upcall *call, struct lt_err *e)
{
	const struct lt_upstream_cfg *u = call->cfg;
	CURL *h = handle_get(c);
	int get = strcmp(call->method, "GET") == 0;
	struct curl_slist *headers;

	if (h == NULL)
		return lt_err_set(e, 500, "internal", "cannot create an upstream transfer");
	headers = header_list(&call->headers);
	/* Everything that may differ from the handle's last call is set on every call, to the
	 * default when this call has none, so that a pooled handle behaves as a fresh one. */
	curl_easy_setopt(h, CURLOPT_PRIVATE, call);
	curl_easy_setopt(h, CURLOPT_URL, call->url);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, call->errbuf);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, call);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)u->connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)u->total_timeout_ms);
	curl_easy_setopt(h, CURLOPT_CAINFO, u->ca != NULL ? u->ca : (c->default_cainfo[0] ? c->default_cainfo : NULL));
	curl_easy_setopt(h, CURLOPT_SSLCERT, u->cert);
	curl_easy_setopt(h, CURLOPT_SSLKEY, u->key);
	curl_easy_setopt(h, CURLOPT_PINNEDPUBLICKEY, u->pin);
	if (!get && call->body_len > c->expect_above && !lt_header_has(&call->headers, "Expect"))
		headers = curl_slist_append(headers, "Expect:");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	/* POSTFIELDS makes the method POST; HTTPGET after it makes it GET again. */
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, get ? NULL : call->body ? call->body : "");
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, get ? (curl_off_t)-1 : (curl_off_t)call->body_len);
	if (get)
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, get || strcmp(call->method, "POST") == 0 ? NULL : call->method);
	if (curl_multi_add_handle(c->multi, h) != CURLM_OK) {
		curl_easy_cleanup(h);
		curl_slist_free_all(headers);
		return lt_err_set(e, 500, "internal", "cannot start an upstream transfer");
	}
	call->impl_ = headers;
	/* curl asked (through timer_cb) to be run at once: run it from this loop iteration's active
	 * callbacks instead of a zero timer, which costs an extra epoll_wait(0) per call. Still never
	 * from inside this function (done() must not run before it returns). */
	event_active(c->timer, EV_TIMEOUT, 0);
	return 0;
}
