/* metrics.c: counters, histograms and the status page's recent window (see metrics.h). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/metrics.h"

const double lt_lat_bounds[LT_LAT_BOUNDS] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30
};

#define SLOT_SECONDS 10
#define SLOTS (LT_WINDOW_SECONDS / SLOT_SECONDS)
#define MAX_CODES 24
#define MAX_KINDS 12
#define MAX_SERIES 1024             /* names are config names: bounded by the config, this is a guard */

struct slot {
	uint64_t epoch;                 /* which 10 s this slot holds (mono seconds / 10) */
	uint64_t count, err4, err5;
	uint64_t lat[LT_LAT_BOUNDS + 1];
};

struct counted { char *key; uint64_t n; int code; };

struct series {
	char *name;
	int upstream;
	uint64_t hist[LT_LAT_BOUNDS + 1];
	double sum;
	uint64_t count;
	struct counted codes[MAX_CODES];   /* routes: by status; upstreams: by error kind */
	size_t n_codes;
	struct slot ring[SLOTS];
};

struct tlsfail { char *listener, *reason; uint64_t n; };

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct series *all[MAX_SERIES];
static size_t n_all;
static struct tlsfail *tls_fails;
static size_t n_tls_fails;
static uint64_t started_s;
static uint64_t loop_requests[LT_MAX_LOOPS];
static int n_loops_seen;

static int (*queue_fn)(void *, struct lt_queue_depth *);
static void *queue_arg;
static int (*circuit_fn)(void *, const char *);
static void *circuit_arg;
static int (*store_fn)(void *);
static void *store_arg;

static uint64_t now_s(void)
{
	return lt_mono_ms() / 1000;
}

/* Under mu. NULL only past MAX_SERIES (then the observation is dropped). */
static struct series *find(int upstream, const char *name, int create)
{
	struct series *s;

	for (size_t i = 0; i < n_all; i++)
		if (all[i]->upstream == upstream && strcmp(all[i]->name, name) == 0)
			return all[i];
	if (!create || n_all >= MAX_SERIES)
		return NULL;
	if (started_s == 0)
		started_s = now_s() + 1;
	s = lt_xcalloc(1, sizeof(*s));
	s->name = lt_xstrdup(name);
	s->upstream = upstream;
	all[n_all++] = s;
	return s;
}

static size_t bucket_of(double seconds)
{
	size_t b = 0;

	while (b < LT_LAT_BOUNDS && seconds > lt_lat_bounds[b])
		b++;
	return b;
}

static void observe(struct series *s, double seconds, int err4, int err5)
{
	uint64_t epoch = now_s() / SLOT_SECONDS;
	struct slot *sl = &s->ring[epoch % SLOTS];
	size_t b = bucket_of(seconds);

	if (sl->epoch != epoch)
		memset(sl, 0, sizeof(*sl));
	sl->epoch = epoch;
	sl->count++;
	sl->err4 += err4 != 0;
	sl->err5 += err5 != 0;
	sl->lat[b]++;
	s->hist[b]++;
	s->sum += seconds;
	s->count++;
}

static void count_key(struct series *s, const char *key, int code)
{
	for (size_t i = 0; i < s->n_codes; i++)
		if (key ? (s->codes[i].key && strcmp(s->codes[i].key, key) == 0) : s->codes[i].code == code) {
			s->codes[i].n++;
			return;
		}
	if (s->n_codes >= (key ? MAX_KINDS : MAX_CODES))
		return;
	s->codes[s->n_codes].key = lt_xstrdup(key);
	s->codes[s->n_codes].code = code;
	s->codes[s->n_codes++].n = 1;
}

void lt_metrics_request(const char *route, int status, double seconds)
{
	struct series *s;

	pthread_mutex_lock(&mu);
	/* Requests that matched no route are counted too: a flood of 404s is worth seeing. */
	if ((s = find(0, route ? route : "-", 1)) != NULL) {
		observe(s, seconds, status >= 400 && status < 500, status >= 500);
		count_key(s, NULL, status);
	}
	pthread_mutex_unlock(&mu);
}

void lt_metrics_upstream(const char *upstream, double seconds, const char *kind)
{
	struct series *s;

	pthread_mutex_lock(&mu);
	if ((s = find(1, upstream, 1)) != NULL) {
		if (seconds >= 0)
			observe(s, seconds, 0, kind != NULL);
		if (kind != NULL)
			count_key(s, kind, 0);
	}
	pthread_mutex_unlock(&mu);
}

void lt_metrics_loop_request(int loop)
{
	if (loop < 0 || loop >= LT_MAX_LOOPS)
		return;
	pthread_mutex_lock(&mu);
	loop_requests[loop]++;
	if (loop + 1 > n_loops_seen)
		n_loops_seen = loop + 1;
	pthread_mutex_unlock(&mu);
}

