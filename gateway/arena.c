/* arena.c: per-transaction bump allocation and the jansson allocator on top of it (arena.h). */
#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/arena.h"
#include "gateway/util.h"

#if defined(__SANITIZE_ADDRESS__)
#define LT_ARENA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LT_ARENA_ASAN 1
#endif
#endif

#ifdef LT_ARENA_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
/* A poisoned gap after every block: an overflow lands in it instead of in the next header. */
#define REDZONE 16u
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#define REDZONE 0u
#endif

#define ALIGN 16u
#define ROUND(n) (((n) + (ALIGN - 1)) & ~(size_t)(ALIGN - 1))
/* Chunks after the first double up to this; a bigger block gets a chunk of its own size. */
#define CHUNK_MAX (256u * 1024)

/* The header in front of every block jansson gets: where it came from, and its size (ASan poisons
 * a freed arena block with it). 16 bytes, so the block keeps malloc's alignment. */
enum { BLK_HEAP = 0x4c54480a, BLK_ARENA = 0x4c54410a, BLK_FREED = 0x4c54460a };
struct blk {
	uint32_t kind;
	uint32_t pad;
	uint64_t size;
};
_Static_assert(sizeof(struct blk) == ALIGN, "the block header keeps 16-byte alignment");
_Static_assert(alignof(max_align_t) <= ALIGN, "max_align_t fits the block alignment");

struct chunk {
	struct chunk *next;
	size_t size;             /* bytes of the whole chunk, this header included */
};
_Static_assert(sizeof(struct chunk) % ALIGN == 0, "chunk data stays aligned");

struct lt_arena {
	struct chunk *chunks;    /* the newest first; the last one holds this struct */
	char *pos, *end;         /* the free part of the newest chunk */
	char *base;              /* the first chunk's data after this struct (reset goes back here) */
	size_t size;             /* bytes of all chunks */
	size_t bound;
	size_t next;             /* size of the next chunk */
	unsigned entered;        /* steps running with this arena current */
	int dead;                /* freed while entered: goes when the last step leaves */
};

#define ARENA_HDR ROUND(sizeof(struct lt_arena))

static int enabled;
static _Thread_local struct lt_arena *current;

static struct chunk *chunk_new(size_t size)
{
	struct chunk *c = lt_xmalloc(size);

	c->size = size;
	c->next = NULL;
	POISON((char *)c + sizeof(*c), size - sizeof(*c));
	return c;
}

static void chunk_free(struct chunk *c)
{
	UNPOISON(c, c->size);
	free(c);
}

struct lt_arena *lt_arena_new(size_t first, size_t bound)
{
	size_t size = ROUND(first) > sizeof(struct chunk) + ARENA_HDR + 256 ? ROUND(first) :
		      sizeof(struct chunk) + ARENA_HDR + 256;
	struct chunk *c = chunk_new(size);
	struct lt_arena *a = (struct lt_arena *)(void *)((char *)c + sizeof(*c));

	UNPOISON(a, sizeof(*a));
	memset(a, 0, sizeof(*a));
	a->chunks = c;
	a->base = (char *)a + ARENA_HDR;
	a->pos = a->base;
	a->end = (char *)c + size;
	a->size = size;
	a->bound = bound > size ? bound : size;
	a->next = size * 2 < CHUNK_MAX ? size * 2 : CHUNK_MAX;
	return a;
}

size_t lt_arena_txn_bound(size_t max_body)
{
	/* A parsed document takes several times its bytes (a value is a 30–60 byte struct plus its
	 * copy); the mapped body and the answer come on top. 256 KiB covers any ordinary request. */
	if (max_body > SIZE_MAX / 8 - 256u * 1024)
		return SIZE_MAX / 2;
	return 8 * max_body + 256u * 1024;
}

struct lt_arena *lt_arena_txn_new(size_t max_body)
{
	return enabled ? lt_arena_new(LT_ARENA_FIRST, lt_arena_txn_bound(max_body)) : NULL;
}

static void destroy(struct lt_arena *a)
{
	struct chunk *c = a->chunks, *next;

	/* The last chunk holds a itself: nothing reads a after this loop. */
	for (; c != NULL; c = next) {
		next = c->next;
		chunk_free(c);
	}
}

void lt_arena_free(struct lt_arena *a)
{
	if (a == NULL)
		return;
	if (a->entered > 0) {
		/* No room left: json_alloc's fast path fails and grow refuses, so blocks go to the heap. */
		a->dead = 1;
		a->end = a->pos;
		return;
	}
	destroy(a);
}

void lt_arena_reset(struct lt_arena *a)
{
	struct chunk *c;

	if (a == NULL)
		return;
	while (a->chunks->next != NULL) {
		c = a->chunks;
		a->chunks = c->next;
		a->size -= c->size;
		chunk_free(c);
	}
	c = a->chunks;
	a->pos = a->base;
	a->end = (char *)c + c->size;
	a->next = c->size * 2 < CHUNK_MAX ? c->size * 2 : CHUNK_MAX;
	POISON(a->pos, (size_t)(a->end - a->pos));
}

