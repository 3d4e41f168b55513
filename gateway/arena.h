/* arena.h: per-transaction memory. A bump allocator in chunks that a transaction (one request and
 * its answer) owns and frees at once, and the jansson allocator that routes every json_t, key,
 * string and hashtable made while a transaction is being processed into that transaction's arena.
 *
 * Why: jansson allocates every value separately, and a request builds three or four trees (the
 * city's document, the mapped body, the upstream answer, the mapped answer); malloc, free and
 * json_delete were a third of the instructions per request. In an arena an allocation is a pointer
 * bump, a free is a no-op, and the whole transaction goes back to the heap in a few free() calls.
 *
 * How jansson finds the arena: json_set_alloc_funcs is process-wide, so lt_arena_install sets it
 * once, before any json_t exists, to functions that look at this thread's *current arena*
 * (lt_arena_enter/lt_arena_leave around every step of a transaction on its loop; NULL outside,
 * which means the heap). Every block carries a 16-byte header (max_align_t alignment is kept) that
 * says whether it is an arena block (free is a no-op) or a heap block (free is free). Consequence:
 * a string from json_dumps is no longer malloc'd: use lt_json_dumps, whose result is.
 *
 * The bound: an arena never holds more than lt_arena_txn_bound(max_body) bytes. Past it, blocks
 * come from the heap (tagged as such), so a hostile document costs exactly what it cost without
 * the arena, and a transaction that frees and re-allocates (hashtables growing) cannot make its
 * arena grow without limit.
 *
 * Switches: LT_ARENA=0 in the environment at start leaves jansson's allocator alone (plain
 * malloc/free, no arena anywhere): the way to bisect a use-after-transaction bug. Under
 * AddressSanitizer the arena stays real, but the unused part of every chunk, a red zone after each
 * block and every block that jansson freed are poisoned, so overflows and uses after free inside a
 * transaction are still reported, and a use after the transaction is a heap-use-after-free.
 *
 * What it costs: memory a transaction frees is not reused before the transaction ends, so a request
 * waiting for its upstream holds its whole arena (~27 KB for the bench dossier, where it held only
 * the mapped body before): +4 MB peak RSS at 200 requests in flight. And LeakSanitizer no longer
 * sees a tree leaked inside a transaction (the arena takes it back): trees are still json_decref'd
 * as before, because heap constants shared into them are reference-counted, and a leak hunt runs
 * the e2e suite with LT_ARENA=0 (tests/e2e/test_17_arena.py keeps that mode working).
 *
 * THE ESCAPE AUDIT (what was checked so that nothing made in an arena outlives its transaction):
 * - Config, compiled mappings and their constants (defaults, values, lookup tables), reload
 *   generations: built at start-up, by `check` and by reload, none of which runs inside a
 *   transaction (admin requests and signals are not transactions), so they are on the heap. A
 *   mapping shares constants INTO an arena tree with json_incref (a heap block referenced from the
 *   arena: safe), never the other way; nothing in map.c or map_rules.c caches a value at apply time.
 * - Session tokens (gateway/session.c): the token is copied out of the login answer with
 *   lt_xstrdup (heap); the login answer is decoded in login_done, which runs from the upstream
 *   client's callback, outside any transaction; start_login runs with the arena suspended (it can
 *   be reached from inside a transaction that needs the token), so the login call and anything it
 *   builds belong to the session, not to the transaction that happened to trigger it.
 * - The store thread and queue mode (gateway/callback.c): a message is encoded to bytes
 *   (lt_map_encode: malloc'd buffer) and its strings copied with lt_xstrdup before it is handed to
 *   the store thread; the store thread never sets an arena, so whatever it allocates is heap.
 *   The store's completions (on_stored, on_status) run on the loop outside any step: they build
 *   no tree, only answer, and the transaction they end frees its arena at once.
 * - Delivery (gateway/delivery.c): jobs start from store completions and timers, outside any
 *   transaction (heap); its only tree is a temporary one in place_body_token, whose encoding goes
 *   through lt_json_dumps.
 * - Strings that leave a tree: masked values (gateway/mask.c, lt_xstrdup), idempotency keys
 *   (lt_xstrdup), error messages (fixed arrays in struct lt_err), log lines (formatted into the
 *   log's own buffer), metrics labels (route and upstream names from the config, static codes),
 *   encoded bodies (adapters/json.c, adapters/xml.c, adapters/form.c write into malloc'd buffers).
 * - json_dumps results: adapters/auth.c (login body), gateway/delivery.c, gateway/main.c use
 *   lt_json_dumps, so every string handed to free() (upstream.c frees call bodies) is malloc'd.
 * - Threads: the current arena is thread-local; each worker loop has its own, and the store
 *   thread's is always NULL.
 * - Lifetime: a transaction's arena is freed by txn_free; when that happens inside one of its own
 *   steps, the arena is only marked dead and is freed when the outermost step leaves, and blocks
 *   asked for meanwhile come from the heap. */
#ifndef LT_ARENA_H
#define LT_ARENA_H

#include <stddef.h>
#include <jansson.h>

struct lt_arena;

/* The first chunk's size: a typical request (1.7 KB dossier, its mapped body, the answer) fits. */
#define LT_ARENA_FIRST (32u * 1024)

/* Installs the jansson allocator (once, before any json_t is made; reads LT_ARENA). Not thread-safe:
 * call it from main before any thread starts. */
void lt_arena_install(void);
/* 1 when lt_arena_install put the arena allocator in place (and LT_ARENA was not 0). */
int lt_arena_enabled(void);

/* A new arena whose first chunk has `first` bytes and whose chunks never add up to more than
 * `bound` bytes. Caller frees with lt_arena_free. Aborts on OOM (gateway/util.h policy). */
struct lt_arena *lt_arena_new(size_t first, size_t bound);
/* A transaction's arena: NULL when arenas are off (then everything is heap, as before). The bound
 * follows the body limit: a document of max_body bytes as jansson trees, with room. */
struct lt_arena *lt_arena_txn_new(size_t max_body);
size_t lt_arena_txn_bound(size_t max_body);
/* Frees every chunk. NULL is fine. While a step of the arena's transaction is still running
 * (entered), the free happens when the outermost step leaves. */
void lt_arena_free(struct lt_arena *a);
/* Forgets every block and keeps only the first chunk, to be filled again (a loop of documents). */
void lt_arena_reset(struct lt_arena *a);

/* n bytes aligned as malloc's, owned by the arena (never freed alone); NULL when the bound would
 * be passed. */
void *lt_arena_alloc(struct lt_arena *a, size_t n);
/* Bytes taken from the chunks (block headers, red zones and the unused ends of filled chunks
 * included) and bytes held in chunks, for tests and tuning. */
size_t lt_arena_used(const struct lt_arena *a);
size_t lt_arena_size(const struct lt_arena *a);

/* Makes a (may be NULL: the heap) this thread's current arena; returns the previous one, which the
 * step gives back to lt_arena_leave when it ends. Steps may nest (a callback run synchronously). */
struct lt_arena *lt_arena_enter(struct lt_arena *a);
void lt_arena_leave(struct lt_arena *prev);
/* This thread's current arena (borrowed), NULL when none. */
struct lt_arena *lt_arena_current(void);

/* json_dumps whose result the caller frees with free(), whatever the current arena. NULL as
 * json_dumps. */
char *lt_json_dumps(const json_t *json, size_t flags);

#endif
