/* Callback verification through the route config of SPEC.md (fixtures/verify/callbacks.yaml):
 * the FORMATS.md callbacks, as wire bytes, verify; forgeries and breakage do not, with reasons
 * that never carry a secret or a signature. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "adapters/form.h"
#include "adapters/json.h"
#include "adapters/sign.h"
#include "adapters/verify.h"
#include "gateway/config.h"

#define FIX "fixtures/verify/"
#define VNPAY_SECRET "TESTSECRETKEY1234567890ABCDEFGHI"
#define MOMO_SECRET "K951B6PE1waDMi640xX08PD3vg6EkVlz"
#define KEYPAY_KEY "HASHKEY1TEST"

static struct lt_config *cfg;
static EVP_PKEY *bank_key;            /* the RSA bank's private key: made here, never on disk */
static char bank_pub[] = "/tmp/lt-verify-XXXXXX";

static int setup(void **state)
{
	struct lt_diags d = { 0 };
	int fd = mkstemp(bank_pub);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

	(void)state;
	bank_key = EVP_RSA_gen(2048);
	if (f == NULL || bank_key == NULL || PEM_write_PUBKEY(f, bank_key) != 1)
		return -1;
	fclose(f);
	setenv("LT_T_BANK_PUB", bank_pub, 1);
	setenv("VNPAY_HASH_SECRET", VNPAY_SECRET, 1);
	setenv("MOMO_SECRET_KEY", MOMO_SECRET, 1);
	setenv("MOMO_ACCESS_KEY", "F8BBA842ECF85", 1);
	setenv("KEYPAY_HASH_KEY_2", KEYPAY_KEY, 1);
	if (lt_config_load(FIX "callbacks.yaml", &cfg, &d) < 0) {
		lt_diags_print(&d, stderr);
		lt_diags_free(&d);
		return -1;
	}
	lt_diags_free(&d);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	lt_config_free(cfg);
	EVP_PKEY_free(bank_key);
	unlink(bank_pub);
	return 0;
}

static const struct lt_verify_cfg *route_verify(const char *name)
{
	for (size_t i = 0; i < cfg->n_routes; i++)
		if (strcmp(cfg->routes[i].name, name) == 0)
			return &cfg->routes[i].verify;
	fail_msg("no route %s", name);
	return NULL;
}

/* A fixture's fields, decoded as the gateway decodes the wire bytes. */
static json_t *wire(const char *file)
{
	struct lt_err e;
	char *path = lt_xasprintf(FIX "%s", file), *buf;
	size_t len;
	json_t *o = NULL;

	lt_err_clear(&e);
	assert_int_equal(lt_read_file(path, 1 << 20, &buf, &len, &e), 0);
	if (strstr(file, ".query") != NULL)
		assert_int_equal(lt_form_decode(buf, len, &o, &e), 0);
	else
		assert_int_equal(lt_json_decode(buf, len, &o, &e), 0);
	free(buf);
	free(path);
	return o;
}

static void assert_verifies(const char *route, json_t *fields)
{
	struct lt_err e;

	lt_err_clear(&e);
	if (lt_verify(route_verify(route), fields, &e) < 0)
		fail_msg("%s: %s [%s] %s", route, e.code, e.field, e.msg);
}

/* Refused with this reason; the reason never quotes the key or any signature. */
static void assert_refused(const char *route, json_t *fields, const char *field, const char *msg)
{
	const struct lt_verify_cfg *v = route_verify(route);
	const char *sig = json_string_value(json_object_get(fields, v->signature));
	struct lt_err e;

	lt_err_clear(&e);
	assert_int_equal(lt_verify(v, fields, &e), -1);
	assert_int_equal(e.status, 401);
	assert_string_equal(e.code, "callback.bad_signature");
	assert_string_equal(e.field, field);
	assert_string_equal(e.msg, msg);
	if (v->key != NULL)
		assert_null(strstr(e.msg, v->key));
	if (sig != NULL && strlen(sig) >= 16) {
		char head[17];

		snprintf(head, sizeof(head), "%s", sig);
		assert_null(strstr(e.msg, head));
	}
}

static void config_as_spec_writes_it(void **state)
{
	const struct lt_verify_cfg *v = route_verify("vnpay.ipn"), *m = route_verify("momo.ipn");

	(void)state;
	assert_int_equal(v->type, LT_VERIFY_HMAC);
	assert_int_equal(v->form, LT_CANON_SORTED_QUERY);
	assert_int_equal(m->n_values, 1);
	assert_string_equal(m->values[0].name, "accessKey");
	assert_string_equal(m->values[0].value, "F8BBA842ECF85");
	assert_true(m->values[0].secret);
	assert_string_equal(route_verify("keypay.confirm")->separator, "|");
	assert_non_null(route_verify("bank.rsa")->pkey);
}

