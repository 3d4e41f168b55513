/* router.c: a sorted table and a binary search; routes are few and fixed per generation. */
#include <stdlib.h>
#include <string.h>

#include "gateway/router.h"
#include "gateway/util.h"

static int cmp_key(int la, const char *pa, size_t na, int lb, const char *pb, size_t nb)
{
	int c;

	if (la != lb)
		return la < lb ? -1 : 1;
	c = memcmp(pa, pb, na < nb ? na : nb);
	if (c != 0)
		return c;
	return na == nb ? 0 : (na < nb ? -1 : 1);
}

static int cmp_entry(const void *a, const void *b)
{
	const struct lt_router_entry *x = a, *y = b;
	int c = cmp_key(x->route->listener_index, x->route->path, x->path_len,
			y->route->listener_index, y->route->path, y->path_len);

	return c != 0 ? c : strcmp(x->route->method, y->route->method);
}

int lt_router_build(struct lt_router *r, const struct lt_config *cfg)
{
	r->n = cfg->n_routes;
	r->v = lt_xcalloc(r->n ? r->n : 1, sizeof(*r->v));
	for (size_t i = 0; i < r->n; i++) {
		r->v[i].route = &cfg->routes[i];
		r->v[i].path_len = strlen(cfg->routes[i].path);
	}
	qsort(r->v, r->n, sizeof(*r->v), cmp_entry);
	return 0;
}

void lt_router_free(struct lt_router *r)
{
	LT_FREE(r->v);
	r->n = 0;
}

int lt_router_match(const struct lt_router *r, int listener, const char *method, const char *path,
		    size_t path_len, const struct lt_route_cfg **out, char *allow, size_t allow_len,
		    struct lt_err *e)
{
	size_t lo = 0, hi = r->n, first;
	size_t used = 0;

	/* Lower bound of (listener, path): every method of that path follows it. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct lt_router_entry *m = &r->v[mid];

		if (cmp_key(m->route->listener_index, m->route->path, m->path_len, listener, path, path_len) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	first = lo;
	for (size_t i = first; i < r->n; i++) {
		const struct lt_router_entry *m = &r->v[i];

		if (cmp_key(m->route->listener_index, m->route->path, m->path_len, listener, path, path_len) != 0)
			break;
		if (strcmp(m->route->method, method) == 0) {
			*out = m->route;
			return 0;
		}
	}
	if (first < r->n && cmp_key(r->v[first].route->listener_index, r->v[first].route->path,
				    r->v[first].path_len, listener, path, path_len) == 0) {
		if (allow != NULL && allow_len > 0) {
			allow[0] = '\0';
			for (size_t i = first; i < r->n; i++) {
				const struct lt_router_entry *m = &r->v[i];
				int n;

				if (cmp_key(m->route->listener_index, m->route->path, m->path_len, listener, path,
					    path_len) != 0)
					break;
				n = snprintf(allow + used, allow_len - used, "%s%s", used ? ", " : "", m->route->method);
				if (n < 0 || (size_t)n >= allow_len - used)
					break;
				used += (size_t)n;
			}
		}
		return lt_err_set(e, 405, "route.method_not_allowed", "method %s is not allowed on %.*s", method,
				  (int)(path_len > 200 ? 200 : path_len), path);
	}
	return lt_err_set(e, 404, "route.not_found", "no route for %s %.*s", method,
			  (int)(path_len > 200 ? 200 : path_len), path);
}
