/* curlclient.h: the libcurl transport of upstream calls (`client: curl`), behind gateway/upstream.h.
 * One per event loop. */
#ifndef LT_CURLCLIENT_H
#define LT_CURLCLIENT_H

#include <event2/event.h>
#include "gateway/upstream.h"

struct lt_curlc;

/* NULL on failure (logged). */
struct lt_curlc *lt_curlc_new(struct event_base *base);
/* Aborts transfers still running (their done() is NOT called) and frees everything. c may be NULL. */
void lt_curlc_free(struct lt_curlc *c);
void lt_curlc_max_host_connections(struct lt_curlc *c, long n);
/* Starts call (prepared by lt_upcall_start); its end goes to lt_upcall_finished_, never from
 * inside this function. 0 / -1. */
int lt_curlc_start(struct lt_curlc *c, struct lt_upcall *call, struct lt_err *e);

#endif
