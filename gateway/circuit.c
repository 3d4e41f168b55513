/* circuit.c: the circuit breaker's state machine. */
#include "gateway/circuit.h"

void lt_circuit_init(struct lt_circuit *c, int failures, uint64_t cooldown_ms)
{
	c->failures = failures;
	c->cooldown_ms = cooldown_ms;
	c->state = LT_CIRCUIT_CLOSED;
	c->consecutive = 0;
	c->opened_at = 0;
	c->probing = 0;
}

int lt_circuit_allow(struct lt_circuit *c, uint64_t now)
{
	switch (c->state) {
	case LT_CIRCUIT_CLOSED:
		return 1;
	case LT_CIRCUIT_OPEN:
		if (now - c->opened_at < c->cooldown_ms)
			return 0;
		c->state = LT_CIRCUIT_HALF_OPEN;
		c->probing = 0;
		__attribute__((fallthrough));   /* clang, which builds the fuzz targets, wants the attribute */
	case LT_CIRCUIT_HALF_OPEN:
	default:
		if (c->probing)
			return 0;
		c->probing = 1;
		return 1;
	}
}

void lt_circuit_success(struct lt_circuit *c)
{
	c->consecutive = 0;
	c->probing = 0;
	c->state = LT_CIRCUIT_CLOSED;
}

void lt_circuit_failure(struct lt_circuit *c, uint64_t now)
{
	if (c->failures <= 0)
		return;
	if (c->state == LT_CIRCUIT_HALF_OPEN || ++c->consecutive >= c->failures) {
		c->state = LT_CIRCUIT_OPEN;
		c->opened_at = now;
		c->probing = 0;
		c->consecutive = 0;
	}
}

uint64_t lt_circuit_wait_ms(const struct lt_circuit *c, uint64_t now)
{
	if (c->state != LT_CIRCUIT_OPEN || now - c->opened_at >= c->cooldown_ms)
		return 0;
	return c->cooldown_ms - (now - c->opened_at);
}

const char *lt_circuit_state_name(enum lt_circuit_state s)
{
	switch (s) {
	case LT_CIRCUIT_OPEN: return "open";
	case LT_CIRCUIT_HALF_OPEN: return "half-open";
	case LT_CIRCUIT_CLOSED:
	default: return "closed";
	}
}
