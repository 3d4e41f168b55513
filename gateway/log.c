/* log.c: JSON (or plain text) log lines on stderr, one write(2) per line so that lines from
 * concurrent workers never interleave. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gateway/log.h"
#include "gateway/mask.h"
#include "gateway/util.h"

_Atomic enum lt_log_level lt_log_level_ = LT_LOG_INFO;
static enum lt_log_format log_format = LT_LOG_JSON;

#define LOG_LINE_MAX 8192

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void lt_log_init(enum lt_log_level level, enum lt_log_format format)
{
	lt_log_level_ = level;
	log_format = format;
}

void lt_log_set_level(enum lt_log_level level)
{
	lt_log_level_ = level;
}

static void put_time(struct lt_buf *b)
{
	uint64_t ms = lt_wall_ms();
	time_t sec = (time_t)(ms / 1000);
	struct tm tm;
	char ts[32];

	gmtime_r(&sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	lt_buf_printf(b, "%s.%03uZ", ts, (unsigned)(ms % 1000));
}

static void flush_line(struct lt_buf *b)
{
	if (b->overflow) {
		/* Keep the line valid JSON rather than cutting it at an arbitrary byte. */
		static const char cut[] = "{\"level\":\"error\",\"msg\":\"log line too long, dropped\"}\n";
		(void)!write(STDERR_FILENO, cut, sizeof(cut) - 1);
		return;
	}
	lt_buf_putc(b, '\n');
	(void)!write(STDERR_FILENO, b->data, b->len);
}

/* Every string of every line is masked (gateway/mask.h): personal data never reaches a log by
 * default, whichever module wrote the message. extra: values a mapping marks `mask: true`. */
static void put_masked(struct lt_buf *b, const char *v, int json, char *const *extra, size_t n_extra)
{
	struct lt_buf m;

	lt_buf_init(&m, LOG_LINE_MAX);
	lt_mask_text(&m, v, strlen(v), extra, n_extra);
	if (m.overflow)
		b->overflow = 1;
	else if (json)
		lt_buf_json_str(b, m.data ? m.data : "", m.len);
	else
		lt_buf_append(b, m.data ? m.data : "", m.len);
	lt_buf_free(&m);
}

static void json_kv_x(struct lt_buf *b, const char *k, const char *v, char *const *extra, size_t n_extra)
{
	lt_buf_printf(b, ",\"%s\":", k);
	if (v == NULL) {
		lt_buf_puts(b, "null");
		return;
	}
	lt_buf_putc(b, '"');
	put_masked(b, v, 1, extra, n_extra);
	lt_buf_putc(b, '"');
}

static void json_kv(struct lt_buf *b, const char *k, const char *v)
{
	json_kv_x(b, k, v, NULL, 0);
}

void lt_log_write(enum lt_log_level lvl, const char *fmt, ...)
{
	char msg[LOG_LINE_MAX / 2];
	struct lt_buf b;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	lt_buf_init(&b, LOG_LINE_MAX);
	if (log_format == LT_LOG_TEXT) {
		put_time(&b);
		lt_buf_printf(&b, " [%s] ", level_names[lvl]);
		put_masked(&b, msg, 0, NULL, 0);
	} else {
		lt_buf_puts(&b, "{\"time\":\"");
		put_time(&b);
		lt_buf_printf(&b, "\",\"type\":\"log\",\"level\":\"%s\"", level_names[lvl]);
		json_kv(&b, "msg", msg);
		lt_buf_putc(&b, '}');
	}
	flush_line(&b);
	lt_buf_free(&b);
}

void lt_log_access(const struct lt_access *a)
{
	struct lt_buf b;

	if (!lt_log_enabled(LT_LOG_INFO))
		return;
	lt_buf_init(&b, LOG_LINE_MAX);
	if (log_format == LT_LOG_TEXT) {
		put_time(&b);
		struct lt_buf t;

		lt_buf_init(&t, LOG_LINE_MAX);
		lt_buf_printf(&t, " %s %s %s %d route=%s client=%s upstream=%s upstream_status=%ld "
			      "bytes_in=%zu bytes_out=%zu latency_ms=%.3f", a->request_id ? a->request_id : "-",
			      a->method ? a->method : "-", a->path ? a->path : "-", a->status,
			      a->route ? a->route : "-", a->client ? a->client : "-",
			      a->upstream ? a->upstream : "-", a->upstream_status, a->bytes_in, a->bytes_out,
			      a->latency_ms);
		if (a->traceparent != NULL)
			lt_buf_printf(&t, " traceparent=%s", a->traceparent);
		put_masked(&b, t.data ? t.data : "", 0, a->masked, a->n_masked);
		lt_buf_free(&t);
		flush_line(&b);
		lt_buf_free(&b);
		return;
	}
	lt_buf_puts(&b, "{\"time\":\"");
	put_time(&b);
	lt_buf_puts(&b, "\",\"type\":\"access\"");
	json_kv_x(&b, "request_id", a->request_id, a->masked, a->n_masked);
	json_kv_x(&b, "method", a->method, a->masked, a->n_masked);
	json_kv_x(&b, "path", a->path, a->masked, a->n_masked);
	json_kv_x(&b, "route", a->route, a->masked, a->n_masked);
	json_kv_x(&b, "client", a->client, a->masked, a->n_masked);
	json_kv_x(&b, "upstream", a->upstream, a->masked, a->n_masked);
	lt_buf_printf(&b, ",\"status\":%d", a->status);
	if (a->upstream_status > 0)
		lt_buf_printf(&b, ",\"upstream_status\":%ld", a->upstream_status);
	else
		lt_buf_puts(&b, ",\"upstream_status\":null");
	if (a->error_code != NULL)
		json_kv_x(&b, "error", a->error_code, a->masked, a->n_masked);
	if (a->traceparent != NULL)
		json_kv(&b, "traceparent", a->traceparent);
	lt_buf_printf(&b, ",\"bytes_in\":%zu,\"bytes_out\":%zu,\"latency_ms\":%.3f", a->bytes_in, a->bytes_out,
		      a->latency_ms);
	if (a->upstream_ms >= 0)
		lt_buf_printf(&b, ",\"upstream_ms\":%.3f", a->upstream_ms);
	lt_buf_putc(&b, '}');
	flush_line(&b);
	lt_buf_free(&b);
}

void lt_log_audit(const char *event, const char *detail)
{
	struct lt_buf b;

	lt_buf_init(&b, LOG_LINE_MAX);
	lt_buf_puts(&b, "{\"time\":\"");
	put_time(&b);
	lt_buf_puts(&b, "\",\"type\":\"audit\"");
	json_kv(&b, "event", event);
	if (detail != NULL && *detail != '\0') {
		lt_buf_putc(&b, ',');
		/* Masking replaces digits and letters only, so the JSON stays JSON. */
		put_masked(&b, detail, 0, NULL, 0);
	}
	lt_buf_putc(&b, '}');
	flush_line(&b);
	lt_buf_free(&b);
}
