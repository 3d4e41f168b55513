/* map.c: the mapping engine (gateway/map.h). Owns the compiled form of a mapping file (sections,
 * fields, input and output paths, templates, `when` conditions, examples), applying a section to
 * a document, and running a file's examples.
 *
 * Everything is parsed once by lt_map_parse: paths become segment arrays, output names become
 * nested-object segments, rules become steps (gateway/map_rules.c). Applying a section walks
 * those structures and never looks at the YAML again. A document is built into a new tree and
 * only handed over whole: a rule that fails leaves nothing half-mapped behind. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "adapters/form.h"
#include "adapters/json.h"
#include "adapters/xml.h"
#include "gateway/map.h"
#include "gateway/map_rules.h"
#include "gateway/util.h"
#include "gateway/ytree.h"

#define MAX_INDEX     1000000000u           /* fees[N]: N below this */
#define TEMPLATE_MAX  (64u * 1024)          /* bytes a template may produce */
#define EXAMPLE_MAX   (8u * 1024 * 1024)    /* bytes of an example file */
#define DIFF_MAX      10                    /* differences reported per example */
#define SHOW_DIFF     80                    /* bytes of a value shown in a difference */

/* The field keys the engine handles itself; every other key is looked up in the rule table. */
#define FIELD_KEYS "from, value, var, template, default, required, when, mask, each, fields, render"

/* ---- compiled structures ---------------------------------------------------------------------- */

enum seg_kind { SEG_KEY, SEG_INDEX, SEG_ALL };

struct seg {
	enum seg_kind kind;
	char *name;              /* SEG_KEY */
	size_t len;
	size_t index;            /* SEG_INDEX */
};

/* An input path: `a.b`, `fees[0].amount`, `fees[].code`, `$root.x`. */
struct path {
	char *text;              /* as written, for messages */
	int root;                /* starts at the document root even inside `each` */
	int every;               /* has a [] segment: the result is a list */
	int one_is_list;         /* read from XML: one element where a list is expected is a list of one */
	size_t n;
	struct seg *seg;
};

/* A template part: literal text, or (path != NULL) the text of an input value. */
struct tpart {
	char *lit;
	size_t len;
	struct path *path;
};

struct when {
	struct path path;
	json_t *equals;          /* NULL: a presence test */
	char *equals_text;       /* the text equals is compared as */
	size_t equals_len;
	int present;
};

enum take { TAKE_NONE, TAKE_FROM, TAKE_VALUE, TAKE_VAR, TAKE_TEMPLATE };

struct field {
	char *label;             /* output name without "[]", for error paths ("data") */
	char **out;              /* output segments: "a.b.c" -> a, b, c */
	size_t *out_len;         /* their lengths: inserting needs no strlen per value */
	size_t nout;
	int line, col;
	enum take take;
	struct path from;        /* TAKE_FROM */
	json_t *value;           /* TAKE_VALUE */
	char *var;               /* TAKE_VAR */
	struct tpart *tpl;       /* TAKE_TEMPLATE */
	size_t ntpl;
	char *src;               /* where the value comes from, for messages: "field 'code'" */
	json_t *dflt;            /* NULL when there is no default */
	int required, req_line, req_col;
	int masked;
	struct when *when;
	struct lt_rule *steps;
	size_t nsteps;
	int is_each;             /* each + fields: a list with one object per input item */
	struct path each;
	int each_line, each_col;
	struct field *fields;
	size_t nfields;
	struct lt_map_section *render;   /* render: a nested document written as text */
	const struct lt_rule *sign;      /* hmac: made from the finished object (a step of steps) */
};

struct lt_map_section {
	const struct lt_map *map;
	enum lt_fmt in, out;
	struct field *fields;
	size_t nfields;
	char **masked;           /* output paths of masked fields ("data[].Email") */
	size_t nmasked;
	/* XML and SOAP (adapters/xml.h) */
	struct lt_xml_ns *ns;    /* namespaces: the mapping's prefixes, for input and output */
	size_t nns;
	char *root;              /* root: the element written (inside Body for SOAP) */
	int soap;                /* soap.version: 11 or 12 */
	char *action;            /* soap.action ("" when not given) */
	char *ctype;             /* the content type SOAP 1.2 output goes with (action inside) */
	char **cdata;            /* output paths of render fields, written as CDATA */
	size_t ncdata;
	int rendered;            /* a render: section, written without an XML declaration */
};

struct ex_part {
	int present;
	char *in, *expect;       /* as written, relative to the mapping file */
	json_t *vars;            /* object of strings */
	int line, col;
};

struct example {
	char *name;
	struct ex_part req, resp;
};

struct lt_map {
	char *file, *dir;
	struct lt_map_section *request, *response;
	struct example *ex;
	size_t nex;
};

static const char *const fmt_names[] = { "json", "xml", "soap", "form", "query" };

/* ---- freeing ---------------------------------------------------------------------------------- */

static void path_free(struct path *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->seg[i].name);
	free(p->seg);
	free(p->text);
	memset(p, 0, sizeof(*p));
}

static void section_free(struct lt_map_section *s);

static void fields_free(struct field *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct field *x = &f[i];

		free(x->label);
		for (size_t k = 0; k < x->nout; k++)
			free(x->out[k]);
		free(x->out);
		free(x->out_len);
		path_free(&x->from);
		json_decref(x->value);
		free(x->var);
		for (size_t k = 0; k < x->ntpl; k++) {
			free(x->tpl[k].lit);
			if (x->tpl[k].path != NULL)
				path_free(x->tpl[k].path);
			free(x->tpl[k].path);
		}
		free(x->tpl);
		free(x->src);
		json_decref(x->dflt);
		if (x->when != NULL) {
			path_free(&x->when->path);
			json_decref(x->when->equals);
			free(x->when->equals_text);
			free(x->when);
		}
		for (size_t k = 0; k < x->nsteps; k++)
			lt_rule_release(&x->steps[k]);
		free(x->steps);
		path_free(&x->each);
		fields_free(x->fields, x->nfields);
		section_free(x->render);
	}
	free(f);
}

static void strings_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void section_free(struct lt_map_section *s)
{
	if (s == NULL)
		return;
	fields_free(s->fields, s->nfields);
	strings_free(s->masked, s->nmasked);
	strings_free(s->cdata, s->ncdata);
	for (size_t i = 0; i < s->nns; i++) {
		free(s->ns[i].prefix);
		free(s->ns[i].uri);
	}
	free(s->ns);
	free(s->root);
	free(s->action);
	free(s->ctype);
	free(s);
}

static void part_free(struct ex_part *p)
{
	free(p->in);
	free(p->expect);
	json_decref(p->vars);
}

void lt_map_free(struct lt_map *m)
{
	if (m == NULL)
		return;
	section_free(m->request);
	section_free(m->response);
	for (size_t i = 0; i < m->nex; i++) {
		free(m->ex[i].name);
		part_free(&m->ex[i].req);
		part_free(&m->ex[i].resp);
	}
	free(m->ex);
	free(m->file);
	free(m->dir);
	free(m);
}

/* ---- compiling: helpers ---------------------------------------------------------------------- */

/* Compile context: problems go to d, and compiling goes on so that one `check` shows them all. */
struct cc {
	struct lt_map *m;
	struct lt_diags *d;
	int errors;
	const struct lt_map_section *in;   /* the section whose input paths read: its prefixes name them */
};

