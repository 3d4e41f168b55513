/* test_config.c: the config loader and validator (gateway/config.c): the SPEC example loads into
 * the expected struct, and every kind of mistake gives its exact FILE:LINE:COL: message, all of
 * them in one run. Certificates and keys are made at setup in a temporary folder (no private key
 * is committed); configs name them through ${env:LT_TEST_CERTS}. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "gateway/config.h"
#include "gateway/util.h"

static char certs[64];       /* the temporary folder */
static char cwd[4000];       /* tests/unit, absolute */
static char fixtures[4096];  /* absolute path of fixtures/config */

/* ---- throwaway PKI ------------------------------------------------------------------------- */

static X509 *make_cert(EVP_PKEY *k, const char *cn, long from_s, long to_s)
{
	static long serial = 1;
	X509 *x = X509_new();
	X509_NAME *name = X509_get_subject_name(x);

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_gmtime_adj(X509_getm_notBefore(x), from_s);
	X509_gmtime_adj(X509_getm_notAfter(x), to_s);
	X509_set_pubkey(x, k);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, name);
	X509_sign(x, k, EVP_sha256());
	return x;
}

static FILE *create(const char *name, mode_t mode)
{
	char *path = lt_path_join(certs, name);
	FILE *f = fopen(path, "w");

	if (f != NULL)
		fchmod(fileno(f), mode);
	free(path);
	return f;
}

static int write_pair(const char *base, const char *cn, long from_s, long to_s, mode_t key_mode)
{
	/* The bank's key verifies `verify: { type: rsa }` signatures, so it must be RSA. */
	EVP_PKEY *k = strcmp(base, "bank") == 0 ? EVP_RSA_gen(2048) : EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x;
	char name[64];
	FILE *f;
	int ok;

	if (k == NULL)
		return -1;
	x = make_cert(k, cn, from_s, to_s);
	snprintf(name, sizeof(name), "%s.crt", base);
	f = create(name, 0644);
	ok = f != NULL && PEM_write_X509(f, x) == 1;
	if (f != NULL)
		fclose(f);
	snprintf(name, sizeof(name), "%s.key", base);
	f = create(name, key_mode);
	ok = ok && f != NULL && PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) == 1;
	if (f != NULL)
		fclose(f);
	snprintf(name, sizeof(name), "%s.pub", base);
	f = create(name, 0644);
	ok = ok && f != NULL && PEM_write_PUBKEY(f, k) == 1;
	if (f != NULL)
		fclose(f);
	X509_free(x);
	EVP_PKEY_free(k);
	return ok ? 0 : -1;
}

static int write_text(const char *name, const char *text)
{
	FILE *f = create(name, 0600);

	if (f == NULL)
		return -1;
	fputs(text, f);
	fclose(f);
	return 0;
}

static const char *const made[] = {
	"gateway.crt", "gateway.key", "gateway.pub", "client.crt", "client.key", "client.pub", "bank.crt",
	"bank.key", "bank.pub", "ca.crt", "ca.key", "ca.pub", "open.crt", "open.key", "open.pub", "old.crt",
	"old.key", "old.pub", "soon.crt", "soon.key", "soon.pub", "garbage.pem", NULL
};

static int setup(void **state)
{
	(void)state;
	snprintf(certs, sizeof(certs), "/tmp/lt-config-XXXXXX");
	if (mkdtemp(certs) == NULL || getcwd(cwd, sizeof(cwd)) == NULL)
		return -1;
	snprintf(fixtures, sizeof(fixtures), "%s/fixtures/config", cwd);
	if (write_pair("gateway", "gateway", 0, 86400L * 365, 0600) < 0 ||
	    write_pair("client", "gw-client", 0, 86400L * 365, 0600) < 0 ||
	    write_pair("bank", "bank", 0, 86400L * 365, 0600) < 0 ||
	    write_pair("ca", "dev-ca", 0, 86400L * 365, 0600) < 0 ||
	    write_pair("open", "open", 0, 86400L * 365, 0644) < 0 ||
	    write_pair("old", "old", -86400L * 60, -86400L * 30, 0600) < 0 ||
	    write_pair("soon", "soon", 0, 86400L * 10, 0600) < 0 ||
	    write_text("garbage.pem", "this is not PEM\n") < 0)
		return -1;
	setenv("LT_TEST_CERTS", certs, 1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (size_t i = 0; made[i] != NULL; i++) {
		char *p = lt_path_join(certs, made[i]);

		unlink(p);
		free(p);
	}
	rmdir(certs);
	return 0;
}

/* ---- helpers ---------------------------------------------------------------------------------- */

static void dump(const struct lt_diags *d)
{
	for (size_t i = 0; i < d->n; i++)
		fprintf(stderr, "  got: %s%s\n", d->v[i].warning ? "warning: " : "", d->v[i].text);
}

/* The diagnostics must be exactly `want` (NULL-terminated), in order; "warning: " marks warnings. */
static void expect_diags(const struct lt_diags *d, const char *const *want)
{
	size_t n = 0;

	while (want[n] != NULL)
		n++;
	if (d->n != n) {
		dump(d);
		fail_msg("%zu diagnostics, expected %zu", d->n, n);
	}
	for (size_t i = 0; i < n; i++) {
		int w = strncmp(want[i], "warning: ", 9) == 0;

		if (d->v[i].warning != w || strcmp(d->v[i].text, want[i] + (w ? 9 : 0)) != 0) {
			dump(d);
			fail_msg("diagnostic %zu:\n  want: %s", i, want[i]);
		}
	}
}

/* Parses yaml as "t.yaml" (relative paths resolve against tests/unit) and expects it to fail
 * with exactly these messages. */
static void fails(const char *yaml, const char *const *want)
{
	struct lt_config *c = NULL;
	struct lt_diags d = { 0 };

	assert_int_equal(lt_config_parse("t.yaml", yaml, strlen(yaml), &c, &d), -1);
	assert_null(c);
	expect_diags(&d, want);
	lt_diags_free(&d);
}

#define FAILS(yaml, ...) do { \
	const char *const want_[] = { __VA_ARGS__, NULL }; \
	fails(yaml, want_); \
} while (0)

