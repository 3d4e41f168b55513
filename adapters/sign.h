/* sign.h: the signature primitives of callbacks and signed requests (SPEC.md § Config `verify:`,
 * FORMATS.md §1, §2.9, §3): digests by name, the canonical strings the banks sign, HMAC as hex,
 * constant-time hex comparison, and RSA verification.
 *
 * Each canonical form is the exact byte string one dialect signs, so that a signature made by the
 * bank's own sample code verifies here:
 *   sorted-query  VNPAY 2.1.0: the non-empty fields whose names start with `prefix` (all fields
 *                 without a prefix), minus `exclude` and the signature field, sorted by name in byte
 *                 order, each written urlencode(name)=urlencode(value) as PHP's urlencode does
 *                 (space -> '+', everything but A-Za-z0-9-_. as %XX in upper-case hex), joined by '&'.
 *   join          KeyPay/DVCQG payment: the values of `fields`, in that order, joined by `separator`.
 *   pairs         MoMo: name=value for each of `fields`, in that order, joined by '&', not encoded.
 * Values are signed as received: text is not normalised (a bank signs the bytes it sent, and
 * normalising would break a valid signature on decomposed Vietnamese text). `values:` of the
 * canonical config supply fields the signer knows but the message does not carry (MoMo's
 * accessKey): they replace the message's value when both exist.
 *
 * Pure functions: no I/O, no logging. Nothing here ever puts a key or a whole signature in an
 * error message. */
#ifndef LT_SIGN_H
#define LT_SIGN_H

#include <stddef.h>
#include <jansson.h>
#include <openssl/evp.h>
#include "gateway/config.h"
#include "gateway/err.h"
#include "gateway/util.h"

enum lt_digest { LT_DIGEST_MD5, LT_DIGEST_SHA1, LT_DIGEST_SHA256, LT_DIGEST_SHA512 };

/* Hex of the largest digest (SHA-512) plus its NUL. */
#define LT_HEX_MAX (2 * 64 + 1)

/* "md5" | "sha1" | "sha256" | "sha512" -> *digest (enum lt_digest). 0, or -1 with 500
 * "sign.algorithm" naming the unknown algorithm. */
int lt_digest_parse(const char *name, int *digest, struct lt_err *e);

/* The digest's OpenSSL method (static, never freed); NULL for an unknown value. */
const EVP_MD *lt_digest_md(int digest);

/* Appends the canonical string of v's form (v->form, prefix, exclude, fields, separator, values,
 * signature) over fields (borrowed: a flat object of name -> string, integer, boolean or null) to
 * out, which the caller initialised with its bound. Numbers are written as decimal integers; a real
 * number, an object or an array is refused (the bank's text cannot be rebuilt from them). For join
 * and pairs every listed field must be present (or given by `values`). 0, or -1 with 400
 * "sign.canonical" and the field's name in e->field; out may then hold part of the string. */
int lt_canon_build(const struct lt_verify_cfg *v, json_t *fields, struct lt_buf *out, struct lt_err *e);

/* hex = lower-case hex of HMAC-<digest>(key, msg), NUL-terminated; n is hex's size (LT_HEX_MAX
 * always fits). 0, or -1 when the digest is unknown or hex too small (nothing useful in hex). */
int lt_hmac_hex(int digest, const void *key, size_t keylen, const void *msg, size_t len, char *hex, size_t n);

/* 1 when a and b are the same hex string ignoring case, else 0. Both must be non-empty hex of
 * the same length (the length is not a secret: digests have a fixed size); the content is
 * compared in constant time. NULL is never equal. */
int lt_hex_equal(const char *a, const char *b);

/* Verifies an RSA PKCS#1 v1.5 signature with <digest> (sha1, sha256 or sha512) over msg. sig is
 * hex (exactly twice the key's size in hex digits) or base64 (standard alphabet, padding
 * optional). pub is borrowed. 0 when valid; -1 with 401 "sign.rsa" and a reason that never quotes
 * the signature. */
int lt_rsa_verify(int digest, EVP_PKEY *pub, const void *msg, size_t len, const char *sig, struct lt_err *e);

#endif
