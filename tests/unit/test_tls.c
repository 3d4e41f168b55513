/* Client identity from certificates and the route allow list. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "gateway/tls.h"

static X509 *make_cert(const char *cn, const char *san)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x = X509_new();
	X509_NAME *name = X509_get_subject_name(x);
	X509V3_CTX ctx;

	assert_non_null(key);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	if (cn != NULL)
		X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, name);
	if (san != NULL) {
		X509_EXTENSION *ext;

		X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
		ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, san);
		assert_non_null(ext);
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	EVP_PKEY_free(key);
	return x;
}

static void identity_reads_cn_and_sans(void **state)
{
	X509 *x = make_cert("hanoi-dossier-system", "DNS:dossier.hanoi.example,IP:127.0.0.1,email:ops@hanoi.example,URI:spiffe://hanoi/dossier");
	struct lt_identity id;

	(void)state;
	lt_identity_from_cert(x, 1, &id);
	assert_string_equal(id.cn, "hanoi-dossier-system");
	assert_string_equal(id.display, "CN=hanoi-dossier-system");
	assert_int_equal(id.n_sans, 4);
	assert_string_equal(id.sans[0], "DNS:dossier.hanoi.example");
	assert_string_equal(id.sans[1], "IP:127.0.0.1");
	assert_string_equal(id.sans[2], "EMAIL:ops@hanoi.example");
	assert_string_equal(id.sans[3], "URI:spiffe://hanoi/dossier");
	X509_free(x);
}

static void allow_matches_cn_and_san_forms(void **state)
{
	X509 *x = make_cert("hanoi-dossier-system", "DNS:Dossier.Hanoi.example,IP:10.1.2.3");
	struct lt_identity id;
	char *cn_ok[] = { "CN=hanoi-dossier-system" };
	char *cn_other[] = { "CN=vnpay-ipn", "CN=hanoi-dossier" };
	char *dns_bare[] = { "dossier.hanoi.example" };   /* DNS names compare without case */
	char *dns_typed[] = { "DNS:DOSSIER.HANOI.EXAMPLE" };
	char *ip_typed[] = { "IP:10.1.2.3" };
	char *wrong_type[] = { "EMAIL:dossier.hanoi.example" };
	char *ip_wrong[] = { "IP:10.1.2.30" };

	(void)state;
	lt_identity_from_cert(x, 1, &id);
	assert_true(lt_identity_allowed(&id, cn_ok, 1));
	assert_false(lt_identity_allowed(&id, cn_other, 2));
	assert_true(lt_identity_allowed(&id, dns_bare, 1));
	assert_true(lt_identity_allowed(&id, dns_typed, 1));
	assert_true(lt_identity_allowed(&id, ip_typed, 1));
	assert_false(lt_identity_allowed(&id, wrong_type, 1));
	assert_false(lt_identity_allowed(&id, ip_wrong, 1));
	assert_false(lt_identity_allowed(&id, cn_ok, 0));
	X509_free(x);
}

static void unverified_or_missing_certificate_is_never_allowed(void **state)
{
	X509 *x = make_cert("hanoi-dossier-system", NULL);
	struct lt_identity id;
	char *cn_ok[] = { "CN=hanoi-dossier-system" };

	(void)state;
	lt_identity_from_cert(x, 0, &id);
	assert_false(lt_identity_allowed(&id, cn_ok, 1));
	lt_identity_from_cert(NULL, 1, &id);
	assert_string_equal(id.display, "-");
	assert_false(lt_identity_allowed(&id, cn_ok, 1));
	X509_free(x);
}

static void cn_prefix_is_not_a_match(void **state)
{
	X509 *x = make_cert("hanoi-dossier-system-evil", NULL);
	X509 *y = make_cert(NULL, "DNS:hanoi-dossier-system");
	struct lt_identity id;
	char *cn_ok[] = { "CN=hanoi-dossier-system" };

	(void)state;
	lt_identity_from_cert(x, 1, &id);
	assert_false(lt_identity_allowed(&id, cn_ok, 1));
	/* a SAN equal to the CN text does not satisfy a CN= entry */
	lt_identity_from_cert(y, 1, &id);
	assert_string_equal(id.cn, "");
	assert_false(lt_identity_allowed(&id, cn_ok, 1));
	X509_free(x);
	X509_free(y);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(identity_reads_cn_and_sans),
		cmocka_unit_test(allow_matches_cn_and_san_forms),
		cmocka_unit_test(unverified_or_missing_certificate_is_never_allowed),
		cmocka_unit_test(cn_prefix_is_not_a_match),
	};
	return cmocka_run_group_tests_name("tls", tests, NULL, NULL);
}
