/* auth.h: upstream authentication (SPEC.md § Config, `auth:`): the static kinds (basic, bearer,
 * header) become one header line; the token kinds (login, oauth2) are a login call whose answer
 * holds a token that is cached, placed in each call (a header or a top-level body field), and
 * dropped when an answer says it was refused. This module is pure: it builds requests and reads
 * answers; gateway/pipeline.c runs the calls on the loop. */
#ifndef LT_AUTH_H
#define LT_AUTH_H

#include <stddef.h>
#include <jansson.h>
#include "gateway/config.h"
#include "gateway/err.h"

/* 1 for login and oauth2 (they need a token before the call). */
int lt_auth_needs_token(const struct lt_auth_cfg *a);

/* The static header line for basic/bearer/header ("Authorization: Basic ..."); NULL for the
 * other kinds. New string, caller frees. Contains a secret: never log it. */
char *lt_auth_static_header(const struct lt_auth_cfg *a);

/* The header line that carries a token (login with put.header, oauth2); NULL when the token goes
 * in the body. New string, caller frees. */
char *lt_auth_token_header(const struct lt_auth_cfg *a, const char *token);

/* The login call: url, body and an extra header line (or NULL) are new strings; content type is
 * static. oauth2 sends the client credentials as HTTP Basic, as WSO2-style LGSP/NGSP token
 * endpoints expect (FORMATS.md §2.10), and grant_type (and scope) in the form body. 0 / -1. */
int lt_auth_login_request(const struct lt_auth_cfg *a, const char *upstream_url, char **url, char **body,
			  size_t *body_len, const char **content_type, char **header, struct lt_err *e);
/* Reads the token from the login answer (status and body). *token is new; *ttl_ms is the token's
 * lifetime when the answer says (oauth2 expires_in), else 0. 502 upstream.auth on failure, with the
 * answer's own message when it has one (never the credentials). */
int lt_auth_login_answer(const struct lt_auth_cfg *a, long status, const char *body, size_t len, char **token,
			 long long *ttl_ms, struct lt_err *e);

/* 1 when an upstream answer says the token was refused (refresh_on: a status, or a top-level field
 * whose value is one of the listed ones), so the token is dropped and the call retried once. */
int lt_auth_refused(const struct lt_auth_cfg *a, long status, const char *body, size_t len);
/* The same on an answer already decoded (doc borrowed; NULL when the answer is not JSON), so that a
 * caller that maps the answer anyway does not parse it twice. */
int lt_auth_refused_doc(const struct lt_auth_cfg *a, long status, json_t *doc);

/* Puts the token in the outgoing JSON body for put: { body: FIELD }: replaces FIELD where the mapping
 * placed it, else inserts it first. doc is modified in place (must be an object); non-objects are
 * left alone. */
void lt_auth_place_body(const struct lt_auth_cfg *a, json_t *doc, const char *token);

#endif
