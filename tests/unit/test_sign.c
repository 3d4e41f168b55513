/* Signature primitives against the FORMATS.md test vectors (VNPAY §3.1, MoMo §3.2, KeyPay §2.9),
 * and the changes that must make a signature fail. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/rsa.h>

#include "adapters/sign.h"

#define VNPAY_SECRET "TESTSECRETKEY1234567890ABCDEFGHI"
#define VNPAY_HASH "5846ddaea1b6f6877cc67a894a989b0aa4f26d72beaeea6d020c0f1cdc0e0c82" \
		   "e35e4d8dcb9675541c7881501feabca202828fc85ef9015cedc064c39f87e8c2"
#define VNPAY_CANON "vnp_Amount=12000000&vnp_BankCode=NCB&vnp_BankTranNo=VNP14226112&vnp_CardType=ATM&" \
	"vnp_OrderInfo=Thanh+toan+le+phi+ho+so+000.00.01.H26-250115-0001&vnp_PayDate=20250115103012&" \
	"vnp_ResponseCode=00&vnp_TmnCode=DEMOV210&vnp_TransactionNo=14226112&vnp_TransactionStatus=00&" \
	"vnp_TxnRef=HS250115000123"

#define MOMO_SECRET "K951B6PE1waDMi640xX08PD3vg6EkVlz"
#define MOMO_SIG "9943e72642d1a99e4bca6ecd977763e21e85d92669d18cca126ca488d866d31c"

#define KEYPAY_KEY "HASHKEY1TEST"
#define KEYPAY_SUM "d679cbd6a6c1badb56bf21df16cdb745bee6c5c14fb2f5fa86dbc301fa228d53"

static char *vnpay_exclude[] = { "vnp_SecureHash", "vnp_SecureHashType" };
static char *momo_fields[] = { "accessKey", "amount", "extraData", "message", "orderId", "orderInfo", "orderType",
			       "partnerCode", "payType", "requestId", "responseTime", "resultCode", "transId" };
static struct lt_kv momo_values[] = { { "accessKey", "F8BBA842ECF85", 1 } };
static char *keypay_fields[] = { "addition_fee", "client_id", "command", "trans_amount", "transaction_id",
				 "version" };

static const struct lt_verify_cfg vnpay_cfg = {
	.type = LT_VERIFY_HMAC, .algorithm = "sha512", .key = VNPAY_SECRET, .signature = "vnp_SecureHash",
	.form = LT_CANON_SORTED_QUERY, .prefix = "vnp_", .exclude = vnpay_exclude, .n_exclude = 2,
};
static const struct lt_verify_cfg momo_cfg = {
	.type = LT_VERIFY_HMAC, .algorithm = "sha256", .key = MOMO_SECRET, .signature = "signature",
	.form = LT_CANON_PAIRS, .fields = momo_fields, .n_fields = 13, .values = momo_values, .n_values = 1,
};
static const struct lt_verify_cfg keypay_cfg = {
	.type = LT_VERIFY_HMAC, .algorithm = "sha256", .key = KEYPAY_KEY, .signature = "check_sum",
	.form = LT_CANON_JOIN, .fields = keypay_fields, .n_fields = 6, .separator = "|",
};

/* The IPN's query string as the gateway decodes it: names and decoded values, in wire order. */
static json_t *vnpay_ipn(void)
{
	json_t *o = json_object();

	json_object_set_new(o, "vnp_Amount", json_string("12000000"));
	json_object_set_new(o, "vnp_BankCode", json_string("NCB"));
	json_object_set_new(o, "vnp_BankTranNo", json_string("VNP14226112"));
	json_object_set_new(o, "vnp_CardType", json_string("ATM"));
	json_object_set_new(o, "vnp_OrderInfo", json_string("Thanh toan le phi ho so 000.00.01.H26-250115-0001"));
	json_object_set_new(o, "vnp_PayDate", json_string("20250115103012"));
	json_object_set_new(o, "vnp_ResponseCode", json_string("00"));
	json_object_set_new(o, "vnp_TmnCode", json_string("DEMOV210"));
	json_object_set_new(o, "vnp_TransactionNo", json_string("14226112"));
	json_object_set_new(o, "vnp_TransactionStatus", json_string("00"));
	json_object_set_new(o, "vnp_TxnRef", json_string("HS250115000123"));
	json_object_set_new(o, "vnp_SecureHash", json_string(VNPAY_HASH));
	return o;
}

