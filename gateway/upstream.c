/* upstream.c: libcurl multi on libevent. */
#include <stdlib.h>
#include <string.h>

#include "gateway/upstream.h"
#include "gateway/log.h"

#define UPSTREAM_MAX_RESPONSE (8u * 1024 * 1024)
/* Connections to one upstream (host and port) at once; more calls queue inside curl and reuse
 * them. A burst of city requests must not become a burst of TLS handshakes at the national portal:
 * the handshakes alone would time out, and partners rate-limit connections. */
#define UPSTREAM_MAX_HOST_CONNECTIONS 32L

struct lt_upclient {
	struct event_base *base;
	CURLM *multi;
	CURLSH *share;
	struct event *timer;
	size_t active;
};

/* One per socket curl watches, assigned with curl_multi_assign. */
struct sock_watch {
	struct lt_upclient *client;
	struct event *ev;
	curl_socket_t fd;
};

static void check_done(struct lt_upclient *c)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(c->multi, &left)) != NULL) {
		struct lt_upcall *call = NULL;
		CURLcode rc;
		char *ctype = NULL;
		double total = 0;

		if (msg->msg != CURLMSG_DONE)
			continue;
		rc = msg->data.result;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&call);
		curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &call->status);
		curl_easy_getinfo(msg->easy_handle, CURLINFO_TOTAL_TIME, &total);
		if (curl_easy_getinfo(msg->easy_handle, CURLINFO_CONTENT_TYPE, &ctype) == CURLE_OK && ctype != NULL)
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
		curl_multi_remove_handle(c->multi, msg->easy_handle);
		curl_easy_cleanup(msg->easy_handle);
		call->easy_ = NULL;
		c->active--;
		call->done(call, call->arg);
	}
}

static void on_socket_event(evutil_socket_t fd, short what, void *arg)
{
	struct lt_upclient *c = arg;
	int mask = 0, running;

	if (what & EV_READ)
		mask |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		mask |= CURL_CSELECT_OUT;
	curl_multi_socket_action(c->multi, fd, mask, &running);
	check_done(c);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct lt_upclient *c = arg;
	int running;

	(void)fd;
	(void)what;
	curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(c);
}

/* Never calls back into curl (CURLM_RECURSIVE_API_CALL) and never returns -1: that would abort
 * every transfer of the multi handle, not just this socket's (curl #8083). */
static int socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct lt_upclient *c = userp;
	struct sock_watch *w = socketp;
	short kind;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (w != NULL) {
			event_free(w->ev);
			free(w);
		}
		return 0;
	}
	kind = EV_PERSIST | ((what & CURL_POLL_IN) ? EV_READ : 0) | ((what & CURL_POLL_OUT) ? EV_WRITE : 0);
	if (w == NULL) {
		w = lt_xcalloc(1, sizeof(*w));
		w->client = c;
		w->fd = s;
		w->ev = event_new(c->base, s, kind, on_socket_event, c);
		curl_multi_assign(c->multi, s, w);
	} else {
		event_del(w->ev);
		event_assign(w->ev, c->base, s, kind, on_socket_event, c);
	}
	if (w->ev != NULL)
		event_add(w->ev, NULL);
	return 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct lt_upclient *c = userp;
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

struct lt_upclient *lt_upclient_new(struct event_base *base)
{
	struct lt_upclient *c = lt_xcalloc(1, sizeof(*c));

