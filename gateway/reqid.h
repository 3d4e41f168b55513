/* reqid.h: the identifiers the gateway makes up for a request that did not bring its own: the
 * request id (32 hex digits) and a new W3C traceparent.
 *
 * They need uniqueness, not secrecy: nothing is authorised by knowing one (they are echoed to the
 * caller, sent upstream and written to every log line), so they come from a per-thread counter
 * scrambled with per-process random keys instead of the DRBG (RAND_bytes cost ~13k instructions
 * and a getpid() per request). Within a process no two calls, on any threads, ever return the
 * same request id or trace id; across processes the 128-bit random keys make a clash as unlikely
 * as between random ids. Unguessable ids (the store's message ids) still use RAND_bytes. */
#ifndef LT_REQID_H
#define LT_REQID_H

#define LT_REQID_LEN 32          /* hex digits of a request id */
#define LT_TRACEPARENT_LEN 55    /* "00-" 32 hex "-" 16 hex "-00" */

/* Writes a new request id and its NUL into buf (LT_REQID_LEN + 1 bytes). Thread-safe. */
void lt_reqid_new(char *buf);
/* Writes a new traceparent "00-<trace id>-<parent id>-00" (ids never all zero, flags 00: the gateway
 * records no spans) and its NUL into buf (LT_TRACEPARENT_LEN + 1 bytes). Thread-safe. */
void lt_traceparent_new(char *buf);

#endif
