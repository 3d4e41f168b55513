/* ytree.c: the strict YAML loader. Owns the node tree of one file (built from libyaml's event
 * API into one arena, freed at once), the YAML 1.2 core-schema typing of plain scalars, the
 * typed getters with their messages, and ${env:} / ${file:} secret expansion.
 *
 * The event API rather than yaml_parser_load: the document API resolves aliases into a shared
 * (even cyclic) graph before we could refuse them, has no depth limit in 0.2.5 and accepts
 * duplicate keys; with events we see each of those at the point it is written. */
#include <errno.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "gateway/util.h"
#include "gateway/ytree.h"

#define ARENA_CHUNK (64u * 1024)
#define SHOW_MAX    60           /* bytes of a value quoted in a message */

/* One arena chunk; nodes, strings and the finished item/key arrays are carved from these. */
struct chunk {
	struct chunk *next;
	size_t used, size;
	max_align_t mem[];
};

/* A collection being read: its children grow on the heap and move into the arena when it ends,
 * so that the arena never holds dead copies of a growing array. */
struct frame {
	struct lt_ynode *node;
	struct lt_ynode **items, **keys;
	size_t n, cap;
	int want_value;          /* map: keys[n - 1] waits for its value */
	size_t *slots;           /* map: open-addressing set of key index + 1, for duplicate keys */
	size_t nslots;
};

struct ystate {
	struct lt_ytree *t;
	struct lt_err *e;
	struct frame stack[LT_YTREE_MAX_DEPTH];
	size_t depth;
	size_t nodes;
	int docs;
	int done;
};

static void *arena_alloc(struct lt_ytree *t, size_t n)
{
	struct chunk *c = t->arena_;
	size_t align = alignof(max_align_t);
	void *p;

	n = (n + align - 1) / align * align;
	if (c == NULL || c->size - c->used < n) {
		size_t size = n > ARENA_CHUNK ? n : ARENA_CHUNK;

		c = lt_xmalloc(sizeof(*c) + size);
		c->next = t->arena_;
		c->used = 0;
		c->size = size;
		t->arena_ = c;
	}
	p = (char *)c->mem + c->used;
	c->used += n;
	return p;
}