static void vnpay_ipn(void **state)
{
	json_t *f = wire("vnpay-ipn.query");

	(void)state;
	assert_verifies("vnpay.ipn", f);
	json_object_set_new(f, "vnp_Amount", json_string("1200000000"));
	assert_refused("vnpay.ipn", f, "vnp_SecureHash", "the HMAC-SHA512 does not match the signed fields");
	json_decref(f);

	f = wire("vnpay-ipn.query");
	json_object_set_new(f, "vnp_TxnRef", json_string("hs250115000123"));
	assert_refused("vnpay.ipn", f, "vnp_SecureHash", "the HMAC-SHA512 does not match the signed fields");
	json_decref(f);

	f = wire("vnpay-ipn.query");
	json_object_set_new(f, "vnp_Extra", json_string("x"));
	assert_refused("vnpay.ipn", f, "vnp_SecureHash", "the HMAC-SHA512 does not match the signed fields");
	json_object_del(f, "vnp_Extra");
	json_object_del(f, "vnp_CardType");
	assert_refused("vnpay.ipn", f, "vnp_SecureHash", "the HMAC-SHA512 does not match the signed fields");
	json_object_del(f, "vnp_SecureHash");
	assert_refused("vnpay.ipn", f, "vnp_SecureHash", "signature field 'vnp_SecureHash' is missing or not a string");
	json_decref(f);
}

static void momo_ipn(void **state)
{
	json_t *f = wire("momo-ipn.json");

	(void)state;
	assert_verifies("momo.ipn", f);
	json_object_set_new(f, "resultCode", json_integer(1006));
	assert_refused("momo.ipn", f, "signature", "the HMAC-SHA256 does not match the signed fields");
	json_object_set_new(f, "resultCode", json_integer(0));
	assert_verifies("momo.ipn", f);
	json_object_del(f, "extraData");
	assert_refused("momo.ipn", f, "extraData", "signed field 'extraData' is missing");
	json_object_set_new(f, "extraData", json_pack("{s:i}", "a", 1));
	assert_refused("momo.ipn", f, "extraData", "field 'extraData' is not a string, integer or boolean, so it "
		       "cannot be part of a signed string");
	json_object_set_new(f, "extraData", json_string(""));
	json_object_set_new(f, "signature", json_integer(1));
	assert_refused("momo.ipn", f, "signature", "signature field 'signature' is missing or not a string");
	json_decref(f);
}

static void keypay_confirm(void **state)
{
	json_t *f = wire("keypay-confirm.json");

	(void)state;
	assert_verifies("keypay.confirm", f);
	/* Fields outside the signed list do not take part (status is not signed by KeyPay). */
	json_object_set_new(f, "description", json_string("changed"));
	assert_verifies("keypay.confirm", f);
	json_object_set_new(f, "trans_amount", json_string("12000"));
	assert_refused("keypay.confirm", f, "check_sum", "the HMAC-SHA256 does not match the signed fields");
	json_decref(f);
}

static void rsa_bank(void **state)
{
	const char canon[] = "HS250115000123|120000|0";
	unsigned char sig[256];
	char b64[400];
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	json_t *f;

	(void)state;
	assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, bank_key), 1);
	assert_int_equal(EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)canon, strlen(canon)), 1);
	EVP_MD_CTX_free(ctx);
	EVP_EncodeBlock((unsigned char *)b64, sig, (int)siglen);
	f = json_pack("{s:s,s:I,s:i,s:s}", "orderId", "HS250115000123", "amount", (json_int_t)120000, "resultCode", 0,
		      "signature", b64);
	assert_verifies("bank.rsa", f);
	json_object_set_new(f, "amount", json_integer(120001));
	assert_refused("bank.rsa", f, "signature", "the RSA signature does not match the signed fields");
	json_object_set_new(f, "amount", json_integer(120000));
	json_object_set_new(f, "signature", json_string("@@@"));
	assert_refused("bank.rsa", f, "signature", "the signature is neither hex nor base64 of a 2048-bit RSA signature");
	json_decref(f);
}

