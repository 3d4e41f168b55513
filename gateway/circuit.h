/* circuit.h: a per-upstream circuit breaker (SPEC.md `circuit: {failures, cooldown}`).
 *
 * `failures` consecutive failed calls open it; while open, sync calls are refused at once (503
 * upstream.circuit_open) and queued deliveries wait; after `cooldown` it is half-open and lets ONE
 * call through: its success closes the breaker, its failure opens it for another cooldown. Pure
 * state with the clock passed in (monotonic ms), so tests drive time themselves. A breaker with
 * failures 0 never opens. */
#ifndef LT_CIRCUIT_H
#define LT_CIRCUIT_H

#include <stdint.h>

enum lt_circuit_state { LT_CIRCUIT_CLOSED, LT_CIRCUIT_OPEN, LT_CIRCUIT_HALF_OPEN };

struct lt_circuit {
	int failures;               /* threshold; 0 = disabled */
	uint64_t cooldown_ms;
	enum lt_circuit_state state;
	int consecutive;            /* failures in a row while closed */
	uint64_t opened_at;         /* when it last opened */
	int probing;                /* half-open: the one trial call is out */
};

void lt_circuit_init(struct lt_circuit *c, int failures, uint64_t cooldown_ms);
/* 1 when a call may go now (counting it as the half-open trial when it is one), 0 when refused. */
int lt_circuit_allow(struct lt_circuit *c, uint64_t now);
/* The outcome of a call that lt_circuit_allow let through. */
void lt_circuit_success(struct lt_circuit *c);
void lt_circuit_failure(struct lt_circuit *c, uint64_t now);
/* Milliseconds until a refused call could be tried (0 when it could now). */
uint64_t lt_circuit_wait_ms(const struct lt_circuit *c, uint64_t now);
const char *lt_circuit_state_name(enum lt_circuit_state s);

#endif
