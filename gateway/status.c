/* status.c: the status page and the config-dependent gauges (see status.h). */
#include <string.h>
#include <time.h>

#include "gateway/status.h"
#include "gateway/metrics.h"
#include "gateway/workers.h"

static void html(struct lt_buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '<': lt_buf_puts(b, "&lt;"); break;
		case '>': lt_buf_puts(b, "&gt;"); break;
		case '&': lt_buf_puts(b, "&amp;"); break;
		case '"': lt_buf_puts(b, "&quot;"); break;
		default: lt_buf_putc(b, *s);
		}
	}
}

static void ms_cell(struct lt_buf *b, const struct lt_window *w, double q)
{
	if (w->count == 0)
		lt_buf_puts(b, "<td class=n>–</td>");
	else
		lt_buf_printf(b, "<td class=n>%.1f ms</td>", lt_window_quantile(w, q) * 1000.0);
}

static void rate_cell(struct lt_buf *b, uint64_t n, const struct lt_window *w, int bad)
{
	double pct = w->count ? 100.0 * (double)n / (double)w->count : 0;

	lt_buf_printf(b, "<td class=\"n%s\">%llu (%.1f%%)</td>", bad && n > 0 ? " bad" : "", (unsigned long long)n,
		      pct);
}

static void route_rows(struct lt_buf *b, const struct lt_gen *g)
{
	lt_buf_puts(b, "<h2>Routes</h2><table><tr><th>route</th><th>mode</th><th>upstream</th><th>requests</th>"
		       "<th>per second</th><th>4xx</th><th>5xx</th><th>p50</th><th>p99</th></tr>\n");
	for (size_t i = 0; i < g->cfg->n_routes; i++) {
		const struct lt_route_cfg *r = &g->cfg->routes[i];
		struct lt_window w;

		lt_metrics_window(0, r->name, &w);
		lt_buf_puts(b, "<tr><td>");
		html(b, r->name);
		lt_buf_printf(b, "</td><td>%s</td><td>", r->mode == LT_MODE_QUEUE ? "queue" : "sync");
		html(b, r->upstream ? r->upstream : "-");
		lt_buf_printf(b, "</td><td class=n data-route-requests>%llu</td><td class=n>%.2f</td>",
			      (unsigned long long)w.count, w.seconds > 0 ? (double)w.count / w.seconds : 0);
		rate_cell(b, w.err4, &w, 0);
		rate_cell(b, w.err5, &w, 1);
		ms_cell(b, &w, 0.50);
		ms_cell(b, &w, 0.99);
		lt_buf_puts(b, "</tr>\n");
	}
	lt_buf_puts(b, "</table>\n");
}

static void upstream_rows(struct lt_buf *b, const struct lt_gen *g)
{
	lt_buf_puts(b, "<h2>Upstreams</h2><table><tr><th>upstream</th><th>url</th><th>circuit</th><th>calls</th>"
		       "<th>failures</th><th>failures by kind (since start)</th><th>p50</th><th>p99</th></tr>\n");
	for (size_t i = 0; i < g->cfg->n_upstreams; i++) {
		const struct lt_upstream_cfg *u = &g->cfg->upstreams[i];
		int open = lt_metrics_circuit_open(u->name);
		char kinds[512];
		struct lt_window w;

		lt_metrics_window(1, u->name, &w);
		lt_metrics_upstream_kinds(u->name, kinds, sizeof(kinds));
		lt_buf_puts(b, "<tr><td>");
		html(b, u->name);
		lt_buf_puts(b, "</td><td>");
		html(b, u->url);
		lt_buf_printf(b, "</td><td class=\"%s\">%s</td><td class=n>%llu</td>", open ? "bad" : "ok",
			      open ? "open" : "closed", (unsigned long long)w.count);
		rate_cell(b, w.err5, &w, 1);
		lt_buf_puts(b, "<td>");
		html(b, kinds[0] ? kinds : "none");
		lt_buf_puts(b, "</td>");
		ms_cell(b, &w, 0.50);
		ms_cell(b, &w, 0.99);
		lt_buf_puts(b, "</tr>\n");
	}
	lt_buf_puts(b, "</table>\n");
}

static void cert_rows(struct lt_buf *b, const struct lt_gen *g, time_t now)
{
	lt_buf_puts(b, "<h2>Certificates</h2><table><tr><th>file</th><th>expires (UTC)</th><th>days left</th></tr>\n");
	for (size_t i = 0; i < g->n_certs; i++) {
		const struct lt_cert_info *c = &g->certs[i];
		long days = (long)((c->not_after - (int64_t)now) / 86400);
		time_t na = (time_t)c->not_after;
		struct tm tm;
		char date[32] = "unreadable";

		if (c->not_after != 0 && gmtime_r(&na, &tm) != NULL)
			strftime(date, sizeof(date), "%Y-%m-%d %H:%M", &tm);
		lt_buf_puts(b, "<tr><td>");
		html(b, c->path);
		lt_buf_printf(b, "</td><td>%s</td><td class=\"n %s\">%ld</td></tr>\n", date,
			      c->not_after == 0 || days < LT_CERT_WARN_DAYS ? "bad" : "ok", c->not_after ? days : 0L);
	}
	lt_buf_puts(b, "</table>\n");
}