#define LOCAL "listeners:\n  local: { listen: 127.0.0.1:8080 }\n"   /* lines 1-2 */

static struct lt_config *loads(const char *yaml, struct lt_diags *d)
{
	struct lt_config *c = NULL;

	if (lt_config_parse("t.yaml", yaml, strlen(yaml), &c, d) < 0) {
		dump(d);
		fail_msg("config refused");
	}
	return c;
}

static char *in_dir(const char *dir, const char *name)
{
	return lt_xasprintf("%s/%s", dir, name);
}

static void assert_path(const char *got, const char *dir, const char *name)
{
	char *want = in_dir(dir, name);

	assert_string_equal(got, want);
	free(want);
}

/* ---- the valid configs ------------------------------------------------------------------------ */

static void test_full_config(void **state)
{
	struct lt_config *c = NULL;
	struct lt_diags d = { 0 };
	const struct lt_listener_cfg *l;
	const struct lt_upstream_cfg *u;
	const struct lt_route_cfg *r;
	char *body;

	(void)state;
	setenv("DVCQG_DSTCODE", "000.00.00.H26", 1);
	setenv("DVCQG_USER", "hanoi-gw", 1);
	setenv("VNPAY_HASH_SECRET", "vnpay-hash-secret", 1);
	unsetenv("CITY_TOKEN");
	if (lt_config_load("fixtures/config/full.yaml", &c, &d) < 0) {
		dump(&d);
		fail_msg("full.yaml refused");
	}
	expect_diags(&d, (const char *const[]){ NULL });
	assert_string_equal(c->file, "fixtures/config/full.yaml");
	assert_string_equal(c->dir, fixtures);

	assert_int_equal(c->gateway.workers, 0);
	assert_path(c->gateway.store, fixtures, "var/lienthong.db");
	assert_int_equal(c->gateway.log_level, LT_LOG_DEBUG);
	assert_int_equal(c->gateway.log_format, LT_LOG_TEXT);
	assert_int_equal(c->gateway.limits.max_body, 2 * 1024 * 1024);
	assert_int_equal(c->gateway.limits.max_headers, 32 * 1024);
	assert_int_equal(c->gateway.limits.header_timeout_ms, 5000);
	assert_int_equal(c->gateway.limits.body_timeout_ms, 60000);

	assert_int_equal(c->n_listeners, 2);
	l = &c->listeners[0];
	assert_string_equal(l->name, "public");
	assert_string_equal(l->listen, "0.0.0.0:8443");
	assert_string_equal(l->host, "0.0.0.0");
	assert_int_equal(l->port, 8443);
	assert_int_equal(l->tls, 1);
	assert_path(l->cert, certs, "gateway.crt");
	assert_path(l->key, certs, "gateway.key");
	assert_path(l->client_ca, certs, "ca.crt");
	assert_int_equal(l->client_auth, LT_CLIENT_AUTH_REQUIRE);
	assert_int_equal(l->admin, 0);
	assert_int_equal(l->pos.line, 10);
	assert_int_equal(l->pos.col, 3);
	l = &c->listeners[1];
	assert_string_equal(l->name, "admin");
	assert_string_equal(l->host, "127.0.0.1");
	assert_int_equal(l->port, 9090);
	assert_int_equal(l->tls, 0);
	assert_null(l->cert);
	assert_int_equal(l->admin, 1);

	assert_int_equal(c->n_upstreams, 2);
	u = &c->upstreams[0];
	assert_string_equal(u->name, "dvcqg");
	assert_string_equal(u->url, "https://127.0.0.1:9443/adapter");
	assert_path(u->ca, certs, "ca.crt");
	assert_path(u->cert, certs, "client.crt");
	assert_path(u->key, certs, "client.key");
	assert_string_equal(u->pin, "sha256//BASE64SPKI=");
	assert_int_equal(u->n_headers, 2);
	assert_string_equal(u->headers[0].name, "dstcode");
	assert_string_equal(u->headers[0].value, "000.00.00.H26");
	assert_int_equal(u->headers[0].secret, 1);
	assert_string_equal(u->headers[1].name, "X-Source");
	assert_string_equal(u->headers[1].value, "lienthong");
	assert_int_equal(u->headers[1].secret, 0);
	assert_int_equal(u->connect_timeout_ms, 2000);
	assert_int_equal(u->total_timeout_ms, 10000);
	assert_int_equal(u->retry_attempts, 3);
	assert_int_equal(u->retry_backoff_ms, 200);
	assert_int_equal(u->retry_max_backoff_ms, 5000);
	assert_int_equal(u->retry_on, LT_RETRY_CONNECT | LT_RETRY_TIMEOUT);
	assert_int_equal(u->n_retry_status, 3);
	assert_int_equal(u->retry_status[0], 502);
	assert_int_equal(u->retry_status[2], 504);
	assert_int_equal(u->circuit_failures, 5);
	assert_int_equal(u->circuit_cooldown_ms, 30000);
	assert_int_equal(u->auth.type, LT_AUTH_LOGIN);
	assert_string_equal(u->auth.login_path, "/auth");
	body = json_dumps(u->auth.login_body, JSON_COMPACT);
	assert_string_equal(body, "{\"username\":\"hanoi-gw\",\"password\":\"fixture-pass-not-a-real-secret\","
				  "\"unit\":26,\"remember\":true}");
	free(body);
	assert_string_equal(u->auth.token_field, "session");
	assert_string_equal(u->auth.put_body, "session");
	assert_null(u->auth.put_header);
	assert_int_equal(u->auth.n_refresh_status, 1);
	assert_int_equal(u->auth.refresh_status[0], 401);
	assert_string_equal(u->auth.refresh_field, "error_code");
	assert_int_equal(u->auth.n_refresh_values, 1);
	assert_string_equal(u->auth.refresh_values[0], "-1");
	u = &c->upstreams[1];
	assert_string_equal(u->url, "http://127.0.0.1:9500/city");
	assert_int_equal(u->auth.type, LT_AUTH_BEARER);
	assert_string_equal(u->auth.token, "dev-token");
	assert_int_equal(u->retry_attempts, 1);
	assert_int_equal(u->circuit_failures, 0);

	assert_int_equal(c->n_routes, 3);
	r = &c->routes[0];
	assert_string_equal(r->name, "dvcqg.dossier.sync");
	assert_string_equal(r->listener, "public");
	assert_int_equal(r->listener_index, 0);
	assert_string_equal(r->method, "POST");
	assert_string_equal(r->path, "/v1/dvcqg/dossiers");
	assert_int_equal(r->n_allow, 1);
	assert_string_equal(r->allow[0], "CN=hanoi-dossier-system");
	assert_path(r->mapping_path, fixtures, "mappings/dossier-sync.yaml");
	assert_non_null(r->map);
	assert_string_equal(r->upstream, "dvcqg");
	assert_int_equal(r->upstream_index, 0);
	assert_int_equal(r->mode, LT_MODE_SYNC);
	assert_int_equal(r->verify.type, LT_VERIFY_NONE);
	r = &c->routes[1];
	assert_int_equal(r->mode, LT_MODE_QUEUE);
	assert_int_equal(r->upstream_index, 1);
	assert_int_equal(r->verify.type, LT_VERIFY_HMAC);
	assert_string_equal(r->verify.algorithm, "sha512");
	assert_string_equal(r->verify.key, "vnpay-hash-secret");
	assert_string_equal(r->verify.signature, "vnp_SecureHash");
	assert_int_equal(r->verify.form, LT_CANON_SORTED_QUERY);
	assert_string_equal(r->verify.prefix, "vnp_");
	assert_int_equal(r->verify.n_exclude, 2);
	assert_string_equal(r->verify.exclude[1], "vnp_SecureHashType");
	assert_string_equal(r->idempotency_key, "vnp_TxnRef");
	assert_int_equal(r->ack_ok.status, 200);
	assert_string_equal(r->ack_ok.body, "{\"RspCode\":\"00\",\"Message\":\"Confirm Success\"}");
	assert_string_equal(r->ack_ok.content_type, "application/json");
	assert_string_equal(r->ack_error.body, "{\"RspCode\":\"99\",\"Message\":\"Unknown error\"}");
	r = &c->routes[2];
	assert_int_equal(r->verify.type, LT_VERIFY_RSA);
	assert_path(r->verify.public_key, certs, "bank.pub");
	assert_non_null(r->verify.pkey);           /* loaded once, with the config */
	assert_int_equal(r->verify.form, LT_CANON_JOIN);
	assert_int_equal(r->verify.n_fields, 3);
	assert_string_equal(r->verify.separator, "|");
	assert_null(r->mapping_path);
	assert_null(r->map);
	assert_string_equal(r->upstream_path, "/payments");
	assert_int_equal(r->ack_ok.status, 204);
	assert_string_equal(r->ack_ok.content_type, "text/plain; charset=utf-8");
	assert_string_equal(r->ack_bad_signature.body, "invalid signature");
	assert_int_equal(r->ack_duplicate.status, 0);
	assert_null(r->ack_duplicate.content_type);
	lt_config_free(c);
	lt_diags_free(&d);
}

