/* config.c: the configuration loader and validator (SPEC.md § Config file). Owns struct
 * lt_config and everything hanging from it: strings, arrays, the login body (json_t) and the
 * compiled mappings.
 *
 * Table-driven, as nginx's ngx_command_t and HAProxy's keyword lists: each level of the file is
 * a table of keys with a kind (string, path, duration, ...) and a field offset, walked by one
 * function that also reports unknown and missing keys. Cross-references and files (listeners
 * named by routes, certificates, mappings) are checked in a second pass, so that the order of
 * the sections in the file does not matter. Every problem is reported, none stops the others;
 * messages quote what is written in the file, never an expanded secret. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "gateway/config.h"
#include "adapters/http1.h"
#include "gateway/certs.h"
#include "gateway/map.h"
#include "gateway/util.h"
#include "gateway/ytree.h"

#define WHERE_MAX  256
#define SHOW       (64 + 8)   /* lt_ynode_show output */
#define LIST_MAX   400        /* "known: a, b, c" lists in messages */
#define MAX_WORKERS 256

/* Enum fields are written through int *: the signed counterpart of an enum's compatible type,
 * which C11 6.5p7 allows, as long as the sizes agree. */
_Static_assert(sizeof(enum lt_mode) == sizeof(int), "enum fields are written as int");

struct cctx {
	struct lt_config *c;
	struct lt_diags *d;
	const char *dir;                     /* absolute base of relative paths */
	const struct lt_ynode *listeners;    /* the sections, for the second pass */
	const struct lt_ynode *upstreams;
	const struct lt_ynode *routes;
};

/* ---- diagnostics ---------------------------------------------------------------------- */

static void vdiag(struct cctx *x, int warning, const struct lt_ynode *at, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (at != NULL)
		lt_diags_add(x->d, warning, at->file, at->line, at->col, "%s", msg);
	else
		lt_diags_add(x->d, warning, x->c->file, 0, 0, "%s", msg);
}

static void bad(struct cctx *x, const struct lt_ynode *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void warn(struct cctx *x, const struct lt_ynode *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void bad(struct cctx *x, const struct lt_ynode *at, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdiag(x, 0, at, fmt, ap);
	va_end(ap);
}

static void warn(struct cctx *x, const struct lt_ynode *at, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdiag(x, 1, at, fmt, ap);
	va_end(ap);
}

/* A getter's error about the value of `key`: "'key' in WHERE: expected ..., got ...". */
static void bad_value(struct cctx *x, const char *key, const char *where, const struct lt_err *e)
{
	lt_diags_add(x->d, 0, e->file, e->line, e->col, "'%s'%s%s: %s", key, where ? " in " : "",
		     where ? where : "", e->msg);
}

static const char *show(const struct lt_ynode *n, char *buf)
{
	lt_ynode_show(n, buf, SHOW);
	return buf;
}

/* Joins the names of a table whose elements start with `const char *name` (both key and
 * enum tables do), up to the NULL name. */
static const char *join_names(const void *table, size_t stride, char *buf, size_t size)
{
	const char *p = table;
	size_t len = 0;

	buf[0] = '\0';
	for (;; p += stride) {
		const char *name = *(const char *const *)(const void *)p;

		if (name == NULL)
			break;
		len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? ", " : "", name);
		if (len >= size)
			break;
	}
	return buf;
}

/* ---- key tables ------------------------------------------------------------------------- */

enum ckind {
	K_STR,    /* char *, secrets expanded */
	K_PATH,   /* char *, secrets expanded, made absolute against the config folder */
	K_INT,    /* int in [min, max] */
	K_BOOL,   /* int 0/1 */
	K_DUR,    /* long long ms, at least min */
	K_SIZE,   /* size_t bytes, at least min */
	K_ENUM,   /* int, the value of the matching name */
	K_WORD,   /* char *, one of the names (kept as text: methods, algorithms) */
	K_LIST,   /* char ** and its count at off_n; secrets expanded */
	K_SUB,    /* a nested mapping, filling the object at off with sub */
	K_FN      /* anything else */
};

struct cenum {
	const char *name;
	int value;
};

struct ckey {
	const char *name;
	enum ckind kind;
	size_t off;
	size_t off_n;
	long long min, max;
	const struct cenum *enums;
	const struct ckey *sub;
	void (*fn)(struct cctx *x, const struct lt_ynode *key, const struct lt_ynode *val, void *obj,
		   const char *where);
	int required;
};

#define REQ 1
#define OPT 0
#define KSTR(k, T, f, r)          { .name = k, .kind = K_STR, .off = offsetof(T, f), .required = r }
#define KPATH(k, T, f, r)         { .name = k, .kind = K_PATH, .off = offsetof(T, f), .required = r }
#define KINT(k, T, f, lo, hi, r)  { .name = k, .kind = K_INT, .off = offsetof(T, f), .min = lo, .max = hi, \
				    .required = r }
#define KBOOL(k, T, f)            { .name = k, .kind = K_BOOL, .off = offsetof(T, f) }
#define KDUR(k, T, f, lo)         { .name = k, .kind = K_DUR, .off = offsetof(T, f), .min = lo }
#define KSIZE(k, T, f, lo)        { .name = k, .kind = K_SIZE, .off = offsetof(T, f), .min = lo }
#define KENUM(k, T, f, e, r)      { .name = k, .kind = K_ENUM, .off = offsetof(T, f), .enums = e, .required = r }
#define KWORD(k, T, f, e, r)      { .name = k, .kind = K_WORD, .off = offsetof(T, f), .enums = e, .required = r }
#define KLIST(k, T, f, nf)        { .name = k, .kind = K_LIST, .off = offsetof(T, f), .off_n = offsetof(T, nf) }
#define KSUB(k, T, f, s, r)       { .name = k, .kind = K_SUB, .off = offsetof(T, f), .sub = s, .required = r }
#define KSAME(k, s, r)            { .name = k, .kind = K_SUB, .off = 0, .sub = s, .required = r }
#define KFN(k, f, r)              { .name = k, .kind = K_FN, .fn = f, .required = r }
#define KEND                      { .name = NULL }

static void walk(struct cctx *x, const struct lt_ynode *key, const struct lt_ynode *m, const struct ckey *tab,
		 void *obj, const char *where);

static int is_empty(const struct lt_ynode *n)
{
	return n != NULL && n->type == LT_Y_SCALAR && lt_yscalar_kind(n) == LT_YS_NULL;
}

static int get_int(struct cctx *x, const char *name, const char *where, const struct lt_ynode *v,
		   long long min, long long max, long long *out)
{
	struct lt_err e;
	char buf[SHOW];

	lt_err_clear(&e);
	if (lt_yget_int(v, out, &e) < 0) {
		bad_value(x, name, where, &e);
		return -1;
	}
	if (*out < min || *out > max) {
		bad(x, v, "'%s' in %s: expected an integer from %lld to %lld, got %s", name, where, min, max,
		    show(v, buf));
		return -1;
	}
	return 0;
}

static const struct cenum *get_enum(struct cctx *x, const char *name, const char *where,
				    const struct lt_ynode *v, const struct cenum *enums)
{
	char buf[SHOW], names[LIST_MAX];

	if (v->type == LT_Y_SCALAR) {
		for (const struct cenum *en = enums; en->name != NULL; en++)
			if (strcmp(v->str, en->name) == 0)
				return en;
	}
	bad(x, v, "'%s' in %s: expected one of %s, got %s", name, where,
	    join_names(enums, sizeof(*enums), names, sizeof(names)), show(v, buf));
	return NULL;
}

/* A string value, secrets expanded. Stricter than lt_yget_str: a plain null (`key:` with nothing
 * after it, or `~`) is a forgotten value, not an empty string; "" is the way to write one. */
static int get_string(struct cctx *x, const char *name, const char *where, const struct lt_ynode *v,
		      char **out, int *secret)
{
	struct lt_err e;
	char buf[SHOW];

	if (is_empty(v)) {
		bad(x, v, "'%s' in %s: expected a string, got %s", name, where, show(v, buf));
		return -1;
	}
	lt_err_clear(&e);
	if (lt_yget_expand(v, x->dir, out, secret, &e) < 0) {
		bad_value(x, name, where, &e);
		return -1;
	}
	return 0;
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void free_kvs(struct lt_kv *kv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(kv[i].name);
		free(kv[i].value);
	}
	free(kv);
}

