/* reqid.c: request ids and trace ids from a per-thread counter (see reqid.h for why not RAND_bytes). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <openssl/rand.h>

#include "gateway/reqid.h"
#include "gateway/util.h"

#define GOLDEN 0x9e3779b97f4a7c15ull

/* Per-process keys: two for the request id's halves, two for the trace id's, one for the parent id. */
static uint64_t keys[5];
static pthread_once_t keys_once = PTHREAD_ONCE_INIT;
/* Each thread takes a block of 2^32 ticks at a time; a block is never handed out twice. */
static _Atomic uint64_t next_block;
static _Thread_local uint64_t tick_next, tick_end;

static void keys_init(void)
{
	if (RAND_bytes((unsigned char *)keys, sizeof(keys)) != 1) {
		/* Uniqueness within the process does not depend on the keys; these only keep two processes
		 * started together from producing the same ids. */
		uint64_t t = lt_wall_ms() ^ (lt_mono_us() << 20) ^ ((uint64_t)getpid() << 40);

		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			keys[i] = t + (uint64_t)(uintptr_t)&keys[i] + i * GOLDEN;
	}
}

/* splitmix64's output function: a bijection on 64 bits, so distinct inputs give distinct outputs. */
static uint64_t mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* A value no other call in this process gets: (block << 32) | n, blocks unique per thread. */
static uint64_t tick(void)
{
	if (tick_next == tick_end) {
		pthread_once(&keys_once, keys_init);
		tick_next = atomic_fetch_add(&next_block, 1) << 32;
		tick_end = tick_next + (1ull << 32);
	}
	return tick_next++;
}

/* k + w * GOLDEN is a bijection of w (GOLDEN is odd), and mix is one too: distinct ticks give
 * distinct words under each key. */
static uint64_t word(uint64_t w, uint64_t k)
{
	return mix(k + w * GOLDEN);
}

static char *put_hex(char *p, uint64_t v)
{
	static const char hex[] = "0123456789abcdef";

	for (int shift = 60; shift >= 0; shift -= 4)
		*p++ = hex[(v >> shift) & 15];
	return p;
}

void lt_reqid_new(char *buf)
{
	uint64_t w = tick();
	char *p = put_hex(buf, word(w, keys[0]));

	p = put_hex(p, word(w, keys[1]));
	*p = '\0';
}

void lt_traceparent_new(char *buf)
{
	uint64_t w = tick();
	uint64_t hi = word(w, keys[2]), lo = word(w, keys[3]), parent = word(w, keys[4]);
	char *p = buf;

	/* W3C forbids all-zero ids. lo alone is unique per tick, so changing hi keeps trace ids unique. */
	if (hi == 0 && lo == 0)
		hi = 1;
	if (parent == 0)
		parent = 1;
	memcpy(p, "00-", 3);
	p = put_hex(p + 3, hi);
	p = put_hex(p, lo);
	*p++ = '-';
	p = put_hex(p, parent);
	memcpy(p, "-00", 4);
}
