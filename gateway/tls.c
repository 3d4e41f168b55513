/* tls.c: server-side mutual TLS and peer identity. */
#include <string.h>
#include <strings.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "gateway/tls.h"
#include "gateway/metrics.h"
#include "gateway/log.h"
#include "gateway/util.h"

static int identity_index = -1;

static void identity_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	(void)parent; (void)ad; (void)idx; (void)argl; (void)argp;
	free(ptr);
}

int lt_tls_init(void)
{
	if (identity_index < 0)
		identity_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, identity_free);
	return identity_index < 0 ? -1 : 0;
}

static void ssl_errors(char *buf, size_t n)
{
	unsigned long code = ERR_get_error();

	if (code == 0)
		snprintf(buf, n, "unknown TLS error");
	else
		ERR_error_string_n(code, buf, n);
	ERR_clear_error();
}

/* Logged and then accepted: the decision is the handshake's (verify mode) and the route's
 * (allow list); this only says why a chain failed, which OpenSSL's alert does not. */
static int verify_cb(int ok, X509_STORE_CTX *store)
{
	if (!ok && lt_log_enabled(LT_LOG_INFO)) {
		X509 *cert = X509_STORE_CTX_get_current_cert(store);
		char subject[256] = "-";

		if (cert != NULL)
			X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof(subject));
		lt_log_info("client certificate rejected: depth=%d error=%s subject=%s",
			    X509_STORE_CTX_get_error_depth(store),
			    X509_verify_cert_error_string(X509_STORE_CTX_get_error(store)), subject);
	}
	return ok;
}

/* A fatal alert while the handshake runs is a failed handshake: counted by listener and alert
 * (lienthong_tls_handshake_failures_total), "peer_" in front when the client sent it. */
static void info_cb(const SSL *ssl, int where, int ret)
{
	const char *listener;
	char reason[64];
	size_t k = 0;
	const char *desc;

	if (!(where & SSL_CB_ALERT) || (ret >> 8) != SSL3_AL_FATAL || !SSL_in_init(ssl))
		return;
	listener = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
	if (where & SSL_CB_READ)
		k = (size_t)snprintf(reason, sizeof(reason), "peer_");
	/* "unknown CA" -> "unknown_ca": a label value a PromQL user can type. */
	for (desc = SSL_alert_desc_string_long(ret); *desc != '\0' && k + 1 < sizeof(reason); desc++)
		reason[k++] = *desc == ' ' ? '_' : (*desc >= 'A' && *desc <= 'Z') ? (char)(*desc - 'A' + 'a') : *desc;
	reason[k] = '\0';
	lt_metrics_tls_failure(listener ? listener : "-", reason);
}