static char *arena_strndup(struct lt_ytree *t, const char *s, size_t n)
{
	char *p = arena_alloc(t, n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void lt_ytree_free(struct lt_ytree *t)
{
	struct chunk *c, *next;

	if (t == NULL)
		return;
	for (c = t->arena_; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	free(t);
}

/* ---- errors ---------------------------------------------------------------------------- */

static int verr_at(struct lt_err *e, const char *file, int line, int col, const char *code,
		   const char *fmt, va_list ap)
{
	char msg[LT_ERR_MSG];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	return lt_err_at(e, file, line, col, code, "%s", msg);
}

int lt_ynode_err(const struct lt_ynode *n, struct lt_err *e, const char *code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (n != NULL)
		verr_at(e, n->file, n->line, n->col, code, fmt, ap);
	else
		verr_at(e, NULL, 0, 0, code, fmt, ap);
	va_end(ap);
	return -1;
}

static int mark_err(struct ystate *s, const yaml_mark_t *m, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int mark_err(struct ystate *s, const yaml_mark_t *m, const char *code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verr_at(s->e, s->t->file, (int)m->line + 1, (int)m->column + 1, code, fmt, ap);
	va_end(ap);
	return -1;
}

void lt_ynode_show(const struct lt_ynode *n, char *buf, size_t size)
{
	char text[SHOW_MAX + 1];
	size_t len, i;

	if (size == 0)
		return;
	if (n == NULL) {
		snprintf(buf, size, "nothing");
		return;
	}
	if (n->type == LT_Y_MAP) {
		snprintf(buf, size, "a mapping");
		return;
	}
	if (n->type == LT_Y_SEQ) {
		snprintf(buf, size, "a list");
		return;
	}
	if (n->len == 0 && !n->quoted) {
		snprintf(buf, size, "an empty value");
		return;
	}
	len = n->len;
	if (len > SHOW_MAX) {
		/* Cut on a UTF-8 character boundary: never print half a Vietnamese letter. */
		len = SHOW_MAX;
		while (len > 0 && ((unsigned char)n->str[len] & 0xC0) == 0x80)
			len--;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)n->str[i];

		text[i] = (c < 0x20 || c == 0x7F) ? '?' : (char)c;
	}
	text[len] = '\0';
	snprintf(buf, size, "'%s%s'", text, len < n->len ? "..." : "");
}

/* libyaml's reader errors carry a byte offset, not a mark: count lines and characters. */
static void offset_pos(const char *buf, size_t len, size_t off, int *line, int *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off && i < len; i++) {
		if (buf[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)buf[i] & 0xC0) != 0x80) {
			(*col)++;
		}
	}
}

static int syntax_err(struct ystate *s, const yaml_parser_t *p, const char *buf, size_t len)
{
	const char *problem = p->problem ? p->problem : "invalid YAML";
	int line, col;

	if (p->error == YAML_MEMORY_ERROR)
		return lt_err_at(s->e, s->t->file, 0, 0, "yaml.syntax", "out of memory while parsing YAML");
	if (p->error == YAML_READER_ERROR) {
		offset_pos(buf, len, p->problem_offset, &line, &col);
		if (p->problem_value != -1)
			return lt_err_at(s->e, s->t->file, line, col, "yaml.syntax", "%s (0x%02X)", problem,
					 (unsigned)p->problem_value);
		return lt_err_at(s->e, s->t->file, line, col, "yaml.syntax", "%s", problem);
	}
	line = (int)p->problem_mark.line + 1;
	col = (int)p->problem_mark.column + 1;
	if (p->context != NULL)
		return lt_err_at(s->e, s->t->file, line, col, "yaml.syntax", "%s (%s at %d:%d)", problem,
				 p->context, (int)p->context_mark.line + 1, (int)p->context_mark.column + 1);
	return lt_err_at(s->e, s->t->file, line, col, "yaml.syntax", "%s", problem);
}

/* ---- scalar typing ------------------------------------------------------------------- */

static int is_one_of(const char *s, const char *const *set)
{
	for (; *set != NULL; set++)
		if (strcmp(s, *set) == 0)
			return 1;
	return 0;
}

#define DIGITS "0123456789"

static int is_int(const char *s)
{
	if (s[0] == '0' && s[1] == 'x')
		return s[2] != '\0' && s[2 + strspn(s + 2, DIGITS "abcdefABCDEF")] == '\0';
	if (s[0] == '0' && s[1] == 'o')
		return s[2] != '\0' && s[2 + strspn(s + 2, "01234567")] == '\0';
	if (*s == '-' || *s == '+')
		s++;
	return *s != '\0' && s[strspn(s, DIGITS)] == '\0';
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? and the infinities and NaN. */
static int is_float(const char *s)
{
	static const char *const special[] = { ".nan", ".NaN", ".NAN", NULL };
	static const char *const inf[] = { ".inf", ".Inf", ".INF", NULL };
	size_t n;

	if (is_one_of(s, special))
		return 1;
	if (*s == '-' || *s == '+')
		s++;
	if (is_one_of(s, inf))
		return 1;
	if (*s == '.') {
		n = strspn(s + 1, DIGITS);
		if (n == 0)
			return 0;
		s += 1 + n;
	} else {
		n = strspn(s, DIGITS);
		if (n == 0)
			return 0;
		s += n;
		if (*s == '.')
			s += 1 + strspn(s + 1, DIGITS);
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '-' || *s == '+')
			s++;
		n = strspn(s, DIGITS);
		if (n == 0)
			return 0;
		s += n;
	}
	return *s == '\0';
}

enum lt_yscalar lt_yscalar_kind(const struct lt_ynode *n)
{
	static const char *const nulls[] = { "null", "Null", "NULL", "~", NULL };
	static const char *const bools[] = { "true", "True", "TRUE", "false", "False", "FALSE", NULL };

	if (n == NULL)
		return LT_YS_NULL;
	if (n->type != LT_Y_SCALAR || n->quoted)
		return LT_YS_STRING;
	if (n->len == 0 || is_one_of(n->str, nulls))
		return LT_YS_NULL;
	if (is_one_of(n->str, bools))
		return LT_YS_BOOL;
	if (is_int(n->str))
		return LT_YS_INT;
	if (is_float(n->str))
		return LT_YS_FLOAT;
	return LT_YS_STRING;
}

/* ---- building the tree ---------------------------------------------------------------- */

/* The tags a config may spell out; libyaml hands them over resolved. */
#define CORE_PREFIX "tag:yaml.org,2002:"

static const struct core_tag {
	const char *name;
	enum lt_ytype type;
	enum lt_yscalar kind;    /* scalars: what the text must be */
} core_tags[] = {
	{ "str", LT_Y_SCALAR, LT_YS_STRING },
	{ "int", LT_Y_SCALAR, LT_YS_INT },
	{ "float", LT_Y_SCALAR, LT_YS_FLOAT },
	{ "bool", LT_Y_SCALAR, LT_YS_BOOL },
	{ "null", LT_Y_SCALAR, LT_YS_NULL },
	{ "seq", LT_Y_SEQ, LT_YS_STRING },
	{ "map", LT_Y_MAP, LT_YS_STRING },
};

static const char *type_name(enum lt_ytype type)
{
	return type == LT_Y_MAP ? "a mapping" : type == LT_Y_SEQ ? "a list" : "a scalar";
}

/* Refuses anchors and unknown tags on a node; *core is the core tag written, or NULL. */
static int check_props(struct ystate *s, const yaml_event_t *ev, const yaml_char_t *anchor,
		       const yaml_char_t *tag, enum lt_ytype type, const struct core_tag **core)
{
	const char *t = (const char *)tag;

	*core = NULL;
	if (anchor != NULL)
		return mark_err(s, &ev->start_mark, "yaml.alias",
				"anchors and aliases are not supported (&%.64s)", (const char *)anchor);
	if (t == NULL)
		return 0;
	if (strncmp(t, CORE_PREFIX, strlen(CORE_PREFIX)) == 0) {
		const char *name = t + strlen(CORE_PREFIX);

		for (size_t i = 0; i < sizeof(core_tags) / sizeof(core_tags[0]); i++) {
			if (strcmp(name, core_tags[i].name) != 0)
				continue;
			if (core_tags[i].type != type)
				return mark_err(s, &ev->start_mark, "yaml.tag", "tag !!%s does not fit %s",
						name, type_name(type));
			*core = &core_tags[i];
			return 0;
		}
		return mark_err(s, &ev->start_mark, "yaml.tag",
				"tag !!%.64s is not supported (only !!str, !!int, !!float, !!bool, !!null, "
				"!!seq and !!map)", name);
	}
	return mark_err(s, &ev->start_mark, "yaml.tag",
			"tag %.64s is not supported (only !!str, !!int, !!float, !!bool, !!null, !!seq and !!map)",
			t);
}

static struct lt_ynode *new_node(struct ystate *s, enum lt_ytype type, const yaml_mark_t *m)
{
	struct lt_ynode *n;

	if (++s->nodes > LT_YTREE_MAX_NODES) {
		mark_err(s, m, "yaml.limits", "more than %u YAML nodes in one file", (unsigned)LT_YTREE_MAX_NODES);
		return NULL;
	}
	n = arena_alloc(s->t, sizeof(*n));
	memset(n, 0, sizeof(*n));
	n->type = type;
	n->file = s->t->file;
	n->line = (int)m->line + 1;
	n->col = (int)m->column + 1;
	return n;
}

static void frame_push(struct frame *f, struct lt_ynode *key, struct lt_ynode *item)
{
	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 8;
		f->items = lt_xrealloc(f->items, f->cap * sizeof(*f->items));
		if (f->node->type == LT_Y_MAP)
			f->keys = lt_xrealloc(f->keys, f->cap * sizeof(*f->keys));
	}
	if (f->node->type == LT_Y_MAP)
		f->keys[f->n] = key;
	f->items[f->n] = item;
	f->n++;
}

