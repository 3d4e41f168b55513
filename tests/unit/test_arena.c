/* The per-transaction arena: alignment, growth, the bound, reset, which blocks jansson's free
 * returns to the heap, the current arena per thread, and freeing an arena while a step runs.
 * Leaks are LeakSanitizer's to report (make unit runs with detect_leaks=1). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <cmocka.h>

#include "gateway/arena.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

static void blocks_keep_malloc_alignment(void **state)
{
	struct lt_arena *a = lt_arena_new(4096, 1u << 20);
	struct lt_arena *prev;
	json_t *v;

	(void)state;
	for (size_t n = 1; n < 300; n += 7) {
		char *p = lt_arena_alloc(a, n);

		assert_non_null(p);
		assert_int_equal((uintptr_t)p % _Alignof(max_align_t), 0);
		memset(p, 0xab, n);
	}
	prev = lt_arena_enter(a);
	v = json_pack("{s:s, s:[i, f]}", "k", "v", "a", 1, 2.5);
	lt_arena_leave(prev);
	assert_non_null(v);
	assert_int_equal((uintptr_t)v % _Alignof(max_align_t), 0);
	assert_int_equal((uintptr_t)json_string_value(json_object_get(v, "k")) % _Alignof(max_align_t), 0);
	json_decref(v);
	lt_arena_free(a);
}

static void grows_in_chunks_and_keeps_earlier_blocks(void **state)
{
	struct lt_arena *a = lt_arena_new(1024, 1u << 20);
	unsigned char *p[200];

	(void)state;
	assert_int_equal(lt_arena_size(a), 1024);
	for (int i = 0; i < 200; i++) {
		p[i] = lt_arena_alloc(a, 300);
		assert_non_null(p[i]);
		memset(p[i], i, 300);
	}
	assert_true(lt_arena_size(a) > 200 * 300);
	assert_true(lt_arena_used(a) >= 200 * 300);
	for (int i = 0; i < 200; i++)
		assert_int_equal(p[i][0], (unsigned char)i), assert_int_equal(p[i][299], (unsigned char)i);
	/* A block bigger than any chunk gets one of its own. */
	assert_non_null(lt_arena_alloc(a, 600 * 1024));
	lt_arena_free(a);
}

static void never_holds_more_than_its_bound(void **state)
{
	struct lt_arena *a = lt_arena_new(1024, 16 * 1024);
	size_t got = 0;

	(void)state;
	while (lt_arena_alloc(a, 100) != NULL)
		got += 100;
	assert_true(got > 8 * 1024);
	assert_true(lt_arena_size(a) <= 16 * 1024);
	assert_null(lt_arena_alloc(a, 17 * 1024));
	assert_null(lt_arena_alloc(a, SIZE_MAX));
	lt_arena_free(a);
	/* A transaction's bound follows the body limit. */
	assert_true(lt_arena_txn_bound(1024 * 1024) >= 4 * 1024 * 1024);
	assert_true(lt_arena_txn_bound(SIZE_MAX) > 0);
}

static void reset_keeps_the_first_chunk_only(void **state)
{
	struct lt_arena *a = lt_arena_new(2048, 1u << 20);
	char *first;

	(void)state;
	first = lt_arena_alloc(a, 16);
	for (int i = 0; i < 100; i++)
		assert_non_null(lt_arena_alloc(a, 1000));
	assert_true(lt_arena_size(a) > 2048);
	lt_arena_reset(a);
	assert_int_equal(lt_arena_size(a), 2048);
	assert_int_equal(lt_arena_used(a), 0);
	assert_ptr_equal(lt_arena_alloc(a, 16), first);
	lt_arena_free(a);
}

/* jansson's free is a no-op on an arena block and free() on a heap block (LeakSanitizer checks that
 * the heap ones went); past the bound, blocks come from the heap and are freed one by one. */
static void json_blocks_go_where_the_current_arena_says(void **state)
{
	struct lt_arena *a = lt_arena_new(4096, 64 * 1024);
	struct lt_arena *prev;
	json_t *heap, *in, *big;
	size_t used;

	(void)state;
	assert_null(lt_arena_current());
	heap = json_pack("{s:s}", "heap", "value");
	assert_int_equal(lt_arena_used(a), 0);
	prev = lt_arena_enter(a);
	assert_ptr_equal(lt_arena_current(), a);
	in = json_pack("{s:s, s:o}", "arena", "value", "shared", json_incref(heap));
	used = lt_arena_used(a);
	assert_true(used > 0);
	/* Beyond the bound: 2,000 strings of 100 bytes do not fit in 64 KiB. */
	big = json_array();
	for (int i = 0; i < 2000; i++) {
		char s[101];

		memset(s, 'a' + i % 26, 100);
		s[100] = '\0';
		assert_int_equal(json_array_append_new(big, json_string(s)), 0);
	}
	assert_true(lt_arena_size(a) <= 64 * 1024);
	assert_int_equal(json_array_size(big), 2000);
	assert_int_equal(json_string_value(json_array_get(big, 1999))[0], 'a' + 1999 % 26);
	lt_arena_leave(prev);
	assert_null(lt_arena_current());
	json_decref(big);
	json_decref(in);
	/* The heap tree outlives the arena tree that shared it. */
	lt_arena_free(a);
	assert_string_equal(json_string_value(json_object_get(heap, "heap")), "value");
	json_decref(heap);
}

