/* storewatch.c: the store's message counts and health for metrics and /readyz (see storewatch.h). */
#include <stdlib.h>
#include <string.h>

#include "gateway/storewatch.h"
#include "gateway/log.h"
#include "gateway/metrics.h"
#include "gateway/store.h"

static struct {
	struct lt_server *srv;
	struct event *timer;
	int busy;                       /* a COUNT is with the writer */
	int ok;                         /* the last one succeeded */
	struct lt_queue_depth depth;
} watch;

static int queue_hook(void *arg, struct lt_queue_depth *out)
{
	(void)arg;
	*out = watch.depth;
	return 0;
}

static int store_ok_hook(void *arg)
{
	(void)arg;
	return watch.ok;
}

static void counted(struct lt_store_op *op, void *arg)
{
	(void)arg;
	watch.busy = 0;
	if (op->rc < 0) {
		if (watch.ok)
			lt_log_error("store: %s", op->err.msg);
		watch.ok = 0;
		return;
	}
	watch.ok = 1;
	watch.depth.queued = (uint64_t)op->counts[0];
	watch.depth.delivering = (uint64_t)op->counts[1];
	watch.depth.delivered = (uint64_t)op->counts[2];
	watch.depth.dead = (uint64_t)op->counts[3];
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct lt_store_op *op;
	struct lt_err err;

	(void)fd;
	(void)what;
	(void)arg;
	if (watch.busy || watch.srv->store == NULL)
		return;
	op = lt_store_op_new(LT_STORE_COUNT);
	op->done = counted;
	lt_err_clear(&err);
	if (lt_store_submit(watch.srv->store, op, &err) < 0) {
		/* A full queue is load, not a broken store: keep the last figures. */
		lt_store_op_free(op);
		return;
	}
	watch.busy = 1;
}

static void stop(void *arg)
{
	(void)arg;
	if (watch.timer != NULL)
		event_free(watch.timer);
	watch.timer = NULL;
}

int lt_storewatch_start(struct lt_server *srv)
{
	struct timeval tv = { LT_STOREWATCH_PERIOD_MS / 1000, (LT_STOREWATCH_PERIOD_MS % 1000) * 1000 };

	memset(&watch, 0, sizeof(watch));
	watch.srv = srv;
	watch.ok = 1;
	watch.timer = event_new(srv->base, -1, EV_PERSIST, on_tick, NULL);
	if (watch.timer == NULL || event_add(watch.timer, &tv) < 0)
		return -1;
	lt_metrics_hook_queue(queue_hook, NULL);
	lt_metrics_hook_store_ok(store_ok_hook, NULL);
	lt_server_on_stop(stop, NULL);
	on_tick(-1, 0, NULL);
	return 0;
}