void lt_metrics_tls_failure(const char *listener, const char *reason)
{
	pthread_mutex_lock(&mu);
	for (size_t i = 0; i < n_tls_fails; i++)
		if (strcmp(tls_fails[i].listener, listener) == 0 && strcmp(tls_fails[i].reason, reason) == 0) {
			tls_fails[i].n++;
			pthread_mutex_unlock(&mu);
			return;
		}
	if (n_tls_fails < MAX_SERIES) {
		tls_fails = lt_xrealloc(tls_fails, (n_tls_fails + 1) * sizeof(*tls_fails));
		tls_fails[n_tls_fails].listener = lt_xstrdup(listener);
		tls_fails[n_tls_fails].reason = lt_xstrdup(reason);
		tls_fails[n_tls_fails++].n = 1;
	}
	pthread_mutex_unlock(&mu);
}

int lt_metrics_window(int upstream, const char *name, struct lt_window *w)
{
	uint64_t now = now_s(), epoch = now / SLOT_SECONDS;
	struct series *s;

	memset(w, 0, sizeof(*w));
	pthread_mutex_lock(&mu);
	s = find(upstream, name, 0);
	if (s != NULL) {
		for (size_t i = 0; i < SLOTS; i++) {
			const struct slot *sl = &s->ring[i];

			if (sl->epoch + SLOTS <= epoch || sl->count == 0)
				continue;
			w->count += sl->count;
			w->err4 += sl->err4;
			w->err5 += sl->err5;
			for (size_t b = 0; b <= LT_LAT_BOUNDS; b++)
				w->lat[b] += sl->lat[b];
		}
	}
	/* The window spans the slots that can hold data: the current one is partly elapsed. */
	w->seconds = (double)((SLOTS - 1) * SLOT_SECONDS + now % SLOT_SECONDS + 1);
	if (started_s != 0 && now + 1 >= started_s && (double)(now + 1 - started_s) + 1 < w->seconds)
		w->seconds = (double)(now + 1 - started_s) + 1;
	pthread_mutex_unlock(&mu);
	return s != NULL ? 0 : -1;
}

double lt_window_quantile(const struct lt_window *w, double q)
{
	uint64_t total = 0, seen = 0;
	double rank;

	for (size_t b = 0; b <= LT_LAT_BOUNDS; b++)
		total += w->lat[b];
	if (total == 0)
		return 0;
	rank = q * (double)total;
	for (size_t b = 0; b <= LT_LAT_BOUNDS; b++) {
		double lo = b == 0 ? 0 : lt_lat_bounds[b - 1];

		if (w->lat[b] == 0 || (double)(seen + w->lat[b]) < rank) {
			seen += w->lat[b];
			continue;
		}
		if (b == LT_LAT_BOUNDS)
			return lo;      /* over the last bound: the bound is all we know */
		return lo + (lt_lat_bounds[b] - lo) * ((rank - (double)seen) / (double)w->lat[b]);
	}
	return lt_lat_bounds[LT_LAT_BOUNDS - 1];
}

void lt_metrics_upstream_kinds(const char *upstream, char *out, size_t n)
{
	struct series *s;
	size_t used = 0;

	out[0] = '\0';
	pthread_mutex_lock(&mu);
	s = find(1, upstream, 0);
	for (size_t i = 0; s != NULL && i < s->n_codes && used < n; i++) {
		int k = snprintf(out + used, n - used, "%s%s=%llu", used ? ", " : "", s->codes[i].key,
				 (unsigned long long)s->codes[i].n);
		if (k < 0)
			break;
		used += (size_t)k;
	}
	pthread_mutex_unlock(&mu);
}

void lt_metrics_hook_queue(int (*fn)(void *, struct lt_queue_depth *), void *arg)
{
	queue_fn = fn;
	queue_arg = arg;
}

void lt_metrics_hook_circuit(int (*fn)(void *, const char *), void *arg)
{
	circuit_fn = fn;
	circuit_arg = arg;
}

void lt_metrics_hook_store_ok(int (*fn)(void *), void *arg)
{
	store_fn = fn;
	store_arg = arg;
}

void lt_metrics_queue(struct lt_queue_depth *out)
{
	memset(out, 0, sizeof(*out));
	if (queue_fn != NULL && queue_fn(queue_arg, out) < 0)
		memset(out, 0, sizeof(*out));
}

int lt_metrics_circuit_open(const char *upstream)
{
	return circuit_fn != NULL && circuit_fn(circuit_arg, upstream) == 1;
}

int lt_metrics_store_ok(void)
{
	return store_fn == NULL || store_fn(store_arg) == 1;
}

void lt_metrics_label(struct lt_buf *out, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			lt_buf_putc(out, '\\');
		if (*v == '\n') {
			lt_buf_puts(out, "\\n");
			continue;
		}
		lt_buf_putc(out, *v);
	}
}

