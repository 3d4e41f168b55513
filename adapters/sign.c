/* sign.c: digests, canonical strings, HMAC hex, constant-time hex comparison, RSA verification.
 * See sign.h for the canonical forms. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/hmac.h>

#include "adapters/form.h"
#include "adapters/sign.h"
#include "gateway/map_rules.h"

static const char *const digest_names[] = { "md5", "sha1", "sha256", "sha512" };

int lt_digest_parse(const char *name, int *digest, struct lt_err *e)
{
	for (int i = 0; name != NULL && i < (int)(sizeof(digest_names) / sizeof(*digest_names)); i++)
		if (strcmp(name, digest_names[i]) == 0) {
			*digest = i;
			return 0;
		}
	return lt_err_set(e, 500, "sign.algorithm", "unknown digest '%.40s' (known: md5, sha1, sha256, sha512)",
			  name ? name : "(none)");
}

const EVP_MD *lt_digest_md(int digest)
{
	switch (digest) {
	case LT_DIGEST_MD5: return EVP_md5();
	case LT_DIGEST_SHA1: return EVP_sha1();
	case LT_DIGEST_SHA256: return EVP_sha256();
	case LT_DIGEST_SHA512: return EVP_sha512();
	default: return NULL;
	}
}

/* ---- canonical strings ---------------------------------------------------------------------- */

/* The value the signer used for `name`: a configured value wins over the message's. Writes the
 * text of the value to *s (borrowed from v, fields, or num) and its length; returns 1 when found,
 * 0 when absent, -1 when the value cannot be signed as text. */
static int field_text(const struct lt_verify_cfg *v, json_t *fields, const char *name, char *num, size_t numsz,
		      const char **s, size_t *n)
{
	json_t *j;

	for (size_t i = 0; i < v->n_values; i++)
		if (strcmp(v->values[i].name, name) == 0) {
			*s = v->values[i].value;
			*n = strlen(*s);
			return 1;
		}
	j = json_object_get(fields, name);
	if (j == NULL)
		return 0;
	/* A real number's text (1.0 vs 1) is lost in parsing; an object has no one text. */
	if (json_is_real(j))
		return -1;
	if (json_is_null(j)) {
		*s = "";
		*n = 0;
		return 1;
	}
	return lt_rule_text(j, num, numsz, s, n) < 0 ? -1 : 1;
}

static int canon_field_error(struct lt_err *e, const char *name, int found)
{
	lt_err_set(e, 400, "sign.canonical", found < 0 ? "field '%.100s' is not a string, integer or boolean, so "
		   "it cannot be part of a signed string" : "signed field '%.100s' is missing", name);
	lt_err_field(e, name);
	return -1;
}

static int in_list(char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return 1;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* VNPAY 2.1.0 (sign.h). Configured values take part as fields of their own when the message does
 * not carry them. */
static int canon_sorted_query(const struct lt_verify_cfg *v, json_t *fields, struct lt_buf *out, struct lt_err *e)
{
	size_t cap = json_object_size(fields) + v->n_values, n = 0, plen = v->prefix ? strlen(v->prefix) : 0;
	const char **names = lt_xcalloc(cap ? cap : 1, sizeof(*names));
	const char *name;
	json_t *val;
	int rc = 0, first = 1;

	json_object_foreach(fields, name, val)
		names[n++] = name;
	for (size_t i = 0; i < v->n_values; i++)
		if (json_object_get(fields, v->values[i].name) == NULL)
			names[n++] = v->values[i].name;
	qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n && rc == 0; i++) {
		char num[40];
		const char *s;
		size_t len;
		int found;

		if (strncmp(names[i], v->prefix ? v->prefix : "", plen) != 0 ||
		    in_list(v->exclude, v->n_exclude, names[i]) ||
		    (v->signature != NULL && strcmp(names[i], v->signature) == 0))
			continue;
		found = field_text(v, fields, names[i], num, sizeof(num), &s, &len);
		if (found < 0) {
			rc = canon_field_error(e, names[i], found);
			break;
		}
		if (len == 0)
			continue;
		if (!first)
			lt_buf_putc(out, '&');
		first = 0;
		lt_form_escape(out, names[i], strlen(names[i]));
		lt_buf_putc(out, '=');
		lt_form_escape(out, s, len);
	}
	free(names);
	return rc;
}

/* KeyPay `join` and MoMo `pairs`: the listed fields in their order, not encoded. */
static int canon_listed(const struct lt_verify_cfg *v, json_t *fields, struct lt_buf *out, struct lt_err *e)
{
	int pairs = v->form == LT_CANON_PAIRS;
	const char *sep = pairs ? "&" : (v->separator ? v->separator : "|");

	for (size_t i = 0; i < v->n_fields; i++) {
		char num[40];
		const char *s;
		size_t len;
		int found = field_text(v, fields, v->fields[i], num, sizeof(num), &s, &len);

		if (found <= 0)
			return canon_field_error(e, v->fields[i], found);
		if (i > 0)
			lt_buf_puts(out, sep);
		if (pairs) {
			lt_buf_puts(out, v->fields[i]);
			lt_buf_putc(out, '=');
		}
		lt_buf_append(out, s, len);
	}
	return 0;
}