/* A new newest chunk with room for need bytes; -1 when that would pass the bound. */
static int grow(struct lt_arena *a, size_t need)
{
	size_t size = a->next;
	struct chunk *c;

	if (need > SIZE_MAX / 2 || a->dead)
		return -1;
	if (size < need + sizeof(struct chunk))
		size = ROUND(need + sizeof(struct chunk));
	if (size > a->bound - a->size)
		return -1;
	c = chunk_new(size);
	c->next = a->chunks;
	a->chunks = c;
	a->pos = (char *)c + sizeof(*c);
	a->end = (char *)c + size;
	a->size += size;
	if (a->next < CHUNK_MAX)
		a->next = a->next * 2 < CHUNK_MAX ? a->next * 2 : CHUNK_MAX;
	return 0;
}

/* need bytes at pos, rounded to the alignment, or NULL. */
static void *bump(struct lt_arena *a, size_t need)
{
	char *p;

	if (need > (size_t)(a->end - a->pos) && grow(a, need) < 0)
		return NULL;
	p = a->pos;
	a->pos += need;
	return p;
}

void *lt_arena_alloc(struct lt_arena *a, size_t n)
{
	void *p;

	if (n > a->bound)
		return NULL;
	p = bump(a, ROUND(n) + REDZONE);
	if (p != NULL)
		UNPOISON(p, n);
	return p;
}

size_t lt_arena_used(const struct lt_arena *a)
{
	size_t used = (size_t)(a->pos - ((char *)a->chunks + sizeof(struct chunk)));

	for (const struct chunk *c = a->chunks->next; c != NULL; c = c->next)
		used += c->size - sizeof(*c);
	return used - ARENA_HDR;
}

size_t lt_arena_size(const struct lt_arena *a)
{
	return a->size;
}

struct lt_arena *lt_arena_enter(struct lt_arena *a)
{
	struct lt_arena *prev = current;

	if (a != NULL)
		a->entered++;
	current = a;
	return prev;
}

void lt_arena_leave(struct lt_arena *prev)
{
	struct lt_arena *a = current;

	current = prev;
	if (a != NULL && --a->entered == 0 && a->dead)
		destroy(a);
}

struct lt_arena *lt_arena_current(void)
{
	return current;
}

/* ---- the jansson allocator ----------------------------------------------------------------- */

/* Past this size a block never comes from an arena (every bound is far below): it keeps the fast
 * path's arithmetic from wrapping. */
#define BLOCK_MAX (SIZE_MAX / 4)

static void *block(struct blk *h, uint32_t kind, size_t n)
{
	UNPOISON(h, sizeof(*h) + n);
	h->kind = kind;
#ifdef LT_ARENA_ASAN
	h->size = n;            /* only read to poison the block when it is freed */
#endif
	return h + 1;
}

/* A new chunk, or the heap: outside any arena, past the bound, or once the transaction has ended
 * (a dead arena: what is made now belongs to no transaction, and grow refuses). */
__attribute__((noinline)) static void *json_alloc_slow(struct lt_arena *a, size_t n)
{
	struct blk *h;

	if (a != NULL && n <= a->bound && (h = bump(a, sizeof(*h) + ROUND(n) + REDZONE)) != NULL)
		return block(h, BLK_ARENA, n);
	if (n > SIZE_MAX - sizeof(*h) || (h = malloc(sizeof(*h) + n)) == NULL)
		return NULL;
	return block(h, BLK_HEAP, n);
}

/* jansson's malloc, some 400 times per request: the common case (the block fits the current
 * arena's newest chunk) is a bump and a tag. */
static void *json_alloc(size_t n)
{
	struct lt_arena *a = current;
	size_t need = sizeof(struct blk) + ROUND(n) + REDZONE;
	struct blk *h;

	if (a == NULL || n > BLOCK_MAX || need > (size_t)(a->end - a->pos))
		return json_alloc_slow(a, n);
	h = (struct blk *)(void *)a->pos;
	a->pos += need;
	return block(h, BLK_ARENA, n);
}

static void json_release(void *p)
{
	struct blk *h;

	if (p == NULL)
		return;
	h = (struct blk *)p - 1;
	if (h->kind == BLK_HEAP) {
		free(h);
		return;
	}
	if (h->kind != BLK_ARENA) {
		/* A double free, or a pointer jansson did not allocate: memory is corrupt, stop here. */
		fprintf(stderr, "lienthong: jansson freed a block it does not own (%s)\n",
			h->kind == BLK_FREED ? "freed twice" : "no header");
		abort();
	}
	h->kind = BLK_FREED;
#ifdef LT_ARENA_ASAN
	POISON(p, h->size);
#endif
}

void lt_arena_install(void)
{
	const char *off = getenv("LT_ARENA");

	if (off != NULL && strcmp(off, "0") == 0)
		return;
	json_set_alloc_funcs(json_alloc, json_release);
	enabled = 1;
}

int lt_arena_enabled(void)
{
	return enabled;
}

char *lt_json_dumps(const json_t *json, size_t flags)
{
	json_malloc_t m;
	json_free_t f;
	char *s = json_dumps(json, flags), *out;

	if (s == NULL)
		return NULL;
	json_get_alloc_funcs(&m, &f);
	out = lt_xstrdup(s);
	f(s);
	return out;
}
