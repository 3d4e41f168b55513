/* store.h: the durable message store of queue mode (SQLite in WAL mode, synchronous=FULL).
 *
 * The event loop never touches the database: one writer thread owns the only connection, takes
 * operations from a bounded queue, runs as many as are waiting in ONE transaction (one fsync for
 * the lot: group commit under load), and hands the results back to the loop through a pipe that a
 * libevent read event watches. An operation's done() therefore runs on the loop, after its
 * transaction is on disk. Messages have an opaque random id, a route, an upstream, an idempotency
 * key (unique per route: of two copies arriving together one insert wins, the other is reported
 * as a duplicate), the body to deliver, a state (queued | delivering | delivered | dead),
 * attempts, the next attempt time, the last error and timestamps (wall-clock milliseconds).
 * Opening the store turns `delivering` back into `queued`: a crash mid-delivery redelivers with
 * the same Idempotency-Key, which the receiver applies once. */
#ifndef LT_STORE_H
#define LT_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <event2/event.h>
#include "gateway/err.h"

#define LT_MSG_ID_LEN 32          /* hex digits */
#define LT_STORE_LIST_MAX 1000    /* rows one list answers at most */

struct lt_store;

/* One message; every string is owned by the struct (lt_msg_clear frees them). */
struct lt_msg {
	char id[LT_MSG_ID_LEN + 1];
	char *route, *upstream, *path;    /* path: appended to the upstream url (may be NULL) */
	char *idem_key;                   /* NULL: none (the id serves as the Idempotency-Key) */
	char *content_type;
	char *request_id;                 /* the X-Request-Id of the request that created it */
	char *body;                       /* NUL-terminated for convenience */
	size_t body_len;
	char state[16];                   /* queued | delivering | delivered | dead */
	int attempts;
	int64_t next_at, created_at, updated_at, delivered_at;   /* wall ms; 0 = never */
	char *last_error;
};

enum lt_store_kind {
	LT_STORE_INSERT,   /* in: msg (id, route, upstream, ...); out: duplicate, msg.id = the winner's id */
	LT_STORE_GET,      /* in: msg.id; out: found, msg (without body) */
	LT_STORE_LIST,     /* in: state, limit; out: rows (without bodies) */
	LT_STORE_CLAIM,    /* in: upstream, limit, now: queued and due -> delivering; out: rows, next_due */
	LT_STORE_UPDATE,   /* in: msg.id, msg.state, attempts, next_at, last_error */
	LT_STORE_REPLAY    /* in: msg.id: dead -> queued, attempts 0; out: replayed, found, msg (no body) */
};

struct lt_store_op {
	enum lt_store_kind kind;
	struct lt_msg msg;
	char state[16];                   /* LIST */
	char *upstream;                   /* CLAIM (owned) */
	int limit;                        /* LIST, CLAIM */
	int64_t now;                      /* CLAIM, UPDATE, REPLAY, INSERT: wall ms */
	/* results */
	int rc;                           /* 0, or -1 with err */
	struct lt_err err;
	int duplicate, found;
	int replayed;                     /* REPLAY: it was dead and is queued again */
	struct lt_msg *rows;
	size_t n_rows;
	int64_t next_due;                 /* CLAIM: earliest next_at still queued for the upstream, 0 = none */
	/* Runs on the loop once the op's transaction committed (or failed). The store frees the op
	 * after it returns: keep nothing that points into it. */
	void (*done)(struct lt_store_op *op, void *arg);
	void *arg;
	struct lt_store_op *next_;        /* private */
};

/* Opens (creating the file, its folder and the schema when needed) and starts the writer thread;
 * recovers delivering -> queued. Blocking: start-up only. NULL with e on failure. */
struct lt_store *lt_store_open(const char *path, struct event_base *base, struct lt_err *e);
/* Stops the thread once what was submitted is written, then closes. Ops whose done() has not run
 * yet are freed without it. s may be NULL. */
void lt_store_close(struct lt_store *s);

/* A new zeroed op of that kind (caller owns it until submitted). */
struct lt_store_op *lt_store_op_new(enum lt_store_kind kind);
void lt_store_op_free(struct lt_store_op *op);
/* Hands op to the writer (the store owns it from then on). -1 with e (503 store.busy) when the
 * bounded queue is full (UPDATE and CLAIM are always taken: the delivery worker bounds them) or
 * the store is closing; the caller still owns op then. */
int lt_store_submit(struct lt_store *s, struct lt_store_op *op, struct lt_err *e);

/* Messages by state as of the last commit (queued, delivering, delivered, dead), for metrics;
 * any thread. */
enum { LT_ST_QUEUED, LT_ST_DELIVERING, LT_ST_DELIVERED, LT_ST_DEAD, LT_ST_N };
void lt_store_counts(struct lt_store *s, uint64_t counts[LT_ST_N]);
/* 1 while the last transaction committed (the store can write), else 0; any thread. */
int lt_store_ok(struct lt_store *s);

/* 32 random hex digits, unguessable (RAND_bytes). buf holds LT_MSG_ID_LEN + 1. */
void lt_msg_new_id(char *buf);
void lt_msg_clear(struct lt_msg *m);
/* Appends {id, route, state, attempts, last_error, created_at, updated_at, delivered_at} as a JSON
 * object (times as RFC 3339 UTC, null when never). */
struct lt_buf;
void lt_msg_json(const struct lt_msg *m, struct lt_buf *b);

#endif
