/* log.c: JSON (or plain text) log lines on stderr, one write(2) per line so that lines from
 * concurrent workers never interleave. */
#include <math.h>
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

/* The access line is written once per request: it is built by hand rather than through the
 * printf family (~3.5 % of a request's instructions), byte for byte what "%s", "%d", "%zu" and
 * "%.3f" wrote. */
static void put_uint(struct lt_buf *b, unsigned long long v)
{
	char tmp[24];
	size_t i = sizeof(tmp);

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	lt_buf_append(b, tmp + i, sizeof(tmp) - i);
}

static void put_int(struct lt_buf *b, long long v)
{
	if (v < 0) {
		lt_buf_putc(b, '-');
		put_uint(b, 0ull - (unsigned long long)v);
	} else {
		put_uint(b, (unsigned long long)v);
	}
}

/* "%.3f". v * 1000 is within 1e-7 of the exact product below 1e9, so unless it is that close to a
 * half, rounding it gives printf's digits; the rare near-half, negative or huge value goes to
 * printf itself. */
static void put_ms(struct lt_buf *b, double v)
{
	double scaled = v * 1000.0, frac;
	unsigned long long u;
	char tmp[4];

	if (!(v >= 0 && scaled < 1e9) || signbit(v)) {
		lt_buf_printf(b, "%.3f", v);
		return;
	}
	u = (unsigned long long)scaled;
	frac = scaled - (double)u;
	if (fabs(frac - 0.5) < 1e-6) {
		lt_buf_printf(b, "%.3f", v);
		return;
	}
	if (frac > 0.5)
		u++;
	put_uint(b, u / 1000);
	tmp[0] = '.';
	tmp[1] = (char)('0' + u / 100 % 10);
	tmp[2] = (char)('0' + u / 10 % 10);
	tmp[3] = (char)('0' + u % 10);
	lt_buf_append(b, tmp, sizeof(tmp));
}

/* "2026-11-23T16:45:55.715Z". The date and time of day change once a second: each thread keeps
 * the last one formatted. */
static void put_time(struct lt_buf *b)
{
	static _Thread_local time_t cached_sec = (time_t)-1;
	static _Thread_local char cached[32];
	static _Thread_local size_t cached_len;
	uint64_t ms = lt_wall_ms();
	time_t sec = (time_t)(ms / 1000);
	unsigned frac = (unsigned)(ms % 1000);
	char tail[5];

	if (sec != cached_sec) {
		struct tm tm;

		gmtime_r(&sec, &tm);
		cached_len = strftime(cached, sizeof(cached), "%Y-%m-%dT%H:%M:%S", &tm);
		cached_sec = sec;
	}
	lt_buf_append(b, cached, cached_len);
	tail[0] = '.';
	tail[1] = (char)('0' + frac / 100);
	tail[2] = (char)('0' + frac / 10 % 10);
	tail[3] = (char)('0' + frac % 10);
	tail[4] = 'Z';
	lt_buf_append(b, tail, sizeof(tail));
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
	if (json)
		lt_mask_json(b, v, strlen(v), extra, n_extra);
	else
		lt_mask_text(b, v, strlen(v), extra, n_extra);
}

/* ,"k": — keys are literals of this file, never in need of escaping. */
static void json_key(struct lt_buf *b, const char *k)
{
	lt_buf_append(b, ",\"", 2);
	lt_buf_puts(b, k);
	lt_buf_append(b, "\":", 2);
}

static void json_kv_x(struct lt_buf *b, const char *k, const char *v, char *const *extra, size_t n_extra)
{
	json_key(b, k);
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
	json_key(&b, "status");
	put_int(&b, a->status);
	json_key(&b, "upstream_status");
	if (a->upstream_status > 0)
		put_int(&b, a->upstream_status);
	else
		lt_buf_puts(&b, "null");
	if (a->error_code != NULL)
		json_kv_x(&b, "error", a->error_code, a->masked, a->n_masked);
	if (a->traceparent != NULL)
		json_kv(&b, "traceparent", a->traceparent);
	json_key(&b, "bytes_in");
	put_uint(&b, a->bytes_in);
	json_key(&b, "bytes_out");
	put_uint(&b, a->bytes_out);
	json_key(&b, "latency_ms");
	put_ms(&b, a->latency_ms);
	if (a->upstream_ms >= 0) {
		json_key(&b, "upstream_ms");
		put_ms(&b, a->upstream_ms);
	}
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