/* A string from lt_json_dumps is free()'d, even when it was made inside an arena. */
static void json_dumps_result_is_malloced(void **state)
{
	struct lt_arena *a = lt_arena_new(4096, 1u << 20);
	struct lt_arena *prev = lt_arena_enter(a);
	json_t *v = json_pack("{s:i}", "n", 42);
	char *s = lt_json_dumps(v, JSON_COMPACT);

	(void)state;
	lt_arena_leave(prev);
	assert_string_equal(s, "{\"n\":42}");
	free(s);
	json_decref(v);
	lt_arena_free(a);
}

struct worker {
	struct lt_arena *a;
	size_t used_before, used_after;
	int saw_null_at_start;
	int heap_only;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct lt_arena *prev;
	json_t *v;

	w->saw_null_at_start = lt_arena_current() == NULL;
	prev = lt_arena_enter(w->a);
	w->used_before = lt_arena_used(w->a);
	for (int i = 0; i < 200; i++) {
		v = json_pack("{s:s, s:i}", "name", "Nguyễn Văn A", "i", i);
		json_decref(v);
	}
	w->used_after = lt_arena_used(w->a);
	lt_arena_leave(prev);
	/* Outside the arena this thread allocates from the heap. */
	v = json_string("heap");
	w->heap_only = lt_arena_used(w->a) == w->used_after;
	json_decref(v);
	return NULL;
}

/* Each thread has its own current arena: two workers fill their own, the main thread's stays
 * NULL, and neither sees the other's blocks. */
static void current_arena_is_per_thread(void **state)
{
	struct worker w[2] = { { .a = lt_arena_new(4096, 1u << 20) }, { .a = lt_arena_new(4096, 1u << 20) } };
	struct lt_arena *mine = lt_arena_new(4096, 1u << 20);
	struct lt_arena *prev;
	pthread_t th[2];

	(void)state;
	prev = lt_arena_enter(mine);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	assert_ptr_equal(lt_arena_current(), mine);
	assert_int_equal(lt_arena_used(mine), 0);
	lt_arena_leave(prev);
	for (int i = 0; i < 2; i++) {
		assert_true(w[i].saw_null_at_start);
		assert_true(w[i].used_after > w[i].used_before);
		assert_true(w[i].heap_only);
		lt_arena_free(w[i].a);
	}
	lt_arena_free(mine);
}

/* A transaction freed inside one of its own steps: the arena stays until the outermost step leaves;
 * what is made meanwhile is heap, and the suspended (NULL) step in between restores correctly. */
static void free_inside_a_step_waits_for_the_step(void **state)
{
	struct lt_arena *a = lt_arena_new(4096, 1u << 20);
	struct lt_arena *outer, *inner, *susp;
	json_t *before, *after;
	size_t used;

	(void)state;
	outer = lt_arena_enter(a);
	before = json_string("made in the arena");
	susp = lt_arena_enter(NULL);
	assert_null(lt_arena_current());
	inner = lt_arena_enter(a);
	json_decref(before);
	lt_arena_free(a);                     /* the transaction ends inside a nested step */
	lt_arena_leave(inner);
	lt_arena_leave(susp);
	assert_ptr_equal(lt_arena_current(), a);
	used = lt_arena_used(a);
	after = json_string("made after the end");
	assert_int_equal(lt_arena_used(a), used);
	lt_arena_leave(outer);                /* a goes now (LeakSanitizer would say otherwise) */
	assert_null(lt_arena_current());
	assert_string_equal(json_string_value(after), "made after the end");
	json_decref(after);
}

#if defined(__SANITIZE_ADDRESS__)
/* Under ASan the arena keeps reporting overflows and uses after free. */
static void asan_sees_unused_and_freed_space(void **state)
{
	struct lt_arena *a = lt_arena_new(4096, 1u << 20);
	struct lt_arena *prev = lt_arena_enter(a);
	json_t *s = json_string("freed soon");
	const char *text = json_string_value(s);
	char *p = lt_arena_alloc(a, 10);       /* the newest block: after it, the chunk is unused */

	(void)state;
	assert_false(__asan_address_is_poisoned(p + 9));
	assert_true(__asan_address_is_poisoned(p + 10));     /* past the block */
	assert_true(__asan_address_is_poisoned(p + 16));     /* the red zone */
	assert_true(__asan_address_is_poisoned(p + 200));    /* never handed out */
	assert_false(__asan_address_is_poisoned(text));
	json_decref(s);
	assert_true(__asan_address_is_poisoned(text));
	assert_true(__asan_address_is_poisoned(s));
	lt_arena_leave(prev);
	lt_arena_free(a);
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(blocks_keep_malloc_alignment),
		cmocka_unit_test(grows_in_chunks_and_keeps_earlier_blocks),
		cmocka_unit_test(never_holds_more_than_its_bound),
		cmocka_unit_test(reset_keeps_the_first_chunk_only),
		cmocka_unit_test(json_blocks_go_where_the_current_arena_says),
		cmocka_unit_test(json_dumps_result_is_malloced),
		cmocka_unit_test(current_arena_is_per_thread),
		cmocka_unit_test(free_inside_a_step_waits_for_the_step),
#if defined(__SANITIZE_ADDRESS__)
		cmocka_unit_test(asan_sees_unused_and_freed_space),
#endif
	};

	/* Before any json_t, as main.c does; LT_ARENA=0 in the caller's environment would turn it off. */
	unsetenv("LT_ARENA");
	lt_arena_install();
	if (!lt_arena_enabled())
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