static int bad(struct cc *c, const struct lt_ynode *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int bad(struct cc *c, const struct lt_ynode *n, const char *fmt, ...)
{
	char msg[LT_ERR_MSG];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	lt_diags_add(c->d, 0, n->file, n->line, n->col, "%s", msg);
	c->errors++;
	return -1;
}

static int bad_err(struct cc *c, const struct lt_err *e)
{
	lt_diags_add_err(c->d, e);
	c->errors++;
	return -1;
}

static int get_bool(struct cc *c, const struct lt_ynode *n, int *out)
{
	struct lt_err e;

	lt_err_clear(&e);
	if (lt_yget_bool(n, out, &e) < 0)
		return bad_err(c, &e);
	return 0;
}

static int get_str(struct cc *c, const struct lt_ynode *n, const char **out)
{
	struct lt_err e;

	lt_err_clear(&e);
	if (lt_yget_str(n, out, &e) < 0)
		return bad_err(c, &e);
	return 0;
}

static json_t *get_value(struct cc *c, const struct lt_ynode *n)
{
	struct lt_err e;
	json_t *v;

	lt_err_clear(&e);
	v = lt_rule_yvalue(n, &e);
	if (v == NULL)
		bad_err(c, &e);
	return v;
}

/* Refuses keys of map n that are not in known (a comma-separated list). */
static int only_keys(struct cc *c, const struct lt_ynode *n, const char *what, const char *known)
{
	int rc = 0;

	for (size_t i = 0; i < n->n; i++) {
		const char *k = n->keys[i]->str, *p = known;
		size_t len = strlen(k);
		int found = 0;

		while (*p != '\0' && !found) {
			size_t w = strcspn(p, ",");

			found = w == len && memcmp(p, k, len) == 0;
			p += w;
			p += strspn(p, ", ");
		}
		if (!found)
			rc = bad(c, n->keys[i], "unknown key '%s' in %s (known: %s)", k, what, known);
	}
	return rc;
}

static int name_char(unsigned char ch)
{
	return ch > 0x20 && ch != 0x7f && ch != '.' && ch != '[' && ch != ']' && ch != '{' && ch != '}';
}

static void seg_add(struct path *p, enum seg_kind kind, const char *name, size_t len, size_t index)
{
	struct seg *sg;

	p->seg = lt_xrealloc(p->seg, (p->n + 1) * sizeof(*p->seg));
	sg = &p->seg[p->n++];
	sg->kind = kind;
	sg->name = name != NULL ? lt_xstrndup(name, len) : NULL;
	sg->len = len;
	sg->index = index;
	p->every |= kind == SEG_ALL;
}

/* Parses an input path: parts `name[N][]...` joined by dots, a part without a name only first
 * ("[0].code" on a list document), optionally after `$root`. On error writes why. Names may hold
 * ':' and '@' so that XML's `ns:Name` and `@attr` come later without a new parser. */
static int path_parse(const char *s, size_t len, struct path *p, char *why, size_t whyn)
{
	size_t i = 0;
	int first = 1;

	memset(p, 0, sizeof(*p));
	p->text = lt_xstrndup(s, len);
	if (len >= 5 && memcmp(s, "$root", 5) == 0 && (len == 5 || s[5] == '.' || s[5] == '[')) {
		p->root = 1;
		i = 5;
		if (i == len)
			return 0;
		if (s[i] == '.')
			i++, first = 0;
	}
	for (;;) {
		size_t start = i;

		while (i < len && name_char((unsigned char)s[i]))
			i++;
		if (i > start)
			seg_add(p, SEG_KEY, s + start, i - start, 0);
		else if (!first || i >= len || s[i] != '[')
			break;
		while (i < len && s[i] == '[') {
			size_t v = 0, d = ++i;

			while (i < len && s[i] >= '0' && s[i] <= '9' && v < MAX_INDEX)
				v = v * 10 + (size_t)(s[i++] - '0');
			if (i >= len || s[i] != ']' || (i - d > 1 && s[d] == '0') || v >= MAX_INDEX) {
				snprintf(why, whyn, "bad index at character %zu (write [N] or [])", d);
				return -1;
			}
			seg_add(p, i == d ? SEG_ALL : SEG_INDEX, NULL, 0, v);
			i++;
		}
		first = 0;
		if (i == len)
			return 0;
		if (s[i] != '.') {
			snprintf(why, whyn, "unexpected '%c' at character %zu", s[i], i + 1);
			return -1;
		}
		i++;
	}
	if (i < len && s[i] != '.' && s[i] != '[')
		snprintf(why, whyn, "unexpected '%c' at character %zu", s[i], i + 1);
	else
		snprintf(why, whyn, "a name is missing at character %zu", i + 1);
	return -1;
}

/* Reading XML or SOAP, a prefixed name in a path must use a prefix the section declares: an
 * undeclared one could never match, and would silently map nothing. */
static int path_names_check(struct cc *c, const struct lt_ynode *n, struct path *p)
{
	char why[LT_ERR_MSG / 2];

	if (c->in == NULL || (c->in->in != LT_FMT_XML && c->in->in != LT_FMT_SOAP))
		return 0;
	/* XML cannot say "a list of one": a single element is that list. */
	p->one_is_list = 1;
	for (size_t i = 0; i < p->n; i++) {
		const char *name = p->seg[i].name;

		if (p->seg[i].kind == SEG_KEY && strchr(name, ':') != NULL &&
		    lt_xml_name_check(name, name[0] == '@', c->in->ns, c->in->nns, why, sizeof(why)) < 0)
			return bad(c, n, "invalid path '%s': %s", p->text, why);
	}
	return 0;
}

static int path_compile(struct cc *c, const struct lt_ynode *n, struct path *p)
{
	const char *s;
	char why[128];

	if (get_str(c, n, &s) < 0)
		return -1;
	if (path_parse(s, n->len, p, why, sizeof(why)) < 0) {
		path_free(p);
		return bad(c, n, "invalid path '%s': %s", s, why);
	}
	return path_names_check(c, n, p);
}

/* ---- compiling: fields ----------------------------------------------------------------------- */

/* "a.b.c" or, for a list, "items[]": plain names, no indices. */
static int out_compile(struct cc *c, const struct lt_ynode *key, struct field *f, int *list)
{
	const char *s = key->str;
	size_t len = key->len, cap = 4;

	*list = len >= 2 && memcmp(s + len - 2, "[]", 2) == 0;
	if (*list)
		len -= 2;
	f->label = lt_xstrndup(s, len);
	f->out = lt_xcalloc(cap, sizeof(*f->out));
	f->out_len = lt_xcalloc(cap, sizeof(*f->out_len));
	for (size_t i = 0; i <= len;) {
		size_t w = 0;

		while (i + w < len && s[i + w] != '.' && name_char((unsigned char)s[i + w]))
			w++;
		if (w == 0 || (i + w < len && s[i + w] != '.'))
			return bad(c, key, "invalid output name '%s': write names separated by dots, with [] only at the end",
				   s);
		if (f->nout == cap) {
			cap *= 2;
			f->out = lt_xrealloc(f->out, cap * sizeof(*f->out));
			f->out_len = lt_xrealloc(f->out_len, cap * sizeof(*f->out_len));
		}
		f->out_len[f->nout] = w;
		f->out[f->nout++] = lt_xstrndup(s + i, w);
		i += w + 1;
	}
	return 0;
}

static int template_compile(struct cc *c, const struct lt_ynode *n, struct field *f)
{
	const char *s;
	struct lt_buf lit;
	size_t i = 0, cap = 4;
	char why[128];

	if (get_str(c, n, &s) < 0)
		return -1;
	f->tpl = lt_xcalloc(cap, sizeof(*f->tpl));
	lt_buf_init(&lit, TEMPLATE_MAX);
	while (1) {
		int end = i >= n->len;

		if (!end && (s[i] == '{' || s[i] == '}') && i + 1 < n->len && s[i + 1] == s[i]) {
			lt_buf_putc(&lit, s[i]);   /* {{ and }} are literal braces */
			i += 2;
			continue;
		}
		if (end || s[i] == '{') {
			if (f->ntpl + 2 > cap) {
				/* Zeroed: a literal part is told from a path part by path == NULL. */
				f->tpl = lt_xrealloc(f->tpl, (cap * 2) * sizeof(*f->tpl));
				memset(f->tpl + cap, 0, cap * sizeof(*f->tpl));
				cap *= 2;
			}
			if (lit.len > 0) {
				f->tpl[f->ntpl].len = lit.len;
				f->tpl[f->ntpl++].lit = lt_buf_take(&lit, NULL);
				lt_buf_init(&lit, TEMPLATE_MAX);
			}
			if (end)
				break;
		}
		if (s[i] == '}') {
			lt_buf_free(&lit);
			return bad(c, n, "template '%s': '}' at character %zu closes nothing (write '}}' for a brace)", s, i + 1);
		}
		if (s[i] == '{') {
			const char *close = memchr(s + i, '}', n->len - i);
			struct path *p;

			if (close == NULL) {
				lt_buf_free(&lit);
				return bad(c, n, "template '%s': '{' at character %zu is not closed", s, i + 1);
			}
			p = lt_xcalloc(1, sizeof(*p));
			f->tpl[f->ntpl++].path = p;
			if (path_parse(s + i + 1, (size_t)(close - (s + i + 1)), p, why, sizeof(why)) < 0) {
				lt_buf_free(&lit);
				return bad(c, n, "template '%s': invalid path '%s': %s", s, p->text, why);
			}
			if (path_names_check(c, n, p) < 0) {
				lt_buf_free(&lit);
				return -1;
			}
			i = (size_t)(close - s) + 1;
			continue;
		}
		lt_buf_putc(&lit, s[i++]);
	}
	lt_buf_free(&lit);
	if (f->ntpl == 0)
		return bad(c, n, "template is empty");
	return 0;
}

static int when_compile(struct cc *c, const struct lt_ynode *n, struct field *f)
{
	const struct lt_ynode *path, *equals, *present;
	struct when *w;
	char buf[40];
	const char *s;
	size_t len;

	if (n->type != LT_Y_MAP)
		return bad(c, n, "when needs a mapping: { path: P, equals: V } or { path: P, present: true }");
	if (only_keys(c, n, "when", "path, equals, present") < 0)
		return -1;
	path = lt_ymap_get(n, "path");
	equals = lt_ymap_get(n, "equals");
	present = lt_ymap_get(n, "present");
	if (path == NULL || (equals == NULL) == (present == NULL))
		return bad(c, n, "when needs 'path' and one of 'equals' or 'present'");
	w = lt_xcalloc(1, sizeof(*w));
	f->when = w;
	if (path_compile(c, path, &w->path) < 0)
		return -1;
	if (present != NULL)
		return get_bool(c, present, &w->present);
	w->equals = get_value(c, equals);
	if (w->equals == NULL)
		return -1;
	if (lt_rule_text(w->equals, buf, sizeof(buf), &s, &len) < 0)
		return bad(c, equals, "equals needs a scalar");
	w->equals_text = lt_xstrndup(s, len);
	w->equals_len = len;
	return 0;
}

/* value: a constant; a string may take a secret from outside (${env:NAME}, ${file:PATH}), which
 * masks the field. */
static int value_compile(struct cc *c, const struct lt_ynode *n, struct field *f)
{
	struct lt_err e;
	char *s;
	int secret = 0;

	if (n->type != LT_Y_SCALAR || lt_yscalar_kind(n) != LT_YS_STRING) {
		f->value = get_value(c, n);
		return f->value == NULL ? -1 : 0;
	}
	lt_err_clear(&e);
	if (lt_yget_expand(n, c->m->dir, &s, &secret, &e) < 0)
		return bad_err(c, &e);
	f->value = json_string(s);
	free(s);
	if (f->value == NULL)
		return bad(c, n, "the value is not valid UTF-8");
	f->masked |= secret;
	return 0;
}

static void set_src(struct field *f, char *src)
{
	free(f->src);
	f->src = src;
}

static int take_set(struct cc *c, const struct lt_ynode *key, struct field *f, enum take t, const char **first)
{
	if (f->take != TAKE_NONE)
		return bad(c, key, "field '%s' has both '%s' and '%s'", f->label, *first, key->str);
	f->take = t;
	*first = key->str;
	return 0;
}

static int rule_add(struct cc *c, const struct lt_ynode *key, const struct lt_ynode *val,
		    const struct lt_ynode *field, struct field *f)
{
	const struct lt_rule_def *def = lt_rule_find(key->str);
	struct lt_rule r = { 0 };
	struct lt_err e;
	char names[512];
	int rc;

	if (def == NULL) {
		lt_rule_names(names, sizeof(names));
		return bad(c, key, "unknown rule '%s' (known: %s, %s)", key->str, FIELD_KEYS, names);
	}
	r.def = def;
	r.order = def->order;
	r.line = key->line;
	r.col = key->col;
	lt_err_clear(&e);
	rc = def->compile(val, field, &r.arg, &e);
	if (rc < 0) {
		lt_rule_release(&r);
		return bad_err(c, &e);
	}
	if (rc == 1)
		return 0;
	f->steps = lt_xrealloc(f->steps, (f->nsteps + 1) * sizeof(*f->steps));
	f->steps[f->nsteps++] = r;
	return 0;
}

/* Puts the steps in rule order. `type` declares what the field produces: when a rule makes a
 * value of its own (date, regex, map), type converts the last such result instead of the taken
 * value (map keys are matched as text, so converting before the map would only refuse the inputs
 * the map exists to translate). */
static void steps_order(struct field *f)
{
	const struct lt_rule_def *type = lt_rule_find("type");
	int last = 0;

	for (size_t i = 0; i < f->nsteps; i++)
		if (f->steps[i].def->retypes && f->steps[i].order > last)
			last = f->steps[i].order;
	for (size_t i = 0; i < f->nsteps; i++)
		if (f->steps[i].def == type && last > 0)
			f->steps[i].order = last + 1;
	for (size_t i = 1; i < f->nsteps; i++) {
		struct lt_rule r = f->steps[i];
		size_t k = i;

		for (; k > 0 && f->steps[k - 1].order > r.order; k--)
			f->steps[k] = f->steps[k - 1];
		f->steps[k] = r;
	}
}

/* A default is written in output terms and used as is, but it must have the field's type. */
static int default_check(struct cc *c, const struct lt_ynode *n, struct field *f)
{
	const struct lt_rule_def *type = lt_rule_find("type");
	struct lt_err e;
	struct lt_rule_run rr = { c->m->file, "default", 0, 0, &e };

	for (size_t i = 0; i < f->nsteps; i++) {
		if (f->steps[i].def != type)
			continue;
		lt_err_clear(&e);
		if (type->apply(&f->steps[i], &f->dflt, &rr) < 0)
			return bad(c, n, "%s", e.msg);
	}
	return 0;
}

static void mask_add(struct lt_map_section *s, const char *prefix, const struct field *f)
{
	s->masked = lt_xrealloc(s->masked, (s->nmasked + 1) * sizeof(*s->masked));
	s->masked[s->nmasked++] = lt_xasprintf("%s%s", prefix, f->label);
}

static int fields_compile(struct cc *c, struct lt_map_section *s, const struct lt_ynode *n, const char *prefix,
			  struct field **out, size_t *nout);
static struct lt_map_section *render_compile(struct cc *c, const struct lt_map_section *outer, const struct lt_ynode *n);

/* Whether field n names a rule that makes the value itself (hmac), compiled or not: such a
 * field needs no take, and a broken hmac is one error, not two. */
static int sign_written(const struct lt_ynode *n)
{
	for (size_t i = 0; i < n->n; i++) {
		const struct lt_rule_def *def = lt_rule_find(n->keys[i]->str);

		if (def != NULL && def->sign != NULL)
			return 1;
	}
	return 0;
}

static int field_compile(struct cc *c, struct lt_map_section *s, const struct lt_ynode *key,
			 const struct lt_ynode *n, const char *prefix, struct field *f)
{
	const struct lt_ynode *fields = NULL, *dflt = NULL;
	const char *first = NULL;
	int list = 0, errors = c->errors;

	f->line = key->line;
	f->col = key->col;
	if (out_compile(c, key, f, &list) < 0)
		return -1;
	if (n->type != LT_Y_MAP)
		return bad(c, n, "field '%s' needs a mapping of rules, such as { from: path }", key->str);
	for (size_t i = 0; i < n->n; i++) {
		const struct lt_ynode *k = n->keys[i], *v = n->items[i];
		const char *name = k->str;

		if (strcmp(name, "from") == 0) {
			if (take_set(c, k, f, TAKE_FROM, &first) == 0 && path_compile(c, v, &f->from) == 0)
				set_src(f, lt_xasprintf("field '%s'", f->from.text));
		} else if (strcmp(name, "value") == 0) {
			if (take_set(c, k, f, TAKE_VALUE, &first) == 0)
				value_compile(c, v, f);
		} else if (strcmp(name, "var") == 0) {
			const char *var;

			if (take_set(c, k, f, TAKE_VAR, &first) == 0 && get_str(c, v, &var) == 0) {
				f->var = lt_xstrdup(var);
				set_src(f, lt_xasprintf("var '%s'", var));
				/* auth.* vars are credentials: never shown, whatever the mapping says. */
				f->masked |= strncmp(var, "auth.", 5) == 0;
			}
		} else if (strcmp(name, "template") == 0) {
			if (take_set(c, k, f, TAKE_TEMPLATE, &first) == 0 && template_compile(c, v, f) == 0)
				set_src(f, lt_xasprintf("template '%s'", v->str));
		} else if (strcmp(name, "default") == 0) {
			dflt = v;
			f->dflt = get_value(c, v);
		} else if (strcmp(name, "required") == 0) {
			get_bool(c, v, &f->required);
			f->req_line = k->line;
			f->req_col = k->col;
		} else if (strcmp(name, "mask") == 0) {
			int m = 0;

			get_bool(c, v, &m);
			f->masked |= m;
		} else if (strcmp(name, "when") == 0) {
			when_compile(c, v, f);
		} else if (strcmp(name, "each") == 0) {
			f->is_each = 1;
			f->each_line = k->line;
			f->each_col = k->col;
			if (path_compile(c, v, &f->each) == 0)
				set_src(f, lt_xasprintf("field '%s'", f->each.text));
		} else if (strcmp(name, "fields") == 0) {
			fields = v;
		} else if (strcmp(name, "render") == 0) {
			f->render = render_compile(c, s, v);
		} else {
			rule_add(c, k, v, n, f);
		}
	}
	for (size_t i = 0; i < f->nsteps; i++)
		if (f->steps[i].def->sign != NULL)
			f->sign = &f->steps[i];
	if (f->sign != NULL) {
		if (f->take != TAKE_NONE || f->dflt != NULL || f->render != NULL || list)
			bad(c, key, "field '%s' has '%s', which makes its value itself: it takes no from, value, var, "
			    "template, default or render", key->str, f->sign->def->name);
		/* A signature is a credential of the message: never shown. */
		f->masked = 1;
		set_src(f, lt_xasprintf("%s", f->sign->def->name));
	}
	if (f->src == NULL)
		f->src = lt_xstrdup(f->take == TAKE_VALUE ? "value" : f->render != NULL ? "render" : "default");
	if (f->render != NULL) {
		if (f->take != TAKE_NONE || f->is_each || f->nsteps > 0 || f->dflt != NULL || list)
			bad(c, key, "field '%s' has 'render', which makes its value itself: it takes no other rule", key->str);
		/* A secret inside the rendered text is inside the field. */
		f->masked |= f->render->nmasked > 0;
		if (s->out == LT_FMT_XML || s->out == LT_FMT_SOAP) {
			s->cdata = lt_xrealloc(s->cdata, (s->ncdata + 1) * sizeof(*s->cdata));
			s->cdata[s->ncdata++] = lt_xasprintf("%s%s", prefix, f->label);
		}
	}
	if (f->is_each) {
		if (f->take != TAKE_NONE)
			bad(c, key, "field '%s' has 'each', which takes its items itself: it cannot also have '%s'", key->str, first);
		if (fields == NULL)
			bad(c, key, "field '%s' has 'each' but no 'fields'", key->str);
		if (f->dflt != NULL)
			bad(c, key, "field '%s' has 'each': a missing list gives [], so it cannot have a default", key->str);
		if (f->nsteps > 0)
			bad(c, key, "field '%s' has 'each': rule '%s' does not apply to a list", key->str, f->steps[0].def->name);
		if (!list)
			bad(c, key, "field '%s' has 'each': write its name '%s[]'", key->str, key->str);
	} else {
		if (fields != NULL)
			bad(c, key, "field '%s' has 'fields' but no 'each'", key->str);
		if (list)
			bad(c, key, "field '%s' is a list: it needs 'each' and 'fields'", key->str);
		if (f->take == TAKE_NONE && f->dflt == NULL && f->render == NULL && !sign_written(n))
			bad(c, key, "field '%s' needs one of from, value, var, template, render or default", key->str);
	}
	steps_order(f);
	/* steps_order moved the steps: find the signing one again. */
	for (size_t i = 0; f->sign != NULL && i < f->nsteps; i++)
		if (f->steps[i].def->sign != NULL)
			f->sign = &f->steps[i];
	if (f->dflt != NULL)
		default_check(c, dflt, f);
	if (f->masked)
		mask_add(s, prefix, f);
	if (f->is_each && fields != NULL) {
		char *inner = lt_xasprintf("%s%s[].", prefix, f->label);

		fields_compile(c, s, fields, inner, &f->fields, &f->nfields);
		free(inner);
	}
	return c->errors > errors ? -1 : 0;
}

/* Two output names clash when one is the other or lies inside it ("a" and "a.b"). */
static int out_clash(const struct field *a, const struct field *b)
{
	size_t n = a->nout < b->nout ? a->nout : b->nout;

	for (size_t i = 0; i < n; i++)
		if (strcmp(a->out[i], b->out[i]) != 0)
			return 0;
	return 1;
}

static int fields_compile(struct cc *c, struct lt_map_section *s, const struct lt_ynode *n, const char *prefix,
			  struct field **out, size_t *nout)
{
	struct field *f;
	int errors = c->errors;

	if (n->type != LT_Y_MAP || n->n == 0)
		return bad(c, n, "fields needs a mapping of output names to rules");
	f = lt_xcalloc(n->n, sizeof(*f));
	*out = f;
	*nout = n->n;
	for (size_t i = 0; i < n->n; i++) {
		if (field_compile(c, s, n->keys[i], n->items[i], prefix, &f[i]) < 0 || f[i].nout == 0)
			continue;
		for (size_t k = 0; k < i; k++) {
			if (f[k].nout > 0 && out_clash(&f[k], &f[i])) {
				bad(c, n->keys[i], "output '%s' clashes with '%s' (line %d)", f[i].label, f[k].label, f[k].line);
				break;
			}
		}
	}
	return c->errors > errors ? -1 : 0;
}

static int fmt_compile(struct cc *c, const struct lt_ynode *n, enum lt_fmt *fmt)
{
	const char *s;

	if (get_str(c, n, &s) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(fmt_names) / sizeof(fmt_names[0]); i++) {
		if (strcmp(s, fmt_names[i]) != 0)
			continue;
		*fmt = (enum lt_fmt)i;
		return 0;
	}
	return bad(c, n, "unknown format '%s' (known: json, xml, soap, form, query)", s);
}

static int namespaces_compile(struct cc *c, struct lt_map_section *s, const struct lt_ynode *n)
{
	char why[LT_ERR_MSG / 2];

	if (n->type != LT_Y_MAP)
		return bad(c, n, "namespaces needs a mapping of prefixes to URIs: { t: \"http://tempuri.org/\" }");
	s->ns = lt_xcalloc(n->n ? n->n : 1, sizeof(*s->ns));
	for (size_t i = 0; i < n->n; i++) {
		const struct lt_ynode *k = n->keys[i], *v = n->items[i];
		const char *uri;

		if (strchr(k->str, ':') != NULL || lt_xml_name_check(k->str, 0, NULL, 0, NULL, 0) < 0 ||
		    strncasecmp(k->str, "xml", 3) == 0) {
			bad(c, k, "namespace prefix '%s' is not an XML name (or starts with 'xml', which is reserved)", k->str);
			continue;
		}
		if (get_str(c, v, &uri) < 0)
			continue;
		if (v->len == 0) {
			bad(c, v, "namespace '%s' needs a URI", k->str);
			continue;
		}
		/* Reported, but the prefix is kept: its uses are not errors of their own. */
		if (lt_xml_uri_check(uri, why, sizeof(why)) < 0)
			bad(c, v, "%s", why);
		for (size_t j = 0; j < s->nns; j++)
			if (strcmp(s->ns[j].uri, uri) == 0)
				bad(c, v, "namespace URI '%s' has two prefixes, '%s' and '%s'", uri, s->ns[j].prefix, k->str);
		s->ns[s->nns].prefix = lt_xstrdup(k->str);
		s->ns[s->nns++].uri = lt_xstrdup(uri);
	}
	return 0;
}

/* soap: { version: "1.1" | "1.2", action: "..." } */
static int soap_compile(struct cc *c, struct lt_map_section *s, const struct lt_ynode *n)
{
	const struct lt_ynode *v;
	const char *str;

	s->soap = 11;
	s->action = lt_xstrdup("");
	if (n->type != LT_Y_MAP)
		return bad(c, n, "soap needs a mapping: { version: \"1.1\", action: \"...\" }");
	only_keys(c, n, "soap", "version, action");
	if ((v = lt_ymap_get(n, "version")) != NULL && get_str(c, v, &str) == 0) {
		if (strcmp(str, "1.1") == 0 || strcmp(str, "1.2") == 0)
			s->soap = str[2] == '1' ? 11 : 12;
		else
			bad(c, v, "soap version '%s' is not \"1.1\" or \"1.2\"", str);
	}
	if ((v = lt_ymap_get(n, "action")) != NULL && get_str(c, v, &str) == 0) {
		/* It goes into a header, quoted: no quote, backslash or control character may end it early. */
		for (const char *p = str; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || *p == '"' || *p == '\\' || *p == 0x7f)
				return bad(c, v, "soap action may not hold quotes, backslashes or control characters");
		free(s->action);
		s->action = lt_xstrdup(str);
	}
	if (s->soap == 12)
		s->ctype = lt_xasprintf("application/soap+xml; charset=utf-8%s%s%s", s->action[0] ? "; action=\"" : "",
					s->action, s->action[0] ? "\"" : "");
	return 0;
}

/* The key node of key in map n (for a message at the key), or n itself. */
static const struct lt_ynode *key_of(const struct lt_ynode *n, const char *key)
{
	for (size_t i = 0; i < n->n; i++)
		if (strcmp(n->keys[i]->str, key) == 0)
			return n->keys[i];
	return n;
}

static int is_xmlish(enum lt_fmt f)
{
	return f == LT_FMT_XML || f == LT_FMT_SOAP;
}

/* root, namespaces and soap: what writing (and reading) XML and SOAP needs. */
static void xml_compile(struct cc *c, struct lt_map_section *s, const struct lt_ynode *n)
{
	const struct lt_ynode *v;
	char why[LT_ERR_MSG / 2];
	const char *str;

	if ((v = lt_ymap_get(n, "namespaces")) != NULL)
		namespaces_compile(c, s, v);
	if ((v = lt_ymap_get(n, "soap")) != NULL) {
		if (s->out != LT_FMT_SOAP)
			bad(c, key_of(n, "soap"), "'soap' is for 'out: soap'");
		soap_compile(c, s, v);
	} else if (s->out == LT_FMT_SOAP) {
		s->soap = 11;
		s->action = lt_xstrdup("");
	}
	if ((v = lt_ymap_get(n, "root")) != NULL) {
		if (!is_xmlish(s->out)) {
			bad(c, key_of(n, "root"), "'root' is for 'out: xml' and 'out: soap'");
		} else if (get_str(c, v, &str) == 0) {   /* str is set only then; get_str reported the rest */
			if (lt_xml_name_check(str, 0, s->ns, s->nns, why, sizeof(why)) < 0)
				bad(c, v, "root: %s", why);
			else
				s->root = lt_xstrdup(str);
		}
	} else if (is_xmlish(s->out)) {
		bad(c, n, "'out: %s' needs 'root', the element to write%s", fmt_names[s->out],
		    s->out == LT_FMT_SOAP ? " inside Body" : "");
	}
}

/* Writing XML, every output name is an element or an attribute name in the section's prefixes. */
static void out_names_check(struct cc *c, const struct lt_map_section *s, const struct field *f, size_t n)
{
	char why[LT_ERR_MSG / 2];

	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < f[i].nout; k++) {
			const char *name = f[i].out[k];
			int attr = name[0] == '@';

			if (attr && k + 1 < f[i].nout) {
				lt_diags_add(c->d, 0, c->m->file, f[i].line, f[i].col,
					     "output '%s': an attribute ('%s') has no children", f[i].label, name);
				c->errors++;
			} else if (lt_xml_name_check(name, attr, s->ns, s->nns, why, sizeof(why)) < 0 &&
				   strcmp(name, "#text") != 0) {
				lt_diags_add(c->d, 0, c->m->file, f[i].line, f[i].col, "output '%s': %s", f[i].label, why);
				c->errors++;
			}
		}
		out_names_check(c, s, f[i].fields, f[i].nfields);
	}
}

