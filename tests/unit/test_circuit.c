/* The circuit breaker with an injected clock, and the delivery retry policy (backoff, jitter,
 * which failures are retried). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "gateway/circuit.h"
#include "gateway/delivery.h"

static void opens_after_consecutive_failures(void **state)
{
	struct lt_circuit c;

	(void)state;
	lt_circuit_init(&c, 3, 1000);
	assert_true(lt_circuit_allow(&c, 0));
	lt_circuit_failure(&c, 10);
	lt_circuit_failure(&c, 20);
	lt_circuit_success(&c);                 /* a success in between resets the count */
	lt_circuit_failure(&c, 30);
	lt_circuit_failure(&c, 40);
	assert_int_equal(c.state, LT_CIRCUIT_CLOSED);
	assert_true(lt_circuit_allow(&c, 45));
	lt_circuit_failure(&c, 50);
	assert_int_equal(c.state, LT_CIRCUIT_OPEN);
	assert_false(lt_circuit_allow(&c, 51));
	assert_int_equal(lt_circuit_wait_ms(&c, 550), 500);
	assert_false(lt_circuit_allow(&c, 1049));
}

static void half_open_lets_one_through_and_closes_on_success(void **state)
{
	struct lt_circuit c;

	(void)state;
	lt_circuit_init(&c, 1, 1000);
	lt_circuit_failure(&c, 100);
	assert_false(lt_circuit_allow(&c, 1099));
	assert_true(lt_circuit_allow(&c, 1100));    /* the trial */
	assert_int_equal(c.state, LT_CIRCUIT_HALF_OPEN);
	assert_false(lt_circuit_allow(&c, 1101));   /* only one at a time */
	assert_int_equal(lt_circuit_wait_ms(&c, 1101), 0);
	lt_circuit_success(&c);
	assert_int_equal(c.state, LT_CIRCUIT_CLOSED);
	assert_true(lt_circuit_allow(&c, 1102));
	assert_true(lt_circuit_allow(&c, 1103));
	assert_string_equal(lt_circuit_state_name(c.state), "closed");
}

static void failed_trial_opens_for_another_cooldown(void **state)
{
	struct lt_circuit c;

	(void)state;
	lt_circuit_init(&c, 2, 500);
	lt_circuit_failure(&c, 0);
	lt_circuit_failure(&c, 0);
	assert_true(lt_circuit_allow(&c, 500));
	lt_circuit_failure(&c, 600);                /* one failure is enough when half-open */
	assert_int_equal(c.state, LT_CIRCUIT_OPEN);
	assert_false(lt_circuit_allow(&c, 1099));
	assert_true(lt_circuit_allow(&c, 1100));
}

static void disabled_breaker_never_opens(void **state)
{
	struct lt_circuit c;

	(void)state;
	lt_circuit_init(&c, 0, 1000);
	for (int i = 0; i < 100; i++)
		lt_circuit_failure(&c, (uint64_t)i);
	assert_true(lt_circuit_allow(&c, 100));
}

static void backoff_grows_to_the_cap_with_equal_jitter(void **state)
{
	struct lt_upstream_cfg u = { .retry_backoff_ms = 200, .retry_max_backoff_ms = 5000 };

	(void)state;
	/* rnd 0: the full wait; rnd max: half of it. */
	assert_int_equal(lt_delivery_backoff(&u, 1, 0), 200);
	assert_int_equal(lt_delivery_backoff(&u, 1, UINT32_MAX), 100);
	assert_int_equal(lt_delivery_backoff(&u, 2, 0), 400);
	assert_int_equal(lt_delivery_backoff(&u, 3, 0), 800);
	assert_int_equal(lt_delivery_backoff(&u, 5, 0), 3200);
	assert_int_equal(lt_delivery_backoff(&u, 6, 0), 5000);
	assert_int_equal(lt_delivery_backoff(&u, 60, UINT32_MAX), 2500);
	for (uint32_t r = 0; r < 1000; r++) {
		uint64_t w = lt_delivery_backoff(&u, 2, r * 4294967u);

		assert_true(w >= 200 && w <= 400);
	}
}

static void only_listed_failures_are_retried(void **state)
{
	int statuses[] = { 502, 503 };
	struct lt_upstream_cfg u = { .retry_on = LT_RETRY_CONNECT, .retry_status = statuses, .n_retry_status = 2 };

	(void)state;
	assert_true(lt_delivery_retryable(&u, LT_UP_CONNECT, 0));
	assert_false(lt_delivery_retryable(&u, LT_UP_TIMEOUT, 0));
	assert_false(lt_delivery_retryable(&u, LT_UP_TLS, 0));
	assert_false(lt_delivery_retryable(&u, LT_UP_PROTOCOL, 0));
	assert_true(lt_delivery_retryable(&u, LT_UP_OK, 503));
	assert_false(lt_delivery_retryable(&u, LT_UP_OK, 500));
	assert_false(lt_delivery_retryable(&u, LT_UP_OK, 400));
	assert_true(lt_delivery_unhealthy(LT_UP_TIMEOUT, 0));
	assert_true(lt_delivery_unhealthy(LT_UP_OK, 503));
	assert_false(lt_delivery_unhealthy(LT_UP_OK, 404));
	assert_false(lt_delivery_unhealthy(LT_UP_OK, 200));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(opens_after_consecutive_failures),
		cmocka_unit_test(half_open_lets_one_through_and_closes_on_success),
		cmocka_unit_test(failed_trial_opens_for_another_cooldown),
		cmocka_unit_test(disabled_breaker_never_opens),
		cmocka_unit_test(backoff_grows_to_the_cap_with_equal_jitter),
		cmocka_unit_test(only_listed_failures_are_retried),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