static void render_hist(struct lt_buf *out, const char *metric, const char *label, const struct series *s)
{
	uint64_t cum = 0;

	for (size_t b = 0; b <= LT_LAT_BOUNDS; b++) {
		cum += s->hist[b];
		lt_buf_printf(out, "%s_bucket{%s=\"", metric, label);
		lt_metrics_label(out, s->name);
		if (b < LT_LAT_BOUNDS)
			lt_buf_printf(out, "\",le=\"%g\"} %llu\n", lt_lat_bounds[b], (unsigned long long)cum);
		else
			lt_buf_printf(out, "\",le=\"+Inf\"} %llu\n", (unsigned long long)cum);
	}
	lt_buf_printf(out, "%s_sum{%s=\"", metric, label);
	lt_metrics_label(out, s->name);
	lt_buf_printf(out, "\"} %.6f\n%s_count{%s=\"", s->sum, metric, label);
	lt_metrics_label(out, s->name);
	lt_buf_printf(out, "\"} %llu\n", (unsigned long long)s->count);
}

void lt_metrics_render(struct lt_buf *out)
{
	pthread_mutex_lock(&mu);
	lt_buf_puts(out, "# HELP lienthong_requests_total Requests answered, by route and HTTP status.\n"
			 "# TYPE lienthong_requests_total counter\n");
	for (size_t i = 0; i < n_all; i++)
		for (size_t k = 0; !all[i]->upstream && k < all[i]->n_codes; k++) {
			lt_buf_puts(out, "lienthong_requests_total{route=\"");
			lt_metrics_label(out, all[i]->name);
			lt_buf_printf(out, "\",code=\"%d\"} %llu\n", all[i]->codes[k].code,
				      (unsigned long long)all[i]->codes[k].n);
		}
	lt_buf_puts(out, "# HELP lienthong_request_duration_seconds Time from request to answer, by route.\n"
			 "# TYPE lienthong_request_duration_seconds histogram\n");
	for (size_t i = 0; i < n_all; i++)
		if (!all[i]->upstream)
			render_hist(out, "lienthong_request_duration_seconds", "route", all[i]);
	lt_buf_puts(out, "# HELP lienthong_upstream_duration_seconds Upstream call time, by upstream.\n"
			 "# TYPE lienthong_upstream_duration_seconds histogram\n");
	for (size_t i = 0; i < n_all; i++)
		if (all[i]->upstream)
			render_hist(out, "lienthong_upstream_duration_seconds", "upstream", all[i]);
	lt_buf_puts(out, "# HELP lienthong_upstream_errors_total Failed upstream calls, by upstream and kind.\n"
			 "# TYPE lienthong_upstream_errors_total counter\n");
	for (size_t i = 0; i < n_all; i++)
		for (size_t k = 0; all[i]->upstream && k < all[i]->n_codes; k++) {
			lt_buf_puts(out, "lienthong_upstream_errors_total{upstream=\"");
			lt_metrics_label(out, all[i]->name);
			lt_buf_puts(out, "\",kind=\"");
			lt_metrics_label(out, all[i]->codes[k].key);
			lt_buf_printf(out, "\"} %llu\n", (unsigned long long)all[i]->codes[k].n);
		}
	lt_buf_puts(out, "# HELP lienthong_loop_requests_total Requests answered, by event loop (worker).\n"
			 "# TYPE lienthong_loop_requests_total counter\n");
	for (int i = 0; i < n_loops_seen; i++)
		lt_buf_printf(out, "lienthong_loop_requests_total{loop=\"%d\"} %llu\n", i,
			      (unsigned long long)loop_requests[i]);
	lt_buf_puts(out, "# HELP lienthong_tls_handshake_failures_total Failed TLS handshakes, by listener and "
			 "alert.\n# TYPE lienthong_tls_handshake_failures_total counter\n");
	for (size_t i = 0; i < n_tls_fails; i++) {
		lt_buf_puts(out, "lienthong_tls_handshake_failures_total{listener=\"");
		lt_metrics_label(out, tls_fails[i].listener);
		lt_buf_puts(out, "\",reason=\"");
		lt_metrics_label(out, tls_fails[i].reason);
		lt_buf_printf(out, "\"} %llu\n", (unsigned long long)tls_fails[i].n);
	}
	pthread_mutex_unlock(&mu);
}

const char *lt_metrics_intern(const char *name)
{
	static char *names[MAX_SERIES];
	static size_t n;
	const char *out = "-";

	pthread_mutex_lock(&mu);
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0) {
			out = names[i];
			goto done;
		}
	if (n < MAX_SERIES)
		out = names[n++] = lt_xstrdup(name);
done:
	pthread_mutex_unlock(&mu);
	return out;
}