/* The keys a section may have; render: has no `in`, it reads what its field reads. */
#define SECTION_KEYS "in, out, fields, root, namespaces, soap"
#define RENDER_KEYS  "out, fields, root, namespaces"

static struct lt_map_section *section_new(struct cc *c, const struct lt_ynode *n, const char *which, const char *keys)
{
	struct lt_map_section *s = lt_xcalloc(1, sizeof(*s));
	const struct lt_ynode *v;

	s->map = c->m;
	s->in = s->out = LT_FMT_JSON;
	only_keys(c, n, which, keys);
	if ((v = lt_ymap_get(n, "in")) != NULL)
		fmt_compile(c, v, &s->in);
	if ((v = lt_ymap_get(n, "out")) != NULL)
		fmt_compile(c, v, &s->out);
	return s;
}

static void section_fields(struct cc *c, struct lt_map_section *s, const struct lt_ynode *n, const char *which)
{
	const struct lt_ynode *v;

	xml_compile(c, s, n);
	if ((v = lt_ymap_get(n, "fields")) == NULL) {
		bad(c, n, "%s needs 'fields'", which);
		return;
	}
	if (fields_compile(c, s, v, "", &s->fields, &s->nfields) == 0 && is_xmlish(s->out))
		out_names_check(c, s, s->fields, s->nfields);
}

