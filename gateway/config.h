/* config.h: the configuration model (SPEC.md § Config file) and its loader/validator.
 *
 * lt_config_load reads the YAML, expands secrets, loads every mapping and checks every
 * certificate and key it names, and reports every problem it finds as FILE:LINE:COL: message
 * (it does not stop at the first). A config with errors is never returned. Nothing here opens a
 * socket, so `lienthong check` and a reload can call it freely (it does block on file reads:
 * call it at startup, in check, or in the reload path, never per request). */
#ifndef LT_CONFIG_H
#define LT_CONFIG_H

#include <stddef.h>
#include <jansson.h>
#include "gateway/err.h"

struct lt_map;   /* gateway/map.h */

enum lt_client_auth { LT_CLIENT_AUTH_REQUIRE, LT_CLIENT_AUTH_OPTIONAL, LT_CLIENT_AUTH_NONE };
enum lt_log_format { LT_LOG_JSON, LT_LOG_TEXT };
enum lt_log_level { LT_LOG_ERROR, LT_LOG_WARN, LT_LOG_INFO, LT_LOG_DEBUG };
enum lt_mode { LT_MODE_SYNC, LT_MODE_QUEUE };
enum lt_auth_type { LT_AUTH_NONE, LT_AUTH_BASIC, LT_AUTH_BEARER, LT_AUTH_HEADER, LT_AUTH_OAUTH2, LT_AUTH_LOGIN };

/* retry.on flags */
#define LT_RETRY_CONNECT 0x1
#define LT_RETRY_TIMEOUT 0x2
#define LT_RETRY_TLS     0x4

struct lt_pos { int line, col; };   /* where a thing was written, for later messages */

struct lt_limits {
	size_t max_body;            /* default 1MiB */
	size_t max_headers;         /* default 16KiB */
	long long header_timeout_ms;/* default 10s */
	long long body_timeout_ms;  /* default 30s */
};

struct lt_gateway_cfg {
	int workers;                /* 0 = auto (one per core) */
	char *store;                /* absolute path (resolved against the config dir), or a postgres:// URL as
				     * written; default var/lienthong.db */
	enum lt_log_level log_level;/* default info */
	enum lt_log_format log_format; /* default json */
	struct lt_limits limits;
};

struct lt_listener_cfg {
	char *name;
	char *listen;               /* as written: "0.0.0.0:8443" */
	char *host;                 /* "0.0.0.0", "127.0.0.1", "::1" */
	int port;
	int tls;                    /* 1 when a tls: block is present */
	char *cert, *key, *client_ca;  /* absolute paths, NULL when no tls */
	enum lt_client_auth client_auth; /* default require when tls */
	int admin;                  /* admin: true */
	struct lt_pos pos;
};

struct lt_kv {
	char *name;
	char *value;
	int secret;                 /* value came from ${env:} / ${file:}: never log it */
};

struct lt_auth_cfg {
	enum lt_auth_type type;
	/* basic */
	char *username, *password;
	/* bearer */
	char *token;
	/* header */
	char *header_name, *header_value;
	/* oauth2 (client credentials) */
	char *token_url, *client_id, *client_secret, *scope;
	/* login */
	char *login_path;           /* appended to the upstream url */
	json_t *login_body;         /* JSON object with secrets expanded (owned); never logged */
	char *token_field;          /* where the token is in the login answer ("session") */
	char *put_header;           /* put: { header: Authorization, prefix: "Bearer " } */
	char *put_prefix;
	char *put_body;             /* put: { body: session } */
	int *refresh_status;        /* refresh_on.status */
	size_t n_refresh_status;
	char *refresh_field;        /* refresh_on.field */
	char **refresh_values;      /* refresh_on.values */
	size_t n_refresh_values;
};

/* Which transport carries an upstream's calls (gateway/upstream.h). */
enum lt_client { LT_CLIENT_NATIVE, LT_CLIENT_CURL };