static json_t *momo_ipn(void)
{
	json_error_t je;
	json_t *o = json_loads("{\"partnerCode\":\"MOMO\",\"orderId\":\"HS250115000123\",\"requestId\":"
			       "\"HS250115000123\",\"amount\":120000,\"orderInfo\":\"Le phi ho so\",\"orderType\":"
			       "\"momo_wallet\",\"transId\":4088878653,\"resultCode\":0,\"message\":\"Thành công.\","
			       "\"payType\":\"qr\",\"responseTime\":1736911812345,\"extraData\":\"\",\"signature\":\""
			       MOMO_SIG "\"}", 0, &je);

	assert_non_null(o);
	return o;
}

static json_t *keypay_confirm(void)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "client_id", "CLIENT01", "transaction_id",
			 "123_4f1c2a9b-77e0-4c", "transaction_code", "KP0001", "trans_amount", "120000", "command",
			 "PAY", "addition_fee", "0", "version", "3.0", "status", "0", "check_sum", KEYPAY_SUM);
}

/* Canonical string and HMAC of fields under v; the hex is returned in hex. 0 / -1 (canonical). */
static int sign(const struct lt_verify_cfg *v, json_t *fields, char *canon, size_t canonsz, char hex[LT_HEX_MAX])
{
	struct lt_buf b;
	struct lt_err e;
	int digest;

	lt_err_clear(&e);
	assert_int_equal(lt_digest_parse(v->algorithm, &digest, &e), 0);
	lt_buf_init(&b, 64 * 1024);
	if (lt_canon_build(v, fields, &b, &e) < 0) {
		lt_buf_free(&b);
		return -1;
	}
	assert_int_equal(lt_hmac_hex(digest, v->key, strlen(v->key), b.data ? b.data : "", b.len, hex, LT_HEX_MAX), 0);
	if (canon != NULL)
		snprintf(canon, canonsz, "%s", b.data ? b.data : "");
	lt_buf_free(&b);
	return 0;
}

/* 1 when fields carry a signature that verifies under v. */
static int verifies(const struct lt_verify_cfg *v, json_t *fields)
{
	char hex[LT_HEX_MAX];

	if (sign(v, fields, NULL, 0, hex) < 0)
		return 0;
	return lt_hex_equal(hex, json_string_value(json_object_get(fields, v->signature)));
}

