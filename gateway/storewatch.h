/* storewatch.h: what the operator's side (metrics, status page, /readyz) knows about the store:
 * its messages by state, counted every few seconds by the store's own writer thread (the loop
 * never touches the database), and whether its last answer was a failure. The figures are at most
 * LT_STOREWATCH_PERIOD_MS old. */
#ifndef LT_STOREWATCH_H
#define LT_STOREWATCH_H

#include "gateway/server.h"

#define LT_STOREWATCH_PERIOD_MS 5000

/* On the main loop: counts now and then every period; fills the metrics hooks (queue depth, store
 * writable). 0 / -1 (then the hooks keep their defaults). Stopped by lt_server_free (a stop hook). */
int lt_storewatch_start(struct lt_server *srv);

#endif
