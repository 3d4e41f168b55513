/* ytree.h: YAML files read into a small tree in which every node knows its FILE:LINE:COL.
 *
 * Config and mapping files are operator input, but a reload must never hang or explode, so the
 * loader is strict where libyaml 0.2.5 is not: anchors, aliases and tags other than the core
 * ones are refused, duplicate keys are refused, depth, node count and file size are bounded,
 * and a file holds exactly one document. Scalars keep their text and whether they were quoted:
 * a quoted scalar is always a string; a plain one is typed by the YAML 1.2 core schema. */
#ifndef LT_YTREE_H
#define LT_YTREE_H

#include <stddef.h>
#include "gateway/err.h"

#define LT_YTREE_MAX_DEPTH 64
#define LT_YTREE_MAX_NODES 200000
#define LT_YTREE_MAX_FILE  (8u * 1024 * 1024)

enum lt_ytype { LT_Y_SCALAR, LT_Y_SEQ, LT_Y_MAP };

struct lt_ynode {
	enum lt_ytype type;
	const char *file;        /* borrowed from the tree */
	int line, col;           /* 1-based */
	/* LT_Y_SCALAR */
	char *str;               /* NUL-terminated; may contain NUL only if len says so (never, refused) */
	size_t len;
	int quoted;              /* 1 when written '...', "...", | or >, or tagged !!str: always a string */
	/* LT_Y_SEQ: items[0..n); LT_Y_MAP: keys[i] (scalars) -> items[i] */
	size_t n;
	struct lt_ynode **items;
	struct lt_ynode **keys;
};

struct lt_ytree {
	char *file;              /* owned copy of the file name given to the parser */
	struct lt_ynode *root;   /* NULL for an empty document */
	/* private: allocation list */
	void *arena_;
};

/* Parses buf (len bytes) named `file` for messages. On error, e carries file:line:col and code
 * "yaml.syntax" (libyaml's own errors, a non-scalar mapping key, a second document, a NUL in a
 * scalar) / "yaml.alias" (anchors and aliases) / "yaml.tag" (a tag outside the core schema, or a
 * value its core tag does not fit) / "yaml.duplicate_key" / "yaml.limits" (depth, node count,
 * file size). *out is new (free with lt_ytree_free). 0 / -1. */
int lt_ytree_parse(const char *file, const char *buf, size_t len, struct lt_ytree **out, struct lt_err *e);
/* Reads path (at most LT_YTREE_MAX_FILE bytes) and parses it. 0 / -1. */
int lt_ytree_load(const char *path, struct lt_ytree **out, struct lt_err *e);
void lt_ytree_free(struct lt_ytree *t);

/* MAP lookup; NULL when absent or when m is not a map. Borrowed. */
const struct lt_ynode *lt_ymap_get(const struct lt_ynode *m, const char *key);

/* Scalar typing (YAML 1.2 core schema on plain scalars; quoted scalars are strings). */
enum lt_yscalar { LT_YS_NULL, LT_YS_BOOL, LT_YS_INT, LT_YS_FLOAT, LT_YS_STRING };
enum lt_yscalar lt_yscalar_kind(const struct lt_ynode *n);

/* Typed getters: 0 / -1 with e naming the node's position ("config.type": "expected a string"). */
int lt_yget_str(const struct lt_ynode *n, const char **out, struct lt_err *e);   /* any scalar, its text */
int lt_yget_bool(const struct lt_ynode *n, int *out, struct lt_err *e);
int lt_yget_int(const struct lt_ynode *n, long long *out, struct lt_err *e);
int lt_yget_duration(const struct lt_ynode *n, long long *ms, struct lt_err *e); /* "2s", "250ms" */
int lt_yget_size(const struct lt_ynode *n, size_t *out, struct lt_err *e);       /* "1MiB" */

/* Fills e with the node's position and a message (code as given). n may be NULL (no position).
 * Returns -1. */
int lt_ynode_err(const struct lt_ynode *n, struct lt_err *e, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Describes n for a message, as written in the file (never an expanded secret): "'text'" (cut
 * at 60 bytes on a character boundary, control characters as '?'), "an empty value",
 * "a mapping" or "a list". buf is caller-owned, always NUL-terminated. */
void lt_ynode_show(const struct lt_ynode *n, char *buf, size_t size);

#define LT_SECRET_FILE_MAX (64u * 1024)   /* a ${file:} secret */
#define LT_SECRET_OUT_MAX  (1024u * 1024)  /* a whole expanded value */

/* Expands ${env:NAME} and ${file:PATH} in s (PATH relative to basedir; file content with one
 * trailing newline removed). *secret is set to 1 when anything was expanded: the value must then
 * never be logged or shown. Unset variables and unreadable files are errors ("config.secret").
 * Also: ${env:NAME:-default} (default when NAME is unset or empty; an empty NAME without a
 * default is an error), $${ for a literal ${. Messages name variables and files, never values.
 * *out is malloc'd. 0 / -1. secret may be NULL. */
int lt_expand_secrets(const char *s, const char *basedir, char **out, int *secret, struct lt_err *e);

/* lt_yget_str + lt_expand_secrets, with an error positioned at n. *out is malloc'd. 0 / -1. */
int lt_yget_expand(const struct lt_ynode *n, const char *basedir, char **out, int *secret, struct lt_err *e);

#endif
