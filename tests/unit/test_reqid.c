/* Request ids and traceparents made up by the gateway: well-formed, and never the same twice, even
 * when two event loops (threads) make them at once. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <cmocka.h>

#include "gateway/reqid.h"

#define PER_THREAD 50000

struct ids {
	char (*v)[LT_REQID_LEN + 1];
	char (*tp)[LT_TRACEPARENT_LEN + 1];
};

static int lower_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static void *make_ids(void *arg)
{
	struct ids *ids = arg;

	for (size_t i = 0; i < PER_THREAD; i++) {
		lt_reqid_new(ids->v[i]);
		lt_traceparent_new(ids->tp[i]);
	}
	return NULL;
}

static int cmp_id(const void *a, const void *b)
{
	return memcmp(a, b, LT_REQID_LEN);
}

/* The trace id of a traceparent, moved to the front so that the same sort finds duplicates. */
static void trace_ids(char (*tp)[LT_TRACEPARENT_LEN + 1], char (*out)[LT_REQID_LEN + 1], size_t n)
{
	for (size_t i = 0; i < n; i++) {
		memcpy(out[i], tp[i] + 3, LT_REQID_LEN);
		out[i][LT_REQID_LEN] = '\0';
	}
}

static void no_duplicates(char (*v)[LT_REQID_LEN + 1], size_t n)
{
	qsort(v, n, sizeof(*v), cmp_id);
	for (size_t i = 1; i < n; i++)
		if (memcmp(v[i - 1], v[i], LT_REQID_LEN) == 0)
			fail_msg("id %s made twice", v[i]);
}

static void two_threads_never_make_the_same_id(void **state)
{
	struct ids a, b;
	pthread_t ta, tb;
	char (*all)[LT_REQID_LEN + 1] = calloc(2 * PER_THREAD, sizeof(*all));

	(void)state;
	a.v = calloc(PER_THREAD, sizeof(*a.v));
	b.v = calloc(PER_THREAD, sizeof(*b.v));
	a.tp = calloc(PER_THREAD, sizeof(*a.tp));
	b.tp = calloc(PER_THREAD, sizeof(*b.tp));
	assert_non_null(all);
	assert_int_equal(pthread_create(&ta, NULL, make_ids, &a), 0);
	assert_int_equal(pthread_create(&tb, NULL, make_ids, &b), 0);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	for (size_t i = 0; i < PER_THREAD; i++) {
		assert_int_equal(strlen(a.v[i]), LT_REQID_LEN);
		assert_true(lower_hex(a.v[i], LT_REQID_LEN));
		assert_true(lower_hex(b.v[i], LT_REQID_LEN));
	}
	memcpy(all, a.v, PER_THREAD * sizeof(*all));
	memcpy(all + PER_THREAD, b.v, PER_THREAD * sizeof(*all));
	no_duplicates(all, 2 * PER_THREAD);
	trace_ids(a.tp, all, PER_THREAD);
	trace_ids(b.tp, all + PER_THREAD, PER_THREAD);
	no_duplicates(all, 2 * PER_THREAD);
	free(a.v);
	free(b.v);
	free(a.tp);
	free(b.tp);
	free(all);
}

static void traceparent_is_well_formed(void **state)
{
	char tp[LT_TRACEPARENT_LEN + 1], other[LT_TRACEPARENT_LEN + 1];

	(void)state;
	lt_traceparent_new(tp);
	lt_traceparent_new(other);
	assert_int_equal(strlen(tp), LT_TRACEPARENT_LEN);
	assert_memory_equal(tp, "00-", 3);
	assert_true(lower_hex(tp + 3, 32));
	assert_int_equal(tp[35], '-');
	assert_true(lower_hex(tp + 36, 16));
	assert_string_equal(tp + 52, "-00");
	assert_false(strspn(tp + 3, "0") >= 32);
	assert_false(strspn(tp + 36, "0") >= 16);
	assert_string_not_equal(tp, other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(two_threads_never_make_the_same_id),
		cmocka_unit_test(traceparent_is_well_formed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