static struct lt_map_section *section_compile(struct cc *c, const struct lt_ynode *n, const char *which)
{
	struct lt_map_section *s;

	if (n->type != LT_Y_MAP) {
		bad(c, n, "%s needs a mapping with 'fields'", which);
		return NULL;
	}
	s = section_new(c, n, which, SECTION_KEYS);
	/* A query string is what a caller puts in its URL: something the gateway reads, never writes. */
	if (s->out == LT_FMT_QUERY)
		bad(c, lt_ymap_get(n, "out"), "out: query is not supported (a query string is read from the "
		    "caller's URL); use form");
	if (s->in == LT_FMT_QUERY && strcmp(which, "request") != 0)
		bad(c, lt_ymap_get(n, "in"), "in: query is for a request (the caller's URL), not for an answer");
	c->in = s;
	/* Input paths are checked against the namespaces, so those come first. */
	section_fields(c, s, n, which);
	c->in = NULL;
	return s;
}

/* render: { out: xml | json, root, namespaces, fields }: fields read the outer section's input. */
static struct lt_map_section *render_compile(struct cc *c, const struct lt_map_section *outer, const struct lt_ynode *n)
{
	struct lt_map_section *s;

	if (n->type != LT_Y_MAP) {
		bad(c, n, "render needs a mapping: { out: xml, root: NAME, fields: ... }");
		return NULL;
	}
	s = section_new(c, n, "render", RENDER_KEYS);
	s->in = outer->in;
	s->rendered = 1;
	if (s->out != LT_FMT_JSON && s->out != LT_FMT_XML)
		bad(c, lt_ymap_get(n, "out"), "render writes 'out: xml' or 'out: json'");
	section_fields(c, s, n, "render");
	return s;
}