static void set_list(struct cctx *x, const struct ckey *k, const struct lt_ynode *v, char *base, const char *where)
{
	char ***dst = (char ***)(void *)(base + k->off);
	size_t *n = (size_t *)(void *)(base + k->off_n);
	char buf[SHOW];

	free_strv(*dst, *n);
	*dst = NULL;
	*n = 0;
	if (v->type != LT_Y_SEQ) {
		bad(x, v, "'%s' in %s: expected a list, got %s", k->name, where, show(v, buf));
		return;
	}
	*dst = lt_xcalloc(v->n, sizeof(**dst));
	for (size_t i = 0; i < v->n; i++)
		if (get_string(x, k->name, where, v->items[i], &(*dst)[*n], NULL) == 0)
			(*n)++;
}

static void set_value(struct cctx *x, const struct ckey *k, const struct lt_ynode *key, const struct lt_ynode *v,
		      void *obj, const char *where)
{
	char *base = obj, *s, sub[WHERE_MAX];
	char **str = (char **)(void *)(base + k->off);
	const struct cenum *en;
	struct lt_err e;
	long long ll;
	size_t sz;
	int b;

	lt_err_clear(&e);
	switch (k->kind) {
	case K_STR:
	case K_PATH:
		if (get_string(x, k->name, where, v, &s, NULL) < 0)
			return;
		free(*str);
		*str = s;
		if (k->kind == K_PATH) {
			if (*s == '\0') {
				bad(x, v, "'%s' in %s: expected a file name, got an empty value", k->name, where);
				return;
			}
			*str = lt_path_join(x->dir, s);
			free(s);
		}
		return;
	case K_INT:
		if (get_int(x, k->name, where, v, k->min, k->max, &ll) == 0)
			*(int *)(void *)(base + k->off) = (int)ll;
		return;
	case K_BOOL:
		if (lt_yget_bool(v, &b, &e) < 0)
			bad_value(x, k->name, where, &e);
		else
			*(int *)(void *)(base + k->off) = b;
		return;
	case K_DUR:
		if (lt_yget_duration(v, &ll, &e) < 0)
			bad_value(x, k->name, where, &e);
		else if (ll < k->min)
			bad(x, v, "'%s' in %s: expected a duration of at least %lldms, got '%s'", k->name, where,
			    k->min, v->str);
		else
			*(long long *)(void *)(base + k->off) = ll;
		return;
	case K_SIZE:
		if (lt_yget_size(v, &sz, &e) < 0)
			bad_value(x, k->name, where, &e);
		else if (sz < (size_t)k->min)
			bad(x, v, "'%s' in %s: expected a size of at least %lld bytes, got '%s'", k->name, where,
			    k->min, v->str);
		else
			*(size_t *)(void *)(base + k->off) = sz;
		return;
	case K_ENUM:
		if ((en = get_enum(x, k->name, where, v, k->enums)) != NULL)
			*(int *)(void *)(base + k->off) = en->value;
		return;
	case K_WORD:
		if ((en = get_enum(x, k->name, where, v, k->enums)) != NULL) {
			free(*str);
			*str = lt_xstrdup(en->name);
		}
		return;
	case K_LIST:
		set_list(x, k, v, base, where);
		return;
	case K_SUB:
		if (where != NULL)
			snprintf(sub, sizeof(sub), "%s %s", where, k->name);
		else
			snprintf(sub, sizeof(sub), "%s", k->name);
		walk(x, key, v, k->sub, base + k->off, sub);
		return;
	case K_FN:
		k->fn(x, key, v, obj, where);
		return;
	}
}

/* Fills obj from the mapping m (written under `key`, for messages) following tab. A null value
 * (`tls:` with nothing after it) is an empty mapping: its required keys are then missing. */
static void walk(struct cctx *x, const struct lt_ynode *key, const struct lt_ynode *m, const struct ckey *tab,
		 void *obj, const char *where)
{
	const struct ckey *k;
	char buf[SHOW], names[LIST_MAX];

	if (!is_empty(m) && m->type != LT_Y_MAP) {
		bad(x, m, "%s: expected a mapping, got %s", where ? where : "the config", show(m, buf));
		return;
	}
	for (size_t i = 0; i < m->n; i++) {
		for (k = tab; k->name != NULL; k++)
			if (strcmp(k->name, m->keys[i]->str) == 0)
				break;
		if (k->name != NULL) {
			set_value(x, k, m->keys[i], m->items[i], obj, where);
			continue;
		}
		join_names(tab, sizeof(*tab), names, sizeof(names));
		if (where != NULL)
			bad(x, m->keys[i], "unknown key %s in %s (expected one of: %s)", show(m->keys[i], buf), where,
			    names);
		else
			bad(x, m->keys[i], "unknown key %s (expected one of: %s)", show(m->keys[i], buf), names);
	}
	for (k = tab; k->name != NULL; k++) {
		if (!k->required || lt_ymap_get(m, k->name) != NULL)
			continue;
		if (where != NULL)
			bad(x, key ? key : m, "missing key '%s' in %s", k->name, where);
		else
			bad(x, key ? key : m, "missing key '%s'", k->name);
	}
}

/* ---- enums ------------------------------------------------------------------------------- */

static const struct cenum log_levels[] = {
	{ "error", LT_LOG_ERROR }, { "warn", LT_LOG_WARN }, { "info", LT_LOG_INFO }, { "debug", LT_LOG_DEBUG },
	{ NULL, 0 }
};
static const struct cenum log_formats[] = { { "json", LT_LOG_JSON }, { "text", LT_LOG_TEXT }, { NULL, 0 } };
static const struct cenum client_auths[] = {
	{ "require", LT_CLIENT_AUTH_REQUIRE }, { "optional", LT_CLIENT_AUTH_OPTIONAL },
	{ "none", LT_CLIENT_AUTH_NONE }, { NULL, 0 }
};
static const struct cenum clients[] = { { "native", LT_CLIENT_NATIVE }, { "curl", LT_CLIENT_CURL }, { NULL, 0 } };
static const struct cenum modes[] = { { "sync", LT_MODE_SYNC }, { "queue", LT_MODE_QUEUE }, { NULL, 0 } };
static const struct cenum auth_types[] = {
	{ "none", LT_AUTH_NONE }, { "basic", LT_AUTH_BASIC }, { "bearer", LT_AUTH_BEARER },
	{ "header", LT_AUTH_HEADER }, { "oauth2", LT_AUTH_OAUTH2 }, { "login", LT_AUTH_LOGIN }, { NULL, 0 }
};
static const struct cenum verify_types[] = { { "hmac", LT_VERIFY_HMAC }, { "rsa", LT_VERIFY_RSA }, { NULL, 0 } };
static const struct cenum canon_forms[] = {
	{ "sorted-query", LT_CANON_SORTED_QUERY }, { "join", LT_CANON_JOIN }, { "pairs", LT_CANON_PAIRS },
	{ NULL, 0 }
};
static const struct cenum algorithms[] = {
	{ "md5", 0 }, { "sha1", 0 }, { "sha256", 0 }, { "sha512", 0 }, { NULL, 0 }
};
static const struct cenum methods[] = {
	{ "GET", 0 }, { "POST", 0 }, { "PUT", 0 }, { "PATCH", 0 }, { "DELETE", 0 }, { NULL, 0 }
};

/* ---- gateway ----------------------------------------------------------------------------- */

static void set_workers(struct cctx *x, const struct lt_ynode *key, const struct lt_ynode *v, void *obj,
			const char *where)
{
	struct lt_gateway_cfg *g = obj;
	long long n;

	(void)key;
	if (v->type == LT_Y_SCALAR && strcmp(v->str, "auto") == 0) {
		g->workers = 0;
		return;
	}
	if (v->type == LT_Y_SCALAR && lt_yscalar_kind(v) != LT_YS_INT) {
		char buf[SHOW];

		bad(x, v, "'workers' in %s: expected auto or an integer from 1 to %d, got %s", where, MAX_WORKERS,
		    show(v, buf));
		return;
	}
	if (get_int(x, "workers", where, v, 1, MAX_WORKERS, &n) == 0)
		g->workers = (int)n;
}