SSL_CTX *lt_tls_server_ctx(const struct lt_listener_cfg *l, struct lt_err *e)
{
	static const unsigned char sid[] = "lienthong";
	char why[256];
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL) {
		ssl_errors(why, sizeof(why));
		lt_err_set(e, 0, "tls.context", "cannot create TLS context: %s", why);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* IGNORE_UNEXPECTED_EOF restores the EOF semantics libevent 2.1 was written for (STACK §2b-9). */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF |
			    SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (SSL_CTX_use_certificate_chain_file(ctx, l->cert) != 1) {
		ssl_errors(why, sizeof(why));
		lt_err_set(e, 0, "tls.cert", "listener '%s': cannot load certificate %s: %s", l->name, l->cert, why);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, l->key, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
		ssl_errors(why, sizeof(why));
		lt_err_set(e, 0, "tls.key", "listener '%s': cannot load key %s: %s", l->name, l->key, why);
		goto fail;
	}
	if (l->client_auth != LT_CLIENT_AUTH_NONE) {
		STACK_OF(X509_NAME) *names;
		int mode = SSL_VERIFY_PEER;

		if (l->client_ca == NULL || SSL_CTX_load_verify_file(ctx, l->client_ca) != 1) {
			ssl_errors(why, sizeof(why));
			lt_err_set(e, 0, "tls.client_ca", "listener '%s': cannot load client CA %s: %s", l->name,
				   l->client_ca ? l->client_ca : "(none)", why);
			goto fail;
		}
		names = SSL_load_client_CA_file(l->client_ca);
		if (names != NULL)
			SSL_CTX_set_client_CA_list(ctx, names);
		if (l->client_auth == LT_CLIENT_AUTH_REQUIRE)
			mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
		SSL_CTX_set_verify(ctx, mode, verify_cb);
		SSL_CTX_set_verify_depth(ctx, 4);
	}
	/* Mandatory once client certificates are used, or resumed sessions fail the handshake. */
	SSL_CTX_set_session_id_context(ctx, sid, sizeof(sid) - 1);
	/* The name outlives every generation (interned): a connection may outlive its config. */
	SSL_CTX_set_app_data(ctx, (void *)lt_metrics_intern(l->name));
	SSL_CTX_set_info_callback(ctx, info_cb);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

SSL_CTX *lt_tls_client_ctx(const struct lt_upstream_cfg *u, struct lt_err *e)
{
	char why[256];
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL) {
		ssl_errors(why, sizeof(why));
		lt_err_set(e, 0, "tls.context", "cannot create TLS context: %s", why);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* A partner's server that renegotiates is refused rather than followed mid-answer. Many close
	 * without close_notify: that is an end of stream, as it is to curl, and the answer's framing
	 * (adapters/http1.c) tells a complete answer from a cut one. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if ((u->ca != NULL ? SSL_CTX_load_verify_file(ctx, u->ca) : SSL_CTX_set_default_verify_paths(ctx)) != 1) {
		ssl_errors(why, sizeof(why));
		lt_err_set(e, 0, "tls.ca", "upstream '%s': cannot load CA %s: %s", u->name,
			   u->ca != NULL ? u->ca : "(system default)", why);
		goto fail;
	}
	if (u->cert != NULL && SSL_CTX_use_certificate_chain_file(ctx, u->cert) != 1) {
		ssl_errors(why, sizeof(why));
		lt_err_set(e, 0, "tls.cert", "upstream '%s': cannot load certificate %s: %s", u->name, u->cert, why);
		goto fail;
	}
	if (u->key != NULL &&
	    (SSL_CTX_use_PrivateKey_file(ctx, u->key, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1)) {
		ssl_errors(why, sizeof(why));
		lt_err_set(e, 0, "tls.key", "upstream '%s': cannot load key %s: %s", u->name, u->key, why);
		goto fail;
	}
	/* Sessions are kept by the client's pools (one per loop), not in the context's cache. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

static void add_san(struct lt_identity *id, const char *prefix, const unsigned char *data, int len)
{
	if (id->n_sans >= LT_IDENTITY_MAX_SANS || len <= 0 || (size_t)len >= sizeof(id->sans[0]) - 8)
		return;
	/* An embedded NUL would let "a.example\0.evil" pass as "a.example". */
	if (memchr(data, '\0', (size_t)len) != NULL)
		return;
	snprintf(id->sans[id->n_sans++], sizeof(id->sans[0]), "%s%.*s", prefix, len, (const char *)data);
}

void lt_identity_from_cert(X509 *cert, int verified, struct lt_identity *id)
{
	GENERAL_NAMES *names;
	X509_NAME *subject;
	int idx;

	memset(id, 0, sizeof(*id));
	snprintf(id->display, sizeof(id->display), "-");
	if (cert == NULL)
		return;
	id->verified = verified;
	subject = X509_get_subject_name(cert);
	idx = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
	if (idx >= 0) {
		ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx));
		unsigned char *utf8 = NULL;
		int n = ASN1_STRING_to_UTF8(&utf8, s);

		if (n > 0 && (size_t)n < sizeof(id->cn) && memchr(utf8, '\0', (size_t)n) == NULL) {
			memcpy(id->cn, utf8, (size_t)n);
			id->cn[n] = '\0';
		}
		OPENSSL_free(utf8);
	}
	snprintf(id->display, sizeof(id->display), "CN=%s", id->cn);
	names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	for (int i = 0; names != NULL && i < sk_GENERAL_NAME_num(names); i++) {
		const GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);

		switch (gn->type) {
		case GEN_DNS:
			add_san(id, "DNS:", ASN1_STRING_get0_data(gn->d.dNSName), ASN1_STRING_length(gn->d.dNSName));
			break;
		case GEN_EMAIL:
			add_san(id, "EMAIL:", ASN1_STRING_get0_data(gn->d.rfc822Name),
				ASN1_STRING_length(gn->d.rfc822Name));
			break;
		case GEN_URI:
			add_san(id, "URI:", ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier),
				ASN1_STRING_length(gn->d.uniformResourceIdentifier));
			break;
		case GEN_IPADD: {
			char *txt = NULL;
			ASN1_OCTET_STRING *ip = gn->d.iPAddress;

			/* i2s_ASN1_IPADDRESS is not public in 3.0; format v4/v6 ourselves. */
			if (ip->length == 4) {
				const unsigned char *p = ip->data;
				txt = lt_xasprintf("%u.%u.%u.%u", p[0], p[1], p[2], p[3]);
			} else if (ip->length == 16) {
				struct lt_buf b;
				lt_buf_init(&b, 64);
				for (int k = 0; k < 16; k += 2)
					lt_buf_printf(&b, "%s%x", k ? ":" : "", (ip->data[k] << 8) | ip->data[k + 1]);
				txt = lt_buf_take(&b, NULL);
			}
			if (txt != NULL)
				add_san(id, "IP:", (const unsigned char *)txt, (int)strlen(txt));
			free(txt);
			break;
		}
		default:
			break;
		}
	}
	GENERAL_NAMES_free(names);
}

