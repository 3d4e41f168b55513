/* verify.h: checking a callback's signature (SPEC.md § Config `verify:`, § HTTP behaviour).
 *
 * One call per callback, on the decoded fields (a form, a query string or a JSON object): the
 * route's canonical string is rebuilt (adapters/sign.h), then an HMAC is recomputed and compared
 * in constant time, or an RSA signature is checked with the public key the config loaded. The
 * caller answers a failure with the route's `bad_signature` ack, writes it to the audit log, and
 * never delivers the message. Pure: no I/O, no logging. */
#ifndef LT_VERIFY_H
#define LT_VERIFY_H

#include <jansson.h>
#include "gateway/config.h"
#include "gateway/err.h"

/* The longest canonical string a callback may make. */
#define LT_VERIFY_MAX_CANON (1024 * 1024)

/* Verifies fields (borrowed, a flat object) under v (borrowed; type none always passes). 0 when
 * the signature is valid; -1 with e->status 401, e->code "callback.bad_signature", e->field the
 * field at fault when there is one, and e->msg a reason for the audit log ("signature field
 * 'vnp_SecureHash' is missing", "signed field 'payType' is missing", "the HMAC-SHA512 does not
 * match the signed fields") that never contains the key, the expected signature or the one
 * received. */
int lt_verify(const struct lt_verify_cfg *v, json_t *fields, struct lt_err *e);

#endif
