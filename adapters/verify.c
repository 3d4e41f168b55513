/* verify.c: a callback's signature against its route's verify: config (verify.h). */
#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>

#include "adapters/sign.h"
#include "adapters/verify.h"

/* reason and field are never e's own members. */
static int bad_signature(struct lt_err *e, const char *field, const char *reason)
{
	lt_err_clear(e);
	lt_err_set(e, 401, "callback.bad_signature", "%s", reason);
	lt_err_field(e, field);
	return -1;
}

int lt_verify(const struct lt_verify_cfg *v, json_t *fields, struct lt_err *e)
{
	static const char *const upper[] = { "MD5", "SHA1", "SHA256", "SHA512" };
	char reason[LT_ERR_MSG];
	const char *sig;
	struct lt_buf canon;
	struct lt_err se;
	int digest, ok;

	if (v->type == LT_VERIFY_NONE)
		return 0;
	lt_err_clear(&se);
	if (lt_digest_parse(v->algorithm, &digest, &se) < 0)
		return bad_signature(e, "", se.msg);
	sig = json_string_value(json_object_get(fields, v->signature));
	if (sig == NULL) {
		snprintf(reason, sizeof(reason), "signature field '%.100s' is missing or not a string", v->signature);
		return bad_signature(e, v->signature, reason);
	}
	lt_buf_init(&canon, LT_VERIFY_MAX_CANON);
	if (lt_canon_build(v, fields, &canon, &se) < 0) {
		lt_buf_free(&canon);
		return bad_signature(e, se.field, se.msg);
	}
	if (v->type == LT_VERIFY_HMAC) {
		char hex[LT_HEX_MAX];

		ok = v->key != NULL && lt_hmac_hex(digest, v->key, strlen(v->key), canon.data ? canon.data : "",
						   canon.len, hex, sizeof(hex)) == 0 && lt_hex_equal(hex, sig);
		OPENSSL_cleanse(hex, sizeof(hex));
		snprintf(reason, sizeof(reason), "the HMAC-%s does not match the signed fields", upper[digest]);
	} else {
		ok = lt_rsa_verify(digest, (EVP_PKEY *)v->pkey, canon.data ? canon.data : "", canon.len, sig, &se) == 0;
		snprintf(reason, sizeof(reason), "%s", se.msg);
	}
	lt_buf_free(&canon);
	if (!ok)
		return bad_signature(e, v->signature, reason);
	return 0;
}
