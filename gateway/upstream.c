/* upstream.c: the upstream call interface, shared by both transports: a call's life, its header
 * block, its errors, and which transport carries it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gateway/upstream.h"
#include "gateway/curlclient.h"
#include "gateway/h1client.h"
#include "gateway/log.h"

#define UPSTREAM_MAX_RESPONSE (8u * 1024 * 1024)

struct lt_upclient {
	struct event_base *base;
	struct lt_h1c *native;
	struct lt_curlc *curl;          /* made at the first `client: curl` call */
	long max_host;                  /* 0 = the transports' default */
	size_t active;
};

struct lt_upclient *lt_upclient_new(struct event_base *base)
{
	struct lt_upclient *c = lt_xcalloc(1, sizeof(*c));

	c->base = base;
	if ((c->native = lt_h1c_new(base)) == NULL) {
		free(c);
		return NULL;
	}
	return c;
}

void lt_upclient_free(struct lt_upclient *c)
{
	if (c == NULL)
		return;
	lt_h1c_free(c->native);
	lt_curlc_free(c->curl);
	free(c);
}

void lt_upclient_max_host_connections(struct lt_upclient *c, long n)
{
	c->max_host = n;
	lt_h1c_max_host_connections(c->native, n);
	if (c->curl != NULL)
		lt_curlc_max_host_connections(c->curl, n);
}

size_t lt_upclient_active(const struct lt_upclient *c)
{
	return c->active;
}

void lt_upcall_init(struct lt_upcall *call)
{
	memset(call, 0, sizeof(*call));
	lt_buf_init(&call->response, UPSTREAM_MAX_RESPONSE);
	lt_buf_init(&call->headers, LT_UPCALL_MAX_HEADERS);
}

int lt_upcall_start(struct lt_upclient *c, struct lt_upcall *call, struct lt_err *e)
{
	int rc;

	if (call->headers.overflow)
		return lt_err_set(e, 500, "internal", "the headers for upstream '%s' are over %u bytes",
				  call->cfg->name, LT_UPCALL_MAX_HEADERS);
	/* The response buffer keeps its memory from an earlier attempt of the same call. */
	call->response.max = call->max_response ? call->max_response : UPSTREAM_MAX_RESPONSE;
	lt_buf_reset(&call->response);
	call->fail = LT_UP_INTERNAL;
	call->status = 0;
	call->content_type[0] = '\0';
	call->errbuf[0] = '\0';
	call->elapsed_ms = 0;
	call->client_ = c;
	if (call->cfg->client == LT_CLIENT_CURL) {
		if (c->curl == NULL) {
			if ((c->curl = lt_curlc_new(c->base)) == NULL)
				return lt_err_set(e, 500, "internal", "cannot start libcurl");
			if (c->max_host > 0)
				lt_curlc_max_host_connections(c->curl, c->max_host);
		}
		rc = lt_curlc_start(c->curl, call, e);
	} else {
		rc = lt_h1c_start(c->native, call, e);
	}
	if (rc == 0)
		c->active++;
	return rc;
}

void lt_upcall_finished_(struct lt_upcall *call)
{
	call->client_->active--;
	call->done(call, call->arg);
}

void lt_upcall_release(struct lt_upcall *call)
{
	LT_FREE(call->url);
	lt_buf_free(&call->headers);
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

/* Appends s[0..n) with CR and LF turned into spaces. */
static void put_field_text(struct lt_buf *h, const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t run = strcspn(s + i, "\r\n");

		if (run > n - i)
			run = n - i;
		lt_buf_append(h, s + i, run);
		i += run;
		if (i < n) {
			lt_buf_putc(h, ' ');
			i++;
		}
	}
}

void lt_header_add(struct lt_buf *h, const char *name, const char *value)
{
	put_field_text(h, name, strlen(name));
	lt_buf_append(h, ": ", 2);
	put_field_text(h, value, strlen(value));
	lt_buf_append(h, "\r\n", 2);
}

void lt_header_line(struct lt_buf *h, const char *line)
{
	put_field_text(h, line, strlen(line));
	lt_buf_append(h, "\r\n", 2);
}

int lt_header_has(const struct lt_buf *h, const char *name)
{
	size_t n = strlen(name);
	const char *p = h->data, *end = h->data + h->len;

	while (p != NULL && p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));

		if ((size_t)(end - p) > n && strncasecmp(p, name, n) == 0 && p[n] == ':')
			return 1;
		p = eol != NULL ? eol + 1 : end;
	}
	return 0;
}