	c->base = base;
	c->multi = curl_multi_init();
	c->share = curl_share_init();
	c->timer = evtimer_new(base, on_timer, c);
	if (c->multi == NULL || c->share == NULL || c->timer == NULL) {
		lt_log_error("cannot initialise libcurl multi handle");
		lt_upclient_free(c);
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

void lt_upclient_max_host_connections(struct lt_upclient *c, long n)
{
	curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, n > 0 ? n : 1L);
}

void lt_upclient_free(struct lt_upclient *c)
{
	if (c == NULL)
		return;
	if (c->multi != NULL)
		curl_multi_cleanup(c->multi);
	if (c->share != NULL)
		curl_share_cleanup(c->share);
	if (c->timer != NULL)
		event_free(c->timer);
	free(c);
}

size_t lt_upclient_active(const struct lt_upclient *c)
{
	return c->active;
}

void lt_upcall_init(struct lt_upcall *call)
{
	memset(call, 0, sizeof(*call));
	lt_buf_init(&call->response, UPSTREAM_MAX_RESPONSE);
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct lt_upcall *call = userdata;
	size_t n = size * nmemb;

	if (lt_buf_append(&call->response, ptr, n) < 0)
		return CURL_WRITEFUNC_ERROR;
	return n;
}

int lt_upcall_start(struct lt_upclient *c, struct lt_upcall *call, struct lt_err *e)
{
	const struct lt_upstream_cfg *u = call->cfg;
	CURL *h = curl_easy_init();

	if (h == NULL)
		return lt_err_set(e, 500, "internal", "cannot create an upstream transfer");
	lt_buf_free(&call->response);
	lt_buf_init(&call->response, call->max_response ? call->max_response : UPSTREAM_MAX_RESPONSE);
	call->fail = LT_UP_INTERNAL;
	call->status = 0;
	call->content_type[0] = '\0';
	call->errbuf[0] = '\0';
	call->client_ = c;
	call->easy_ = h;
	curl_easy_setopt(h, CURLOPT_PRIVATE, call);
	curl_easy_setopt(h, CURLOPT_SHARE, c->share);
	curl_easy_setopt(h, CURLOPT_URL, call->url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, call->errbuf);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, call);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)u->connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)u->total_timeout_ms);
	curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (u->ca != NULL)
		curl_easy_setopt(h, CURLOPT_CAINFO, u->ca);
	if (u->cert != NULL)
		curl_easy_setopt(h, CURLOPT_SSLCERT, u->cert);
	if (u->key != NULL)
		curl_easy_setopt(h, CURLOPT_SSLKEY, u->key);
	if (u->pin != NULL)
		curl_easy_setopt(h, CURLOPT_PINNEDPUBLICKEY, u->pin);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, call->headers);
	if (strcmp(call->method, "GET") == 0) {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	} else {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, call->body ? call->body : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)call->body_len);
		if (strcmp(call->method, "POST") != 0)
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, call->method);
	}
	if (curl_multi_add_handle(c->multi, h) != CURLM_OK) {
		curl_easy_cleanup(h);
		call->easy_ = NULL;
		return lt_err_set(e, 500, "internal", "cannot start an upstream transfer");
	}
	c->active++;
	return 0;
}

void lt_upcall_release(struct lt_upcall *call)
{
	LT_FREE(call->url);
	curl_slist_free_all(call->headers);
	call->headers = NULL;
	LT_FREE(call->body);
	call->body_len = 0;
	lt_buf_free(&call->response);
}

int lt_upcall_error(const struct lt_upcall *call, const char *upstream, struct lt_err *e)
{
	switch (call->fail) {
	case LT_UP_CONNECT:
		return lt_err_set(e, 502, "upstream.connect", "cannot connect to upstream '%s': %s", upstream,
				  call->errbuf);
	case LT_UP_TIMEOUT:
		return lt_err_set(e, 504, "upstream.timeout", "upstream '%s' did not answer in time: %s", upstream,
				  call->errbuf);
	case LT_UP_TLS:
		return lt_err_set(e, 502, "upstream.tls", "TLS with upstream '%s' failed: %s", upstream,
				  call->errbuf);
	case LT_UP_TOO_LARGE:
		return lt_err_set(e, 502, "upstream.too_large", "upstream '%s' answered more than %zu bytes",
				  upstream, call->response.max);
	case LT_UP_PROTOCOL:
		return lt_err_set(e, 502, "upstream.protocol", "upstream '%s' answered badly: %s", upstream,
				  call->errbuf);
	case LT_UP_OK:
	case LT_UP_INTERNAL:
	default:
		return lt_err_set(e, 502, "upstream.error", "call to upstream '%s' failed: %s", upstream,
				  call->errbuf[0] ? call->errbuf : "internal error");
	}
}

struct curl_slist *lt_header_add(struct curl_slist *list, const char *name, const char *value)
{
	char *line = lt_xasprintf("%s: %s", name, value);
	struct curl_slist *n = curl_slist_append(list, line);

	free(line);
	if (n == NULL) {
		fprintf(stderr, "lienthong: out of memory building headers\n");
		abort();
	}
	return n;
}