/* ---- compiling: examples --------------------------------------------------------------------- */

static void part_compile(struct cc *c, const struct lt_ynode *n, const char *which, struct ex_part *p)
{
	const struct lt_ynode *in, *expect, *vars;
	const char *s;

	p->present = 1;
	p->line = n->line;
	p->col = n->col;
	if (n->type != LT_Y_MAP) {
		bad(c, n, "example %s needs { in: FILE, expect: FILE }", which);
		return;
	}
	only_keys(c, n, which, "in, expect, vars");
	in = lt_ymap_get(n, "in");
	expect = lt_ymap_get(n, "expect");
	if (in == NULL || expect == NULL) {
		bad(c, n, "example %s needs both 'in' and 'expect'", which);
		return;
	}
	if (get_str(c, in, &s) == 0)
		p->in = lt_xstrdup(s);
	if (get_str(c, expect, &s) == 0)
		p->expect = lt_xstrdup(s);
	vars = lt_ymap_get(n, "vars");
	if (vars == NULL)
		return;
	if (vars->type != LT_Y_MAP) {
		bad(c, vars, "vars needs a mapping of names to values");
		return;
	}
	p->vars = json_object();
	for (size_t i = 0; i < vars->n; i++) {
		const struct lt_ynode *v = vars->items[i];

		if (v->type != LT_Y_SCALAR)
			bad(c, v, "var '%s' needs a scalar value", vars->keys[i]->str);
		else if (lt_yscalar_kind(v) != LT_YS_NULL)   /* null: the var is not set */
			json_object_set_new(p->vars, vars->keys[i]->str, json_stringn(v->str, v->len));
	}
}

static void examples_compile(struct cc *c, const struct lt_ynode *n)
{
	if (n->type != LT_Y_SEQ) {
		bad(c, n, "examples needs a list of { name, request: { in, expect }, response: { in, expect } }");
		return;
	}
	c->m->ex = lt_xcalloc(n->n ? n->n : 1, sizeof(*c->m->ex));
	c->m->nex = n->n;
	for (size_t i = 0; i < n->n; i++) {
		const struct lt_ynode *e = n->items[i], *v;
		struct example *ex = &c->m->ex[i];
		const char *s;

		if (e->type != LT_Y_MAP) {
			bad(c, e, "an example needs { name, request: { in, expect } }");
			continue;
		}
		only_keys(c, e, "example", "name, request, response");
		if ((v = lt_ymap_get(e, "name")) == NULL)
			bad(c, e, "an example needs a 'name'");
		else if (get_str(c, v, &s) == 0)
			ex->name = lt_xstrdup(s);
		if ((v = lt_ymap_get(e, "request")) != NULL)
			part_compile(c, v, "request", &ex->req);
		if ((v = lt_ymap_get(e, "response")) != NULL) {
			part_compile(c, v, "response", &ex->resp);
			if (c->m->response == NULL)
				bad(c, v, "example '%s' has a response, but the mapping has no response section",
				    ex->name ? ex->name : "");
		}
		if (!ex->req.present && !ex->resp.present)
			bad(c, e, "example '%s' needs 'request' or 'response'", ex->name ? ex->name : "");
	}
}

static int compile(const char *file, const struct lt_ytree *t, struct lt_map **out, struct lt_diags *d)
{
	struct cc c = { 0 };
	const struct lt_ynode *root = t->root, *v;

	c.m = lt_xcalloc(1, sizeof(*c.m));
	c.m->file = lt_xstrdup(file);
	c.m->dir = lt_path_dir(file);
	c.d = d;
	if (root == NULL || root->type != LT_Y_MAP) {
		lt_diags_add(d, 0, file, root ? root->line : 0, root ? root->col : 0,
			     "a mapping file needs 'request:' (and optionally 'response:' and 'examples:')");
		lt_map_free(c.m);
		return -1;
	}
	only_keys(&c, root, "a mapping file", "request, response, examples");
	if ((v = lt_ymap_get(root, "request")) == NULL)
		bad(&c, root, "a mapping file needs 'request:'");
	else
		c.m->request = section_compile(&c, v, "request");
	if ((v = lt_ymap_get(root, "response")) != NULL)
		c.m->response = section_compile(&c, v, "response");
	if ((v = lt_ymap_get(root, "examples")) != NULL)
		examples_compile(&c, v);
	if (c.errors > 0) {
		lt_map_free(c.m);
		return -1;
	}
	*out = c.m;
	return 0;
}

int lt_map_parse(const char *file, const char *buf, size_t len, struct lt_map **out, struct lt_diags *d)
{
	struct lt_ytree *t = NULL;
	struct lt_err e;
	int rc;

	lt_err_clear(&e);
	if (lt_ytree_parse(file, buf, len, &t, &e) < 0) {
		lt_diags_add_err(d, &e);
		return -1;
	}
	rc = compile(file, t, out, d);
	lt_ytree_free(t);
	return rc;
}

int lt_map_load(const char *path, struct lt_map **out, struct lt_diags *d)
{
	struct lt_ytree *t = NULL;
	struct lt_err e;
	int rc;

	lt_err_clear(&e);
	if (lt_ytree_load(path, &t, &e) < 0) {
		lt_diags_add_err(d, &e);
		return -1;
	}
	rc = compile(path, t, out, d);
	lt_ytree_free(t);
	return rc;
}

/* ---- accessors -------------------------------------------------------------------------------- */

const struct lt_map_section *lt_map_request(const struct lt_map *m)
{
	return m->request;
}

const struct lt_map_section *lt_map_response(const struct lt_map *m)
{
	return m->response;
}

enum lt_fmt lt_map_in(const struct lt_map_section *s)
{
	return s->in;
}

enum lt_fmt lt_map_out(const struct lt_map_section *s)
{
	return s->out;
}

