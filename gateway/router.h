/* router.h: (listener, method, path) → route. Paths match exactly (the query string is not part
 * of the match); a path known with another method answers 405 with the methods it does take. */
#ifndef LT_ROUTER_H
#define LT_ROUTER_H

#include <stddef.h>
#include "gateway/config.h"
#include "gateway/err.h"

struct lt_router_entry {
	const struct lt_route_cfg *route;   /* borrowed from the config */
	size_t path_len;
};

struct lt_router {
	struct lt_router_entry *v;  /* sorted by (listener, path, method) */
	size_t n;
};

/* Builds the table for cfg (borrowed; must outlive the router). 0 / -1. */
int lt_router_build(struct lt_router *r, const struct lt_config *cfg);
void lt_router_free(struct lt_router *r);

/* path: the request path without query string (path_len bytes). On success *out is the route.
 * On failure e is 404 route.not_found or 405 route.method_not_allowed, and allow (if not NULL)
 * receives "GET, POST" for a 405. */
int lt_router_match(const struct lt_router *r, int listener, const char *method, const char *path,
		    size_t path_len, const struct lt_route_cfg **out, char *allow, size_t allow_len,
		    struct lt_err *e);

#endif
