/* reload.h: hot reload (SIGHUP, POST /admin/reload). The config file, every mapping and every
 * certificate are loaded and checked exactly as `lienthong check` does, built into a new
 * generation and swapped in: requests in flight finish on the generation they hold, new requests
 * and new TLS connections get the new one. A config that fails is refused, the reason is logged
 * and audited, and the old generation keeps serving.
 *
 * Listeners keep their sockets (no connection is reset); a reload that changes the set of
 * listeners or an address is refused, because every loop holds its own socket bound to each
 * address (SO_REUSEPORT) and closing one would drop its connections: that change needs a restart. */
#ifndef LT_RELOAD_H
#define LT_RELOAD_H

#include "gateway/err.h"

struct lt_server;

struct lt_gen;

/* On loop `loop`'s own thread, as it swaps from `from` to `to`: the login sessions of upstreams
 * whose URL and authentication did not change are carried over (no new login after a reload). */
void lt_reload_adopt_sessions(struct lt_gen *to, struct lt_gen *from, int loop);

/* source says who asked ("SIGHUP", "admin"), for the log and the audit line. 0, or -1 with e
 * (code reload.refused, status 422, the first problems in the message). Blocking: reads files. */
int lt_reload(struct lt_server *srv, const char *source, struct lt_err *e);

#endif