const char *lt_map_content_type(const struct lt_map_section *s)
{
	switch (s->out) {
	case LT_FMT_JSON:
		return "application/json";
	case LT_FMT_XML:
		return "application/xml; charset=utf-8";
	case LT_FMT_SOAP:
		return s->soap == 12 ? s->ctype : "text/xml; charset=utf-8";
	case LT_FMT_FORM:
	case LT_FMT_QUERY:
		return "application/x-www-form-urlencoded";
	}
	return "application/octet-stream";
}

const char *lt_map_soap_action(const struct lt_map_section *s)
{
	return s->out == LT_FMT_SOAP && s->soap == 11 ? s->action : NULL;
}

size_t lt_map_masked(const struct lt_map_section *s, const char *const **paths)
{
	*paths = (const char *const *)s->masked;
	return s->nmasked;
}

/* ---- applying ---------------------------------------------------------------------------------- */

struct run {
	const struct lt_map_section *s;
	json_t *root;
	const struct lt_map_vars *vars;
	struct lt_err *e;
};

/* Where in the output we are: one level per `each` item, for relative paths and error paths. */
struct scope {
	const struct scope *up;
	const struct field *each;    /* NULL at the top */
	size_t index;
	json_t *item;                /* what relative input paths start from */
};

static json_t *seg_step(json_t *cur, const struct seg *sg)
{
	if (sg->kind == SEG_KEY)
		return json_is_object(cur) ? json_object_getn(cur, sg->name, sg->len) : NULL;
	return json_is_array(cur) ? json_array_get(cur, sg->index) : NULL;
}

static void collect(const struct path *p, size_t i, json_t *cur, json_t *acc)
{
	for (; i < p->n; i++) {
		if (p->seg[i].kind == SEG_ALL) {
			size_t k;
			json_t *item;

			if (!json_is_array(cur)) {
				if (p->one_is_list)
					collect(p, i + 1, cur, acc);
				return;
			}
			json_array_foreach(cur, k, item)
				collect(p, i + 1, item, acc);
			return;
		}
		if ((cur = seg_step(cur, &p->seg[i])) == NULL)
			return;
	}
	json_array_append(acc, cur);
}

/* The value at p: a new reference, or NULL when absent. With [] segments, the list of every value
 * found (NULL when none was). */
static json_t *path_get(const struct path *p, json_t *root, json_t *item)
{
	json_t *cur = p->root ? root : item, *acc;

	if (!p->every) {
		for (size_t i = 0; i < p->n && cur != NULL; i++)
			cur = seg_step(cur, &p->seg[i]);
		return json_incref(cur);
	}
	acc = json_array();
	collect(p, 0, cur, acc);
	if (json_array_size(acc) == 0) {
		json_decref(acc);
		return NULL;
	}
	return acc;
}

static void scope_path(const struct scope *sc, struct lt_buf *b)
{
	if (sc == NULL || sc->each == NULL)
		return;
	scope_path(sc->up, b);
	if (b->len > 0)
		lt_buf_putc(b, '.');
	lt_buf_printf(b, "%s[%zu]", sc->each->label, sc->index);
}

/* e->field: the output path of f with the indices of the items we are in ("data[0].MaHoSo"). */
static int field_failed(struct run *r, const struct scope *sc, const struct field *f)
{
	struct lt_buf b;

	lt_buf_init(&b, sizeof(r->e->field) * 2);
	scope_path(sc, &b);
	if (b.len > 0)
		lt_buf_putc(&b, '.');
	lt_buf_puts(&b, f->label);
	lt_err_field(r->e, b.data);
	lt_buf_free(&b);
	return -1;
}

/* Steals v. Intermediate objects are made on first use, so a group whose fields are all absent
 * leaves no empty object behind. */
static void out_set(json_t *obj, const struct field *f, json_t *v)
{
	for (size_t i = 0; i + 1 < f->nout; i++) {
		json_t *next = json_object_getn(obj, f->out[i], f->out_len[i]);

		if (next == NULL) {
			next = json_object();
			json_object_setn_new_nocheck(obj, f->out[i], f->out_len[i], next);
		}
		obj = next;
	}
	json_object_setn_new_nocheck(obj, f->out[f->nout - 1], f->out_len[f->nout - 1], v);
}

static int when_holds(const struct run *r, const struct scope *sc, const struct when *w)
{
	json_t *v = path_get(&w->path, r->root, sc->item);
	char buf[40];
	const char *s;
	size_t len;
	int holds;

	if (w->equals == NULL)
		holds = (v != NULL && !json_is_null(v)) == w->present;
	else
		holds = v != NULL && lt_rule_text(v, buf, sizeof(buf), &s, &len) == 0 && len == w->equals_len &&
			memcmp(s, w->equals_text, len) == 0;
	json_decref(v);
	return holds;
}

/* *out: the text, or NULL when a part is absent (then the template as a whole is absent). */
static int template_render(struct run *r, const struct scope *sc, const struct field *f,
			   const struct lt_rule_run *rr, json_t **out)
{
	struct lt_buf b;
	char buf[40], show[96];
	const char *s;
	size_t len;

	*out = NULL;
	lt_buf_init(&b, TEMPLATE_MAX);
	for (size_t i = 0; i < f->ntpl; i++) {
		json_t *v;

		if (f->tpl[i].path == NULL) {
			lt_buf_append(&b, f->tpl[i].lit, f->tpl[i].len);
			continue;
		}
		v = path_get(f->tpl[i].path, r->root, sc->item);
		if (v == NULL || json_is_null(v)) {
			json_decref(v);
			lt_buf_free(&b);
			return 0;
		}
		if (lt_rule_text(v, buf, sizeof(buf), &s, &len) < 0) {
			lt_rule_show(rr, v, show, sizeof(show));
			json_decref(v);
			lt_buf_free(&b);
			return lt_rule_fail(rr, "template", f->line, f->col, "%s: '%s' is %s, not text", rr->src,
					    f->tpl[i].path->text, show);
		}
		lt_buf_append(&b, s, len);
		json_decref(v);
	}
	if (b.overflow) {
		lt_buf_free(&b);
		return lt_rule_fail(rr, "template", f->line, f->col, "%s makes more than %u bytes", rr->src, TEMPLATE_MAX);
	}
	*out = json_stringn_nocheck(b.data ? b.data : "", b.len);
	lt_buf_free(&b);
	return 0;
}

static int apply_fields(struct run *r, const struct scope *sc, const struct field *f, size_t n, json_t *out);

static int apply_each(struct run *r, const struct scope *sc, const struct field *f, json_t *out)
{
	struct lt_rule_run rr = { r->s->map->file, f->src, f->masked, 0, r->e };
	json_t *list = path_get(&f->each, r->root, sc->item), *arr, *item;
	char show[96];
	size_t i;

	if (list == NULL || json_is_null(list)) {
		json_decref(list);
		if (f->required) {
			lt_rule_fail(&rr, "required", f->req_line, f->req_col, "required %s is missing", f->src);
			return field_failed(r, sc, f);
		}
		out_set(out, f, json_array());
		return 0;
	}
	if (!json_is_array(list) && f->each.one_is_list) {
		arr = json_array();
		json_array_append_new(arr, list);
		list = arr;
	}
	if (!json_is_array(list)) {
		lt_rule_show(&rr, list, show, sizeof(show));
		json_decref(list);
		lt_rule_fail(&rr, "each", f->each_line, f->each_col, "%s (%s) is not a list", f->src, show);
		return field_failed(r, sc, f);
	}
	arr = json_array();
	json_array_foreach(list, i, item) {
		struct scope inner = { sc, f, i, item };
		json_t *obj = json_object();

		if (apply_fields(r, &inner, f->fields, f->nfields, obj) < 0) {
			json_decref(obj);
			json_decref(arr);
			json_decref(list);
			return -1;
		}
		json_array_append_new(arr, obj);
	}
	json_decref(list);
	out_set(out, f, arr);
	return 0;
}

/* render: the nested section's fields on the same input, its document written as text. */
static int apply_render(struct run *r, const struct scope *sc, const struct field *f, json_t *out)
{
	json_t *doc = json_object();
	char *text = NULL;
	size_t len;
	int rc;

	rc = apply_fields(r, sc, f->render->fields, f->render->nfields, doc);
	if (rc < 0) {
		/* The failing field is named inside the rendered document: put the field holding it first. */
		char inner[sizeof(r->e->field)];
		size_t n;

		snprintf(inner, sizeof(inner), "%s", r->e->field);
		field_failed(r, sc, f);
		n = strlen(r->e->field);
		snprintf(r->e->field + n, sizeof(r->e->field) - n, ".%s", inner);
	} else if ((rc = lt_map_encode(f->render, doc, &text, &len, r->e)) < 0) {
		field_failed(r, sc, f);
	}
	json_decref(doc);
	if (rc < 0)
		return -1;
	out_set(out, f, json_stringn_nocheck(text, len));
	free(text);
	return 0;
}

/* Runs the field's rules on v (a reference it takes) and writes the result into out. */
static int apply_steps(struct run *r, const struct scope *sc, const struct field *f, struct lt_rule_run *rr,
		       json_t *v, json_t *out)
{
	for (size_t i = 0; i < f->nsteps; i++) {
		int rc;

		if (f->steps[i].def->sign != NULL)
			continue;
		rc = f->steps[i].def->apply(&f->steps[i], &v, rr);
		if (rc < 0) {
			json_decref(v);
			return field_failed(r, sc, f);
		}
		if (rc == 1) {
			json_decref(v);
			if (f->dflt == NULL)
				return 0;
			v = json_incref(f->dflt);
			break;
		}
	}
	out_set(out, f, v);
	return 0;
}