static void digests_by_name(void **state)
{
	struct lt_err e;
	int d = -1;
	char hex[LT_HEX_MAX];

	(void)state;
	lt_err_clear(&e);
	assert_int_equal(lt_digest_parse("md5", &d, &e), 0);
	assert_int_equal(d, LT_DIGEST_MD5);
	assert_int_equal(lt_digest_parse("sha512", &d, &e), 0);
	assert_int_equal(d, LT_DIGEST_SHA512);
	assert_int_equal(lt_digest_parse("SHA-512", &d, &e), -1);
	assert_string_equal(e.code, "sign.algorithm");
	/* RFC 2202 / RFC 4231 test case 2 ("Jefe") for each digest. */
	assert_int_equal(lt_hmac_hex(LT_DIGEST_MD5, "Jefe", 4, "what do ya want for nothing?", 28, hex, sizeof(hex)), 0);
	assert_string_equal(hex, "750c783e6ab0b503eaa86e310a5db738");
	assert_int_equal(lt_hmac_hex(LT_DIGEST_SHA1, "Jefe", 4, "what do ya want for nothing?", 28, hex, sizeof(hex)), 0);
	assert_string_equal(hex, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
	assert_int_equal(lt_hmac_hex(LT_DIGEST_SHA256, "Jefe", 4, "what do ya want for nothing?", 28, hex,
				     sizeof(hex)), 0);
	assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	/* A buffer too small for the digest is refused, not overrun. */
	assert_int_equal(lt_hmac_hex(LT_DIGEST_SHA512, "Jefe", 4, "x", 1, hex, 128), -1);
	assert_int_equal(lt_hmac_hex(LT_DIGEST_SHA1 + 99, "Jefe", 4, "x", 1, hex, sizeof(hex)), -1);
}

static void hex_comparison(void **state)
{
	(void)state;
	assert_true(lt_hex_equal("0aFf", "0AfF"));
	assert_false(lt_hex_equal("0aff", "0afe"));
	assert_false(lt_hex_equal("0aff", "0aff0"));     /* length */
	assert_false(lt_hex_equal("", ""));              /* an empty signature is never valid */
	assert_false(lt_hex_equal("0a@f", "0a`f"));      /* not hex, even though they fold alike */
	assert_false(lt_hex_equal(NULL, "00"));
	assert_false(lt_hex_equal("00", NULL));
}

static void vnpay_vector(void **state)
{
	json_t *f = vnpay_ipn();
	char canon[1024], hex[LT_HEX_MAX];

	(void)state;
	assert_int_equal(sign(&vnpay_cfg, f, canon, sizeof(canon), hex), 0);
	assert_string_equal(canon, VNPAY_CANON);
	assert_string_equal(hex, VNPAY_HASH);
	assert_true(verifies(&vnpay_cfg, f));
	/* VNPAY accepts either case on input, so do we. */
	json_object_set_new(f, "vnp_SecureHash", json_string("5846DDAEA1B6F6877CC67A894A989B0AA4F26D72BEAEEA6D020C0F1"
							      "CDC0E0C82E35E4D8DCB9675541C7881501FEABCA202828FC85EF9015"
							      "CEDC064C39F87E8C2"));
	assert_true(verifies(&vnpay_cfg, f));
	/* 2.0.x sent vnp_SecureHashType; it is excluded, and so are empty values and other prefixes. */
	json_object_set_new(f, "vnp_SecureHashType", json_string("SHA512"));
	json_object_set_new(f, "vnp_BankTranNo2", json_string(""));
	json_object_set_new(f, "utm_source", json_string("mail"));
	assert_true(verifies(&vnpay_cfg, f));
	json_decref(f);
}

static void vnpay_urlencodes_like_php(void **state)
{
	static const struct lt_verify_cfg cfg = { .type = LT_VERIFY_HMAC, .form = LT_CANON_SORTED_QUERY,
						  .prefix = "vnp_", .signature = "vnp_SecureHash" };
	json_t *f = json_pack("{s:s,s:s,s:s,s:i}", "vnp_b", "a b*~/:é", "vnp_a", "-_.AZaz09", "vnp_C", "x", "vnp_n", 7);
	struct lt_buf b;
	struct lt_err e;

	(void)state;
	lt_buf_init(&b, 1024);
	assert_int_equal(lt_canon_build(&cfg, f, &b, &e), 0);
	/* Byte order puts upper case first; PHP's urlencode escapes * and ~ (rawurlencode would not). */
	assert_string_equal(b.data, "vnp_C=x&vnp_a=-_.AZaz09&vnp_b=a+b%2A%7E%2F%3A%C3%A9&vnp_n=7");
	lt_buf_free(&b);
	json_decref(f);
}

/* Each change a forger or a broken proxy could make is caught. */
static void vnpay_must_fail(void **state)
{
	static const char *const changes[][2] = {
		{ "vnp_Amount", "12000001" },                /* one byte changed */
		{ "vnp_TmnCode", "demov210" },               /* case of a value */
		{ "vnp_Extra", "1" },                        /* an extra signed field */
		{ "vnp_OrderInfo", "Thanh toan le phi ho so 000.00.01.H26-250115-0001 " },
	};
	struct lt_verify_cfg wrong_key = vnpay_cfg;
	json_t *f;

	(void)state;
	for (size_t i = 0; i < sizeof(changes) / sizeof(*changes); i++) {
		f = vnpay_ipn();
		json_object_set_new(f, changes[i][0], json_string(changes[i][1]));
		assert_false(verifies(&vnpay_cfg, f));
		json_decref(f);
	}
	f = vnpay_ipn();
	json_object_del(f, "vnp_BankCode");                  /* a missing field */
	assert_false(verifies(&vnpay_cfg, f));
	json_decref(f);

	f = vnpay_ipn();
	wrong_key.key = "TESTSECRETKEY1234567890ABCDEFGHJ";
	assert_false(verifies(&wrong_key, f));
	/* the hash truncated by one digit, or empty */
	json_object_set_new(f, "vnp_SecureHash", json_string(VNPAY_HASH + 1));
	assert_false(verifies(&vnpay_cfg, f));
	json_object_set_new(f, "vnp_SecureHash", json_string(""));
	assert_false(verifies(&vnpay_cfg, f));
	json_decref(f);
}

static void momo_vector(void **state)
{
	json_t *f = momo_ipn();
	char canon[1024], hex[LT_HEX_MAX];

	(void)state;
	assert_int_equal(sign(&momo_cfg, f, canon, sizeof(canon), hex), 0);
	assert_string_equal(canon, "accessKey=F8BBA842ECF85&amount=120000&extraData=&message=Thành công.&orderId="
			    "HS250115000123&orderInfo=Le phi ho so&orderType=momo_wallet&partnerCode=MOMO&payType=qr"
			    "&requestId=HS250115000123&responseTime=1736911812345&resultCode=0&transId=4088878653");
	assert_string_equal(hex, MOMO_SIG);
	assert_true(verifies(&momo_cfg, f));
	/* The configured accessKey wins over one a forger puts in the body. */
	json_object_set_new(f, "accessKey", json_string("FORGED"));
	assert_true(verifies(&momo_cfg, f));
	json_decref(f);
}

static void momo_must_fail(void **state)
{
	struct lt_verify_cfg wrong_key = momo_cfg;
	json_t *f;
	struct lt_err e;
	struct lt_buf b;

	(void)state;
	f = momo_ipn();
	json_object_set_new(f, "amount", json_integer(120001));
	assert_false(verifies(&momo_cfg, f));
	json_decref(f);
	f = momo_ipn();
	json_object_set_new(f, "orderType", json_string("MOMO_WALLET"));
	assert_false(verifies(&momo_cfg, f));
	json_decref(f);
	/* "Thành công." decomposed (a + U+0300): other bytes, so another signature; never normalised. */
	f = momo_ipn();
	json_object_set_new(f, "message", json_string("Tha\xcc\x80nh co\xcc\x82ng."));
	assert_false(verifies(&momo_cfg, f));
	json_decref(f);
	f = momo_ipn();
	wrong_key.key = "K951B6PE1waDMi640xX08PD3vg6EkVl";
	assert_false(verifies(&wrong_key, f));
	/* A signed field that is missing is refused by name; a real number cannot be signed as text. */
	json_object_del(f, "payType");
	lt_buf_init(&b, 1024);
	lt_err_clear(&e);
	assert_int_equal(lt_canon_build(&momo_cfg, f, &b, &e), -1);
	assert_string_equal(e.code, "sign.canonical");
	assert_string_equal(e.field, "payType");
	assert_string_equal(e.msg, "signed field 'payType' is missing");
	lt_buf_reset(&b);
	json_object_set_new(f, "payType", json_string("qr"));
	json_object_set_new(f, "amount", json_real(120000.0));
	assert_int_equal(lt_canon_build(&momo_cfg, f, &b, &e), -1);
	assert_string_equal(e.field, "amount");
	lt_buf_free(&b);
	json_decref(f);
}

static void keypay_vector(void **state)
{
	json_t *f = keypay_confirm();
	char canon[1024], hex[LT_HEX_MAX];
	struct lt_verify_cfg dash = keypay_cfg;

	(void)state;
	assert_int_equal(sign(&keypay_cfg, f, canon, sizeof(canon), hex), 0);
	assert_string_equal(canon, "0|CLIENT01|PAY|120000|123_4f1c2a9b-77e0-4c|3.0");
	assert_string_equal(hex, KEYPAY_SUM);
	assert_true(verifies(&keypay_cfg, f));
	/* The separator is configurable; the bytes change with it. */
	dash.separator = "-";
	assert_int_equal(sign(&dash, f, canon, sizeof(canon), hex), 0);
	assert_string_equal(canon, "0-CLIENT01-PAY-120000-123_4f1c2a9b-77e0-4c-3.0");
	assert_false(verifies(&dash, f));
	json_decref(f);
}

static void keypay_must_fail(void **state)
{
	struct lt_verify_cfg wrong_key = keypay_cfg;
	json_t *f;

	(void)state;
	f = keypay_confirm();
	json_object_set_new(f, "trans_amount", json_string("1200000"));
	assert_false(verifies(&keypay_cfg, f));
	json_object_set_new(f, "trans_amount", json_string("120000"));
	json_object_set_new(f, "command", json_string("pay"));
	assert_false(verifies(&keypay_cfg, f));
	json_object_set_new(f, "command", json_string("PAY"));
	assert_true(verifies(&keypay_cfg, f));
	json_object_del(f, "version");
	assert_false(verifies(&keypay_cfg, f));
	json_decref(f);
	f = keypay_confirm();
	wrong_key.key = "HASHKEY2TEST";
	assert_false(verifies(&wrong_key, f));
	json_decref(f);
}

static void canonical_bounded(void **state)
{
	json_t *f = keypay_confirm();
	struct lt_buf b;
	struct lt_err e;

	(void)state;
	lt_buf_init(&b, 16);
	lt_err_clear(&e);
	assert_int_equal(lt_canon_build(&keypay_cfg, f, &b, &e), -1);
	assert_string_equal(e.code, "sign.canonical");
	lt_buf_free(&b);
	json_decref(f);
	f = json_array();
	lt_buf_init(&b, 16);
	assert_int_equal(lt_canon_build(&keypay_cfg, f, &b, &e), -1);
	assert_string_equal(e.msg, "the signed fields are not an object");
	lt_buf_free(&b);
	json_decref(f);
}

/* RSA-SHA256 over a canonical string, the signature in base64 (padded or not) or hex. */
static void rsa_signatures(void **state)
{
	EVP_PKEY *key = EVP_RSA_gen(2048);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char sig[256];
	char b64[400], hex[600];
	size_t siglen = sizeof(sig);
	const char msg[] = "0|CLIENT01|PAY|120000|123_4f1c2a9b-77e0-4c|3.0";
	struct lt_err e;

	(void)state;
	assert_non_null(key);
	assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key), 1);
	assert_int_equal(EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)msg, strlen(msg)), 1);
	EVP_MD_CTX_free(ctx);
	assert_int_equal(siglen, 256);
	EVP_EncodeBlock((unsigned char *)b64, sig, (int)siglen);
	for (size_t i = 0; i < siglen; i++)
		snprintf(hex + 2 * i, 3, "%02X", sig[i]);

	lt_err_clear(&e);
	assert_int_equal(lt_rsa_verify(LT_DIGEST_SHA256, key, msg, strlen(msg), b64, &e), 0);
	assert_int_equal(lt_rsa_verify(LT_DIGEST_SHA256, key, msg, strlen(msg), hex, &e), 0);
	*strchr(b64, '=') = '\0';
	assert_int_equal(lt_rsa_verify(LT_DIGEST_SHA256, key, msg, strlen(msg), b64, &e), 0);
	/* Another message, another digest, a corrupted or foreign signature: refused, never quoted. */
	assert_int_equal(lt_rsa_verify(LT_DIGEST_SHA256, key, msg, strlen(msg) - 1, b64, &e), -1);
	assert_string_equal(e.code, "sign.rsa");
	assert_int_equal(e.status, 401);
	assert_null(strstr(e.msg, b64 + 10));
	assert_int_equal(lt_rsa_verify(LT_DIGEST_SHA512, key, msg, strlen(msg), b64, &e), -1);
	hex[0] = hex[0] == '0' ? '1' : '0';
	assert_int_equal(lt_rsa_verify(LT_DIGEST_SHA256, key, msg, strlen(msg), hex, &e), -1);
	assert_int_equal(lt_rsa_verify(LT_DIGEST_SHA256, key, msg, strlen(msg), "not base64!", &e), -1);
	assert_int_equal(lt_rsa_verify(LT_DIGEST_SHA256, key, msg, strlen(msg), "", &e), -1);
	assert_int_equal(lt_rsa_verify(LT_DIGEST_MD5, key, msg, strlen(msg), b64, &e), -1);
	assert_string_equal(e.code, "sign.algorithm");
	EVP_PKEY_free(key);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(digests_by_name),
		cmocka_unit_test(hex_comparison),
		cmocka_unit_test(vnpay_vector),
		cmocka_unit_test(vnpay_urlencodes_like_php),
		cmocka_unit_test(vnpay_must_fail),
		cmocka_unit_test(momo_vector),
		cmocka_unit_test(momo_must_fail),
		cmocka_unit_test(keypay_vector),
		cmocka_unit_test(keypay_must_fail),
		cmocka_unit_test(canonical_bounded),
		cmocka_unit_test(rsa_signatures),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