void lt_status_page(struct lt_buf *b, const struct lt_server *srv, const struct lt_gen *g)
{
	struct lt_queue_depth q;
	time_t now = time(NULL);
	struct tm tm;
	char ts[32];
	const char *state = !srv->ready ? "starting" : srv->draining ? "draining" :
			    !lt_metrics_store_ok() ? "store not writable" : "ready";

	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", &tm);
	lt_metrics_queue(&q);
	lt_buf_puts(b, "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
		       "<meta http-equiv=refresh content=10><title>lienthong status</title><style>"
		       "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}"
		       "table{border-collapse:collapse;margin-bottom:1.5em}"
		       "th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left}th{background:#f2f2f2}"
		       ".n{text-align:right;font-variant-numeric:tabular-nums}"
		       ".bad{color:#fff;background:#c0392b}.ok{color:#1e7e34}"
		       "h1{font-size:1.4em}h2{font-size:1.1em;margin-bottom:.3em}.meta{color:#666}"
		       "</style></head><body>\n<h1>lienthong ");
	lt_buf_printf(b, "%s — <span class=\"%s\">%s</span></h1>\n", LT_VERSION,
		      strcmp(state, "ready") == 0 ? "ok" : "bad", state);
	lt_buf_printf(b, "<p class=meta>%s UTC · configuration generation %lu · %zu requests in flight · "
		       "rates and latency over the last %d minutes</p>\n", ts, g->number, lt_workers_inflight(srv),
		      LT_WINDOW_SECONDS / 60);
	route_rows(b, g);
	upstream_rows(b, g);
	lt_buf_printf(b, "<h2>Queue</h2><table><tr><th>queued</th><th>delivering</th><th>delivered</th>"
		       "<th>dead</th></tr><tr><td class=n>%llu</td><td class=n>%llu</td><td class=n>%llu</td>"
		       "<td class=\"n%s\">%llu</td></tr></table>\n", (unsigned long long)q.queued,
		      (unsigned long long)q.delivering, (unsigned long long)q.delivered, q.dead ? " bad" : "",
		      (unsigned long long)q.dead);
	cert_rows(b, g, now);
	lt_buf_puts(b, "</body></html>\n");
}

void lt_status_gauges(struct lt_buf *b, const struct lt_gen *g)
{
	struct lt_queue_depth q;
	int64_t now = (int64_t)time(NULL);

	lt_metrics_queue(&q);
	lt_buf_printf(b, "# HELP lienthong_queue_messages Messages in the store, by state.\n"
			 "# TYPE lienthong_queue_messages gauge\n"
			 "lienthong_queue_messages{state=\"queued\"} %llu\n"
			 "lienthong_queue_messages{state=\"delivering\"} %llu\n"
			 "lienthong_queue_messages{state=\"delivered\"} %llu\n"
			 "lienthong_queue_messages{state=\"dead\"} %llu\n",
		      (unsigned long long)q.queued, (unsigned long long)q.delivering, (unsigned long long)q.delivered,
		      (unsigned long long)q.dead);
	lt_buf_puts(b, "# HELP lienthong_circuit_open 1 while an upstream's circuit breaker is open.\n"
		       "# TYPE lienthong_circuit_open gauge\n");
	for (size_t i = 0; i < g->cfg->n_upstreams; i++) {
		lt_buf_puts(b, "lienthong_circuit_open{upstream=\"");
		lt_metrics_label(b, g->cfg->upstreams[i].name);
		lt_buf_printf(b, "\"} %d\n", lt_metrics_circuit_open(g->cfg->upstreams[i].name));
	}
	lt_buf_puts(b, "# HELP lienthong_cert_expiry_seconds Seconds until the earliest certificate of a file "
		       "expires (negative: expired).\n# TYPE lienthong_cert_expiry_seconds gauge\n");
	for (size_t i = 0; i < g->n_certs; i++) {
		if (g->certs[i].not_after == 0)
			continue;
		lt_buf_puts(b, "lienthong_cert_expiry_seconds{path=\"");
		lt_metrics_label(b, g->certs[i].path);
		lt_buf_printf(b, "\"} %lld\n", (long long)(g->certs[i].not_after - now));
	}
}