static int apply_field(struct run *r, const struct scope *sc, const struct field *f, json_t *out)
{
	struct lt_rule_run rr = { r->s->map->file, f->src, f->masked, f->dflt != NULL, r->e };
	json_t *v = NULL;
	const char *s;

	if (f->when != NULL && !when_holds(r, sc, f->when))
		return 0;
	if (f->is_each)
		return apply_each(r, sc, f, out);
	if (f->render != NULL)
		return apply_render(r, sc, f, out);
	if (f->sign != NULL) {
		out_set(out, f, json_null());
		return 0;
	}
	switch (f->take) {
	case TAKE_FROM:
		v = path_get(&f->from, r->root, sc->item);
		break;
	case TAKE_VALUE:
		v = json_incref(f->value);
		break;
	case TAKE_VAR:
		s = r->vars != NULL && r->vars->get != NULL ? r->vars->get(r->vars->ctx, f->var) : NULL;
		v = s != NULL ? json_string(s) : NULL;
		break;
	case TAKE_TEMPLATE:
		if (template_render(r, sc, f, &rr, &v) < 0)
			return field_failed(r, sc, f);
		break;
	case TAKE_NONE:
		break;
	}
	/* Absent and null are "no value": the default stands in, used as written. */
	if (v == NULL || json_is_null(v)) {
		if (f->dflt != NULL) {
			json_decref(v);
			out_set(out, f, json_incref(f->dflt));
			return 0;
		}
		if (f->required) {
			lt_rule_fail(&rr, "required", f->req_line, f->req_col, "required %s is %s", f->src,
				     v == NULL ? "missing" : "null");
			json_decref(v);
			return field_failed(r, sc, f);
		}
		if (v == NULL)
			return 0;
	}
	return apply_steps(r, sc, f, &rr, v, out);
}

/* A signed field (hmac) is made last, from its finished object: its place is kept with a null in
 * the first pass (output order is the order written), and filled here. */
static int apply_sign(struct run *r, const struct scope *sc, const struct field *f, json_t *out)
{
	struct lt_rule_run rr = { r->s->map->file, f->src, f->masked, 0, r->e };
	json_t *obj = out, *v = NULL;

	for (size_t i = 0; obj != NULL && i + 1 < f->nout; i++)
		obj = json_object_get(obj, f->out[i]);
	if (obj == NULL || json_object_get(obj, f->out[f->nout - 1]) == NULL)
		return 0;   /* its `when` did not hold */
	if (f->sign->def->sign(f->sign, obj, f->out[f->nout - 1], &v, &rr) < 0)
		return field_failed(r, sc, f);
	return apply_steps(r, sc, f, &rr, v, out);
}

static int apply_fields(struct run *r, const struct scope *sc, const struct field *f, size_t n, json_t *out)
{
	for (size_t i = 0; i < n; i++)
		if (apply_field(r, sc, &f[i], out) < 0)
			return -1;
	for (size_t i = 0; i < n; i++)
		if (f[i].sign != NULL && apply_sign(r, sc, &f[i], out) < 0)
			return -1;
	return 0;
}

int lt_map_apply(const struct lt_map_section *s, json_t *in, const struct lt_map_vars *vars,
		 json_t **out, struct lt_err *e)
{
	struct run r = { s, in, vars, e };
	struct scope top = { NULL, NULL, 0, in };
	json_t *doc = json_object();

	if (apply_fields(&r, &top, s->fields, s->nfields, doc) < 0) {
		json_decref(doc);
		return -1;
	}
	*out = doc;
	return 0;
}

static void xml_opts(const struct lt_map_section *s, struct lt_xml_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->ns = s->ns;
	o->nns = s->nns;
	o->soap = s->soap;
	o->root = s->root;
	o->decl = !s->rendered;
	o->cdata = (const char *const *)s->cdata;
	o->ncdata = s->ncdata;
}

int lt_map_decode(const struct lt_map_section *s, const char *buf, size_t len, json_t **out, struct lt_err *e)
{
	struct lt_xml_opts o;

	switch (s->in) {
	case LT_FMT_JSON:
		return lt_json_decode(buf, len, out, e);
	case LT_FMT_XML:
	case LT_FMT_SOAP:
		xml_opts(s, &o);
		o.soap = s->in == LT_FMT_SOAP;
		return lt_xml_decode(buf, len, &o, out, e);
	case LT_FMT_FORM:
	case LT_FMT_QUERY:
		return lt_form_decode(buf, len, out, e);
	}
	return lt_err_set(e, 500, "mapping.format", "unknown input format %d", (int)s->in);
}

int lt_map_encode(const struct lt_map_section *s, json_t *doc, char **out, size_t *len, struct lt_err *e)
{
	struct lt_xml_opts o;

	switch (s->out) {
	case LT_FMT_JSON:
		return lt_json_encode(doc, out, len, e);
	case LT_FMT_XML:
	case LT_FMT_SOAP:
		xml_opts(s, &o);
		return lt_xml_encode(doc, &o, out, len, e);
	case LT_FMT_FORM:
		return lt_form_encode(doc, out, len, e);
	case LT_FMT_QUERY:
		break;      /* refused when the mapping loads: a query string is only read */
	}
	return lt_err_set(e, 500, "mapping.format", "cannot write output format %d", (int)s->out);
}

int lt_map_run(const struct lt_map_section *s, const char *in, size_t inlen, const struct lt_map_vars *vars,
	       char **out, size_t *outlen, struct lt_err *e)
{
	json_t *doc, *mapped;
	int rc;

	if (lt_map_decode(s, in, inlen, &doc, e) < 0)
		return -1;
	rc = lt_map_apply(s, doc, vars, &mapped, e);
	json_decref(doc);
	if (rc < 0)
		return -1;
	rc = lt_map_encode(s, mapped, out, outlen, e);
	json_decref(mapped);
	return rc;
}

/* ---- examples ----------------------------------------------------------------------------------- */

/* One example part being checked: where its messages go. */
struct excheck {
	const struct lt_map *m;
	const struct lt_map_section *s;
	const struct example *ex;
	const struct ex_part *p;
	const char *which;           /* "" or " (response)" */
	struct lt_diags *d;
	int ndiff;
	int want_xml;                /* the expected file is XML (else the document model as JSON) */
};

