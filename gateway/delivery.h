/* delivery.h: the delivery worker of queue mode. It runs on the event loop and sends queued
 * messages (gateway/store.h) to their upstream with gateway/upstream.c: mutual TLS, the upstream's
 * headers and auth as sync mode sends them, plus `Idempotency-Key` (the message's idempotency key,
 * else its id) and `X-Request-Id` (the request that created it), both the same on every attempt,
 * after a restart too. The upstream's retry policy decides what happens after a failure: retried
 * with exponential backoff and jitter when retry.on lists it, until `attempts`; then `dead`.
 * At most LT_DELIVERY_MAX_INFLIGHT messages per upstream are in flight at once, and none while
 * the upstream's circuit breaker is open. */
#ifndef LT_DELIVERY_H
#define LT_DELIVERY_H

#include <stdint.h>
#include "gateway/config.h"
#include "gateway/upstream.h"

#define LT_DELIVERY_MAX_INFLIGHT 8

struct lt_server;
struct lt_store;
struct lt_delivery;

/* Starts delivering what the store holds for every upstream of the current generation. srv and
 * store are borrowed and must outlive it. Never NULL. */
struct lt_delivery *lt_delivery_new(struct lt_server *srv, struct lt_store *store);
void lt_delivery_free(struct lt_delivery *d);   /* d may be NULL */
/* Something became due for this upstream (a new message, a replay): look now. */
void lt_delivery_kick(struct lt_delivery *d, const char *upstream);

/* The wait before attempt number `attempt` + 1 after `attempt` failed ones (1-based): backoff *
 * 2^(attempt-1), at most max_backoff, then "equal jitter": a uniform value in [wait/2, wait]
 * drawn from rnd (0..UINT32_MAX), so that gaps grow while senders do not retry in lockstep. */
uint64_t lt_delivery_backoff(const struct lt_upstream_cfg *u, int attempt, uint32_t rnd);
/* 1 when retry.on lists this failure (fail, or the HTTP status when fail is LT_UP_OK). */
int lt_delivery_retryable(const struct lt_upstream_cfg *u, enum lt_upfail fail, long status);
/* 1 when the outcome counts against the upstream's health (circuit breaker): no answer at all,
 * or a 5xx answer. */
int lt_delivery_unhealthy(enum lt_upfail fail, long status);

#endif