static void set_store(struct cctx *x, const struct lt_ynode *key, const struct lt_ynode *v, void *obj,
		      const char *where)
{
	struct lt_gateway_cfg *g = obj;
	char *s;

	(void)key;
	if (get_string(x, "store", where, v, &s, NULL) < 0)
		return;
	free(g->store);
	/* A database URL is not a file name: only paths are made absolute. */
	if (strncmp(s, "postgres://", 11) == 0 || strncmp(s, "postgresql://", 13) == 0) {
		g->store = s;
		return;
	}
	if (*s == '\0')
		bad(x, v, "'store' in %s: expected a file name or a postgres:// URL, got an empty value", where);
	g->store = lt_path_join(x->dir, s);
	free(s);
}

static const struct ckey log_keys[] = {
	KENUM("level", struct lt_gateway_cfg, log_level, log_levels, OPT),
	KENUM("format", struct lt_gateway_cfg, log_format, log_formats, OPT),
	KEND
};

static const struct ckey limits_keys[] = {
	KSIZE("max_body", struct lt_limits, max_body, 1),
	KSIZE("max_headers", struct lt_limits, max_headers, 1024),
	KDUR("header_timeout", struct lt_limits, header_timeout_ms, 1),
	KDUR("body_timeout", struct lt_limits, body_timeout_ms, 1),
	KEND
};

static const struct ckey gateway_keys[] = {
	KFN("workers", set_workers, OPT),
	KFN("store", set_store, OPT),
	KSAME("log", log_keys, OPT),
	KSUB("limits", struct lt_gateway_cfg, limits, limits_keys, OPT),
	KEND
};

/* ---- listeners ----------------------------------------------------------------------------- */

static int hostname_ok(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++) {
		char c = *s;

		if (!(c == '.' || c == '-' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		      (c >= 'A' && c <= 'Z')))
			return 0;
	}
	return 1;
}

/* "HOST:PORT" or "[IPv6]:PORT" into l->host and l->port. */
static void set_listen(struct cctx *x, const struct lt_ynode *key, const struct lt_ynode *v, void *obj,
		       const char *where)
{
	struct lt_listener_cfg *l = obj;
	struct in6_addr a6;
	char *s, *host = NULL, *port, *end, buf[SHOW];
	long p;

	(void)key;
	if (get_string(x, "listen", where, v, &s, NULL) < 0)
		return;
	if (s[0] == '[') {
		end = strchr(s, ']');
		if (end == NULL || end[1] != ':')
			goto syntax;
		host = lt_xstrndup(s + 1, (size_t)(end - s - 1));
		port = end + 2;
		if (inet_pton(AF_INET6, host, &a6) != 1) {
			bad(x, v, "'listen' in %s: %s is not an IPv6 address", where, show(v, buf));
			goto out;
		}
	} else {
		end = strrchr(s, ':');
		if (end == NULL)
			goto syntax;
		host = lt_xstrndup(s, (size_t)(end - s));
		port = end + 1;
		if (!hostname_ok(host))
			goto syntax;
	}
	errno = 0;
	p = strtol(port, &end, 10);
	if (port[0] < '0' || port[0] > '9' || *end != '\0' || errno != 0 || p < 1 || p > 65535) {
		bad(x, v, "'listen' in %s: the port must be an integer from 1 to 65535, got %s", where, show(v, buf));
		goto out;
	}
	free(l->listen);
	free(l->host);
	l->listen = s;
	l->host = host;
	l->port = (int)p;
	return;
syntax:
	bad(x, v, "'listen' in %s: expected HOST:PORT or [IPv6]:PORT, got %s", where, show(v, buf));
out:
	free(host);
	free(s);
}

static const struct ckey listener_tls_keys[] = {
	KPATH("cert", struct lt_listener_cfg, cert, REQ),
	KPATH("key", struct lt_listener_cfg, key, REQ),
	KPATH("client_ca", struct lt_listener_cfg, client_ca, OPT),
	KENUM("client_auth", struct lt_listener_cfg, client_auth, client_auths, OPT),
	KEND
};

static const struct ckey listener_keys[] = {
	KFN("listen", set_listen, REQ),
	KSAME("tls", listener_tls_keys, OPT),
	KBOOL("admin", struct lt_listener_cfg, admin),
	KEND
};

/* ---- upstreams ----------------------------------------------------------------------------- */

static void set_retry_on(struct cctx *x, const struct lt_ynode *key, const struct lt_ynode *v, void *obj,
			 const char *where)
{
	static const struct cenum kinds[] = {
		{ "connect", LT_RETRY_CONNECT }, { "timeout", LT_RETRY_TIMEOUT }, { "tls", LT_RETRY_TLS }, { NULL, 0 }
	};
	struct lt_upstream_cfg *u = obj;
	char buf[SHOW];
	long long st;

	(void)key;
	u->retry_on = 0;
	free(u->retry_status);
	u->retry_status = NULL;
	u->n_retry_status = 0;
	if (v->type != LT_Y_SEQ) {
		bad(x, v, "'on' in %s: expected a list, got %s", where, show(v, buf));
		return;
	}
	u->retry_status = lt_xcalloc(v->n, sizeof(*u->retry_status));
	for (size_t i = 0; i < v->n; i++) {
		const struct lt_ynode *it = v->items[i];
		const struct cenum *en = NULL;

		if (it->type == LT_Y_SCALAR && lt_yscalar_kind(it) == LT_YS_INT) {
			if (lt_yget_int(it, &st, NULL) == 0 && st >= 500 && st <= 599) {
				u->retry_status[u->n_retry_status++] = (int)st;
				continue;
			}
		} else if (it->type == LT_Y_SCALAR) {
			for (en = kinds; en->name != NULL && strcmp(en->name, it->str) != 0; en++)
				;
			if (en->name != NULL) {
				u->retry_on |= (unsigned)en->value;
				continue;
			}
		}
		bad(x, it, "'on' in %s: expected connect, timeout, tls or an HTTP status from 500 to 599, got %s",
		    where, show(it, buf));
	}
}