struct lt_upstream_cfg {
	char *name;
	char *url;                  /* http:// or https:// */
	enum lt_client client;      /* default native */
	char *ca, *cert, *key;      /* absolute paths or NULL */
	char *pin;                  /* "sha256//BASE64=" (";"-separated list allowed) or NULL */
	struct lt_kv *headers;
	size_t n_headers;
	long long connect_timeout_ms; /* default 2s */
	long long total_timeout_ms;   /* default 10s */
	int retry_attempts;         /* default 1 (no retry) */
	long long retry_backoff_ms; /* default 200ms */
	long long retry_max_backoff_ms; /* default 5s */
	unsigned retry_on;          /* LT_RETRY_* */
	int *retry_status;          /* HTTP statuses that are retried (502, 503, 504) */
	size_t n_retry_status;
	int circuit_failures;       /* 0 = no breaker */
	long long circuit_cooldown_ms;
	struct lt_auth_cfg auth;
	struct lt_pos pos;
};

/* verify: (callbacks; issue 4) */
enum lt_verify_type { LT_VERIFY_NONE, LT_VERIFY_HMAC, LT_VERIFY_RSA };
enum lt_canon_form { LT_CANON_SORTED_QUERY, LT_CANON_JOIN, LT_CANON_PAIRS };

struct lt_verify_cfg {
	enum lt_verify_type type;
	char *algorithm;            /* md5 | sha1 | sha256 | sha512 */
	char *key;                  /* hmac secret (secret) */
	char *public_key;           /* rsa: PEM path */
	struct evp_pkey_st *pkey;   /* rsa: that file's key (an EVP_PKEY), loaded once with the config (owned) */
	char *signature;            /* field holding the signature */
	enum lt_canon_form form;
	char *prefix;               /* sorted-query: only fields with this prefix */
	char **exclude; size_t n_exclude;
	char **fields; size_t n_fields;   /* join / pairs */
	char *separator;            /* join: default "|" */
	struct lt_kv *values; size_t n_values;  /* canonical values the signer knows and the message does
						 * not carry (MoMo's accessKey); they win over the message */
};

struct lt_ack {
	int status;                 /* 0 = not configured */
	char *body;
	char *content_type;         /* default application/json when the body looks like JSON */
};

struct lt_route_cfg {
	char *name;
	char *listener;             /* name */
	int listener_index;         /* index into lt_config.listeners */
	char *method;               /* "POST" */
	char *path;                 /* "/v1/dvcqg/dossiers" (exact match) */
	char **allow; size_t n_allow;  /* "CN=hanoi-dossier-system", or a SAN value; NULL = anyone */
	char *mapping_path;         /* absolute; NULL only in queue mode (the body is delivered as received) */
	struct lt_map *map;         /* compiled (owned); NULL when mapping_path is */
	char *upstream;             /* name (required) */
	int upstream_index;         /* index into lt_config.upstreams (always valid in a loaded config) */
	char *upstream_path;        /* route's path: appended to the upstream url, NULL when none */
	enum lt_mode mode;
	struct lt_verify_cfg verify;
	char *idempotency_key;
	struct lt_ack ack_ok, ack_duplicate, ack_bad_signature, ack_error;
	struct lt_pos pos;
};

struct lt_config {
	char *file;                 /* path as given */
	char *dir;                  /* its directory: base of relative paths */
	struct lt_gateway_cfg gateway;
	struct lt_listener_cfg *listeners; size_t n_listeners;
	struct lt_upstream_cfg *upstreams; size_t n_upstreams;
	struct lt_route_cfg *routes; size_t n_routes;
};

/* Loads and validates path. Every problem goes to d (errors and warnings); returns 0 and a new
 * *out when there was no error, else -1 and *out untouched. */
int lt_config_load(const char *path, struct lt_config **out, struct lt_diags *d);
/* The same from memory (file is the name used in messages and to resolve relative paths). */
int lt_config_parse(const char *file, const char *buf, size_t len, struct lt_config **out, struct lt_diags *d);
void lt_config_free(struct lt_config *c);

/* The built-in default config file name. */
#define LT_CONFIG_DEFAULT "conf/lienthong.yaml"

#endif