static void test_defaults(void **state)
{
	struct lt_config *c = NULL;
	struct lt_diags d = { 0 };
	const struct lt_upstream_cfg *u;

	(void)state;
	assert_int_equal(lt_config_load("fixtures/config/minimal.yaml", &c, &d), 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(c->gateway.workers, 0);
	assert_path(c->gateway.store, fixtures, "var/lienthong.db");
	assert_int_equal(c->gateway.log_level, LT_LOG_INFO);
	assert_int_equal(c->gateway.log_format, LT_LOG_JSON);
	assert_int_equal(c->gateway.limits.max_body, 1024 * 1024);
	assert_int_equal(c->gateway.limits.max_headers, 16 * 1024);
	assert_int_equal(c->gateway.limits.header_timeout_ms, 10000);
	assert_int_equal(c->gateway.limits.body_timeout_ms, 30000);
	assert_string_equal(c->listeners[0].host, "::1");
	assert_int_equal(c->listeners[0].port, 8080);
	assert_int_equal(c->listeners[0].tls, 0);
	u = &c->upstreams[0];
	assert_int_equal(u->connect_timeout_ms, 2000);
	assert_int_equal(u->total_timeout_ms, 10000);
	assert_int_equal(u->retry_attempts, 1);
	assert_int_equal(u->retry_backoff_ms, 200);
	assert_int_equal(u->retry_max_backoff_ms, 5000);
	assert_int_equal(u->retry_on, 0);
	assert_int_equal(u->n_retry_status, 0);
	assert_int_equal(u->circuit_failures, 0);
	assert_int_equal(u->auth.type, LT_AUTH_NONE);
	assert_int_equal(u->n_headers, 0);
	assert_int_equal(c->routes[0].mode, LT_MODE_SYNC);
	assert_int_equal(c->routes[0].n_allow, 0);
	assert_null(c->routes[0].allow);
	lt_config_free(c);
}

static void test_auth_forms(void **state)
{
	struct lt_config *c;
	struct lt_diags d = { 0 };

	(void)state;
	c = loads(LOCAL "upstreams:\n  a: { url: http://a, auth: none }\n"
		  "  b: { url: http://b, auth: { type: header, name: X-Api-Key, value: k1 } }\n"
		  "  c: { url: http://c, auth: { type: oauth2, token_url: \"https://id/token\", client_id: i, "
		  "client_secret: s, scope: dossier } }\n"
		  "  d: { url: http://d, auth: { type: login, request: { path: /login }, token: t, "
		  "put: { header: Authorization, prefix: \"Bearer \" } } }\n", &d);
	assert_int_equal(d.n, 0);
	assert_int_equal(c->upstreams[0].auth.type, LT_AUTH_NONE);
	assert_int_equal(c->upstreams[1].auth.type, LT_AUTH_HEADER);
	assert_string_equal(c->upstreams[1].auth.header_name, "X-Api-Key");
	assert_string_equal(c->upstreams[1].auth.header_value, "k1");
	assert_int_equal(c->upstreams[2].auth.type, LT_AUTH_OAUTH2);
	assert_string_equal(c->upstreams[2].auth.token_url, "https://id/token");
	assert_string_equal(c->upstreams[2].auth.scope, "dossier");
	assert_int_equal(c->upstreams[3].auth.type, LT_AUTH_LOGIN);
	assert_null(c->upstreams[3].auth.login_body);
	assert_string_equal(c->upstreams[3].auth.put_header, "Authorization");
	assert_string_equal(c->upstreams[3].auth.put_prefix, "Bearer ");
	lt_config_free(c);
}

/* ---- mistakes, one kind at a time ------------------------------------------------------------------ */

static void test_unknown_keys(void **state)
{
	(void)state;
	FAILS(LOCAL "upstreams:\n  dvcqg:\n    url: https://x\n    timout: { connect: 2s }\n"
	      "routs: {}\n",
	      "t.yaml:6:5: unknown key 'timout' in upstream 'dvcqg' (expected one of: url, client, tls, headers, timeout, retry, "
	      "circuit, auth)",
	      "t.yaml:7:1: unknown key 'routs' (expected one of: gateway, listeners, upstreams, routes)");
	FAILS(LOCAL "upstreams:\n  dvcqg:\n    url: https://x\n    timeout: { conect: 2s }\n"
	      "    auth: { type: bearer, token: t, password: p }\n",
	      "t.yaml:6:16: unknown key 'conect' in upstream 'dvcqg' timeout (expected one of: connect, total)",
	      "t.yaml:7:37: unknown key 'password' in upstream 'dvcqg' auth (expected one of: type, token)");
	FAILS("gateway: { log: { lvl: debug } }\n" LOCAL,
	      "t.yaml:1:19: unknown key 'lvl' in gateway log (expected one of: level, format)");
}

static void test_wrong_types(void **state)
{
	(void)state;
	FAILS("listeners:\n  local: { listen: 8080, admin: yes }\n"
	      "upstreams:\n  u:\n    url: http://x\n    retry: { attempts: \"3\" }\n    timeout: 5s\n"
	      "routes:\n  r:\n    listener: local\n    match: { method: POST, path: /x }\n    allow: CN=x\n"
	      "    upstream: [u]\n    mapping: fixtures/config/mappings/dossier-sync.yaml\n",
	      "t.yaml:2:20: 'listen' in listener 'local': expected HOST:PORT or [IPv6]:PORT, got '8080'",
	      "t.yaml:2:33: 'admin' in listener 'local': expected a boolean (true or false), got 'yes'",
	      "t.yaml:6:24: 'attempts' in upstream 'u' retry: expected an integer, got '3' (quoted, so a string)",
	      "t.yaml:7:14: upstream 'u' timeout: expected a mapping, got '5s'",
	      "t.yaml:12:12: 'allow' in route 'r': expected a list, got 'CN=x'",
	      "t.yaml:13:15: 'upstream' in route 'r': expected a string, got a list",
	      "t.yaml:9:3: missing key 'upstream' in route 'r'");
}

static void test_bad_values(void **state)
{
	(void)state;
	FAILS("gateway:\n  workers: 0\n  log: { level: verbose }\n  limits: { max_body: 1 MB, body_timeout: 2 sec }\n"
	      "listeners:\n  local: { listen: \"127.0.0.1:70000\" }\n"
	      "upstreams:\n  u:\n    url: ftp://x\n    retry: { attempts: 11, on: [connect, 404, reset] }\n"
	      "    timeout: { connect: 0s }\n"
	      "routes:\n  r:\n    listener: local\n    match: { method: FETCH, path: x }\n    upstream: u\n"
	      "    mode: later\n",
	      "t.yaml:2:12: 'workers' in gateway: expected an integer from 1 to 256, got '0'",
	      "t.yaml:3:17: 'level' in gateway log: expected one of error, warn, info, debug, got 'verbose'",
	      "t.yaml:4:23: 'max_body' in gateway limits: expected a size such as 512, 64KiB or 1MiB, got '1 MB'",
	      "t.yaml:4:43: 'body_timeout' in gateway limits: expected a duration such as 250ms, 2s or 5m, got '2 sec'",
	      "t.yaml:6:20: 'listen' in listener 'local': the port must be an integer from 1 to 65535, got "
	      "'127.0.0.1:70000'",
	      "t.yaml:10:24: 'attempts' in upstream 'u' retry: expected an integer from 1 to 10, got '11'",
	      "t.yaml:10:42: 'on' in upstream 'u' retry: expected connect, timeout, tls or an HTTP status from 500 to "
	      "599, got '404'",
	      "t.yaml:10:47: 'on' in upstream 'u' retry: expected connect, timeout, tls or an HTTP status from 500 to "
	      "599, got 'reset'",
	      "t.yaml:11:25: 'connect' in upstream 'u' timeout: expected a duration of at least 1ms, got '0s'",
	      "t.yaml:15:22: 'method' in route 'r' match: expected one of GET, POST, PUT, PATCH, DELETE, got 'FETCH'",
	      "t.yaml:17:11: 'mode' in route 'r': expected one of sync, queue, got 'later'",
	      "t.yaml:9:10: 'url' in upstream 'u': expected an http:// or https:// URL, got 'ftp://x'",
	      "t.yaml:13:3: missing key 'mapping' in route 'r' (a sync route answers with the mapped upstream answer)",
	      "t.yaml:15:35: 'path' in route 'r' match: must start with '/', got 'x'");
}

static void test_missing_keys(void **state)
{
	(void)state;
	FAILS("upstreams:\n  u: { tls: { ca: x } }\nroutes:\n  r:\n    match: { path: /x }\n",
	      "t.yaml:2:3: missing key 'url' in upstream 'u'",
	      "t.yaml:5:5: missing key 'method' in route 'r' match",
	      "t.yaml:4:3: missing key 'listener' in route 'r'",
	      "t.yaml:1:1: missing key 'listeners'",
	      "t.yaml:2:19: cannot read CA certificate x: No such file or directory",
	      "t.yaml:4:3: missing key 'upstream' in route 'r'",
	      "t.yaml:4:3: missing key 'mapping' in route 'r' (a sync route answers with the mapped upstream answer)");
	FAILS("listeners:\n  l:\n    listen: 127.0.0.1:1\n    tls:\n", "t.yaml:4:5: missing key 'cert' in listener 'l' tls",
	      "t.yaml:4:5: missing key 'key' in listener 'l' tls");
	/* A key with nothing after it is a forgotten value, not an empty string. */
	FAILS("listeners:\n  l:\n    listen:\n"
	      "upstreams:\n  u:\n    url: ~\n    headers: { X-Empty: \"\", X-Null: }\n",
	      "t.yaml:3:12: 'listen' in listener 'l': expected a string, got an empty value",
	      "t.yaml:6:10: 'url' in upstream 'u': expected a string, got '~'",
	      "t.yaml:7:37: 'X-Null' in upstream 'u': expected a string, got an empty value");
	FAILS("listeners: {}\n", "t.yaml:1:12: 'listeners': at least one listener is needed");
	FAILS("", "t.yaml: the file is empty (a config needs at least 'listeners')");
	FAILS("- a\n", "t.yaml:1:1: expected a mapping with gateway, listeners, upstreams and routes, got a list");
}

static void test_missing_files(void **state)
{
	(void)state;
	FAILS("listeners:\n  public:\n    listen: 0.0.0.0:8443\n    tls:\n"
	      "      cert: certs/dev/gateway.crt\n      key: ${env:LT_TEST_CERTS}/nope.key\n"
	      "      client_ca: ${env:LT_TEST_CERTS}/ca.crt\n"
	      "upstreams:\n  u:\n    url: https://x\n    tls: { ca: \"${env:LT_TEST_CERTS}/no-ca.crt\" }\n"
	      "routes:\n  r:\n    listener: public\n    match: { method: POST, path: /x }\n    upstream: u\n"
	      "    mapping: mappings/nope.yaml\n",
	      "t.yaml:5:13: cannot read certificate certs/dev/gateway.crt: No such file or directory",
	      "t.yaml:6:12: cannot read key ${env:LT_TEST_CERTS}/nope.key: No such file or directory",
	      "t.yaml:11:16: cannot read CA certificate ${env:LT_TEST_CERTS}/no-ca.crt: No such file or directory",
	      "t.yaml:17:14: cannot read mapping mappings/nope.yaml: No such file or directory");
}

static void test_unreadable_and_bad_pem(void **state)
{
	(void)state;
	/* A folder where a file belongs, a file that is not PEM, and a certificate given as a key. */
	FAILS("listeners:\n  public:\n    listen: 0.0.0.0:8443\n    tls:\n      cert: ${env:LT_TEST_CERTS}\n"
	      "      key: ${env:LT_TEST_CERTS}/gateway.key\n      client_ca: ${env:LT_TEST_CERTS}/garbage.pem\n"
	      "  other:\n    listen: 0.0.0.0:8444\n    tls:\n      cert: ${env:LT_TEST_CERTS}/garbage.pem\n"
	      "      key: ${env:LT_TEST_CERTS}/gateway.crt\n      client_auth: none\n",
	      "t.yaml:5:13: cannot read certificate ${env:LT_TEST_CERTS}: Is a directory",
	      "t.yaml:7:18: ${env:LT_TEST_CERTS}/garbage.pem holds no PEM certificate",
	      "t.yaml:11:13: ${env:LT_TEST_CERTS}/garbage.pem is not a PEM certificate",
	      "t.yaml:12:12: ${env:LT_TEST_CERTS}/gateway.crt is not a PEM private key (a key protected by a "
	      "passphrase is not supported)");
}

static void test_cert_key_mismatch(void **state)
{
	(void)state;
	FAILS("listeners:\n  l: { listen: 127.0.0.1:1 }\nupstreams:\n  u:\n    url: https://x\n"
	      "    tls: { cert: \"${env:LT_TEST_CERTS}/client.crt\", key: \"${env:LT_TEST_CERTS}/gateway.key\" }\n",
	      "t.yaml:6:58: certificate ${env:LT_TEST_CERTS}/client.crt and key ${env:LT_TEST_CERTS}/gateway.key do "
	      "not match");
	FAILS("listeners:\n  l: { listen: 127.0.0.1:1 }\nupstreams:\n  u:\n    url: https://x\n"
	      "    tls: { cert: \"${env:LT_TEST_CERTS}/client.crt\" }\n",
	      "t.yaml:6:18: upstream 'u' tls: cert and key go together (key is missing)");
}

static void test_references(void **state)
{
	(void)state;
	FAILS("listeners:\n  public: { listen: 127.0.0.1:8443 }\n  admin: { listen: 127.0.0.1:9090, admin: true }\n"
	      "upstreams:\n  dvcqg: { url: https://a }\n  city: { url: http://b }\n"
	      "routes:\n  x:\n    listener: pubic\n    match: { method: POST, path: /x }\n    upstream: dvcqgg\n"
	      "    mapping: fixtures/config/mappings/dossier-sync.yaml\n"
	      "  y:\n    listener: admin\n    match: { method: GET, path: /y }\n    upstream: city\n    mode: queue\n",
	      "t.yaml:9:15: route 'x': unknown listener 'pubic' (known: public, admin)",
	      "t.yaml:11:15: route 'x': unknown upstream 'dvcqgg' (known: dvcqg, city)",
	      "t.yaml:14:15: route 'y': listener 'admin' is an admin listener, which serves no routes");
}

static void test_duplicates(void **state)
{
	(void)state;
	FAILS("listeners:\n  a: { listen: 127.0.0.1:8080 }\n  b: { listen: 0.0.0.0:8080 }\n"
	      "  c: { listen: 127.0.0.2:8081 }\n  d: { listen: 127.0.0.2:8080 }\n"
	      "upstreams:\n  u: { url: http://u }\n"
	      "routes:\n"
	      "  a:\n    listener: a\n    match: { method: POST, path: /x }\n    upstream: u\n    mode: queue\n"
	      "  b:\n    listener: a\n    match: { method: GET, path: /x }\n    upstream: u\n    mode: queue\n"
	      "  c:\n    listener: a\n    match: { method: POST, path: /x }\n    upstream: u\n    mode: queue\n",
	      "warning: t.yaml:3:16: listener 'b' has no tls: plain HTTP on 0.0.0.0:8080, which is not a loopback "
	      "address",
	      "t.yaml:3:16: listener 'b' listens on the same address as listener 'a' (at 2:16)",
	      "t.yaml:5:16: listener 'd' listens on the same address as listener 'b' (at 3:16)",
	      "t.yaml:21:12: route 'c' has the same match as route 'a' (at 11:12)");
}

static void test_yaml_errors(void **state)
{
	struct lt_config *c = NULL;
	struct lt_diags d = { 0 };

	(void)state;
	FAILS("base: &b { url: http://x }\n", "t.yaml:1:7: anchors and aliases are not supported (&b)");
	FAILS(LOCAL "upstreams:\n  u: { url: http://x }\n  u: { url: http://y }\n",
	      "t.yaml:5:3: duplicate key 'u' (first at 4:3)");
	FAILS(LOCAL "routes: {\n", "t.yaml:4:1: did not find expected node content (while parsing a flow node at 4:1)");
	assert_int_equal(lt_config_load("fixtures/config/nope.yaml", &c, &d), -1);
	expect_diags(&d, (const char *const[]){
		"cannot open fixtures/config/nope.yaml: No such file or directory", NULL });
	lt_diags_free(&d);
}

/* ---- secrets ---------------------------------------------------------------------------------------- */

static void test_secrets(void **state)
{
	struct lt_config *c;
	struct lt_diags d = { 0 };
	const struct lt_upstream_cfg *u;
	char nope[4200];

	(void)state;
	setenv("LT_T_USER", "gw-user", 1);
	setenv("LT_T_EMPTY", "", 1);
	unsetenv("LT_T_UNSET");
	c = loads(LOCAL "upstreams:\n  u:\n    url: http://x\n"
		  "    headers: { a: \"${env:LT_T_USER}\", b: \"${env:LT_T_UNSET:-fallback}\", "
		  "c: \"${env:LT_T_EMPTY:-fallback}\", d: \"$${env:LT_T_USER}\", "
		  "e: \"${file:fixtures/config/secrets/dvcqg-pass}\" }\n"
		  "    auth: { type: basic, username: \"${env:LT_T_USER}\", password: \"${file:fixtures/config/secrets/"
		  "dvcqg-pass}\" }\n", &d);
	u = &c->upstreams[0];
	assert_int_equal(u->n_headers, 5);
	assert_string_equal(u->headers[0].value, "gw-user");
	assert_int_equal(u->headers[0].secret, 1);
	assert_string_equal(u->headers[1].value, "fallback");
	assert_string_equal(u->headers[2].value, "fallback");
	assert_string_equal(u->headers[3].value, "${env:LT_T_USER}");
	assert_int_equal(u->headers[3].secret, 0);
	assert_string_equal(u->headers[4].value, "fixture-pass-not-a-real-secret");
	assert_int_equal(u->headers[4].secret, 1);
	assert_string_equal(u->auth.username, "gw-user");
	assert_string_equal(u->auth.password, "fixture-pass-not-a-real-secret");
	lt_config_free(c);
	assert_int_equal(d.n, 0);

	/* ${file:} is relative to the config's folder, and the message says where it looked. */
	snprintf(nope, sizeof(nope), "t.yaml:6:67: 'c' in upstream 'u': secret file nope: cannot open %s/nope: "
		 "No such file or directory", cwd);
	FAILS(LOCAL "upstreams:\n  u:\n    url: http://x\n    headers: { a: \"${env:LT_T_UNSET}\", "
	      "b: \"${env:LT_T_EMPTY}\", c: \"${file:nope}\", d: \"${env:LT_T_USER\" }\n",
	      "t.yaml:6:19: 'a' in upstream 'u': environment variable LT_T_UNSET is not set",
	      "t.yaml:6:43: 'b' in upstream 'u': environment variable LT_T_EMPTY is empty (write ${env:LT_T_EMPTY:-} "
	      "if empty is meant)",
	      nope,
	      "t.yaml:6:86: 'd' in upstream 'u': '${env:LT_T_USER' has no closing } (write $${ for a literal ${)");
	unsetenv("LT_T_USER");
	unsetenv("LT_T_EMPTY");
}

/* A config full of mistakes next to secret values: no message may show a secret. */
static void test_secrets_never_shown(void **state)
{
	static const char *const secrets[] = { "hunter2-user", "hunter2-hmac", "fixture-pass-not-a-real-secret" };
	static const char yaml[] =
		"listeners:\n  l: { listen: 127.0.0.1:1 }\n"
		"upstreams:\n  u:\n    url: \"${env:LT_T_SECRET_URL}\"\n"
		"    headers: { X-User: \"${env:LT_T_SECRET_USER}\", X-Bad: \"${env:LT_T_SECRET_NL}\" }\n"
		"    auth: { type: login, request: { path: \"${env:LT_T_SECRET_USER}\", body: { p: \"${file:"
		"fixtures/config/secrets/dvcqg-pass}\", n: .inf } }, token: t, put: { body: session, header: X } }\n"
		"routes:\n  r:\n    listener: l\n    match: { method: GET, path: \"${file:fixtures/config/secrets/"
		"dvcqg-pass}\" }\n    upstream: u\n    mode: queue\n"
		"    verify: { type: rsa, algorithm: sha256, key: \"${env:LT_T_SECRET_HMAC}\", "
		"public_key: \"${env:LT_T_CERTS_DIR}\", signature: s, canonical: { form: pairs } }\n";
	struct lt_config *c = NULL;
	struct lt_diags d = { 0 };

	(void)state;
	setenv("LT_T_SECRET_URL", "ftp://hunter2-user@host", 1);
	setenv("LT_T_SECRET_USER", "hunter2-user", 1);
	setenv("LT_T_SECRET_NL", "hunter2-user\r\nX-Injected: 1", 1);
	setenv("LT_T_SECRET_HMAC", "hunter2-hmac", 1);
	setenv("LT_T_CERTS_DIR", certs, 1);
	assert_int_equal(lt_config_parse("t.yaml", yaml, sizeof(yaml) - 1, &c, &d), -1);
	expect_diags(&d, (const char *const[]){
		"t.yaml:6:58: 'X-Bad' in upstream 'u': a header value cannot contain a line break",
		"t.yaml:7:130: 'body' in upstream 'u' auth request: '.inf' cannot be sent as a JSON number",
		"t.yaml:5:10: 'url' in upstream 'u': expected an http:// or https:// URL, got '${env:LT_T_SECRET_URL}'",
		"t.yaml:7:43: 'path' in upstream 'u' auth request: must start with '/', got '${env:LT_T_SECRET_USER}'",
		"t.yaml:7:155: 'put' in upstream 'u' auth: expected either { header: NAME, prefix: TEXT } or "
		"{ body: FIELD }",
		"t.yaml:11:33: 'path' in route 'r' match: must start with '/', got '${file:fixtures/config/secrets/"
		"dvcqg-pass}'",
		"t.yaml:14:50: 'key' in route 'r' verify: only for type hmac",
		"t.yaml:14:89: cannot read public key ${env:LT_T_CERTS_DIR}: Is a directory",
		"t.yaml:14:139: route 'r' verify canonical: form pairs needs 'fields'",
		NULL });
	for (size_t i = 0; i < d.n; i++)
		for (size_t j = 0; j < sizeof(secrets) / sizeof(secrets[0]); j++)
			if (strstr(d.v[i].text, secrets[j]) != NULL)
				fail_msg("a secret in: %s", d.v[i].text);
	lt_diags_free(&d);
	unsetenv("LT_T_SECRET_URL");
	unsetenv("LT_T_SECRET_USER");
	unsetenv("LT_T_SECRET_NL");
	unsetenv("LT_T_SECRET_HMAC");
	unsetenv("LT_T_CERTS_DIR");
}

/* ---- everything at once, and warnings ------------------------------------------------------------------- */

static void test_several_errors(void **state)
{
	struct lt_config *c = NULL;
	struct lt_diags d = { 0 };

	(void)state;
	unsetenv("LT_TEST_UNSET_DSTCODE");
	assert_int_equal(lt_config_load("fixtures/config/many-errors.yaml", &c, &d), -1);
	assert_null(c);
	expect_diags(&d, (const char *const[]){
		"fixtures/config/many-errors.yaml:3:12: 'workers' in gateway: expected auto or an integer from 1 to 256, "
		"got 'many'",
		"fixtures/config/many-errors.yaml:4:17: 'level' in gateway log: expected one of error, warn, info, debug, "
		"got 'verbose'",
		"fixtures/config/many-errors.yaml:13:5: unknown key 'timout' in upstream 'dvcqg' (expected one of: url, "
		"client, tls, headers, timeout, retry, circuit, auth)",
		"fixtures/config/many-errors.yaml:14:24: 'attempts' in upstream 'dvcqg' retry: expected an integer, "
		"got 'three'",
		"fixtures/config/many-errors.yaml:14:40: 'backoff' in upstream 'dvcqg' retry: expected a duration such "
		"as 250ms, 2s or 5m, got '2 sec'",
		"fixtures/config/many-errors.yaml:15:25: 'dstcode' in upstream 'dvcqg': environment variable "
		"LT_TEST_UNSET_DSTCODE is not set",
		"fixtures/config/many-errors.yaml:8:59: certificate ${env:LT_TEST_CERTS}/gateway.crt and key "
		"${env:LT_TEST_CERTS}/client.key do not match",
		"fixtures/config/many-errors.yaml:21:15: route 'a': unknown upstream 'dvcqgg' (known: dvcqg)",
		"fixtures/config/many-errors.yaml:24:12: route 'b' has the same match as route 'a' (at 19:12)",
		"fixtures/config/many-errors.yaml:25:14: cannot read mapping mappings/missing.yaml: No such file or "
		"directory",
		NULL });
	assert_int_equal(d.nerrors, 10);
	lt_diags_free(&d);
}

static void test_warnings(void **state)
{
	struct lt_config *c;
	struct lt_diags d = { 0 };
	char date[32], want[512], soon[512];
	const char *const *w;
	time_t t = time(NULL) - 86400L * 30;
	struct tm tm;

	(void)state;
	/* Warnings do not refuse the config. */
	c = loads("listeners:\n  plain: { listen: \"0.0.0.0:8080\" }\n  lo: { listen: \"localhost:8081\" }\n"
		  "  lo6: { listen: \"[::1]:8082\" }\n  lo4: { listen: 127.1.2.3:8083 }\n"
		  "upstreams:\n  u:\n    url: https://x\n"
		  "    tls: { cert: \"${env:LT_TEST_CERTS}/open.crt\", key: \"${env:LT_TEST_CERTS}/open.key\" }\n"
		  "  v:\n    url: https://y\n"
		  "    tls: { cert: \"${env:LT_TEST_CERTS}/old.crt\", key: \"${env:LT_TEST_CERTS}/old.key\" }\n"
		  "  w:\n    url: https://z\n"
		  "    tls: { cert: \"${env:LT_TEST_CERTS}/soon.crt\", key: \"${env:LT_TEST_CERTS}/soon.key\" }\n", &d);
	assert_int_equal(d.nerrors, 0);
	assert_int_equal(d.nwarnings, 4);
	/* The expiry date is 30 days ago; X509_gmtime_adj set it to the second. */
	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d", &tm);
	snprintf(want, sizeof(want), "warning: t.yaml:12:18: certificate ${env:LT_TEST_CERTS}/old.crt expired on %s",
		 date);
	/* Ten days left: a partner's CA needs weeks to renew, so check says so 30 days ahead. */
	t = time(NULL) + 86400L * 10;
	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d", &tm);
	snprintf(soon, sizeof(soon), "warning: t.yaml:15:18: certificate ${env:LT_TEST_CERTS}/soon.crt expires on %s, "
		 "within 30 days", date);
	w = (const char *const[]){
		"warning: t.yaml:2:20: listener 'plain' has no tls: plain HTTP on 0.0.0.0:8080, which is not a loopback "
		"address",
		"warning: t.yaml:9:56: key ${env:LT_TEST_CERTS}/open.key can be read by group or others (mode 0644): "
		"chmod 600 it",
		want, soon, NULL };
	expect_diags(&d, w);
	lt_config_free(c);
	lt_diags_free(&d);
}

static void test_verify_and_auth_checks(void **state)
{
	(void)state;
	FAILS(LOCAL "upstreams:\n"
	      "  a: { url: http://a, auth: { type: basic, username: u } }\n"
	      "  b: { url: http://b, auth: { type: oauth2, token_url: /token, client_id: i, client_secret: s } }\n"
	      "  c: { url: http://c, auth: { token: t } }\n"
	      "  d: { url: http://d, auth: { type: kerberos } }\n"
	      "  e: { url: http://e, headers: { Host: x, \"bad name\": y }, tls: { pin: \"sha1//x\" } }\n"
	      "routes:\n  r:\n    listener: local\n    match: { method: GET, path: /r }\n    upstream: a\n"
	      "    mode: queue\n    verify:\n      type: hmac\n      algorithm: sha256\n      signature: s\n"
	      "      canonical: { form: join }\n"
	      "  s:\n    listener: local\n    match: { method: GET, path: /s }\n    upstream: a\n"
	      "    mode: queue\n    verify: { type: rsa, algorithm: md5, public_key: \"${env:LT_TEST_CERTS}/garbage.pem\","
	      " signature: s, canonical: { form: sorted-query } }\n",
	      "t.yaml:4:23: missing key 'password' in upstream 'a' auth",
	      "t.yaml:6:31: unknown key 'token' in upstream 'c' auth (expected one of: type)",
	      "t.yaml:6:23: missing key 'type' in upstream 'c' auth",
	      "t.yaml:7:37: 'type' in upstream 'd' auth: expected one of none, basic, bearer, header, oauth2, login, "
	      "got 'kerberos'",
	      "t.yaml:8:34: header 'Host' in upstream 'e' is set by the gateway and cannot be configured",
	      "t.yaml:8:43: header name 'bad name' in upstream 'e' is not a valid HTTP header name",
	      "t.yaml:5:56: 'token_url' in upstream 'b' auth: expected an http:// or https:// URL, got '/token'",
	      "t.yaml:8:65: upstream 'e': tls is set but the url is http://",
	      "t.yaml:8:72: 'pin' in upstream 'e' tls: expected sha256//BASE64 (';' between several pins)",
	      "t.yaml:15:5: missing key 'key' in route 'r' verify (an hmac needs its secret)",
	      "t.yaml:19:18: route 'r' verify canonical: form join needs 'fields'",
	      "t.yaml:25:37: 'algorithm' in route 's' verify: rsa takes sha1, sha256 or sha512",
	      "t.yaml:25:54: ${env:LT_TEST_CERTS}/garbage.pem is not a PEM public key or certificate");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_config),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_auth_forms),
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_missing_keys),
		cmocka_unit_test(test_missing_files),
		cmocka_unit_test(test_unreadable_and_bad_pem),
		cmocka_unit_test(test_cert_key_mismatch),
		cmocka_unit_test(test_references),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_yaml_errors),
		cmocka_unit_test(test_secrets),
		cmocka_unit_test(test_secrets_never_shown),
		cmocka_unit_test(test_several_errors),
		cmocka_unit_test(test_warnings),
		cmocka_unit_test(test_verify_and_auth_checks),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