static int header_name_ok(const char *s)
{
	/* RFC 9110 token characters. */
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (strchr("!#$%&'*+-.^_`|~", *s) == NULL && !((*s >= '0' && *s <= '9') ||
		    (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
			return 0;
	return 1;
}

static void set_headers(struct cctx *x, const struct lt_ynode *key, const struct lt_ynode *v, void *obj,
			const char *where)
{
	/* Framing and routing headers belong to the gateway and libcurl: a configured one would
	 * corrupt the request or smuggle a second one. */
	static const char *const reserved[] = {
		"Host", "Content-Length", "Transfer-Encoding", "Connection", "Upgrade", "TE", "Trailer",
		"Keep-Alive", "Expect", NULL
	};
	struct lt_upstream_cfg *u = obj;
	char buf[SHOW];

	(void)key;
	if (is_empty(v))
		return;
	if (v->type != LT_Y_MAP) {
		bad(x, v, "'headers' in %s: expected a mapping of header names to values, got %s", where, show(v, buf));
		return;
	}
	u->headers = lt_xcalloc(v->n, sizeof(*u->headers));
	for (size_t i = 0; i < v->n; i++) {
		const char *name = v->keys[i]->str;
		struct lt_kv *kv = &u->headers[u->n_headers];
		size_t r;

		if (!header_name_ok(name)) {
			bad(x, v->keys[i], "header name %s in %s is not a valid HTTP header name", show(v->keys[i], buf),
			    where);
			continue;
		}
		for (r = 0; reserved[r] != NULL && strcasecmp(reserved[r], name) != 0; r++)
			;
		if (reserved[r] != NULL) {
			bad(x, v->keys[i], "header '%s' in %s is set by the gateway and cannot be configured", name,
			    where);
			continue;
		}
		if (get_string(x, name, where, v->items[i], &kv->value, &kv->secret) < 0)
			continue;
		if (strpbrk(kv->value, "\r\n") != NULL) {
			bad(x, v->items[i], "'%s' in %s: a header value cannot contain a line break", name, where);
			free(kv->value);
			kv->value = NULL;
			continue;
		}
		kv->name = lt_xstrdup(name);
		u->n_headers++;
	}
}

/* A login body is any YAML document: strings have their secrets expanded, plain scalars keep
 * their core-schema type (so `{ id: 7 }` sends the number 7). */
static json_t *to_json(struct cctx *x, const struct lt_ynode *n, const char *where)
{
	json_t *j, *item;
	long long ll;
	char *s, buf[SHOW];

	switch (n->type) {
	case LT_Y_MAP:
		j = json_object();
		for (size_t i = 0; i < n->n; i++)
			if ((item = to_json(x, n->items[i], where)) != NULL)
				json_object_set_new(j, n->keys[i]->str, item);
		return j;
	case LT_Y_SEQ:
		j = json_array();
		for (size_t i = 0; i < n->n; i++)
			if ((item = to_json(x, n->items[i], where)) != NULL)
				json_array_append_new(j, item);
		return j;
	case LT_Y_SCALAR:
		break;
	}
	switch (lt_yscalar_kind(n)) {
	case LT_YS_NULL:
		return json_null();
	case LT_YS_BOOL:
		return json_boolean(n->str[0] == 't' || n->str[0] == 'T');
	case LT_YS_INT:
		if (lt_yget_int(n, &ll, NULL) < 0)
			break;
		return json_integer(ll);
	case LT_YS_FLOAT: {
		char *end;
		double d = strtod(n->str, &end);

		/* strtod does not read .inf or .nan, and JSON has no such numbers anyway. */
		if (*end != '\0' || (j = json_real(d)) == NULL)
			break;
		return j;
	}
	case LT_YS_STRING:
		if (get_string(x, "body", where, n, &s, NULL) < 0)
			return NULL;
		j = json_string(s);
		free(s);
		if (j == NULL)
			bad(x, n, "'body' in %s: the value is not valid UTF-8", where);
		return j;
	}
	bad(x, n, "'body' in %s: %s cannot be sent as a JSON number", where, show(n, buf));
	return NULL;
}

static void set_login_body(struct cctx *x, const struct lt_ynode *key, const struct lt_ynode *v, void *obj,
			   const char *where)
{
	struct lt_auth_cfg *a = obj;
	char buf[SHOW];

	(void)key;
	if (v->type != LT_Y_MAP) {
		bad(x, v, "'body' in %s: expected a mapping (the JSON object to send), got %s", where, show(v, buf));
		return;
	}
	json_decref(a->login_body);
	a->login_body = to_json(x, v, where);
}

static void set_refresh_status(struct cctx *x, const struct lt_ynode *key, const struct lt_ynode *v, void *obj,
			       const char *where)
{
	struct lt_auth_cfg *a = obj;
	char buf[SHOW];
	long long st;

	(void)key;
	free(a->refresh_status);
	a->refresh_status = NULL;
	a->n_refresh_status = 0;
	if (v->type != LT_Y_SEQ) {
		bad(x, v, "'status' in %s: expected a list, got %s", where, show(v, buf));
		return;
	}
	a->refresh_status = lt_xcalloc(v->n, sizeof(*a->refresh_status));
	for (size_t i = 0; i < v->n; i++)
		if (get_int(x, "status", where, v->items[i], 100, 599, &st) == 0)
			a->refresh_status[a->n_refresh_status++] = (int)st;
}

#define AUTH_TYPE KENUM("type", struct lt_auth_cfg, type, auth_types, REQ)

static const struct ckey auth_none_keys[] = { AUTH_TYPE, KEND };
static const struct ckey auth_basic_keys[] = {
	AUTH_TYPE,
	KSTR("username", struct lt_auth_cfg, username, REQ),
	KSTR("password", struct lt_auth_cfg, password, REQ),
	KEND
};
static const struct ckey auth_bearer_keys[] = { AUTH_TYPE, KSTR("token", struct lt_auth_cfg, token, REQ), KEND };
static const struct ckey auth_header_keys[] = {
	AUTH_TYPE,
	KSTR("name", struct lt_auth_cfg, header_name, REQ),
	KSTR("value", struct lt_auth_cfg, header_value, REQ),
	KEND
};
static const struct ckey auth_oauth2_keys[] = {
	AUTH_TYPE,
	KSTR("token_url", struct lt_auth_cfg, token_url, REQ),
	KSTR("client_id", struct lt_auth_cfg, client_id, REQ),
	KSTR("client_secret", struct lt_auth_cfg, client_secret, REQ),
	KSTR("scope", struct lt_auth_cfg, scope, OPT),
	KEND
};
static const struct ckey login_request_keys[] = {
	KSTR("path", struct lt_auth_cfg, login_path, REQ),
	KFN("body", set_login_body, OPT),
	KEND
};
static const struct ckey login_put_keys[] = {
	KSTR("header", struct lt_auth_cfg, put_header, OPT),
	KSTR("prefix", struct lt_auth_cfg, put_prefix, OPT),
	KSTR("body", struct lt_auth_cfg, put_body, OPT),
	KEND
};
static const struct ckey login_refresh_keys[] = {
	KFN("status", set_refresh_status, OPT),
	KSTR("field", struct lt_auth_cfg, refresh_field, OPT),
	KLIST("values", struct lt_auth_cfg, refresh_values, n_refresh_values),
	KEND
};
static const struct ckey auth_login_keys[] = {
	AUTH_TYPE,
	KSAME("request", login_request_keys, REQ),
	KSTR("token", struct lt_auth_cfg, token_field, REQ),
	KSAME("put", login_put_keys, REQ),
	KSAME("refresh_on", login_refresh_keys, OPT),
	KEND
};

/* Indexed by enum lt_auth_type: each type has its own keys, so a `password` under a bearer
 * auth is reported as unknown rather than silently ignored. */
static const struct ckey *const auth_tables[] = {
	[LT_AUTH_NONE] = auth_none_keys, [LT_AUTH_BASIC] = auth_basic_keys, [LT_AUTH_BEARER] = auth_bearer_keys,
	[LT_AUTH_HEADER] = auth_header_keys, [LT_AUTH_OAUTH2] = auth_oauth2_keys, [LT_AUTH_LOGIN] = auth_login_keys,
};

static void set_auth(struct cctx *x, const struct lt_ynode *key, const struct lt_ynode *v, void *obj,
		     const char *where)
{
	struct lt_upstream_cfg *u = obj;
	const struct lt_ynode *t;
	const struct cenum *en;
	char sub[WHERE_MAX];

	snprintf(sub, sizeof(sub), "%s auth", where);
	/* `auth: none` reads as the SPEC's comment suggests. */
	if (v->type == LT_Y_SCALAR && strcmp(v->str, "none") == 0) {
		u->auth.type = LT_AUTH_NONE;
		return;
	}
	t = lt_ymap_get(v, "type");
	if (t == NULL) {
		walk(x, key, v, auth_none_keys, &u->auth, sub);
		return;
	}
	if ((en = get_enum(x, "type", sub, t, auth_types)) != NULL)
		walk(x, key, v, auth_tables[en->value], &u->auth, sub);
}

static const struct ckey upstream_tls_keys[] = {
	KPATH("ca", struct lt_upstream_cfg, ca, OPT),
	KPATH("cert", struct lt_upstream_cfg, cert, OPT),
	KPATH("key", struct lt_upstream_cfg, key, OPT),
	KSTR("pin", struct lt_upstream_cfg, pin, OPT),
	KEND
};
static const struct ckey timeout_keys[] = {
	KDUR("connect", struct lt_upstream_cfg, connect_timeout_ms, 1),
	KDUR("total", struct lt_upstream_cfg, total_timeout_ms, 1),
	KEND
};
static const struct ckey retry_keys[] = {
	KINT("attempts", struct lt_upstream_cfg, retry_attempts, 1, 10, OPT),
	KDUR("backoff", struct lt_upstream_cfg, retry_backoff_ms, 0),
	KDUR("max_backoff", struct lt_upstream_cfg, retry_max_backoff_ms, 0),
	KFN("on", set_retry_on, OPT),
	KEND
};
static const struct ckey circuit_keys[] = {
	KINT("failures", struct lt_upstream_cfg, circuit_failures, 1, 1000000, OPT),
	KDUR("cooldown", struct lt_upstream_cfg, circuit_cooldown_ms, 1),
	KEND
};
static const struct ckey upstream_keys[] = {
	KSTR("url", struct lt_upstream_cfg, url, REQ),
	KENUM("client", struct lt_upstream_cfg, client, clients, OPT),
	KSAME("tls", upstream_tls_keys, OPT),
	KFN("headers", set_headers, OPT),
	KSAME("timeout", timeout_keys, OPT),
	KSAME("retry", retry_keys, OPT),
	KSAME("circuit", circuit_keys, OPT),
	KFN("auth", set_auth, OPT),
	KEND
};

/* ---- routes -------------------------------------------------------------------------------- */

static const struct ckey match_keys[] = {
	KWORD("method", struct lt_route_cfg, method, methods, REQ),
	KSTR("path", struct lt_route_cfg, path, REQ),
	KEND
};
/* canonical.values: { name: value }: what the signer puts in the signed string but the message does
 * not carry (MoMo's accessKey); values may be secrets. */
static void set_canon_values(struct cctx *x, const struct lt_ynode *key, const struct lt_ynode *v, void *obj,
			     const char *where)
{
	struct lt_verify_cfg *vc = obj;
	char buf[SHOW];

	(void)key;
	if (is_empty(v))
		return;
	if (v->type != LT_Y_MAP) {
		bad(x, v, "'values' in %s: expected a mapping of field names to values, got %s", where, show(v, buf));
		return;
	}
	vc->values = lt_xcalloc(v->n, sizeof(*vc->values));
	for (size_t i = 0; i < v->n; i++) {
		struct lt_kv *kv = &vc->values[vc->n_values];

		if (get_string(x, v->keys[i]->str, where, v->items[i], &kv->value, &kv->secret) < 0)
			continue;
		kv->name = lt_xstrdup(v->keys[i]->str);
		vc->n_values++;
	}
}

static const struct ckey canonical_keys[] = {
	KENUM("form", struct lt_verify_cfg, form, canon_forms, REQ),
	KSTR("prefix", struct lt_verify_cfg, prefix, OPT),
	KLIST("exclude", struct lt_verify_cfg, exclude, n_exclude),
	KLIST("fields", struct lt_verify_cfg, fields, n_fields),
	KSTR("separator", struct lt_verify_cfg, separator, OPT),
	KFN("values", set_canon_values, OPT),
	KEND
};
static const struct ckey verify_keys[] = {
	KENUM("type", struct lt_verify_cfg, type, verify_types, REQ),
	KWORD("algorithm", struct lt_verify_cfg, algorithm, algorithms, REQ),
	KSTR("key", struct lt_verify_cfg, key, OPT),
	KPATH("public_key", struct lt_verify_cfg, public_key, OPT),
	KSTR("signature", struct lt_verify_cfg, signature, REQ),
	KSAME("canonical", canonical_keys, REQ),
	KEND
};
static const struct ckey ack_entry_keys[] = {
	KINT("status", struct lt_ack, status, 100, 599, REQ),
	KSTR("body", struct lt_ack, body, OPT),
	KSTR("content_type", struct lt_ack, content_type, OPT),
	KEND
};
static const struct ckey ack_keys[] = {
	KSUB("ok", struct lt_route_cfg, ack_ok, ack_entry_keys, OPT),
	KSUB("duplicate", struct lt_route_cfg, ack_duplicate, ack_entry_keys, OPT),
	KSUB("bad_signature", struct lt_route_cfg, ack_bad_signature, ack_entry_keys, OPT),
	KSUB("error", struct lt_route_cfg, ack_error, ack_entry_keys, OPT),
	KEND
};
static const struct ckey route_keys[] = {
	KSTR("listener", struct lt_route_cfg, listener, REQ),
	KSAME("match", match_keys, REQ),
	KLIST("allow", struct lt_route_cfg, allow, n_allow),
	KPATH("mapping", struct lt_route_cfg, mapping_path, OPT),
	KSTR("upstream", struct lt_route_cfg, upstream, OPT),
	KSTR("path", struct lt_route_cfg, upstream_path, OPT),
	KENUM("mode", struct lt_route_cfg, mode, modes, OPT),
	KSUB("verify", struct lt_route_cfg, verify, verify_keys, OPT),
	KSTR("idempotency_key", struct lt_route_cfg, idempotency_key, OPT),
	KSAME("ack", ack_keys, OPT),
	KEND
};

#define ACKS 4

/* The j-th of a route's four acks (they are separate members, not an array). */
static struct lt_ack *route_ack(struct lt_route_cfg *r, size_t j)
{
	struct lt_ack *const acks[ACKS] = { &r->ack_ok, &r->ack_duplicate, &r->ack_bad_signature, &r->ack_error };

	return acks[j];
}

/* ---- named collections (listeners, upstreams, routes) -------------------------------------- */

struct coll {
	const char *noun;           /* "listener" */
	const char *section;        /* "listeners" */
	size_t size, name_off, pos_off;
	const struct ckey *keys;
	void (*init)(void *obj, const struct lt_config *c);
};

static void listener_init(void *obj, const struct lt_config *c)
{
	struct lt_listener_cfg *l = obj;

	(void)c;
	l->client_auth = LT_CLIENT_AUTH_REQUIRE;
}

static void upstream_init(void *obj, const struct lt_config *c)
{
	struct lt_upstream_cfg *u = obj;

	(void)c;
	u->connect_timeout_ms = 2000;
	u->total_timeout_ms = 10000;
	u->retry_attempts = 1;
	u->retry_backoff_ms = 200;
	u->retry_max_backoff_ms = 5000;
	u->auth.type = LT_AUTH_NONE;
}

static void route_init(void *obj, const struct lt_config *c)
{
	struct lt_route_cfg *r = obj;

	(void)c;
	r->listener_index = -1;
	r->upstream_index = -1;
	r->mode = LT_MODE_SYNC;
}

static const struct coll listener_coll = {
	"listener", "listeners", sizeof(struct lt_listener_cfg), offsetof(struct lt_listener_cfg, name),
	offsetof(struct lt_listener_cfg, pos), listener_keys, listener_init
};
static const struct coll upstream_coll = {
	"upstream", "upstreams", sizeof(struct lt_upstream_cfg), offsetof(struct lt_upstream_cfg, name),
	offsetof(struct lt_upstream_cfg, pos), upstream_keys, upstream_init
};
static const struct coll route_coll = {
	"route", "routes", sizeof(struct lt_route_cfg), offsetof(struct lt_route_cfg, name),
	offsetof(struct lt_route_cfg, pos), route_keys, route_init
};

/* Names end up in log fields and metric labels: keep them to a safe alphabet. */
static int name_ok(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!(*s == '.' || *s == '_' || *s == '-' || (*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= 'A' && *s <= 'Z')))
			return 0;
	return 1;
}

/* Returns a new array of *n elements of k->size bytes, or NULL when there are none. */
static void *parse_named(struct cctx *x, const struct lt_ynode *v, const struct coll *k, size_t *n)
{
	char *arr, where[WHERE_MAX], buf[SHOW];

	*n = 0;
	if (is_empty(v))
		return NULL;
	if (v->type != LT_Y_MAP) {
		bad(x, v, "'%s': expected a mapping of %s names to %ss, got %s", k->section, k->noun, k->noun,
		    show(v, buf));
		return NULL;
	}
	arr = lt_xcalloc(v->n, k->size);
	for (size_t i = 0; i < v->n; i++) {
		char *obj = arr + i * k->size;
		const struct lt_ynode *key = v->keys[i];
		struct lt_pos *pos = (struct lt_pos *)(void *)(obj + k->pos_off);

		*(char **)(void *)(obj + k->name_off) = lt_xstrdup(key->str);
		pos->line = key->line;
		pos->col = key->col;
		if (!name_ok(key->str))
			bad(x, key, "%s name %s may contain only letters, digits, '.', '_' and '-'", k->noun,
			    show(key, buf));
		k->init(obj, x->c);
		snprintf(where, sizeof(where), "%s %s", k->noun, show(key, buf));
		walk(x, key, v->items[i], k->keys, obj, where);
	}
	*n = v->n;
	return arr;
}

static void set_listeners(struct cctx *x, const struct lt_ynode *key, const struct lt_ynode *v, void *obj,
			  const char *where)
{
	struct lt_config *c = obj;

	(void)key;
	(void)where;
	x->listeners = v;
	c->listeners = parse_named(x, v, &listener_coll, &c->n_listeners);
}

static void set_upstreams(struct cctx *x, const struct lt_ynode *key, const struct lt_ynode *v, void *obj,
			  const char *where)
{
	struct lt_config *c = obj;

	(void)key;
	(void)where;
	x->upstreams = v;
	c->upstreams = parse_named(x, v, &upstream_coll, &c->n_upstreams);
}

static void set_routes(struct cctx *x, const struct lt_ynode *key, const struct lt_ynode *v, void *obj,
		       const char *where)
{
	struct lt_config *c = obj;

	(void)key;
	(void)where;
	x->routes = v;
	c->routes = parse_named(x, v, &route_coll, &c->n_routes);
}

static const struct ckey top_keys[] = {
	KSUB("gateway", struct lt_config, gateway, gateway_keys, OPT),
	KFN("listeners", set_listeners, REQ),
	KFN("upstreams", set_upstreams, OPT),
	KFN("routes", set_routes, OPT),
	KEND
};

/* ---- files: certificates, keys, mappings ----------------------------------------------------- */

/* Opens a file named in the config at node `at` (abs is the resolved path); messages name the
 * file as written. NULL after reporting "cannot read WHAT PATH: reason". */
static FILE *open_named(struct cctx *x, const struct lt_ynode *at, const char *what, const char *abs)
{
	struct stat st;
	FILE *f = fopen(abs, "rb");
	int err;

	if (f != NULL && fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode))
		return f;
	err = f == NULL ? errno : S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
	if (f != NULL)
		fclose(f);
	bad(x, at, "cannot read %s %.200s: %s", what, at->str, strerror(err));
	return NULL;
}

static void check_expiry(struct cctx *x, const struct lt_ynode *at, const X509 *crt)
{
	const ASN1_TIME *na = X509_get0_notAfter(crt);
	struct tm tm;
	char date[32];

	time_t soon = time(NULL) + (time_t)LT_CERT_WARN_DAYS * 86400;
	int expired = X509_cmp_current_time(na) < 0;

	/* An operator needs weeks, not hours, to get a certificate renewed by a partner's CA. */
	if (!expired && X509_cmp_time(na, &soon) >= 0)
		return;
	if (ASN1_TIME_to_tm(na, &tm) != 1 || strftime(date, sizeof(date), "%Y-%m-%d", &tm) == 0)
		snprintf(date, sizeof(date), "an unreadable date");
	if (expired)
		warn(x, at, "certificate %.200s expired on %s", at->str, date);
	else
		warn(x, at, "certificate %.200s expires on %s, within %d days", at->str, date, LT_CERT_WARN_DAYS);
}

static X509 *read_cert(struct cctx *x, const struct lt_ynode *at, const char *abs)
{
	FILE *f = open_named(x, at, "certificate", abs);
	X509 *crt;

	if (f == NULL)
		return NULL;
	crt = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (crt == NULL) {
		ERR_clear_error();
		bad(x, at, "%.200s is not a PEM certificate", at->str);
		return NULL;
	}
	check_expiry(x, at, crt);
	return crt;
}

/* Never let OpenSSL prompt on the terminal for a passphrase: a daemon has no one to ask. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

static EVP_PKEY *read_key(struct cctx *x, const struct lt_ynode *at, const char *abs)
{
	FILE *f = open_named(x, at, "key", abs);
	EVP_PKEY *k;
	struct stat st;

	if (f == NULL)
		return NULL;
	k = PEM_read_PrivateKey(f, NULL, no_passphrase, NULL);
	if (k == NULL) {
		ERR_clear_error();
		bad(x, at, "%.200s is not a PEM private key (a key protected by a passphrase is not supported)",
		    at->str);
	} else if (fstat(fileno(f), &st) == 0 && (st.st_mode & (S_IRGRP | S_IROTH)) != 0) {
		warn(x, at, "key %.200s can be read by group or others (mode %04o): chmod 600 it", at->str,
		     (unsigned)(st.st_mode & 07777));
	}
	fclose(f);
	return k;
}

/* cert and key (nodes and resolved paths) must both read and belong together. */
static void check_pair(struct cctx *x, const struct lt_ynode *cert_at, const char *cert,
		       const struct lt_ynode *key_at, const char *key)
{
	X509 *crt = read_cert(x, cert_at, cert);
	EVP_PKEY *k = read_key(x, key_at, key);

	if (crt != NULL && k != NULL && X509_check_private_key(crt, k) != 1) {
		ERR_clear_error();
		bad(x, key_at, "certificate %.200s and key %.200s do not match", cert_at->str, key_at->str);
	}
	X509_free(crt);
	EVP_PKEY_free(k);
}

static void check_ca(struct cctx *x, const struct lt_ynode *at, const char *abs)
{
	FILE *f = open_named(x, at, "CA certificate", abs);
	X509 *crt;
	int n = 0;

	if (f == NULL)
		return;
	while ((crt = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
		X509_free(crt);
		n++;
	}
	fclose(f);
	ERR_clear_error();
	if (n == 0)
		bad(x, at, "%.200s holds no PEM certificate", at->str);
}

/* Loads an rsa route's public key once, with the config: a request never reads a file. */
static void load_public_key(struct cctx *x, const struct lt_ynode *at, struct lt_verify_cfg *v)
{
	FILE *f = open_named(x, at, "public key", v->public_key);
	EVP_PKEY *k;
	X509 *crt = NULL;

	if (f == NULL)
		return;
	/* Banks hand out either a bare public key or a certificate; both carry the key. */
	k = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	if (k == NULL) {
		rewind(f);
		crt = PEM_read_X509(f, NULL, NULL, NULL);
		k = crt ? X509_get_pubkey(crt) : NULL;
	}
	fclose(f);
	ERR_clear_error();
	X509_free(crt);
	if (k == NULL)
		bad(x, at, "%.200s is not a PEM public key or certificate", at->str);
	else if (!EVP_PKEY_is_a(k, "RSA"))
		bad(x, at, "%.200s: the key is %s, and verify type rsa needs an RSA key", at->str,
		    EVP_PKEY_get0_type_name(k));
	else {
		v->pkey = k;
		k = NULL;
	}
	EVP_PKEY_free(k);
}

/* ---- second pass: what needs more than one key ------------------------------------------------- */

/* The key node of `name` in m (the value's node is lt_ymap_get's): "missing key" messages point
 * at the key that owns the incomplete mapping, as walk() does. */
static const struct lt_ynode *key_node(const struct lt_ynode *m, const char *name)
{
	for (size_t i = 0; m != NULL && m->type == LT_Y_MAP && i < m->n; i++)
		if (strcmp(m->keys[i]->str, name) == 0)
			return m->keys[i];
	return NULL;
}

static const struct lt_ynode *at2(const struct lt_ynode *m, const char *k1, const char *k2)
{
	const struct lt_ynode *n = lt_ymap_get(m, k1);

	return k2 != NULL ? lt_ymap_get(n, k2) : n;
}

static int is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (strcasecmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

static int is_wildcard(const char *host)
{
	return strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0;
}

static void check_listeners(struct cctx *x)
{
	struct lt_config *c = x->c;

	if (c->n_listeners == 0 && x->listeners != NULL)
		bad(x, x->listeners, "'listeners': at least one listener is needed");
	for (size_t i = 0; i < c->n_listeners; i++) {
		struct lt_listener_cfg *l = &c->listeners[i];
		const struct lt_ynode *n = x->listeners->items[i], *tls = lt_ymap_get(n, "tls");

		l->tls = tls != NULL;
		if (l->tls && l->client_auth != LT_CLIENT_AUTH_NONE && l->client_ca == NULL && l->cert != NULL)
			bad(x, tls, "listener '%s' tls: client_auth is %s, so client_ca is needed "
			    "(or write client_auth: none)", l->name, client_auths[l->client_auth].name);
		if (l->cert != NULL && l->key != NULL)
			check_pair(x, lt_ymap_get(tls, "cert"), l->cert, lt_ymap_get(tls, "key"), l->key);
		if (l->client_ca != NULL)
			check_ca(x, lt_ymap_get(tls, "client_ca"), l->client_ca);
		if (l->host == NULL)
			continue;
		if (!l->tls && !is_loopback(l->host))
			warn(x, lt_ymap_get(n, "listen"), "listener '%s' has no tls: plain HTTP on %s, which is not "
			     "a loopback address", l->name, l->listen);
		for (size_t j = 0; j < i; j++) {
			const struct lt_listener_cfg *o = &c->listeners[j];
			const struct lt_ynode *on = lt_ymap_get(x->listeners->items[j], "listen");

			if (o->host == NULL || o->port != l->port)
				continue;
			if (strcasecmp(o->host, l->host) == 0 || is_wildcard(o->host) || is_wildcard(l->host))
				bad(x, lt_ymap_get(n, "listen"), "listener '%s' listens on the same address as listener "
				    "'%s' (at %d:%d)", l->name, o->name, on->line, on->col);
		}
	}
}

/* The URL parser the native client calls with, so that `check` refuses what it could not call. */
static int url_ok(const char *s)
{
	struct lt_h1_url u;
	const char *why;

	return lt_h1_url_parse(s, &u, &why) == 0;
}

static void check_auth(struct cctx *x, const struct lt_upstream_cfg *u, const struct lt_ynode *n)
{
	const struct lt_auth_cfg *a = &u->auth;
	const struct lt_ynode *an = lt_ymap_get(n, "auth");
	char buf[SHOW];

	if (a->type == LT_AUTH_OAUTH2 && a->token_url != NULL && !url_ok(a->token_url))
		bad(x, lt_ymap_get(an, "token_url"), "'token_url' in upstream '%s' auth: expected an http:// or "
		    "https:// URL, got %s", u->name, show(lt_ymap_get(an, "token_url"), buf));
	if (a->type != LT_AUTH_LOGIN)
		return;
	if (a->login_path != NULL && a->login_path[0] != '/')
		bad(x, at2(an, "request", "path"), "'path' in upstream '%s' auth request: must start with '/', "
		    "got %s", u->name, show(at2(an, "request", "path"), buf));
	if (lt_ymap_get(an, "put") != NULL && (a->put_header != NULL) == (a->put_body != NULL))
		bad(x, lt_ymap_get(an, "put"), "'put' in upstream '%s' auth: expected either "
		    "{ header: NAME, prefix: TEXT } or { body: FIELD }", u->name);
	else if (a->put_prefix != NULL && a->put_header == NULL)
		bad(x, at2(an, "put", "prefix"), "'prefix' in upstream '%s' auth put: only goes with 'header'",
		    u->name);
}

static void check_pin(struct cctx *x, const struct lt_upstream_cfg *u, const struct lt_ynode *at)
{
	const char *p = u->pin;

	/* libcurl's CURLOPT_PINNEDPUBLICKEY hash form: sha256//BASE64[;sha256//BASE64...]. */
	for (;;) {
		size_t len = strcspn(p, ";");

		if (len <= 8 || strncmp(p, "sha256//", 8) != 0) {
			bad(x, at, "'pin' in upstream '%s' tls: expected sha256//BASE64 (';' between several pins)",
			    u->name);
			return;
		}
		if (p[len] == '\0')
			return;
		p += len + 1;
	}
}

static void check_upstreams(struct cctx *x)
{
	struct lt_config *c = x->c;
	char buf[SHOW];

	for (size_t i = 0; i < c->n_upstreams; i++) {
		struct lt_upstream_cfg *u = &c->upstreams[i];
		const struct lt_ynode *n = x->upstreams->items[i], *tls = lt_ymap_get(n, "tls");

		if (u->url != NULL && !url_ok(u->url))
			bad(x, lt_ymap_get(n, "url"), "'url' in upstream '%s': expected an http:// or https:// URL, "
			    "got %s", u->name, show(lt_ymap_get(n, "url"), buf));
		else if (u->url != NULL && tls != NULL && strncasecmp(u->url, "http://", 7) == 0)
			bad(x, tls, "upstream '%s': tls is set but the url is http://", u->name);
		if ((u->cert == NULL) != (u->key == NULL))
			bad(x, lt_ymap_get(tls, u->cert ? "cert" : "key"), "upstream '%s' tls: cert and key go together "
			    "(%s is missing)", u->name, u->cert ? "key" : "cert");
		else if (u->cert != NULL)
			check_pair(x, lt_ymap_get(tls, "cert"), u->cert, lt_ymap_get(tls, "key"), u->key);
		if (u->ca != NULL)
			check_ca(x, lt_ymap_get(tls, "ca"), u->ca);
		if (u->pin != NULL)
			check_pin(x, u, lt_ymap_get(tls, "pin"));
		if (u->connect_timeout_ms > u->total_timeout_ms)
			bad(x, lt_ymap_get(n, "timeout"), "upstream '%s' timeout: connect (%lldms) is longer than "
			    "total (%lldms)", u->name, u->connect_timeout_ms, u->total_timeout_ms);
		if (u->retry_backoff_ms > u->retry_max_backoff_ms)
			bad(x, lt_ymap_get(n, "retry"), "upstream '%s' retry: backoff (%lldms) is longer than "
			    "max_backoff (%lldms)", u->name, u->retry_backoff_ms, u->retry_max_backoff_ms);
		if (lt_ymap_get(n, "circuit") != NULL) {
			if (u->circuit_failures == 0)
				u->circuit_failures = 5;
			if (u->circuit_cooldown_ms == 0)
				u->circuit_cooldown_ms = 30000;
		}
		check_auth(x, u, n);
	}
}

/* "a, b, c" of the names of a collection, for "unknown upstream 'x' (known: ...)". */
static const char *known(const void *arr, size_t n, size_t size, char *buf, size_t bufsize)
{
	struct lt_buf b;

	lt_buf_init(&b, bufsize - 8);
	for (size_t i = 0; i < n; i++)
		lt_buf_printf(&b, "%s%s", i ? ", " : "", *(char *const *)(const void *)((const char *)arr + i * size));
	snprintf(buf, bufsize, "%s%s", b.len ? b.data : "none", b.overflow ? ", ..." : "");
	lt_buf_free(&b);
	return buf;
}

static void check_verify(struct cctx *x, struct lt_route_cfg *r, const struct lt_ynode *n)
{
	struct lt_verify_cfg *v = &r->verify;
	const struct lt_ynode *vn = lt_ymap_get(n, "verify"), *key = key_node(n, "verify");

	if (v->type == LT_VERIFY_HMAC && v->key == NULL)
		bad(x, key, "missing key 'key' in route '%s' verify (an hmac needs its secret)", r->name);
	if (v->type == LT_VERIFY_HMAC && v->public_key != NULL)
		bad(x, lt_ymap_get(vn, "public_key"), "'public_key' in route '%s' verify: only for type rsa", r->name);
	if (v->type == LT_VERIFY_RSA && v->public_key == NULL)
		bad(x, key, "missing key 'public_key' in route '%s' verify (rsa needs the signer's public key)",
		    r->name);
	if (v->type == LT_VERIFY_RSA && v->key != NULL)
		bad(x, lt_ymap_get(vn, "key"), "'key' in route '%s' verify: only for type hmac", r->name);
	if (v->type == LT_VERIFY_RSA && v->algorithm != NULL && strcmp(v->algorithm, "md5") == 0)
		bad(x, lt_ymap_get(vn, "algorithm"), "'algorithm' in route '%s' verify: rsa takes sha1, sha256 or "
		    "sha512", r->name);
	if (v->public_key != NULL)
		load_public_key(x, lt_ymap_get(vn, "public_key"), v);
	if ((v->form == LT_CANON_JOIN || v->form == LT_CANON_PAIRS) && v->n_fields == 0 &&
	    lt_ymap_get(vn, "canonical") != NULL)
		bad(x, lt_ymap_get(vn, "canonical"), "route '%s' verify canonical: form %s needs 'fields'", r->name,
		    canon_forms[v->form].name);
}

static void check_routes(struct cctx *x)
{
	struct lt_config *c = x->c;
	char buf[SHOW], list[LIST_MAX];

	for (size_t i = 0; i < c->n_routes; i++) {
		struct lt_route_cfg *r = &c->routes[i];
		const struct lt_ynode *n = x->routes->items[i], *key = x->routes->keys[i];
		const struct lt_ynode *ln = lt_ymap_get(n, "listener"), *un = lt_ymap_get(n, "upstream");

		for (size_t j = 0; r->listener != NULL && j < c->n_listeners; j++)
			if (strcmp(c->listeners[j].name, r->listener) == 0)
				r->listener_index = (int)j;
		if (r->listener != NULL && r->listener_index < 0)
			bad(x, ln, "route '%s': unknown listener %s (known: %s)", r->name, show(ln, buf),
			    known(c->listeners, c->n_listeners, sizeof(*c->listeners), list, sizeof(list)));
		else if (r->listener != NULL && c->listeners[r->listener_index].admin)
			bad(x, ln, "route '%s': listener '%s' is an admin listener, which serves no routes", r->name,
			    r->listener);
		for (size_t j = 0; r->upstream != NULL && j < c->n_upstreams; j++)
			if (strcmp(c->upstreams[j].name, r->upstream) == 0)
				r->upstream_index = (int)j;
		if (r->upstream != NULL && r->upstream_index < 0)
			bad(x, un, "route '%s': unknown upstream %s (known: %s)", r->name, show(un, buf),
			    known(c->upstreams, c->n_upstreams, sizeof(*c->upstreams), list, sizeof(list)));
		if (r->upstream == NULL)
			bad(x, key, "missing key 'upstream' in route '%s'", r->name);
		if (r->mode == LT_MODE_SYNC && r->mapping_path == NULL)
			bad(x, key, "missing key 'mapping' in route '%s' (a sync route answers with the mapped "
			    "upstream answer)", r->name);
		if (r->path != NULL && r->path[0] != '/')
			bad(x, at2(n, "match", "path"), "'path' in route '%s' match: must start with '/', got %s",
			    r->name, show(at2(n, "match", "path"), buf));
		if (r->upstream_path != NULL && r->upstream_path[0] != '/')
			bad(x, lt_ymap_get(n, "path"), "'path' in route '%s': must start with '/', got %s", r->name,
			    show(lt_ymap_get(n, "path"), buf));
		for (size_t j = 0; j < i && r->listener && r->method && r->path; j++) {
			const struct lt_route_cfg *o = &c->routes[j];
			const struct lt_ynode *om = lt_ymap_get(x->routes->items[j], "match");

			if (o->listener && o->method && o->path && strcmp(o->listener, r->listener) == 0 &&
			    strcmp(o->method, r->method) == 0 && strcmp(o->path, r->path) == 0) {
				bad(x, lt_ymap_get(n, "match"), "route '%s' has the same match as route '%s' (at %d:%d)",
				    r->name, o->name, om->line, om->col);
				break;
			}
		}
		if (lt_ymap_get(n, "verify") != NULL)
			check_verify(x, r, n);
		if (r->verify.form == LT_CANON_JOIN && r->verify.separator == NULL)
			r->verify.separator = lt_xstrdup("|");
		for (size_t j = 0; j < ACKS; j++) {
			struct lt_ack *a = route_ack(r, j);

			if (a->status != 0 && a->content_type == NULL)
				a->content_type = lt_xstrdup(a->body != NULL && (a->body[0] == '{' || a->body[0] == '[')
							     ? "application/json" : "text/plain; charset=utf-8");
		}
		if (r->mapping_path != NULL) {
			FILE *f = open_named(x, lt_ymap_get(n, "mapping"), "mapping", r->mapping_path);

			if (f == NULL)
				continue;
			fclose(f);
			if (lt_map_load(r->mapping_path, &r->map, x->d) == 0)
				lt_map_check_examples(r->map, x->d);
		}
	}
}

/* ---- load and free ---------------------------------------------------------------------------------- */

/* The config folder as an absolute path, so that the struct never depends on the cwd. */
static char *abs_dir(const char *file)
{
	char *dir = lt_path_dir(file), *res, cwd[4096];
	const char *rel = dir;

	if (dir[0] == '/')
		return dir;
	if (getcwd(cwd, sizeof(cwd)) == NULL) {
		free(dir);
		return NULL;
	}
	while (strncmp(rel, "./", 2) == 0)
		rel += 2;
	res = strcmp(rel, ".") == 0 ? lt_xstrdup(cwd) : lt_path_join(cwd, rel);
	free(dir);
	return res;
}

static int build(const char *file, struct lt_ytree *t, struct lt_config **out, struct lt_diags *d)
{
	struct lt_config *c = lt_xcalloc(1, sizeof(*c));
	struct cctx x;
	int nerrors = d->nerrors;
	char buf[SHOW];

	memset(&x, 0, sizeof(x));
	x.c = c;
	x.d = d;
	c->file = lt_xstrdup(file);
	c->dir = abs_dir(file);
	if (c->dir == NULL) {
		lt_diags_add(d, 0, file, 0, 0, "cannot find the current directory: %s", strerror(errno));
		goto out;
	}
	x.dir = c->dir;
	c->gateway.workers = 0;
	c->gateway.store = lt_path_join(c->dir, "var/lienthong.db");
	c->gateway.log_level = LT_LOG_INFO;
	c->gateway.log_format = LT_LOG_JSON;
	c->gateway.limits.max_body = 1024 * 1024;
	c->gateway.limits.max_headers = 16 * 1024;
	c->gateway.limits.header_timeout_ms = 10000;
	c->gateway.limits.body_timeout_ms = 30000;
	if (t->root == NULL) {
		lt_diags_add(d, 0, file, 0, 0, "the file is empty (a config needs at least 'listeners')");
		goto out;
	}
	if (t->root->type != LT_Y_MAP) {
		bad(&x, t->root, "expected a mapping with gateway, listeners, upstreams and routes, got %s",
		    show(t->root, buf));
		goto out;
	}
	walk(&x, NULL, t->root, top_keys, c, NULL);
	check_listeners(&x);
	check_upstreams(&x);
	check_routes(&x);
out:
	lt_ytree_free(t);
	if (d->nerrors > nerrors) {
		lt_config_free(c);
		return -1;
	}
	*out = c;
	return 0;
}

int lt_config_parse(const char *file, const char *buf, size_t len, struct lt_config **out, struct lt_diags *d)
{
	struct lt_ytree *t;
	struct lt_err e;

	lt_err_clear(&e);
	if (lt_ytree_parse(file, buf, len, &t, &e) < 0) {
		lt_diags_add_err(d, &e);
		return -1;
	}
	return build(file, t, out, d);
}

int lt_config_load(const char *path, struct lt_config **out, struct lt_diags *d)
{
	struct lt_ytree *t;
	struct lt_err e;

	lt_err_clear(&e);
	if (lt_ytree_load(path, &t, &e) < 0) {
		lt_diags_add_err(d, &e);
		return -1;
	}
	return build(path, t, out, d);
}

static void auth_free(struct lt_auth_cfg *a)
{
	free(a->username);
	free(a->password);
	free(a->token);
	free(a->header_name);
	free(a->header_value);
	free(a->token_url);
	free(a->client_id);
	free(a->client_secret);
	free(a->scope);
	free(a->login_path);
	json_decref(a->login_body);
	free(a->token_field);
	free(a->put_header);
	free(a->put_prefix);
	free(a->put_body);
	free(a->refresh_status);
	free(a->refresh_field);
	free_strv(a->refresh_values, a->n_refresh_values);
}

static void upstream_free(struct lt_upstream_cfg *u)
{
	free(u->name);
	free(u->url);
	free(u->ca);
	free(u->cert);
	free(u->key);
	free(u->pin);
	free_kvs(u->headers, u->n_headers);
	free(u->retry_status);
	auth_free(&u->auth);
}

static void route_free(struct lt_route_cfg *r)
{
	free(r->name);
	free(r->listener);
	free(r->method);
	free(r->path);
	free_strv(r->allow, r->n_allow);
	free(r->mapping_path);
	lt_map_free(r->map);
	free(r->upstream);
	free(r->upstream_path);
	free(r->verify.algorithm);
	free(r->verify.key);
	free(r->verify.public_key);
	EVP_PKEY_free(r->verify.pkey);
	free(r->verify.signature);
	free(r->verify.prefix);
	free_strv(r->verify.exclude, r->verify.n_exclude);
	free_strv(r->verify.fields, r->verify.n_fields);
	free(r->verify.separator);
	free_kvs(r->verify.values, r->verify.n_values);
	free(r->idempotency_key);
	for (size_t j = 0; j < ACKS; j++) {
		free(route_ack(r, j)->body);
		free(route_ack(r, j)->content_type);
	}
}

void lt_config_free(struct lt_config *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n_listeners; i++) {
		struct lt_listener_cfg *l = &c->listeners[i];

		free(l->name);
		free(l->listen);
		free(l->host);
		free(l->cert);
		free(l->key);
		free(l->client_ca);
	}
	free(c->listeners);
	for (size_t i = 0; i < c->n_upstreams; i++)
		upstream_free(&c->upstreams[i]);
	free(c->upstreams);
	for (size_t i = 0; i < c->n_routes; i++)
		route_free(&c->routes[i]);
	free(c->routes);
	free(c->gateway.store);
	free(c->file);
	free(c->dir);
	free(c);
}
