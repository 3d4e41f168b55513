/* tls.h: the listeners' TLS side: building a server SSL_CTX for mutual TLS (OpenSSL 3, TLS 1.2
 * minimum), reading the verified client identity once per connection, and matching it against a
 * route's `allow` list; and the client context of an upstream (CA, client certificate and key)
 * that the native upstream client (gateway/h1client.c) opens its connections with. */
#ifndef LT_TLS_H
#define LT_TLS_H

#include <stddef.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include "gateway/config.h"
#include "gateway/err.h"

#define LT_IDENTITY_MAX_SANS 16

/* Who the peer is, from its verified certificate. */
struct lt_identity {
	int verified;              /* a certificate was presented and its chain verified */
	char cn[256];              /* subject CN ("" when none) */
	char display[280];         /* "CN=hanoi-dossier-system" for logs ("-" when no certificate) */
	size_t n_sans;
	char sans[LT_IDENTITY_MAX_SANS][256];  /* DNS names, emails, URIs, IPs as text */
};

/* Builds a new server context for a listener's tls block. Returns NULL with e filled. The caller
 * owns the context (SSL_CTX_free). */
SSL_CTX *lt_tls_server_ctx(const struct lt_listener_cfg *l, struct lt_err *e);

/* Builds the client context of an upstream's tls block (or the system CAs when it has none): TLS 1.2
 * minimum, the peer verified. Host name and pins are checked per connection. Returns NULL with e
 * filled. The caller owns the context (SSL_CTX_free). Blocking file reads: start-up and reload. */
SSL_CTX *lt_tls_client_ctx(const struct lt_upstream_cfg *u, struct lt_err *e);

/* Fills id from a certificate (borrowed). verified is copied from the argument. */
void lt_identity_from_cert(X509 *cert, int verified, struct lt_identity *id);

/* The identity of a connection's peer, computed once and cached on the SSL object (ex_data).
 * Borrowed: valid as long as ssl lives. Never NULL. */
const struct lt_identity *lt_tls_identity(SSL *ssl);

/* 1 when id matches an entry of allow: "CN=name" compares the subject CN; "DNS:x", "EMAIL:x",
 * "URI:x", "IP:x" or a bare value compare SAN values. Exact, case-sensitive except DNS names. */
int lt_identity_allowed(const struct lt_identity *id, char *const *allow, size_t n);

/* Initialises the ex_data index. Call once at start-up, before any thread. 0 / -1. */
int lt_tls_init(void);

#endif