int lt_canon_build(const struct lt_verify_cfg *v, json_t *fields, struct lt_buf *out, struct lt_err *e)
{
	int rc;

	if (!json_is_object(fields))
		return lt_err_set(e, 400, "sign.canonical", "the signed fields are not an object");
	rc = v->form == LT_CANON_SORTED_QUERY ? canon_sorted_query(v, fields, out, e) : canon_listed(v, fields, out, e);
	if (rc == 0 && out->overflow)
		return lt_err_set(e, 400, "sign.canonical", "the signed string is longer than %zu bytes", out->max);
	return rc;
}

/* ---- HMAC and hex ------------------------------------------------------------------------------ */

int lt_hmac_hex(int digest, const void *key, size_t keylen, const void *msg, size_t len, char *hex, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	const EVP_MD *md = lt_digest_md(digest);
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;

	if (md == NULL || n < 2 * (size_t)EVP_MD_get_size(md) + 1 || keylen > (size_t)INT_MAX)
		return -1;
	/* HMAC() refuses a NULL key even when keylen is 0; an empty key is still a key. */
	if (HMAC(md, keylen ? key : "", (int)keylen, msg, len, mac, &maclen) == NULL) {
		ERR_clear_error();
		return -1;
	}
	for (unsigned int i = 0; i < maclen; i++) {
		hex[2 * i] = digits[mac[i] >> 4];
		hex[2 * i + 1] = digits[mac[i] & 15];
	}
	hex[2 * maclen] = '\0';
	OPENSSL_cleanse(mac, sizeof(mac));
	return 0;
}

static int is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F')))
			return 0;
	return 1;
}

int lt_hex_equal(const char *a, const char *b)
{
	size_t n;
	volatile unsigned char d = 0;

	if (a == NULL || b == NULL)
		return 0;
	n = strlen(a);
	if (n == 0 || n != strlen(b) || !is_hex(a, n) || !is_hex(b, n))
		return 0;
	/* For hex digits, OR 0x20 folds A-F onto a-f and leaves 0-9 alone: no branch on the content. */
	for (size_t i = 0; i < n; i++)
		d |= (unsigned char)(((unsigned char)a[i] | 0x20) ^ ((unsigned char)b[i] | 0x20));
	return d == 0;
}

/* ---- RSA ----------------------------------------------------------------------------------------- */

static int hexval(char c)
{
	return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

/* Decodes sig into a new buffer of *len bytes; NULL when it is neither form. */
static unsigned char *decode_sig(const char *sig, size_t want, size_t *len)
{
	size_t n = strlen(sig);
	unsigned char *out;

	if (n == 2 * want && is_hex(sig, n)) {
		out = lt_xmalloc(want);
		for (size_t i = 0; i < want; i++)
			out[i] = (unsigned char)(hexval(sig[2 * i]) << 4 | hexval(sig[2 * i + 1]));
		*len = want;
		return out;
	}
	if (n > 4 * (want / 3 + 1) || n > (size_t)INT_MAX)
		return NULL;
	{
		/* EVP_DecodeUpdate takes padded or unpadded base64; padding is re-added so that the
		 * final block's length is right. */
		EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
		char *padded = lt_xmalloc(n + 3);
		int outl = 0, fin = 0, ok;

		memcpy(padded, sig, n);
		while (n % 4 != 0)
			padded[n++] = '=';
		out = lt_xmalloc(n / 4 * 3 + 3);
		if (ctx == NULL)
			abort();
		EVP_DecodeInit(ctx);
		ok = EVP_DecodeUpdate(ctx, out, &outl, (const unsigned char *)padded, (int)n) >= 0 &&
		     EVP_DecodeFinal(ctx, out + outl, &fin) == 1;
		EVP_ENCODE_CTX_free(ctx);
		free(padded);
		if (!ok || n == 0) {
			free(out);
			return NULL;
		}
		*len = (size_t)(outl + fin);
		return out;
	}
}

int lt_rsa_verify(int digest, EVP_PKEY *pub, const void *msg, size_t len, const char *sig, struct lt_err *e)
{
	const EVP_MD *md = lt_digest_md(digest);
	EVP_MD_CTX *ctx;
	unsigned char *raw;
	size_t rawlen = 0;
	int size, ok;

	if (md == NULL || digest == LT_DIGEST_MD5)
		return lt_err_set(e, 500, "sign.algorithm", "RSA signatures are verified with sha1, sha256 or sha512");
	if (pub == NULL || (size = EVP_PKEY_get_size(pub)) <= 0)
		return lt_err_set(e, 500, "sign.rsa", "no public key");
	raw = sig ? decode_sig(sig, (size_t)size, &rawlen) : NULL;
	if (raw == NULL)
		return lt_err_set(e, 401, "sign.rsa", "the signature is neither hex nor base64 of a %d-bit RSA "
				  "signature", size * 8);
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		abort();
	ok = EVP_DigestVerifyInit(ctx, NULL, md, NULL, pub) == 1 &&
	     EVP_DigestVerify(ctx, raw, rawlen, msg, len) == 1;
	EVP_MD_CTX_free(ctx);
	free(raw);
	ERR_clear_error();
	if (!ok)
		return lt_err_set(e, 401, "sign.rsa", "the RSA signature does not match the signed fields");
	return 0;
}
