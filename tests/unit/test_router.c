/* Routing: exact (listener, method, path), 404 and 405 with Allow. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "gateway/router.h"

static struct lt_route_cfg routes[] = {
	{ .name = "dvcqg.dossier.sync", .listener_index = 0, .method = "POST", .path = "/v1/dvcqg/dossiers" },
	{ .name = "dvcqg.dossier.get", .listener_index = 0, .method = "GET", .path = "/v1/dvcqg/dossiers" },
	{ .name = "vnpay.ipn", .listener_index = 0, .method = "GET", .path = "/callbacks/vnpay/ipn" },
	{ .name = "other.listener", .listener_index = 1, .method = "POST", .path = "/v1/dvcqg/progress" },
	{ .name = "dvcqg.progress", .listener_index = 0, .method = "POST", .path = "/v1/dvcqg/progress" },
};

static struct lt_config cfg = { .routes = routes, .n_routes = sizeof(routes) / sizeof(routes[0]) };

static const struct lt_route_cfg *match(struct lt_router *r, int l, const char *m, const char *p, struct lt_err *e,
					 char *allow)
{
	const struct lt_route_cfg *out = NULL;

	lt_err_clear(e);
	if (lt_router_match(r, l, m, p, strlen(p), &out, allow, 64, e) < 0)
		return NULL;
	return out;
}

static void finds_exact_routes(void **state)
{
	struct lt_router r;
	struct lt_err e;
	char allow[64];

	(void)state;
	lt_router_build(&r, &cfg);
	assert_string_equal(match(&r, 0, "POST", "/v1/dvcqg/dossiers", &e, allow)->name, "dvcqg.dossier.sync");
	assert_string_equal(match(&r, 0, "GET", "/v1/dvcqg/dossiers", &e, allow)->name, "dvcqg.dossier.get");
	assert_string_equal(match(&r, 0, "POST", "/v1/dvcqg/progress", &e, allow)->name, "dvcqg.progress");
	assert_string_equal(match(&r, 1, "POST", "/v1/dvcqg/progress", &e, allow)->name, "other.listener");
	lt_router_free(&r);
}

static void unknown_path_is_404(void **state)
{
	struct lt_router r;
	struct lt_err e;
	char allow[64];

	(void)state;
	lt_router_build(&r, &cfg);
	assert_null(match(&r, 0, "POST", "/v1/dvcqg/dossier", &e, allow));
	assert_int_equal(e.status, 404);
	assert_string_equal(e.code, "route.not_found");
	assert_string_equal(e.msg, "no route for POST /v1/dvcqg/dossier");
	/* a prefix or a longer path is not the route */
	assert_null(match(&r, 0, "POST", "/v1/dvcqg/dossiers/x", &e, allow));
	assert_int_equal(e.status, 404);
	/* another listener's path */
	assert_null(match(&r, 1, "GET", "/callbacks/vnpay/ipn", &e, allow));
	assert_int_equal(e.status, 404);
	lt_router_free(&r);
}

static void known_path_other_method_is_405_with_allow(void **state)
{
	struct lt_router r;
	struct lt_err e;
	char allow[64];

	(void)state;
	lt_router_build(&r, &cfg);
	assert_null(match(&r, 0, "DELETE", "/v1/dvcqg/dossiers", &e, allow));
	assert_int_equal(e.status, 405);
	assert_string_equal(e.code, "route.method_not_allowed");
	assert_string_equal(allow, "GET, POST");
	assert_null(match(&r, 0, "POST", "/callbacks/vnpay/ipn", &e, allow));
	assert_string_equal(allow, "GET");
	lt_router_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(finds_exact_routes),
		cmocka_unit_test(unknown_path_is_404),
		cmocka_unit_test(known_path_other_method_is_405_with_allow),
	};
	return cmocka_run_group_tests_name("router", tests, NULL, NULL);
}
