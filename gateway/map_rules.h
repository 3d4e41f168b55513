/* map_rules.h: the value rules of the mapping language (type, scale, trim, upper, lower, unaccent,
 * phone, date, amount_words, regex, map, pattern, max_length, min, max, hmac), private to the mapping
 * engine (gateway/map.c).
 *
 * A rule is one table entry: a name, its place in the SPEC.md rule order, a compile function
 * run once at load time (all parsing, regcomp and lookups built there) and an apply function run
 * per document, which must not parse anything. The engine finds rules by name, compiles each
 * one a field names into a step, sorts the steps by order and applies them in turn. Adding a
 * rule means writing its two functions and one table line in map_rules.c. */
#ifndef LT_MAP_RULES_H
#define LT_MAP_RULES_H

#include <stddef.h>
#include <jansson.h>
#include "gateway/err.h"
#include "gateway/ytree.h"

/* Rule order (SPEC.md § Mapping file): convert, then shape, then validate. */
#define LT_RULE_CONVERT  10
#define LT_RULE_SHAPE    20
#define LT_RULE_VALIDATE 70

struct lt_rule_def;

/* One compiled step of a field. */
struct lt_rule {
	const struct lt_rule_def *def;
	void *arg;                  /* owned; freed with def->free */
	int order;                  /* def->order, except `type`, which the engine may move */
	int line, col;              /* where the rule's key is written */
};

/* What an apply function knows about the value it works on, for its error message. */
struct lt_rule_run {
	const char *file;           /* the mapping file (borrowed) */
	const char *src;            /* where the value came from: "field 'code'", "var 'auth.token'" */
	int masked;                 /* the field is `mask: true`: never show its value */
	int has_default;            /* the field has a `default` the engine can fall back to */
	struct lt_err *e;
};

struct lt_rule_def {
	const char *name;
	int order;
	int retypes;                /* produces a value of its own type (date, map): `type` goes after it */
	/* Compiles the rule's YAML value n into *arg (which may stay NULL); field is the whole field
	 * the rule is written in, for rules with modifiers (regex reads its `group` / `matches`).
	 * Returns 0; 1 when no step is to be made (`trim: false`, or a modifier that its rule
	 * consumes); or -1 with e filled at n's position, after which whatever was put in *arg is
	 * still released with free. */
	int (*compile)(const struct lt_ynode *n, const struct lt_ynode *field, void **arg, struct lt_err *e);
	/* Replaces *v (a reference the caller owns; never NULL, possibly JSON null) with the result,
	 * as a new reference. Must never modify *v in place: it may be shared with the input document
	 * or with the compiled mapping. Returns 0; 1 when it has no value to give (a regex group that
	 * did not match, a map miss when rr->has_default), and the engine then writes the field's
	 * default, or leaves the field out when there is none; or lt_rule_fail()'s -1, leaving *v
	 * alone. */
	int (*apply)(const struct lt_rule *r, json_t **v, const struct lt_rule_run *rr);
	void (*free)(void *arg);    /* NULL when arg is always NULL */
	/* Rules that make the field's value from the other fields of its object (hmac): the engine
	 * writes every other field first, then calls sign with that object (borrowed; self is the
	 * field's own name in it, holding null) and *v NULL; sign sets *v to a new reference, or
	 * returns lt_rule_fail()'s -1. apply is then never called for this rule. NULL otherwise. */
	int (*sign)(const struct lt_rule *r, json_t *obj, const char *self, json_t **v, const struct lt_rule_run *rr);
};

/* The rule called name, or NULL. Borrowed (static). */
const struct lt_rule_def *lt_rule_find(const char *name);
/* Writes the implemented rule names, comma-separated, into buf (for "unknown rule" messages);
 * always NUL-terminated. Returns the length written. */
size_t lt_rule_names(char *buf, size_t n);
/* Frees a step's argument. r may be NULL. */
void lt_rule_release(struct lt_rule *r);

/* Sets rr->e to status 422, code "mapping.<rule>", the mapping file and line:col, and the
 * message. Always returns -1. */
int lt_rule_fail(const struct lt_rule_run *rr, const char *rule, int line, int col, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* The text of a scalar as map keys, `when: equals`, `pattern` and templates see it: a string as
 * is, an integer in decimal, a real as lt_json_real_text prints it, true / false, null as "null".
 * *s points into v or into buf (at least 40 bytes). Returns -1 for arrays and objects. */
int lt_rule_text(const json_t *v, char *buf, size_t n, const char **s, size_t *len);

/* A value for an error message: "'text'" (cut at 60 bytes on a character boundary, control
 * characters as '?'), "***" when rr->masked, "an object" or "a list". buf: at least 80 bytes. */
void lt_rule_show(const struct lt_rule_run *rr, const json_t *v, char *buf, size_t n);

/* A YAML node as a JSON value, typed by the core schema (plain 1 is an integer, plain true a
 * boolean, plain null or ~ null, quoted always a string); maps and lists recursively. Returns a
 * new reference, or NULL with e set (a float JSON cannot hold: .inf, .nan). */
json_t *lt_rule_yvalue(const struct lt_ynode *n, struct lt_err *e);

#endif
