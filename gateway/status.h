/* status.h: GET /status, one HTML page for a person (no script, no external asset, refreshes itself
 * every 10 s): per route the request rate, 4xx/5xx rates and p50/p99 latency of the last minutes;
 * per upstream its circuit, error kinds and latency; queue depth by state; certificates with the
 * days left (red under 30). Everything comes from gateway/metrics.h and the current generation. */
#ifndef LT_STATUS_H
#define LT_STATUS_H

#include "gateway/server.h"
#include "gateway/util.h"

/* Appends the page for generation g (borrowed). */
void lt_status_page(struct lt_buf *out, const struct lt_server *srv, const struct lt_gen *g);

/* Appends the gauges that depend on the config (circuits, queue, certificate expiry) in
 * Prometheus text format; lt_metrics_render writes the counters. */
void lt_status_gauges(struct lt_buf *out, const struct lt_gen *g);

#endif