static uint64_t hash_key(const struct lt_ynode *k)
{
	uint64_t h = 14695981039346656037ULL;

	for (size_t i = 0; i < k->len; i++) {
		h ^= (unsigned char)k->str[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static int same_key(const struct lt_ynode *a, const struct lt_ynode *b)
{
	return a->len == b->len && memcmp(a->str, b->str, a->len) == 0;
}

/* Returns the slot for key k: empty, or holding a key equal to k. */
static size_t *key_slot(struct frame *f, const struct lt_ynode *k)
{
	size_t mask = f->nslots - 1, i = (size_t)hash_key(k) & mask;

	while (f->slots[i] != 0 && !same_key(f->keys[f->slots[i] - 1], k))
		i = (i + 1) & mask;
	return &f->slots[i];
}

/* A hash set rather than a scan: a map with 100k keys must not cost 10^10 comparisons. */
static const struct lt_ynode *key_add(struct frame *f, const struct lt_ynode *k)
{
	size_t *slot;

	if ((f->n + 1) * 2 > f->nslots) {
		free(f->slots);
		f->nslots = f->nslots ? f->nslots * 2 : 16;
		f->slots = lt_xcalloc(f->nslots, sizeof(*f->slots));
		for (size_t i = 0; i < f->n; i++)
			*key_slot(f, f->keys[i]) = i + 1;
	}
	slot = key_slot(f, k);
	if (*slot != 0)
		return f->keys[*slot - 1];
	*slot = f->n + 1;
	return NULL;
}

static int attach(struct ystate *s, struct lt_ynode *n)
{
	struct frame *f;
	const struct lt_ynode *first;
	char show[SHOW_MAX + 8];

	if (s->depth == 0) {
		s->t->root = n;
		return 0;
	}
	f = &s->stack[s->depth - 1];
	if (f->node->type == LT_Y_SEQ) {
		frame_push(f, NULL, n);
		return 0;
	}
	if (f->want_value) {
		f->items[f->n - 1] = n;
		f->want_value = 0;
		return 0;
	}
	if (n->type != LT_Y_SCALAR)
		return lt_ynode_err(n, s->e, "yaml.syntax", "a mapping key must be a scalar, not %s",
				    type_name(n->type));
	first = key_add(f, n);
	if (first != NULL) {
		lt_ynode_show(n, show, sizeof(show));
		return lt_ynode_err(n, s->e, "yaml.duplicate_key", "duplicate key %s (first at %d:%d)", show,
				    first->line, first->col);
	}
	frame_push(f, n, NULL);
	f->want_value = 1;
	return 0;
}

static int on_scalar(struct ystate *s, const yaml_event_t *ev)
{
	const struct core_tag *core;
	struct lt_ynode *n;
	const char *value = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	enum lt_yscalar kind;

	if (check_props(s, ev, ev->data.scalar.anchor, ev->data.scalar.tag, LT_Y_SCALAR, &core) < 0)
		return -1;
	if (memchr(value, '\0', len) != NULL)
		return mark_err(s, &ev->start_mark, "yaml.syntax", "a NUL character (\\0) is not allowed in a value");
	n = new_node(s, LT_Y_SCALAR, &ev->start_mark);
	if (n == NULL)
		return -1;
	n->str = arena_strndup(s->t, value, len);
	n->len = len;
	n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
	if (core != NULL && core->kind == LT_YS_STRING) {
		n->quoted = 1;
	} else if (core != NULL) {
		/* !!int "12" is the integer 12: the tag, not the quotes, decides. */
		n->quoted = 0;
		kind = lt_yscalar_kind(n);
		if (kind != core->kind && !(core->kind == LT_YS_FLOAT && kind == LT_YS_INT)) {
			char show[SHOW_MAX + 8];

			lt_ynode_show(n, show, sizeof(show));
			return lt_ynode_err(n, s->e, "yaml.tag", "%s is not a valid !!%s", show, core->name);
		}
	}
	return attach(s, n);
}

static int on_start(struct ystate *s, const yaml_event_t *ev, enum lt_ytype type)
{
	const struct core_tag *core;
	const yaml_char_t *anchor, *tag;
	struct lt_ynode *n;
	struct frame *f;

	if (type == LT_Y_MAP) {
		anchor = ev->data.mapping_start.anchor;
		tag = ev->data.mapping_start.tag;
	} else {
		anchor = ev->data.sequence_start.anchor;
		tag = ev->data.sequence_start.tag;
	}
	if (check_props(s, ev, anchor, tag, type, &core) < 0)
		return -1;
	if (s->depth == LT_YTREE_MAX_DEPTH)
		return mark_err(s, &ev->start_mark, "yaml.limits", "nested deeper than %d levels",
				LT_YTREE_MAX_DEPTH);
	n = new_node(s, type, &ev->start_mark);
	if (n == NULL || attach(s, n) < 0)
		return -1;
	f = &s->stack[s->depth++];
	memset(f, 0, sizeof(*f));
	f->node = n;
	return 0;
}

static void frame_release(struct frame *f)
{
	free(f->items);
	free(f->keys);
	free(f->slots);
	memset(f, 0, sizeof(*f));
}

static void on_end(struct ystate *s)
{
	struct frame *f = &s->stack[s->depth - 1];
	struct lt_ynode *n = f->node;

	n->n = f->n;
	if (f->n > 0) {
		n->items = arena_alloc(s->t, f->n * sizeof(*n->items));
		memcpy(n->items, f->items, f->n * sizeof(*n->items));
		if (n->type == LT_Y_MAP) {
			n->keys = arena_alloc(s->t, f->n * sizeof(*n->keys));
			memcpy(n->keys, f->keys, f->n * sizeof(*n->keys));
		}
	}
	frame_release(f);
	s->depth--;
}

static int on_event(struct ystate *s, const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (s->docs++ > 0)
			return mark_err(s, &ev->start_mark, "yaml.syntax",
					"a second YAML document (a file holds exactly one)");
		return 0;
	case YAML_STREAM_END_EVENT:
		s->done = 1;
		return 0;
	case YAML_ALIAS_EVENT:
		return mark_err(s, &ev->start_mark, "yaml.alias", "anchors and aliases are not supported (*%.64s)",
				(const char *)ev->data.alias.anchor);
	case YAML_SCALAR_EVENT:
		return on_scalar(s, ev);
	case YAML_SEQUENCE_START_EVENT:
		return on_start(s, ev, LT_Y_SEQ);
	case YAML_MAPPING_START_EVENT:
		return on_start(s, ev, LT_Y_MAP);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		on_end(s);
		return 0;
	default:
		return 0;
	}
}

int lt_ytree_parse(const char *file, const char *buf, size_t len, struct lt_ytree **out, struct lt_err *e)
{
	struct ystate s;
	yaml_parser_t p;
	yaml_event_t ev;
	int rc = -1, r;

	if (len > LT_YTREE_MAX_FILE)
		return lt_err_at(e, file, 0, 0, "yaml.limits", "file is larger than %u bytes",
				 (unsigned)LT_YTREE_MAX_FILE);
	memset(&s, 0, sizeof(s));
	s.e = e;
	s.t = lt_xcalloc(1, sizeof(*s.t));
	s.t->file = arena_strndup(s.t, file, strlen(file));
	if (!yaml_parser_initialize(&p)) {
		lt_ytree_free(s.t);
		return lt_err_at(e, file, 0, 0, "yaml.syntax", "cannot initialise the YAML parser");
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	while (!s.done) {
		if (!yaml_parser_parse(&p, &ev)) {
			syntax_err(&s, &p, buf, len);
			goto out;
		}
		r = on_event(&s, &ev);
		yaml_event_delete(&ev);
		if (r < 0)
			goto out;
	}
	/* `---` alone is an empty document, like a file holding only comments. */
	if (s.t->root != NULL && s.t->root->type == LT_Y_SCALAR && !s.t->root->quoted && s.t->root->len == 0)
		s.t->root = NULL;
	*out = s.t;
	s.t = NULL;
	rc = 0;
out:
	while (s.depth > 0)
		frame_release(&s.stack[--s.depth]);
	yaml_parser_delete(&p);
	lt_ytree_free(s.t);
	return rc;
}

int lt_ytree_load(const char *path, struct lt_ytree **out, struct lt_err *e)
{
	char *buf;
	size_t len;
	int rc;

	if (lt_read_file(path, LT_YTREE_MAX_FILE, &buf, &len, e) < 0) {
		if (e != NULL && strcmp(e->code, "file.too_large") == 0)
			snprintf(e->code, sizeof(e->code), "yaml.limits");
		return -1;
	}
	rc = lt_ytree_parse(path, buf, len, out, e);
	free(buf);
	return rc;
}

const struct lt_ynode *lt_ymap_get(const struct lt_ynode *m, const char *key)
{
	size_t len;

	if (m == NULL || m->type != LT_Y_MAP)
		return NULL;
	len = strlen(key);
	for (size_t i = 0; i < m->n; i++)
		if (m->keys[i]->len == len && memcmp(m->keys[i]->str, key, len) == 0)
			return m->items[i];
	return NULL;
}

/* ---- typed getters ---------------------------------------------------------------------- */

/* "expected WHAT, got 'x'", with a hint when quotes made a number or a boolean a string. */
static int type_err(const struct lt_ynode *n, struct lt_err *e, const char *what)
{
	char show[SHOW_MAX + 8];

	lt_ynode_show(n, show, sizeof(show));
	if (n != NULL && n->type == LT_Y_SCALAR && n->quoted) {
		struct lt_ynode plain = *n;

		plain.quoted = 0;
		if (lt_yscalar_kind(&plain) != LT_YS_STRING)
			return lt_ynode_err(n, e, "config.type", "expected %s, got %s (quoted, so a string)",
					    what, show);
	}
	return lt_ynode_err(n, e, "config.type", "expected %s, got %s", what, show);
}

int lt_yget_str(const struct lt_ynode *n, const char **out, struct lt_err *e)
{
	if (n == NULL || n->type != LT_Y_SCALAR)
		return type_err(n, e, "a string");
	*out = n->str;
	return 0;
}

int lt_yget_bool(const struct lt_ynode *n, int *out, struct lt_err *e)
{
	if (lt_yscalar_kind(n) != LT_YS_BOOL)
		return type_err(n, e, "a boolean (true or false)");
	*out = n->str[0] == 't' || n->str[0] == 'T';
	return 0;
}

int lt_yget_int(const struct lt_ynode *n, long long *out, struct lt_err *e)
{
	const char *s;
	char *end;
	int base = 10;
	long long v;

	if (n == NULL || n->type != LT_Y_SCALAR || lt_yscalar_kind(n) != LT_YS_INT)
		return type_err(n, e, "an integer");
	s = n->str;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
		base = s[1] == 'x' ? 16 : 8;
		s += 2;
	}
	errno = 0;
	v = strtoll(s, &end, base);
	if (errno == ERANGE || *end != '\0') {
		char show[SHOW_MAX + 8];

		lt_ynode_show(n, show, sizeof(show));
		return lt_ynode_err(n, e, "config.type", "integer %s is out of range", show);
	}
	*out = v;
	return 0;
}

int lt_yget_duration(const struct lt_ynode *n, long long *ms, struct lt_err *e)
{
	if (n == NULL || n->type != LT_Y_SCALAR || lt_parse_duration_ms(n->str, ms) < 0)
		return type_err(n, e, "a duration such as 250ms, 2s or 5m");
	return 0;
}

int lt_yget_size(const struct lt_ynode *n, size_t *out, struct lt_err *e)
{
	if (n == NULL || n->type != LT_Y_SCALAR || lt_parse_size(n->str, out) < 0)
		return type_err(n, e, "a size such as 512, 64KiB or 1MiB");
	return 0;
}

/* ---- secrets ------------------------------------------------------------------------------ */

#define ENV_NAME_MAX 128
#define REF_SHOW     48

static int env_name_ok(const char *s, size_t n)
{
	if (n == 0 || n > ENV_NAME_MAX || (s[0] >= '0' && s[0] <= '9'))
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!(c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
			return 0;
	}
	return 1;
}

/* ref is "NAME" or "NAME:-default" (the text after "${env:" up to "}"). */
static int expand_env(struct lt_buf *b, const char *ref, size_t n, struct lt_err *e)
{
	const char *dflt = NULL, *val;
	size_t name_len = n;
	char name[ENV_NAME_MAX + 1];

	for (size_t i = 0; i + 1 < n; i++) {
		if (ref[i] == ':' && ref[i + 1] == '-') {
			name_len = i;
			dflt = ref + i + 2;
			break;
		}
	}
	if (!env_name_ok(ref, name_len))
		return lt_err_set(e, 0, "config.secret",
				  "'${env:%.*s}': a variable name is letters, digits and _, not starting with a digit",
				  (int)(name_len < REF_SHOW ? name_len : REF_SHOW), ref);
	memcpy(name, ref, name_len);
	name[name_len] = '\0';
	val = getenv(name);
	if (val != NULL && *val != '\0') {
		lt_buf_puts(b, val);
		return 0;
	}
	if (dflt != NULL) {
		lt_buf_append(b, dflt, n - (size_t)(dflt - ref));
		return 0;
	}
	if (val == NULL)
		return lt_err_set(e, 0, "config.secret", "environment variable %s is not set", name);
	return lt_err_set(e, 0, "config.secret",
			  "environment variable %s is empty (write ${env:%s:-} if empty is meant)", name, name);
}

static int expand_file(struct lt_buf *b, const char *ref, size_t n, const char *basedir, struct lt_err *e)
{
	char *rel, *path, *data = NULL;
	size_t len;
	int rc = -1;

	if (n == 0)
		return lt_err_set(e, 0, "config.secret", "'${file:}' needs a file name");
	rel = lt_xstrndup(ref, n);
	path = lt_path_join(basedir, rel);
	if (lt_read_file(path, LT_SECRET_FILE_MAX, &data, &len, e) < 0) {
		lt_err_wrap(e, 0, "config.secret", "secret file %s", rel);
		goto out;
	}
	if (memchr(data, '\0', len) != NULL) {
		lt_err_set(e, 0, "config.secret", "secret file %s contains a NUL byte", rel);
		goto out;
	}
	/* One trailing newline is what `echo secret > file` leaves; it is never part of the secret. */
	if (len > 0 && data[len - 1] == '\n') {
		len--;
		if (len > 0 && data[len - 1] == '\r')
			len--;
	}
	lt_buf_append(b, data, len);
	rc = 0;
out:
	free(data);
	free(path);
	free(rel);
	return rc;
}

int lt_expand_secrets(const char *s, const char *basedir, char **out, int *secret, struct lt_err *e)
{
	struct lt_buf b;
	const char *p = s, *d, *end, *ref;
	int expanded = 0;

	lt_buf_init(&b, LT_SECRET_OUT_MAX);
	while ((d = strchr(p, '$')) != NULL) {
		lt_buf_append(&b, p, (size_t)(d - p));
		if (d[1] == '$' && d[2] == '{') {
			lt_buf_puts(&b, "${");
			p = d + 3;
			continue;
		}
		if (d[1] != '{') {
			lt_buf_putc(&b, '$');
			p = d + 1;
			continue;
		}
		ref = d + 2;
		end = strchr(ref, '}');
		if (end == NULL) {
			lt_err_set(e, 0, "config.secret", "'%.*s' has no closing } (write $${ for a literal ${)",
				   REF_SHOW, d);
			goto fail;
		}
		if (strncmp(ref, "env:", 4) == 0) {
			if (expand_env(&b, ref + 4, (size_t)(end - ref - 4), e) < 0)
				goto fail;
		} else if (strncmp(ref, "file:", 5) == 0) {
			if (expand_file(&b, ref + 5, (size_t)(end - ref - 5), basedir, e) < 0)
				goto fail;
		} else {
			lt_err_set(e, 0, "config.secret",
				   "unknown reference '${%.*s}' (expected ${env:NAME}, ${env:NAME:-default} or "
				   "${file:PATH}; write $${ for a literal ${)",
				   (int)((size_t)(end - ref) < REF_SHOW ? (size_t)(end - ref) : REF_SHOW), ref);
			goto fail;
		}
		expanded = 1;
		p = end + 1;
	}
	lt_buf_puts(&b, p);
	if (b.overflow) {
		lt_err_set(e, 0, "config.secret", "the expanded value is longer than %u bytes",
			   (unsigned)LT_SECRET_OUT_MAX);
		goto fail;
	}
	*out = lt_buf_take(&b, NULL);
	if (secret != NULL)
		*secret = expanded;
	return 0;
fail:
	lt_buf_free(&b);
	return -1;
}

int lt_yget_expand(const struct lt_ynode *n, const char *basedir, char **out, int *secret, struct lt_err *e)
{
	const char *s = NULL;

	if (lt_yget_str(n, &s, e) < 0)
		return -1;
	if (lt_expand_secrets(s, basedir, out, secret, e) < 0) {
		if (e != NULL) {
			snprintf(e->file, sizeof(e->file), "%s", n->file);
			e->line = n->line;
			e->col = n->col;
		}
		return -1;
	}
	return 0;
}
