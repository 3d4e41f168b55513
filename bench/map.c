/* bench/map.c: maps per second of one mapping on one core, and where the time goes.
 *
 * Owns nothing but its measurement: it links the mapping engine exactly as the gateway does and
 * calls lt_map_run (decode + apply + encode) in a loop for a bounded CPU time, then times the three
 * steps alone, and prints one JSON line for bench/run.py. CPU time of this thread is measured, not
 * wall time, so another process sharing the core slows the loop but does not skew µs per map.
 * Each iteration runs in a transaction's arena, as a request does in the gateway (gateway/arena.h);
 * LT_ARENA=0 times it with jansson's own malloc/free instead.
 *
 *   build/release/bench/map MAPPING DOCUMENT SECONDS [--response]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "gateway/arena.h"
#include "gateway/map.h"
#include "gateway/util.h"

#define BATCH 64
/* The gateway's default body limit, which sets a transaction arena's bound. */
#define MAX_BODY (1024u * 1024)

static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *bench_var(void *ctx, const char *name)
{
	(void)ctx;
	return strcmp(name, "auth.token") == 0 ? "bench-session-0001" : NULL;
}

static void die_err(const char *what, const struct lt_err *e)
{
	char line[1024];

	lt_err_format(e, line, sizeof(line));
	fprintf(stderr, "bench/map: %s: %s\n", what, line);
	exit(1);
}

enum step { STEP_RUN, STEP_DECODE, STEP_APPLY, STEP_ENCODE };

/* One iteration of a step; the document for apply/encode is decoded/applied once beforehand
 * (borrowed), so each step is timed alone. */
static void step_once(enum step st, const struct lt_map_section *s, const char *buf, size_t len,
		      json_t *decoded, json_t *applied, const struct lt_map_vars *vars)
{
	struct lt_err e = {0};
	json_t *doc = NULL;
	char *out = NULL;
	size_t outlen = 0;
	int rc = 0;
	struct lt_arena *arena = lt_arena_txn_new(MAX_BODY), *prev = lt_arena_enter(arena);

	switch (st) {
	case STEP_RUN:
		rc = lt_map_run(s, buf, len, vars, &out, &outlen, &e);
		break;
	case STEP_DECODE:
		rc = lt_map_decode(s, buf, len, &doc, &e);
		break;
	case STEP_APPLY:
		rc = lt_map_apply(s, decoded, vars, &doc, &e);
		break;
	case STEP_ENCODE:
		rc = lt_map_encode(s, applied, &out, &outlen, &e);
		break;
	}
	if (rc < 0)
		die_err("mapping failed", &e);
	json_decref(doc);
	free(out);
	lt_arena_leave(prev);
	lt_arena_free(arena);
}

/* Runs a step in batches until secs of CPU time have passed; returns µs per iteration. */
static double time_step(enum step st, double secs, const struct lt_map_section *s, const char *buf, size_t len,
			json_t *decoded, json_t *applied, const struct lt_map_vars *vars, long *iters)
{
	double t0 = cpu_now(), t;
	long n = 0;

	do {
		for (int i = 0; i < BATCH; i++)
			step_once(st, s, buf, len, decoded, applied, vars);
		n += BATCH;
		t = cpu_now() - t0;
	} while (t < secs);
	if (iters)
		*iters = n;
	return t * 1e6 / (double)n;
}

int main(int argc, char **argv)
{
	struct lt_diags d = {0};
	struct lt_err e = {0};
	struct lt_map *m = NULL;
	struct lt_map_vars vars = { bench_var, NULL };
	json_t *decoded = NULL, *applied = NULL;
	char *buf = NULL, *out = NULL;
	size_t len = 0, outlen = 0;
	long iters = 0;

	lt_arena_install();
	if (argc < 4 || argc > 5 || (argc == 5 && strcmp(argv[4], "--response") != 0)) {
		fprintf(stderr, "usage: %s MAPPING DOCUMENT SECONDS [--response]\n", argv[0]);
		return 2;
	}
	double secs = atof(argv[3]);
	if (secs <= 0 || secs > 60) {
		fprintf(stderr, "bench/map: SECONDS must be in (0, 60]\n");
		return 2;
	}
	if (lt_map_load(argv[1], &m, &d) < 0) {
		lt_diags_print(&d, stderr);
		return 1;
	}
	const struct lt_map_section *s = argc == 5 ? lt_map_response(m) : lt_map_request(m);
	if (s == NULL) {
		fprintf(stderr, "bench/map: %s has no %s section\n", argv[1], argc == 5 ? "response" : "request");
		return 1;
	}
	if (lt_read_file(argv[2], 16u << 20, &buf, &len, &e) < 0)
		die_err(argv[2], &e);
	if (lt_map_decode(s, buf, len, &decoded, &e) < 0)
		die_err("decode", &e);
	if (lt_map_apply(s, decoded, &vars, &applied, &e) < 0)
		die_err("apply", &e);
	if (lt_map_encode(s, applied, &out, &outlen, &e) < 0)
		die_err("encode", &e);

	double run = time_step(STEP_RUN, secs, s, buf, len, decoded, applied, &vars, &iters);
	double dec = time_step(STEP_DECODE, secs / 3, s, buf, len, decoded, applied, &vars, NULL);
	double app = time_step(STEP_APPLY, secs / 3, s, buf, len, decoded, applied, &vars, NULL);
	double enc = time_step(STEP_ENCODE, secs / 3, s, buf, len, decoded, applied, &vars, NULL);
	printf("{\"maps_per_s\":%.0f,\"us_per_map\":%.2f,\"decode_us\":%.2f,\"apply_us\":%.2f,\"encode_us\":%.2f,"
	       "\"in_bytes\":%zu,\"out_bytes\":%zu,\"iterations\":%ld}\n",
	       1e6 / run, run, dec, app, enc, len, outlen, iters);

	free(out);
	free(buf);
	json_decref(applied);
	json_decref(decoded);
	lt_map_free(m);
	lt_diags_free(&d);
	return 0;
}
