/* metrics.h: the process's counters and latency histograms (SPEC.md § Metrics), kept per route
 * and per upstream name across reloads, plus a ring of 10-second buckets of the last five minutes
 * for the status page (rates and p50/p99 "now", which cumulative Prometheus counters cannot give a
 * person without a Prometheus). One mutex guards everything: an update is a few additions, so
 * it stays correct when several event loops update at once, at no measurable cost.
 *
 * Other modules feed it through hooks: the store's queue depth, the circuit breaker's state and
 * the store's writability (for /readyz) are asked for when a page is rendered. */
#ifndef LT_METRICS_H
#define LT_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include "gateway/util.h"

#define LT_LAT_BOUNDS 15            /* histogram buckets, seconds (the last, +Inf, is implicit) */
extern const double lt_lat_bounds[LT_LAT_BOUNDS];

#define LT_WINDOW_SECONDS 300       /* what the status page summarises */

/* Recording (any thread). Names are copied on first sight. */
void lt_metrics_request(const char *route, int status, double seconds);
/* kind NULL = an answer arrived; else connect | timeout | tls | protocol | status | bad_response ... */
void lt_metrics_upstream(const char *upstream, double seconds, const char *kind);
void lt_metrics_tls_failure(const char *listener, const char *reason);
/* One request answered by event loop `loop` (lienthong_loop_requests_total{loop}): shows that
 * every worker takes its share of the traffic. */
#define LT_MAX_LOOPS 256
void lt_metrics_loop_request(int loop);

/* The last LT_WINDOW_SECONDS of one route or upstream. */
struct lt_window {
	uint64_t count, err4, err5;     /* err4/err5: answers 4xx / 5xx (upstreams: err5 = any failure) */
	uint64_t lat[LT_LAT_BOUNDS + 1];
	double seconds;                 /* how long the window really covers (less after start-up) */
};
/* 0 and w filled, or -1 when the name was never seen (w zeroed). */
int lt_metrics_window(int upstream, const char *name, struct lt_window *w);
/* The q-quantile (0..1) of a window's latency in seconds, interpolated in its bucket; 0 when empty. */
double lt_window_quantile(const struct lt_window *w, double q);
/* Total failures of an upstream by kind, as "kind=n, kind=n" (out is written, never overflows). */
void lt_metrics_upstream_kinds(const char *upstream, char *out, size_t n);

/* Hooks (set once at start-up by the module that owns the state; NULL = absent). */
struct lt_queue_depth { uint64_t queued, delivering, delivered, dead; };
void lt_metrics_hook_queue(int (*fn)(void *arg, struct lt_queue_depth *out), void *arg);
void lt_metrics_hook_circuit(int (*fn)(void *arg, const char *upstream), void *arg);  /* 1 = open */
void lt_metrics_hook_store_ok(int (*fn)(void *arg), void *arg);                        /* 1 = writable */
/* What the hooks say now (zeros, closed, writable when a hook is absent). */
void lt_metrics_queue(struct lt_queue_depth *out);
int lt_metrics_circuit_open(const char *upstream);
int lt_metrics_store_ok(void);

/* Appends the Prometheus text exposition of every counter and histogram (not the per-config
 * gauges: circuits, queue and certificates come from lt_admin, which knows the config). */
void lt_metrics_render(struct lt_buf *out);

/* A copy of name that lives as long as the process (the same pointer for the same name): for
 * objects that may outlive the config they came from, such as a TLS context. Bounded. */
const char *lt_metrics_intern(const char *name);

/* Appends a label value escaped as the text format requires (\\, \", \n). */
void lt_metrics_label(struct lt_buf *out, const char *v);

#endif
