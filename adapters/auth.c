/* auth.c: upstream credentials and tokens. */
#include <string.h>
#include <openssl/evp.h>

#include "adapters/auth.h"
#include "adapters/json.h"
#include "gateway/arena.h"
#include "gateway/util.h"

int lt_auth_needs_token(const struct lt_auth_cfg *a)
{
	return a->type == LT_AUTH_LOGIN || a->type == LT_AUTH_OAUTH2;
}

static char *base64(const char *s)
{
	size_t n = strlen(s);
	char *out = lt_xmalloc(4 * ((n + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, (int)n);
	return out;
}

static char *basic_header(const char *user, const char *pass)
{
	char *pair = lt_xasprintf("%s:%s", user ? user : "", pass ? pass : "");
	char *b64 = base64(pair);
	char *line = lt_xasprintf("Authorization: Basic %s", b64);

	OPENSSL_cleanse(pair, strlen(pair));
	free(pair);
	free(b64);
	return line;
}

char *lt_auth_static_header(const struct lt_auth_cfg *a)
{
	switch (a->type) {
	case LT_AUTH_BASIC:
		return basic_header(a->username, a->password);
	case LT_AUTH_BEARER:
		return lt_xasprintf("Authorization: Bearer %s", a->token ? a->token : "");
	case LT_AUTH_HEADER:
		return lt_xasprintf("%s: %s", a->header_name, a->header_value ? a->header_value : "");
	default:
		return NULL;
	}
}

char *lt_auth_token_header(const struct lt_auth_cfg *a, const char *token)
{
	if (a->type == LT_AUTH_OAUTH2)
		return lt_xasprintf("Authorization: Bearer %s", token);
	if (a->type == LT_AUTH_LOGIN && a->put_header != NULL)
		return lt_xasprintf("%s: %s%s", a->put_header, a->put_prefix ? a->put_prefix : "", token);
	return NULL;
}

/* application/x-www-form-urlencoded value (RFC 3986 unreserved kept). */
static void form_escape(struct lt_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
		    c == '.' || c == '_' || c == '~') {
			lt_buf_putc(b, (char)c);
		} else {
			char enc[3] = { '%', hex[c >> 4], hex[c & 15] };
			lt_buf_append(b, enc, 3);
		}
	}
}

int lt_auth_login_request(const struct lt_auth_cfg *a, const char *upstream_url, char **url, char **body,
			  size_t *body_len, const char **content_type, char **header, struct lt_err *e)
{
	*header = NULL;
	if (a->type == LT_AUTH_OAUTH2) {
		struct lt_buf b;

		lt_buf_init(&b, 64 * 1024);
		lt_buf_puts(&b, "grant_type=client_credentials");
		if (a->scope != NULL) {
			lt_buf_puts(&b, "&scope=");
			form_escape(&b, a->scope);
		}
		if (b.overflow) {
			lt_buf_free(&b);
			return lt_err_set(e, 500, "upstream.auth", "token request too large");
		}
		*url = lt_xstrdup(a->token_url);
		*body = lt_buf_take(&b, body_len);
		*header = basic_header(a->client_id, a->client_secret);
		*content_type = "application/x-www-form-urlencoded";
		return 0;
	}
	if (a->type != LT_AUTH_LOGIN)
		return lt_err_set(e, 500, "internal", "this upstream does not log in");
	*body = lt_json_dumps(a->login_body, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (*body == NULL)
		return lt_err_set(e, 500, "internal", "cannot encode the login request");
	*body_len = strlen(*body);
	*url = lt_xasprintf("%s%s", upstream_url, a->login_path ? a->login_path : "");
	*content_type = "application/json";
	return 0;
}

/* The top-level value of field as text ("-1" for both "-1" and -1); NULL when absent or not a scalar. */
static const char *scalar_text(json_t *v, char *buf, size_t n)
{
	const char *s;
	size_t len;

	if (v == NULL || json_is_null(v) || lt_json_scalar_text(v, "", buf, n, &s, &len) < 0)
		return NULL;
	return s;
}

int lt_auth_login_answer(const struct lt_auth_cfg *a, long status, const char *body, size_t len, char **token,
			 long long *ttl_ms, struct lt_err *e)
{
	const char *field = a->type == LT_AUTH_OAUTH2 ? "access_token" : (a->token_field ? a->token_field : "token");
	json_t *doc, *tok, *msg;
	json_error_t jerr;

	*ttl_ms = 0;
	if (status < 200 || status > 299)
		return lt_err_set(e, 502, "upstream.auth", "login refused: HTTP %ld", status);
	doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (doc == NULL || !json_is_object(doc)) {
		json_decref(doc);
		return lt_err_set(e, 502, "upstream.auth", "login answer is not a JSON object");
	}
	tok = json_object_get(doc, field);
	if (!json_is_string(tok) || json_string_length(tok) == 0) {
		char buf[64];
		const char *text;

		msg = json_object_get(doc, "message");
		if (msg == NULL)
			msg = json_object_get(doc, "error_description");
		text = scalar_text(msg, buf, sizeof(buf));
		lt_err_set(e, 502, "upstream.auth", "login refused: no '%s' in the answer%s%.200s", field,
			   text ? ": " : "", text ? text : "");
		json_decref(doc);
		return -1;
	}
	*token = lt_xstrdup(json_string_value(tok));
	if (a->type == LT_AUTH_OAUTH2) {
		json_t *exp = json_object_get(doc, "expires_in");
		if (json_is_integer(exp) && json_integer_value(exp) > 0)
			*ttl_ms = (long long)json_integer_value(exp) * 1000;
	}
	json_decref(doc);
	return 0;
}

int lt_auth_refused_doc(const struct lt_auth_cfg *a, long status, json_t *doc)
{
	char buf[64];
	const char *text;

	if (!lt_auth_needs_token(a))
		return 0;
	if (a->type == LT_AUTH_OAUTH2 && status == 401)
		return 1;
	for (size_t i = 0; i < a->n_refresh_status; i++)
		if (a->refresh_status[i] == status)
			return 1;
	if (a->refresh_field == NULL || !json_is_object(doc))
		return 0;
	text = scalar_text(json_object_get(doc, a->refresh_field), buf, sizeof(buf));
	for (size_t i = 0; text != NULL && i < a->n_refresh_values; i++)
		if (strcmp(text, a->refresh_values[i]) == 0)
			return 1;
	return 0;
}

int lt_auth_refused(const struct lt_auth_cfg *a, long status, const char *body, size_t len)
{
	json_t *doc = NULL;
	json_error_t jerr;
	int refused;

	/* The answer is parsed only when a field could say "refused". */
	if (lt_auth_needs_token(a) && a->refresh_field != NULL && a->n_refresh_values > 0 && len > 0)
		doc = json_loadb(body, len, 0, &jerr);
	refused = lt_auth_refused_doc(a, status, doc);
	json_decref(doc);
	return refused;
}

void lt_auth_place_body(const struct lt_auth_cfg *a, json_t *doc, const char *token)
{
	json_t *copy;
	const char *key;
	json_t *val;

	if (a->put_body == NULL || !json_is_object(doc))
		return;
	if (json_object_get(doc, a->put_body) != NULL) {
		json_object_set_new(doc, a->put_body, json_string(token));
		return;
	}
	/* Not placed by the mapping: put it first, as the portal's envelope has it. */
	copy = json_object();
	json_object_foreach(doc, key, val)
		json_object_set(copy, key, val);
	json_object_clear(doc);
	json_object_set_new(doc, a->put_body, json_string(token));
	json_object_foreach(copy, key, val)
		json_object_set(doc, key, val);
	json_decref(copy);
}