static void ex_report(struct excheck *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void ex_report(struct excheck *x, const char *fmt, ...)
{
	char msg[LT_ERR_MSG * 2];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	lt_diags_add(x->d, 0, x->m->file, x->p->line, x->p->col, "example '%s'%s: %s",
		     x->ex->name ? x->ex->name : "", x->which, msg);
}

static const char *ex_var(void *ctx, const char *name)
{
	json_t *v = json_object_get(ctx, name);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Compact JSON of v, cut to SHOW_DIFF bytes on a character boundary. */
static void show_json(json_t *v, char *buf, size_t n)
{
	char *s;
	size_t len;

	if (v == NULL) {
		snprintf(buf, n, "nothing");
		return;
	}
	if (lt_json_encode(v, &s, &len, NULL) < 0) {
		snprintf(buf, n, "(unprintable)");
		return;
	}
	if (len > SHOW_DIFF) {
		len = SHOW_DIFF;
		while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
			len--;
		snprintf(buf, n, "%.*s...", (int)len, s);
	} else {
		snprintf(buf, n, "%s", s);
	}
	free(s);
}

/* Whether the output path ("data[0].Email") is a masked field ("data[].Email"): `check` output
 * lands in CI logs, and a secret must not. */
static int path_masked(const struct lt_map_section *s, const char *path)
{
	char shape[512];
	size_t o = 0;

	for (const char *p = path; *p != '\0' && o + 3 < sizeof(shape); p++) {
		shape[o++] = *p;
		if (*p == '[') {
			p += strspn(p + 1, "0123456789");   /* now on the last digit */
			if (p[1] == ']') {
				shape[o++] = ']';
				p++;
			}
		}
	}
	shape[o] = '\0';
	for (size_t i = 0; i < s->nmasked; i++)
		if (strcmp(s->masked[i], shape) == 0)
			return 1;
	return 0;
}

static void diff_add(struct excheck *x, const struct lt_buf *path, json_t *want, json_t *got)
{
	char w[SHOW_DIFF + 16], g[SHOW_DIFF + 16];

	if (x->ndiff++ >= DIFF_MAX)
		return;
	show_json(want, w, sizeof(w));
	show_json(got, g, sizeof(g));
	if (path->len > 0 && path_masked(x->s, path->data)) {
		snprintf(w, sizeof(w), "%s", want != NULL ? "***" : "nothing");
		snprintf(g, sizeof(g), "%s", got != NULL ? "***" : "nothing");
	}
	ex_report(x, "%s%sexpected %s, got %s", path->len ? path->data : "", path->len ? ": " : "", w, g);
}

static void path_cut(struct lt_buf *b, size_t len)
{
	b->len = len;
	if (b->data != NULL)
		b->data[len] = '\0';
	b->overflow = 0;
}

/* Same fields, another order: name the first place where they part. */
static void diff_order(struct excheck *x, const struct lt_buf *path, json_t *want, json_t *got)
{
	void *a = json_object_iter(want), *b = json_object_iter(got);

	for (size_t i = 1; a != NULL && b != NULL; i++) {
		if (strcmp(json_object_iter_key(a), json_object_iter_key(b)) != 0) {
			if (x->ndiff++ < DIFF_MAX)
				ex_report(x, "%s%sfields in another order: field %zu is '%s', expected '%s'",
					  path->len ? path->data : "", path->len ? ": " : "", i,
					  json_object_iter_key(b), json_object_iter_key(a));
			return;
		}
		a = json_object_iter_next(want, a);
		b = json_object_iter_next(got, b);
	}
}

/* Reports every difference between want and got by field path, up to DIFF_MAX. */
static void diff(struct excheck *x, struct lt_buf *path, json_t *want, json_t *got)
{
	size_t mark = path->len, i;
	const char *key;
	json_t *v;

	if (json_is_object(want) && json_is_object(got)) {
		int before = x->ndiff, same_keys = json_object_size(want) == json_object_size(got);

		json_object_foreach(want, key, v) {
			lt_buf_printf(path, "%s%s", mark ? "." : "", key);
			same_keys &= json_object_get(got, key) != NULL;
			diff(x, path, v, json_object_get(got, key));
			path_cut(path, mark);
		}
		json_object_foreach(got, key, v) {
			if (json_object_get(want, key) != NULL)
				continue;
			lt_buf_printf(path, "%s%s", mark ? "." : "", key);
			diff_add(x, path, NULL, v);
			path_cut(path, mark);
		}
		if (x->ndiff == before && same_keys)
			diff_order(x, path, want, got);
		return;
	}
	if (json_is_array(want) && json_is_array(got)) {
		size_t nw = json_array_size(want), ng = json_array_size(got);

		for (i = 0; i < nw || i < ng; i++) {
			lt_buf_printf(path, "[%zu]", i);
			diff(x, path, json_array_get(want, i), json_array_get(got, i));
			path_cut(path, mark);
		}
		return;
	}
	if (want == NULL || got == NULL || !json_equal(want, got) || json_typeof(want) != json_typeof(got))
		diff_add(x, path, want, got);
}

/* An XML or SOAP output as the document model below its root, so that an expected file is
 * compared by field path and not by indentation. *doc: a new reference, set on success only. */
static int xml_expect_decode(const struct lt_map_section *s, const char *buf, size_t len, json_t **doc,
			     struct lt_err *e)
{
	struct lt_xml_opts o;
	json_t *all, *under;

	xml_opts(s, &o);
	o.soap = s->out == LT_FMT_SOAP;
	if (lt_xml_decode(buf, len, &o, &all, e) < 0)
		return -1;
	under = json_object_get(all, s->root);
	if (under == NULL) {
		json_decref(all);
		return lt_err_set(e, 400, "xml.invalid", "the document has no root element '%s'", s->root);
	}
	*doc = json_incref(under);
	json_decref(all);
	return 0;
}

/* The output of an XML or SOAP section as xml_expect_decode reads its expected file: written
 * and read back, which checks the writer as well. Replaces *got. */
static int xml_reread(const struct lt_map_section *s, json_t **got, struct lt_err *e)
{
	json_t *back = NULL;
	char *text;
	size_t len;
	int rc;

	if (lt_map_encode(s, *got, &text, &len, e) < 0)
		return -1;
	rc = xml_expect_decode(s, text, len, &back, e);
	free(text);
	if (rc < 0)
		return -1;
	json_decref(*got);
	*got = back;
	return 0;
}

/* An expected file may write "***" for a masked field (a credential from ${env:} differs in
 * every deployment, and examples run at every load): such a value matches whatever the mapping
 * produced there, by taking it into want before the comparison. */
static void accept_masked(const struct lt_map_section *s, struct lt_buf *path, json_t *want, json_t *got)
{
	size_t mark = path->len, i;
	const char *key;
	json_t *v, *g;

	if (json_is_object(want) && json_is_object(got)) {
		json_object_foreach(want, key, v) {
			if ((g = json_object_get(got, key)) == NULL)
				continue;
			lt_buf_printf(path, "%s%s", mark ? "." : "", key);
			if (json_is_string(v) && strcmp(json_string_value(v), "***") == 0 && path_masked(s, path->data))
				json_object_set_nocheck(want, key, g);
			else
				accept_masked(s, path, v, g);
			path_cut(path, mark);
		}
	} else if (json_is_array(want) && json_is_array(got)) {
		for (i = 0; i < json_array_size(want) && i < json_array_size(got); i++) {
			lt_buf_printf(path, "[%zu]", i);
			accept_masked(s, path, json_array_get(want, i), json_array_get(got, i));
			path_cut(path, mark);
		}
	}
}

static void accept_masked_top(const struct lt_map_section *s, json_t *want, json_t *got)
{
	struct lt_buf path;

	lt_buf_init(&path, 512);
	accept_masked(s, &path, want, got);
	lt_buf_free(&path);
}

/* Reads and decodes an example file; reports and returns NULL on failure. */
static json_t *ex_load(struct excheck *x, const char *name, int expect)
{
	char *path = lt_path_join(x->m->dir, name), *buf = NULL;
	struct lt_err e;
	json_t *doc = NULL;
	size_t len;
	int rc;

	lt_err_clear(&e);
	if (lt_read_file(path, EXAMPLE_MAX, &buf, &len, &e) < 0) {
		ex_report(x, "%s", e.msg);
		free(path);
		return NULL;
	}
	/* For XML and SOAP output the expected file is either the XML itself or the document model
	 * below the root as JSON (what the mapping builds before it is written); the first byte says. */
	if (!expect) {
		rc = lt_map_decode(x->s, buf, len, &doc, &e);
	} else if (is_xmlish(x->s->out) && buf[strspn(buf, " \t\r\n")] == '<') {
		x->want_xml = 1;
		rc = xml_expect_decode(x->s, buf, len, &doc, &e);
	} else {
		rc = lt_json_decode(buf, len, &doc, &e);
	}
	if (rc < 0)
		ex_report(x, "%s: %s", name, e.msg);
	free(buf);
	free(path);
	return rc < 0 ? NULL : doc;
}

static int ex_run(struct excheck *x)
{
	json_t *in, *want, *got = NULL, *defvars = NULL;
	struct lt_map_vars vars = { ex_var, NULL };
	struct lt_err e;
	char *gs = NULL, *ws = NULL;
	int rc = -1, applied;

	if ((in = ex_load(x, x->p->in, 0)) == NULL)
		return -1;
	if ((want = ex_load(x, x->p->expect, 1)) == NULL) {
		json_decref(in);
		return -1;
	}
	if (x->p->vars == NULL)
		defvars = json_pack("{s:s}", "auth.token", "example-session");
	vars.ctx = x->p->vars != NULL ? x->p->vars : defvars;
	lt_err_clear(&e);
	applied = lt_map_apply(x->s, in, &vars, &got, &e);
	if (applied == 0)
		accept_masked_top(x->s, want, got);
	if (applied < 0) {
		ex_report(x, "%s%s%s (%s at line %d)", e.field, e.field[0] ? ": " : "", e.msg, e.code, e.line);
	} else if (x->want_xml && xml_reread(x->s, &got, &e) < 0) {
		ex_report(x, "%s%s%s", e.field, e.field[0] ? ": " : "", e.msg);
	} else if (lt_json_encode(got, &gs, NULL, &e) < 0 || lt_json_encode(want, &ws, NULL, &e) < 0) {
		ex_report(x, "%s", e.msg);
	} else if (strcmp(gs, ws) != 0) {
		struct lt_buf path;

		/* Compare bytes (order included); explain by field path. */
		lt_buf_init(&path, 512);
		diff(x, &path, want, got);
		lt_buf_free(&path);
		if (x->ndiff == 0)   /* equal values written differently, such as -0.0 and 0.0 */
			ex_report(x, "output differs from %s in how a number is written", x->p->expect);
		else if (x->ndiff > DIFF_MAX)
			ex_report(x, "and %d more differences", x->ndiff - DIFF_MAX);
	} else {
		rc = 0;
	}
	free(gs);
	free(ws);
	json_decref(got);
	json_decref(defvars);
	json_decref(want);
	json_decref(in);
	return rc;
}

int lt_map_check_examples(const struct lt_map *m, struct lt_diags *d)
{
	int failed = 0;

	for (size_t i = 0; i < m->nex; i++) {
		const struct example *ex = &m->ex[i];
		int bad_ex = 0;

		if (ex->req.present && m->request != NULL) {
			struct excheck x = { m, m->request, ex, &ex->req, "", d, 0, 0 };

			bad_ex |= ex_run(&x) < 0;
		}
		if (ex->resp.present && m->response != NULL) {
			struct excheck x = { m, m->response, ex, &ex->resp, " (response)", d, 0, 0 };

			bad_ex |= ex_run(&x) < 0;
		}
		failed += bad_ex;
	}
	return failed;
}