/* A verify config that cannot work does not load: an rsa key that is not RSA. */
static void rsa_needs_an_rsa_key(void **state)
{
	struct lt_diags d = { 0 };
	struct lt_config *c = NULL;
	EVP_PKEY *ec = EVP_EC_gen("P-256");
	char path[] = "/tmp/lt-verify-ec-XXXXXX", yaml[1024];
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");

	(void)state;
	assert_non_null(f);
	assert_int_equal(PEM_write_PUBKEY(f, ec), 1);
	fclose(f);
	snprintf(yaml, sizeof(yaml), "listeners:\n  l: { listen: \"127.0.0.1:1\" }\nupstreams:\n  u: { url: http://x }\n"
		 "routes:\n  r:\n    listener: l\n    match: { method: POST, path: /r }\n    upstream: u\n    mode: queue\n"
		 "    verify: { type: rsa, algorithm: sha256, public_key: %s, signature: s,\n"
		 "              canonical: { form: join, fields: [a] } }\n", path);
	assert_int_equal(lt_config_parse("t.yaml", yaml, strlen(yaml), &c, &d), -1);
	assert_int_equal(d.nerrors, 1);
	assert_non_null(strstr(d.v[0].text, "the key is EC, and verify type rsa needs an RSA key"));
	lt_diags_free(&d);
	EVP_PKEY_free(ec);
	unlink(path);
}

/* Both sides agree: every callback tests/sandbox/bank.py signed with awkward values (spaces, *, ~,
 * %, &, =, |, tabs, Vietnamese, empty optional fields; fixtures/verify/agreement.txt, which
 * test_15_bank_sandbox.py proves is what the bank sends) verifies here, and fails with its
 * signature's last digit changed. */
static void agrees_with_the_bank_sandbox(void **state)
{
	static const char *const routes[][2] = { { "vnpay", "vnpay.ipn" }, { "momo", "momo.ipn" },
						  { "keypay", "keypay.confirm" } };
	struct lt_err e;
	char *buf, *line, *save = NULL;
	size_t len, n = 0;

	(void)state;
	lt_err_clear(&e);
	assert_int_equal(lt_read_file(FIX "agreement.txt", 1 << 20, &buf, &len, &e), 0);
	for (line = strtok_r(buf, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save), n++) {
		char *tab = strchr(line, '\t'), *forged;
		const struct lt_verify_cfg *v = NULL;
		json_t *f = NULL;
		size_t k;

		assert_non_null(tab);
		*tab++ = '\0';
		for (size_t i = 0; i < 3; i++)
			if (strcmp(line, routes[i][0]) == 0)
				v = route_verify(routes[i][1]);
		assert_non_null(v);
		if (strcmp(line, "vnpay") == 0)
			assert_int_equal(lt_form_decode(tab, strlen(tab), &f, &e), 0);
		else
			assert_int_equal(lt_json_decode(tab, strlen(tab), &f, &e), 0);
		if (lt_verify(v, f, &e) < 0)
			fail_msg("line %zu (%s): %s", n + 1, line, e.msg);
		forged = lt_xstrdup(json_string_value(json_object_get(f, v->signature)));
		k = strlen(forged) - 1;
		forged[k] = forged[k] == '0' ? '1' : '0';
		json_object_set_new(f, v->signature, json_string(forged));
		free(forged);
		assert_int_equal(lt_verify(v, f, &e), -1);
		json_decref(f);
	}
	assert_int_equal(n, 120);
	free(buf);
}

/* canonical.values must be a mapping; each problem is named where it is written. */
static void values_must_be_a_mapping(void **state)
{
	struct lt_diags d = { 0 };
	struct lt_config *c = NULL;
	const char yaml[] =
		"listeners:\n  l: { listen: \"127.0.0.1:1\" }\nupstreams:\n  u: { url: http://x }\n"
		"routes:\n  r:\n    listener: l\n    match: { method: POST, path: /r }\n    upstream: u\n    mode: queue\n"
		"    verify: { type: hmac, algorithm: sha256, key: k, signature: s,\n"
		"              canonical: { form: pairs, fields: [a], values: [a, b] } }\n";

	(void)state;
	assert_int_equal(lt_config_parse("t.yaml", yaml, strlen(yaml), &c, &d), -1);
	assert_int_equal(d.nerrors, 1);
	assert_string_equal(d.v[0].text, "t.yaml:12:62: 'values' in route 'r' verify canonical: expected a mapping "
			    "of field names to values, got a list");
	lt_diags_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(config_as_spec_writes_it),
		cmocka_unit_test(vnpay_ipn),
		cmocka_unit_test(momo_ipn),
		cmocka_unit_test(keypay_confirm),
		cmocka_unit_test(rsa_bank),
		cmocka_unit_test(rsa_needs_an_rsa_key),
		cmocka_unit_test(values_must_be_a_mapping),
		cmocka_unit_test(agrees_with_the_bank_sandbox),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
