/* log.h: the process's log lines: one JSON object per line on stderr (journald, a file or a pipe
 * take it from there), either a message, an access line (one per request) or an audit line.
 * The level is tested before anything is formatted (nginx's ngx_log_error habit). Every string
 * in every line goes through gateway/mask.h: personal data is masked by default. */
#ifndef LT_LOG_H
#define LT_LOG_H

#include <stddef.h>
#include "gateway/config.h"

void lt_log_init(enum lt_log_level level, enum lt_log_format format);
void lt_log_set_level(enum lt_log_level level);
extern _Atomic enum lt_log_level lt_log_level_;   /* atomic: a reload changes it under running loops */

#define lt_log_enabled(lvl) ((lvl) <= lt_log_level_)
#define lt_log(lvl, ...) do { if (lt_log_enabled(lvl)) lt_log_write((lvl), __VA_ARGS__); } while (0)
#define lt_log_error(...) lt_log(LT_LOG_ERROR, __VA_ARGS__)
#define lt_log_warn(...)  lt_log(LT_LOG_WARN, __VA_ARGS__)
#define lt_log_info(...)  lt_log(LT_LOG_INFO, __VA_ARGS__)
#define lt_log_debug(...) lt_log(LT_LOG_DEBUG, __VA_ARGS__)

/* Writes {"time":..,"level":..,"msg":..}. Call through lt_log(). */
void lt_log_write(enum lt_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One access line per request (SPEC.md / issue: time, request id, route, client identity, upstream,
 * status, upstream status, bytes, latency). Strings are borrowed; NULL ones are written as null. */
struct lt_access {
	const char *request_id;
	const char *method;
	const char *path;
	const char *route;
	const char *client;
	const char *upstream;
	const char *error_code;     /* the envelope code when the gateway answered with an error */
	const char *traceparent;
	int status;
	long upstream_status;       /* 0 = no upstream answer */
	size_t bytes_in, bytes_out;
	double latency_ms;
	double upstream_ms;         /* < 0 = no upstream call */
	char *const *masked;        /* values a mapping marks `mask: true`: hidden in every field */
	size_t n_masked;
};
void lt_log_access(const struct lt_access *a);

/* An audit line ({"type":"audit","event":..,..}); detail is a preformatted JSON object body
 * ("\"route\":\"x\",\"reason\":\"y\"") or NULL. */
void lt_log_audit(const char *event, const char *detail);

#endif