const struct lt_identity *lt_tls_identity(SSL *ssl)
{
	static const struct lt_identity none = { .display = "-" };
	struct lt_identity *id = SSL_get_ex_data(ssl, identity_index);
	X509 *peer;

	if (id != NULL)
		return id;
	id = lt_xcalloc(1, sizeof(*id));
	peer = SSL_get0_peer_certificate(ssl);
	lt_identity_from_cert(peer, peer != NULL && SSL_get_verify_result(ssl) == X509_V_OK, id);
	if (SSL_set_ex_data(ssl, identity_index, id) != 1) {
		free(id);
		return &none;
	}
	return id;
}

/* 1 when the SAN "TYPE:value" matches entry a ("TYPE:value" with a known type, or a bare value). */
static int san_matches(const char *san, const char *a)
{
	static const char *const types[] = { "DNS:", "EMAIL:", "URI:", "IP:" };
	const char *value = strchr(san, ':') + 1;
	size_t tlen = (size_t)(value - san);
	int dns = strncmp(san, "DNS:", 4) == 0;

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (strncmp(a, types[i], strlen(types[i])) == 0) {
			if (strlen(types[i]) != tlen || strncmp(a, san, tlen) != 0)
				return 0;
			a += tlen;
			break;
		}
	}
	/* DNS names are case-insensitive (RFC 4343); nothing else is. */
	return dns ? strcasecmp(a, value) == 0 : strcmp(a, value) == 0;
}

int lt_identity_allowed(const struct lt_identity *id, char *const *allow, size_t n)
{
	if (!id->verified)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (strncmp(allow[i], "CN=", 3) == 0) {
			if (id->cn[0] != '\0' && strcmp(id->cn, allow[i] + 3) == 0)
				return 1;
			continue;
		}
		for (size_t k = 0; k < id->n_sans; k++)
			if (san_matches(id->sans[k], allow[i]))
				return 1;
	}
	return 0;
}
