/* maptest.h: helpers shared by the mapping engine's unit tests (test_map.c, test_xml.c): compile a
 * mapping from a string, and assert that compiling fails with exactly the given problems. Include
 * after cmocka.h, with FIX defined as the fixture folder the messages name. */
#ifndef LT_MAPTEST_H
#define LT_MAPTEST_H

#include <stdlib.h>
#include <string.h>
#include "gateway/map.h"
#include "gateway/util.h"

/* Compiles yaml as FIX "t.yaml"; it must load with no problem at all. */
static inline struct lt_map *load(const char *yaml)
{
	struct lt_diags d = { 0 };
	struct lt_map *m = NULL;
	int rc = lt_map_parse(FIX "t.yaml", yaml, strlen(yaml), &m, &d);

	if (rc < 0)
		lt_diags_print(&d, stderr);
	assert_int_equal(rc, 0);
	assert_int_equal(d.n, 0);
	assert_non_null(m);
	lt_diags_free(&d);
	return m;
}

/* Compiling must fail: returns every problem, one per line (caller frees). */
static inline char *load_fail(const char *yaml)
{
	struct lt_diags d = { 0 };
	struct lt_map *m = NULL;
	struct lt_buf b;

	assert_int_equal(lt_map_parse(FIX "t.yaml", yaml, strlen(yaml), &m, &d), -1);
	assert_null(m);
	assert_true(d.nerrors > 0);
	lt_buf_init(&b, 1 << 16);
	for (size_t i = 0; i < d.n; i++)
		lt_buf_printf(&b, "%s%s", i ? "\n" : "", d.v[i].text);
	lt_diags_free(&d);
	return lt_buf_take(&b, NULL);
}

static inline void assert_load_fails(const char *yaml, const char *want)
{
	char *got = load_fail(yaml);

	assert_string_equal(got, want);
	free(got);
}

#endif
