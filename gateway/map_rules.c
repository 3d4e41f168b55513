/* map_rules.c: the value rules of the mapping language and their table (see map_rules.h).
 *
 * Everything a rule needs is worked out by its compile function at load time: type names become
 * an enum, date formats a list of operations, maps a hash table, patterns a compiled regex_t. The
 * apply functions only look things up and build new values. */
#include <math.h>
#include <openssl/crypto.h>
#include <regex.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/json.h"
#include "adapters/sign.h"
#include "adapters/vntext.h"
#include "gateway/map_rules.h"
#include "gateway/util.h"

#define SHOW_MAX 60          /* bytes of a value quoted in a message */
#define KNOWN_MAX 200        /* bytes of the "known: ..." list of a map */

/* ---- shared helpers ------------------------------------------------------------------------ */

int lt_rule_fail(const struct lt_rule_run *rr, const char *rule, int line, int col, const char *fmt, ...)
{
	char msg[LT_ERR_MSG], code[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(code, sizeof(code), "mapping.%s", rule);
	lt_err_at(rr->e, rr->file, line, col, code, "%s", msg);
	if (rr->e != NULL)
		rr->e->status = 422;
	return -1;
}

int lt_rule_text(const json_t *v, char *buf, size_t n, const char **s, size_t *len)
{
	/* Map keys are written `null` (or ~): that is the text of null here. */
	return lt_json_scalar_text(v, "null", buf, n, s, len);
}

void lt_rule_show(const struct lt_rule_run *rr, const json_t *v, char *buf, size_t n)
{
	char num[40], text[SHOW_MAX + 1];
	const char *s;
	size_t len, i;

	if (rr != NULL && rr->masked) {
		snprintf(buf, n, "***");
		return;
	}
	if (json_is_object(v) || json_is_array(v)) {
		snprintf(buf, n, "%s", json_is_object(v) ? "an object" : "a list");
		return;
	}
	lt_rule_text(v, num, sizeof(num), &s, &len);
	if (!json_is_string(v)) {
		snprintf(buf, n, "%s", s);
		return;
	}
	if (len > SHOW_MAX) {
		/* Cut on a character boundary: never print half a Vietnamese letter. */
		len = SHOW_MAX;
		while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
			len--;
	}
	for (i = 0; i < len; i++)
		text[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
	text[len] = '\0';
	snprintf(buf, n, "'%s%s'", text, len < json_string_length(v) ? "..." : "");
}

json_t *lt_rule_yvalue(const struct lt_ynode *n, struct lt_err *e)
{
	json_t *v;
	long long i;
	int b;
	double d;
	char *end;

	if (n->type == LT_Y_SEQ || n->type == LT_Y_MAP) {
		v = n->type == LT_Y_SEQ ? json_array() : json_object();
		for (size_t k = 0; k < n->n; k++) {
			json_t *item = lt_rule_yvalue(n->items[k], e);

			if (item == NULL) {
				json_decref(v);
				return NULL;
			}
			if (n->type == LT_Y_SEQ)
				json_array_append_new(v, item);
			else
				json_object_setn_new_nocheck(v, n->keys[k]->str, n->keys[k]->len, item);
		}
		return v;
	}
	switch (lt_yscalar_kind(n)) {
	case LT_YS_NULL:
		return json_null();
	case LT_YS_BOOL:
		return lt_yget_bool(n, &b, e) < 0 ? NULL : json_boolean(b);
	case LT_YS_INT:
		return lt_yget_int(n, &i, e) < 0 ? NULL : json_integer(i);
	case LT_YS_FLOAT:
		/* YAML's .inf and .nan are floats too, but nothing JSON can carry (strtod stops at them). */
		d = strtod(n->str, &end);
		if (*end != '\0' || !isfinite(d)) {
			lt_ynode_err(n, e, "mapping.value", "'%s' is not a number JSON can carry", n->str);
			return NULL;
		}
		return json_real(d);
	case LT_YS_STRING:
		break;
	}
	return json_stringn_nocheck(n->str, n->len);
}

/* A canonical decimal integer within 64 bits: -?(0|[1-9][0-9]*), never "-0", read digit by digit
 * (never through double, which is exact only to 2^53). 0 / -1. */
static int parse_int(const char *s, size_t len, json_int_t *out)
{
	const char *p = s, *end = s + len;
	int neg = 0;
	uint64_t v = 0, lim;

	if (p < end && *p == '-')
		neg = 1, p++;
	if (p == end || (*p == '0' && (end - p > 1 || neg)))
		return -1;
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		if (v > (lim - (uint64_t)(*p - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*out = neg ? (json_int_t)(0 - v) : (json_int_t)v;
	return 0;
}

/* The JSON number grammar, so that "1e3" and "0.5" convert and " 1", "+1", "1." and "0x1" do not. */
static int is_json_number(const char *s, size_t len)
{
	size_t i = 0, d;

	if (i < len && s[i] == '-')
		i++;
	if (i < len && s[i] == '0')
		i++;
	else if (i < len && s[i] >= '1' && s[i] <= '9')
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
	else
		return 0;
	if (i < len && s[i] == '.') {
		for (d = ++i; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return 0;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		for (d = i; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return 0;
	}
	return i == len;
}

/* Flag rules (trim, upper, lower) are written `trim: true`; `false` switches them off. */
static int compile_flag(const struct lt_ynode *n, const struct lt_ynode *field, void **arg, struct lt_err *e)
{
	int on;

	(void)field;
	(void)arg;
	if (lt_yget_bool(n, &on, e) < 0)
		return -1;
	return on ? 0 : 1;
}

/* Replaces *v with v2 (a new reference). */
static void replace(json_t **v, json_t *v2)
{
	json_decref(*v);
	*v = v2;
}

/* Fails rule r with "<where the value came from> (<the value>) <what is wrong>". The value is
 * only formatted here, on the way out: the success path never pays for a message. */
static int fail_value(const struct lt_rule *r, const json_t *v, const struct lt_rule_run *rr, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail_value(const struct lt_rule *r, const json_t *v, const struct lt_rule_run *rr, const char *fmt, ...)
{
	char show[96], what[LT_ERR_MSG / 2];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	lt_rule_show(rr, v, show, sizeof(show));
	return lt_rule_fail(rr, r->def->name, r->line, r->col, "%s (%s) %s", rr->src, show, what);
}

static int not_text(const struct lt_rule *r, const json_t *v, const struct lt_rule_run *rr)
{
	return fail_value(r, v, rr, "is not a string");
}

/* The string a text-shaping rule works on: 0 with *s / *len set; 1 for null, which the shaping
 * rules pass through untouched; or not_text's -1. */
static int string_of(const struct lt_rule *r, const json_t *v, const struct lt_rule_run *rr, const char **s,
		     size_t *len)
{
	/* Set on every path: callers read them only on 0, but -O2 cannot see that. */
	*s = "";
	*len = 0;
	if (json_is_null(v))
		return 1;
	if (!json_is_string(v))
		return not_text(r, v, rr);
	*s = json_string_value(v);
	*len = json_string_length(v);
	return 0;
}

/* ---- type ------------------------------------------------------------------------------------ */

/* The entry of a table of count entries (size bytes each, each starting with its `const char *name`)
 * that the scalar n names; NULL with "unknown WHAT 'x' (known: a, b)" at n's position otherwise. */
static const void *name_pick(const struct lt_ynode *n, const void *table, size_t size, size_t count,
			     const char *code, const char *what, struct lt_err *e)
{
	const char *s;
	char known[256];
	size_t used = 0;

	if (lt_yget_str(n, &s, e) < 0)
		return NULL;
	known[0] = '\0';
	for (size_t i = 0; i < count; i++) {
		const char *name = *(const char *const *)((const char *)table + i * size);

		if (strcmp(s, name) == 0)
			return (const char *)table + i * size;
		used += (size_t)snprintf(known + used, sizeof(known) - used, "%s%s", i ? ", " : "", name);
		if (used >= sizeof(known))
			used = sizeof(known) - 1;
	}
	lt_ynode_err(n, e, code, "unknown %s '%s' (known: %s)", what, s, known);
	return NULL;
}

enum ltype { TY_STRING, TY_INTEGER, TY_NUMBER, TY_BOOLEAN };

static const struct type_name {
	const char *name;
	enum ltype type;
	const char *article;     /* for messages: "an integer" */
} type_names[] = {
	{ "string", TY_STRING, "a string" },
	{ "integer", TY_INTEGER, "an integer" },
	{ "number", TY_NUMBER, "a number" },
	{ "boolean", TY_BOOLEAN, "a boolean" },
};

static int type_compile(const struct lt_ynode *n, const struct lt_ynode *field, void **arg, struct lt_err *e)
{
	(void)field;
	*arg = (void *)name_pick(n, type_names, sizeof(type_names[0]), sizeof(type_names) / sizeof(type_names[0]),
				 "mapping.type", "type", e);
	return *arg != NULL ? 0 : -1;
}

/* The conversion itself; NULL when v cannot be had as t. Returns a new reference. */
static json_t *convert(json_t *v, enum ltype t)
{
	char buf[40];
	const char *s;
	size_t len;
	json_int_t i;
	double d;

	switch (t) {
	case TY_STRING:
		if (json_is_string(v))
			return json_incref(v);
		if (lt_rule_text(v, buf, sizeof(buf), &s, &len) < 0)
			return NULL;
		return json_stringn_nocheck(s, len);
	case TY_INTEGER:
		if (json_is_integer(v))
			return json_incref(v);
		if (json_is_real(v)) {
			/* Only a real that is a whole number held exactly (|d| <= 2^53). */
			d = json_real_value(v);
			if (d != floor(d) || fabs(d) > 9007199254740992.0)
				return NULL;
			return json_integer((json_int_t)d);
		}
		if (json_is_string(v) && parse_int(json_string_value(v), json_string_length(v), &i) == 0)
			return json_integer(i);
		return NULL;
	case TY_NUMBER:
		if (json_is_number(v))
			return json_incref(v);
		if (!json_is_string(v))
			return NULL;
		s = json_string_value(v);
		len = json_string_length(v);
		if (parse_int(s, len, &i) == 0)
			return json_integer(i);
		/* An integer past 64 bits is refused, not rounded into a double. */
		if (!is_json_number(s, len) || strpbrk(s, ".eE") == NULL)
			return NULL;
		d = strtod(s, NULL);
		return isfinite(d) ? json_real(d) : NULL;
	case TY_BOOLEAN:
		if (json_is_boolean(v))
			return json_incref(v);
		if (json_is_string(v) && strcmp(json_string_value(v), "true") == 0)
			return json_true();
		if (json_is_string(v) && strcmp(json_string_value(v), "false") == 0)
			return json_false();
		return NULL;
	}
	return NULL;
}

static int type_apply(const struct lt_rule *r, json_t **v, const struct lt_rule_run *rr)
{
	const struct type_name *t = r->arg;
	json_t *out;

	if (json_is_null(*v))
		return 0;
	/* Nearly every value already has its type (`type: string` on a string): nothing to make. */
	if ((t->type == TY_STRING && json_is_string(*v)) || (t->type == TY_INTEGER && json_is_integer(*v)) ||
	    (t->type == TY_NUMBER && json_is_number(*v)) || (t->type == TY_BOOLEAN && json_is_boolean(*v)))
		return 0;
	out = convert(*v, t->type);
	if (out == NULL)
		return fail_value(r, *v, rr, "is not %s", t->article);
	replace(v, out);
	return 0;
}

/* ---- scale ------------------------------------------------------------------------------------ */

/* `scale: 100`: an integer amount times 100 (VNPAY's amounts are VND x 100), exactly.
 * `scale: 0.01`: divided by 100, exactly (reading VNPAY's amounts back): a power of ten below one,
 * so that the division is exact or refused, never rounded. */
struct scale {
	json_int_t mul, div;        /* one of them is 1 */
};

static int scale_compile(const struct lt_ynode *n, const struct lt_ynode *field, void **arg, struct lt_err *e)
{
	struct scale sc = { 1, 1 };
	long long k;

	(void)field;
	if (n->type == LT_Y_SCALAR && !n->quoted && strncmp(n->str, "0.", 2) == 0 && n->len > 2 && n->len <= 20 &&
	    n->str[n->len - 1] == '1' && strspn(n->str + 2, "0") == n->len - 3) {
		for (size_t i = 2; i < n->len; i++)
			sc.div *= 10;
	} else {
		if (lt_yget_int(n, &k, e) < 0 || k < 1)
			return lt_ynode_err(n, e, "mapping.scale", "scale must be a positive integer, or 0.1, 0.01, ... "
					    "to divide");
		sc.mul = k;
	}
	*arg = lt_xmalloc(sizeof(sc));
	memcpy(*arg, &sc, sizeof(sc));
	return 0;
}

static int scale_apply(const struct lt_rule *r, json_t **v, const struct lt_rule_run *rr)
{
	const struct scale *sc = r->arg;
	json_int_t x;

	if (json_is_null(*v))
		return 0;
	if (!json_is_integer(*v))
		return fail_value(r, *v, rr, "is not an integer amount");
	x = json_integer_value(*v);
	if (sc->div > 1) {
		if (x % sc->div != 0)
			return fail_value(r, *v, rr, "is not a whole multiple of %" JSON_INTEGER_FORMAT, sc->div);
		replace(v, json_integer(x / sc->div));
		return 0;
	}
	if (x > INT64_MAX / sc->mul || x < INT64_MIN / sc->mul)
		return fail_value(r, *v, rr, "times %" JSON_INTEGER_FORMAT " is too large", sc->mul);
	replace(v, json_integer(x * sc->mul));
	return 0;
}

/* ---- trim, upper, lower ---------------------------------------------------------------------- */

static int is_space(uint32_t c)
{
	/* Unicode White_Space: NBSP and its kin arrive from copy-pasted office documents. */
	return c == ' ' || (c >= 0x09 && c <= 0x0d) || c == 0x85 || c == 0xa0 || c == 0x1680 ||
	       (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f ||
	       c == 0x205f || c == 0x3000;
}

/* Whether the last character of s (len > 0 bytes), as reading s from its start divides it, is
 * a space. Read backwards from the last byte that is not a continuation byte (10xxxxxx): only a
 * character's later bytes are continuations, so a reading from the start begins a character
 * there. When that character does not end s exactly, the bytes after it are each read alone as
 * U+FFFD, which is not a space. */
static int ends_with_space(const char *s, size_t len)
{
	size_t p = len - 1;
	uint32_t c;

	while (p > 0 && len - p < 4 && ((unsigned char)s[p] & 0xc0) == 0x80)
		p--;
	if (((unsigned char)s[p] & 0xc0) == 0x80)
		return 0;
	return lt_json_utf8_next(s + p, len - p, &c) == len - p && is_space(c);
}

static int trim_apply(const struct lt_rule *r, json_t **v, const struct lt_rule_run *rr)
{
	const char *s = NULL;
	size_t len = 0, i = 0, start = 0, end = 0, k;
	uint32_t c;
	int seen = 0, rc;

	rc = string_of(r, *v, rr, &s, &len);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	/* Nearly every value has nothing to trim: its first and last characters say so, without
	 * decoding all the others. */
	if (len == 0)
		return 0;
	if ((lt_json_utf8_next(s, len, &c) == 0 || !is_space(c)) && !ends_with_space(s, len))
		return 0;
	while (i < len) {
		k = lt_json_utf8_next(s + i, len - i, &c);
		if (k == 0)
			k = 1, c = 0xfffd;
		if (!is_space(c)) {
			if (!seen)
				start = i, seen = 1;
			end = i + k;
		}
		i += k;
	}
	if (start == 0 && end == len)
		return 0;
	replace(v, json_stringn_nocheck(s + start, end - start));
	return 0;
}

/* Case pairs of the scripts the city's data is written in: Latin (Vietnamese letters are in
 * Latin-1, Extended-A, Ơ/Ư in Extended-B and Extended Additional), Greek and Cyrillic. A DELTA
 * range lists its capitals, the small letters being `delta` above; an ALT range alternates
 * capital / small, capitals on the parity given. Special cases (ÿ/Ÿ, final sigma, ×/÷, the
 * dotted and dotless i) are handled around the table. */
enum { DELTA, ALT };

static const struct case_range {
	uint32_t lo, hi;
	int kind;
	uint32_t delta_or_parity;
} case_ranges[] = {
	{ 0x41, 0x5a, DELTA, 32 },
	{ 0xc0, 0xde, DELTA, 32 },
	{ 0x391, 0x3a9, DELTA, 32 },
	{ 0x410, 0x42f, DELTA, 32 },
	{ 0x400, 0x40f, DELTA, 80 },
	{ 0x100, 0x12f, ALT, 0 },
	{ 0x132, 0x137, ALT, 0 },
	{ 0x139, 0x148, ALT, 1 },
	{ 0x14a, 0x177, ALT, 0 },
	{ 0x179, 0x17e, ALT, 1 },
	{ 0x1a0, 0x1a1, ALT, 0 },
	{ 0x1af, 0x1b0, ALT, 1 },
	{ 0x1e00, 0x1e95, ALT, 0 },
	{ 0x1ea0, 0x1eff, ALT, 0 },
};

static uint32_t case_map(uint32_t c, int upper)
{
	if (c == 0xd7 || c == 0xf7 || c == 0x3a2)
		return c;
	if (upper && c == 0xff)
		return 0x178;
	if (!upper && c == 0x178)
		return 0xff;
	if (upper && c == 0x3c2)
		return 0x3a3;
	for (size_t i = 0; i < sizeof(case_ranges) / sizeof(case_ranges[0]); i++) {
		const struct case_range *cr = &case_ranges[i];

		if (cr->kind == DELTA) {
			if (!upper && c >= cr->lo && c <= cr->hi)
				return c + cr->delta_or_parity;
			if (upper && c >= cr->lo + cr->delta_or_parity && c <= cr->hi + cr->delta_or_parity)
				return c - cr->delta_or_parity;
		} else if (c >= cr->lo && c <= cr->hi) {
			int is_capital = (c & 1) == cr->delta_or_parity;

			if (upper && !is_capital)
				return c - 1;
			if (!upper && is_capital)
				return c + 1;
			return c;
		}
	}
	return c;
}

static int case_apply(const struct lt_rule *r, json_t **v, const struct lt_rule_run *rr, int upper)
{
	const char *s = NULL;
	char *out;
	size_t len = 0, i = 0, o = 0, k;
	uint32_t c;
	int rc;

	rc = string_of(r, *v, rr, &s, &len);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	/* A mapped letter never needs more bytes than 4 per character. */
	out = lt_xmalloc(len * 4 + 1);
	while (i < len) {
		k = lt_json_utf8_next(s + i, len - i, &c);
		if (k == 0) {
			out[o++] = s[i++];
			continue;
		}
		o += lt_json_utf8_put(out + o, case_map(c, upper));
		i += k;
	}
	replace(v, json_stringn_nocheck(out, o));
	free(out);
	return 0;
}

static int upper_apply(const struct lt_rule *r, json_t **v, const struct lt_rule_run *rr)
{
	return case_apply(r, v, rr, 1);
}

static int lower_apply(const struct lt_rule *r, json_t **v, const struct lt_rule_run *rr)
{
	return case_apply(r, v, rr, 0);
}

/* ---- date ------------------------------------------------------------------------------------ */

/* Dates are converted with integer arithmetic on milliseconds since 1970-01-01T00:00:00Z and a
 * fixed offset in minutes: no TZ variable, no localtime(), nothing that depends on the host. */

#define MS_PER_DAY 86400000LL
#define DATE_OUT_MAX 256     /* bytes of a formatted date; at most 6 per format operation */
#define MS_LIMIT   (253402300800000LL + MS_PER_DAY)  /* 10000-01-01 plus a day of offsets */

enum dkind { D_ISO8601, D_EPOCH_MS, D_FORMAT };

/* One operation of a compiled strftime-like format: a conversion or a literal byte. */
struct dop {
	char op;                 /* 'Y' 'm' 'd' 'H' 'M' 'S' 'f' 'z' ('Z' for %:z) or 'L' */
	char lit;
};

struct dspec {
	enum dkind kind;
	struct dop *ops;
	size_t nops;
	char *text;              /* as written, for messages */
};

struct date_arg {
	struct dspec in, out;
	int tz;                  /* minutes east of UTC */
};

struct civil {
	int y, mo, d, h, mi, s, ms;
	int off;                 /* minutes east of UTC */
	int has_off;
};

static void dspec_free(struct dspec *ds)
{
	free(ds->ops);
	free(ds->text);
}

static void date_free(void *arg)
{
	struct date_arg *da = arg;

	if (da == NULL)
		return;
	dspec_free(&da->in);
	dspec_free(&da->out);
	free(da);
}

/* Howard Hinnant's days_from_civil / civil_from_days: proleptic Gregorian, exact. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

static int days_in_month(int y, int m)
{
	static const int dm[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))
		return 29;
	return dm[m - 1];
}

/* Reads exactly n digits. */
static int digits(const char *s, size_t len, size_t *i, int n, int *out)
{
	int v = 0;

	if (len - *i < (size_t)n)
		return -1;
	for (int k = 0; k < n; k++) {
		char c = s[*i + (size_t)k];

		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
	}
	*i += (size_t)n;
	*out = v;
	return 0;
}

/* "Z", "+07:00", "+0700" or "+07"; *off in minutes east of UTC. */
static int parse_offset(const char *s, size_t len, size_t *i, int *off)
{
	int sign, hh, mm = 0;

	if (*i < len && (s[*i] == 'Z' || s[*i] == 'z')) {
		(*i)++;
		*off = 0;
		return 0;
	}
	if (*i >= len || (s[*i] != '+' && s[*i] != '-'))
		return -1;
	sign = s[*i] == '-' ? -1 : 1;
	(*i)++;
	if (digits(s, len, i, 2, &hh) < 0)
		return -1;
	if (*i < len && s[*i] == ':') {
		(*i)++;
		if (digits(s, len, i, 2, &mm) < 0)
			return -1;
	} else if (*i < len && s[*i] >= '0' && s[*i] <= '9') {
		if (digits(s, len, i, 2, &mm) < 0)
			return -1;
	}
	if (hh > 23 || mm > 59)
		return -1;
	*off = sign * (hh * 60 + mm);
	return 0;
}

static int civil_valid(const struct civil *c)
{
	return c->y >= 0 && c->y <= 9999 && c->mo >= 1 && c->mo <= 12 && c->d >= 1 &&
	       c->d <= days_in_month(c->y, c->mo) && c->h >= 0 && c->h <= 23 && c->mi >= 0 &&
	       c->mi <= 59 && c->s >= 0 && c->s <= 59 && c->ms >= 0 && c->ms <= 999;
}

/* YYYY-MM-DD, optionally followed by T (or a space) HH:MM[:SS[.fraction]] and an offset. */
static int parse_iso(const char *s, size_t len, struct civil *c)
{
	size_t i = 0;

	memset(c, 0, sizeof(*c));
	if (digits(s, len, &i, 4, &c->y) < 0 || i >= len || s[i++] != '-' ||
	    digits(s, len, &i, 2, &c->mo) < 0 || i >= len || s[i++] != '-' ||
	    digits(s, len, &i, 2, &c->d) < 0)
		return -1;
	if (i == len)
		return 0;
	if (s[i] != 'T' && s[i] != 't' && s[i] != ' ')
		return -1;
	i++;
	if (digits(s, len, &i, 2, &c->h) < 0 || i >= len || s[i++] != ':' ||
	    digits(s, len, &i, 2, &c->mi) < 0)
		return -1;
	if (i < len && s[i] == ':') {
		i++;
		if (digits(s, len, &i, 2, &c->s) < 0)
			return -1;
		if (i < len && (s[i] == '.' || s[i] == ',')) {
			size_t start = ++i;

			/* Milliseconds are kept; finer digits are dropped (truncated, never rounded up
			 * into the next second). */
			for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
				if (i - start < 3)
					c->ms = c->ms * 10 + (s[i] - '0');
			if (i == start)
				return -1;
			for (size_t k = i - start; k < 3; k++)
				c->ms *= 10;
		}
	}
	if (i == len)
		return 0;
	if (parse_offset(s, len, &i, &c->off) < 0)
		return -1;
	c->has_off = 1;
	return i == len ? 0 : -1;
}

static int parse_with(const struct dspec *ds, const char *s, size_t len, struct civil *c)
{
	size_t i = 0;

	memset(c, 0, sizeof(*c));
	for (size_t k = 0; k < ds->nops; k++) {
		const struct dop *op = &ds->ops[k];
		int rc = 0;

		switch (op->op) {
		case 'Y': rc = digits(s, len, &i, 4, &c->y); break;
		case 'm': rc = digits(s, len, &i, 2, &c->mo); break;
		case 'd': rc = digits(s, len, &i, 2, &c->d); break;
		case 'H': rc = digits(s, len, &i, 2, &c->h); break;
		case 'M': rc = digits(s, len, &i, 2, &c->mi); break;
		case 'S': rc = digits(s, len, &i, 2, &c->s); break;
		case 'f': rc = digits(s, len, &i, 3, &c->ms); break;
		case 'z':
		case 'Z':
			rc = parse_offset(s, len, &i, &c->off);
			c->has_off = 1;
			break;
		default:
			rc = (i < len && s[i] == op->lit) ? (i++, 0) : -1;
			break;
		}
		if (rc < 0)
			return -1;
	}
	return i == len ? 0 : -1;
}

static int64_t civil_to_ms(const struct civil *c, int tz)
{
	int off = c->has_off ? c->off : tz;

	return days_from_civil(c->y, c->mo, c->d) * MS_PER_DAY + c->h * 3600000LL + c->mi * 60000LL +
	       c->s * 1000LL + c->ms - off * 60000LL;
}

static void ms_to_civil(int64_t ms, int tz, struct civil *c)
{
	int64_t local = ms + tz * 60000LL, days = local / MS_PER_DAY, rem = local % MS_PER_DAY;

	if (rem < 0) {
		rem += MS_PER_DAY;
		days--;
	}
	civil_from_days(days, &c->y, &c->mo, &c->d);
	c->h = (int)(rem / 3600000);
	c->mi = (int)(rem / 60000 % 60);
	c->s = (int)(rem / 1000 % 60);
	c->ms = (int)(rem % 1000);
	c->off = tz;
	c->has_off = 1;
}

/* Appends to out (n bytes, always NUL-terminated); returns the new length. */
static size_t put(char *out, size_t n, size_t len, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static size_t put(char *out, size_t n, size_t len, const char *fmt, ...)
{
	va_list ap;
	int w;

	if (len >= n)
		return len;
	va_start(ap, fmt);
	w = vsnprintf(out + len, n - len, fmt, ap);
	va_end(ap);
	return w < 0 ? len : len + (size_t)w >= n ? n - 1 : len + (size_t)w;
}

static size_t put_char(char *out, size_t n, size_t len, char c)
{
	if (len + 1 >= n)
		return len;
	out[len++] = c;
	out[len] = '\0';
	return len;
}

/* put(.., "%0<width>d", v) without printf: a mapping formats a dozen date fields per request. */
static size_t put_num(char *out, size_t n, size_t len, int v, int width)
{
	char digits[12];
	int k = 0;
	unsigned u;

	if (v < 0)
		return put(out, n, len, "%0*d", width, v);
	u = (unsigned)v;
	do {
		digits[k++] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	while (k < width && k < (int)sizeof(digits))
		digits[k++] = '0';
	if (len + (size_t)k < n) {
		/* Room for all of it (always, within DATE_OUT_MAX): no check per digit. */
		while (k > 0)
			out[len++] = digits[--k];
		out[len] = '\0';
		return len;
	}
	while (k > 0)
		len = put_char(out, n, len, digits[--k]);
	return len;
}

static size_t put_offset(char *out, size_t n, size_t len, int off, int colon)
{
	int a = off < 0 ? -off : off;

	len = put_char(out, n, len, off < 0 ? '-' : '+');
	len = put_num(out, n, len, a / 60, 2);
	if (colon)
		len = put_char(out, n, len, ':');
	return put_num(out, n, len, a % 60, 2);
}

/* Writes c in ds's output form; out holds DATE_OUT_MAX bytes, which dspec_compile guarantees is
 * enough. Returns the length. */
static size_t format_with(const struct dspec *ds, const struct civil *c, char *out)
{
	size_t n = DATE_OUT_MAX, len = 0;

	if (ds->kind == D_ISO8601) {
		const int part[6] = { c->y, c->mo, c->d, c->h, c->mi, c->s };
		static const char sep[6] = { '-', '-', 'T', ':', ':', '\0' };

		for (size_t i = 0; i < 6; i++) {
			len = put_num(out, n, len, part[i], i == 0 ? 4 : 2);
			if (sep[i] != '\0')
				len = put_char(out, n, len, sep[i]);
		}
		if (c->ms != 0) {
			len = put_char(out, n, len, '.');
			len = put_num(out, n, len, c->ms, 3);
		}
		return c->off == 0 ? put_char(out, n, len, 'Z') : put_offset(out, n, len, c->off, 1);
	}
	for (size_t k = 0; k < ds->nops; k++) {
		const struct dop *op = &ds->ops[k];

		switch (op->op) {
		case 'Y': len = put_num(out, n, len, c->y, 4); break;
		case 'm': len = put_num(out, n, len, c->mo, 2); break;
		case 'd': len = put_num(out, n, len, c->d, 2); break;
		case 'H': len = put_num(out, n, len, c->h, 2); break;
		case 'M': len = put_num(out, n, len, c->mi, 2); break;
		case 'S': len = put_num(out, n, len, c->s, 2); break;
		case 'f': len = put_num(out, n, len, c->ms, 3); break;
		case 'z': len = put_offset(out, n, len, c->off, 0); break;
		case 'Z': len = put_offset(out, n, len, c->off, 1); break;
		default: len = put_char(out, n, len, op->lit); break;
		}
	}
	return len;
}

/* iso8601 | epoch_ms | a format of %Y %m %d %H %M %S %f %z %:z %% and literal characters. */
static int dspec_compile(const struct lt_ynode *n, int input, struct dspec *ds, struct lt_err *e)
{
	const char *s;
	size_t len;
	int have = 0;

	if (lt_yget_str(n, &s, e) < 0)
		return -1;
	ds->text = lt_xstrdup(s);
	if (strcmp(s, "iso8601") == 0) {
		ds->kind = D_ISO8601;
		return 0;
	}
	if (strcmp(s, "epoch_ms") == 0) {
		ds->kind = D_EPOCH_MS;
		return 0;
	}
	ds->kind = D_FORMAT;
	len = strlen(s);
	ds->ops = lt_xcalloc(len + 1, sizeof(*ds->ops));
	for (size_t i = 0; i < len; i++) {
		struct dop *op = &ds->ops[ds->nops++];
		const char *conv = "YmdHMSfz";

		if (s[i] != '%') {
			op->op = 'L';
			op->lit = s[i];
			continue;
		}
		i++;
		if (i < len && s[i] == '%') {
			op->op = 'L';
			op->lit = '%';
		} else if (i + 1 < len && s[i] == ':' && s[i + 1] == 'z') {
			op->op = 'Z';
			i++;
		} else if (i < len && s[i] != '\0' && strchr(conv, s[i]) != NULL) {
			op->op = s[i];
			have |= 1 << (strchr(conv, s[i]) - conv);
		} else {
			return lt_ynode_err(n, e, "mapping.date",
					    "unknown conversion '%%%.1s' in date format '%s' (known: %%Y %%m %%d %%H %%M %%S %%f %%z %%:z %%%%)",
					    i < len ? s + i : "", s);
		}
	}
	if (input && (have & 7) != 7)
		return lt_ynode_err(n, e, "mapping.date", "date format '%s' needs %%Y, %%m and %%d to read a date", s);
	if (ds->nops * 6 >= DATE_OUT_MAX)
		return lt_ynode_err(n, e, "mapping.date", "date format '%s' is longer than %d operations", s,
				    (DATE_OUT_MAX - 1) / 6);
	return 0;
}

static int date_compile(const struct lt_ynode *n, const struct lt_ynode *field, void **arg, struct lt_err *e)
{
	struct date_arg *da;
	const struct lt_ynode *in, *out, *tz;
	const char *s;
	size_t i = 0;

	(void)field;
	if (n->type != LT_Y_MAP)
		return lt_ynode_err(n, e, "mapping.date",
				    "date needs a mapping: { in: iso8601, out: \"%%Y%%m%%d%%H%%M%%S\", tz: \"+07:00\" }");
	for (size_t k = 0; k < n->n; k++) {
		const char *key = n->keys[k]->str;

		if (strcmp(key, "in") != 0 && strcmp(key, "out") != 0 && strcmp(key, "tz") != 0)
			return lt_ynode_err(n->keys[k], e, "mapping.date", "unknown key '%s' in date (known: in, out, tz)", key);
	}
	in = lt_ymap_get(n, "in");
	out = lt_ymap_get(n, "out");
	tz = lt_ymap_get(n, "tz");
	if (in == NULL || out == NULL)
		return lt_ynode_err(n, e, "mapping.date", "date needs both 'in' and 'out'");
	da = lt_xcalloc(1, sizeof(*da));
	*arg = da;
	/* The city's zone (FORMATS.md § 1): every endpoint it talks to writes local time in +07:00. */
	da->tz = 7 * 60;
	if (dspec_compile(in, 1, &da->in, e) < 0 || dspec_compile(out, 0, &da->out, e) < 0)
		return -1;
	if (tz != NULL) {
		if (lt_yget_str(tz, &s, e) < 0)
			return -1;
		if (parse_offset(s, strlen(s), &i, &da->tz) < 0 || s[i] != '\0')
			return lt_ynode_err(tz, e, "mapping.date", "tz '%s' is not an offset such as \"+07:00\" or \"Z\"", s);
	}
	return 0;
}

static int date_apply(const struct lt_rule *r, json_t **v, const struct lt_rule_run *rr)
{
	const struct date_arg *da = r->arg;
	struct civil c;
	int64_t ms;
	json_int_t i;
	const char *s = NULL;
	size_t len = 0;
	char out[DATE_OUT_MAX];

	if (json_is_null(*v))
		return 0;
	if (json_is_string(*v)) {
		s = json_string_value(*v);
		len = json_string_length(*v);
		/* An empty string is how these systems say "no date" (FORMATS.md § 7.1). */
		if (len == 0)
			return 0;
	}
	if (da->in.kind == D_EPOCH_MS) {
		if (json_is_integer(*v))
			i = json_integer_value(*v);
		else if (s == NULL || parse_int(s, len, &i) < 0)
			return fail_value(r, *v, rr, "is not epoch milliseconds");
		if (i <= -MS_LIMIT || i >= MS_LIMIT)
			return fail_value(r, *v, rr, "is outside the years 0000-9999");
		ms = i;
	} else {
		int bad = s == NULL || (da->in.kind == D_ISO8601 ? parse_iso(s, len, &c) : parse_with(&da->in, s, len, &c)) < 0;

		if (bad || !civil_valid(&c)) {
			if (da->in.kind == D_ISO8601)
				return fail_value(r, *v, rr, "is not an iso8601 date");
			return fail_value(r, *v, rr, "does not match the date format '%s'", da->in.text);
		}
		ms = civil_to_ms(&c, da->tz);
	}
	if (da->out.kind == D_EPOCH_MS) {
		replace(v, json_integer(ms));
		return 0;
	}
	ms_to_civil(ms, da->tz, &c);
	if (c.y < 0 || c.y > 9999)
		return fail_value(r, *v, rr, "is outside the years 0000-9999");
	len = format_with(&da->out, &c, out);
	replace(v, json_stringn_nocheck(out, len));
	return 0;
}

/* ---- phone --------------------------------------------------------------------------------------- */

/* Vietnamese numbers (FORMATS.md § 7.3): a mobile 0[35789] and 8 digits, a landline 02 and 9
 * digits; written locally with the 0, internationally (SMS APIs) as 84 without it. Spaces, dots,
 * dashes, parentheses and a leading + are accepted on the way in. */
enum phone_form { PHONE_LOCAL, PHONE_INTL };

static const struct phone_name {
	const char *name;
	enum phone_form form;
} phone_names[] = {
	{ "local", PHONE_LOCAL },
	{ "international", PHONE_INTL },
};

static int phone_compile(const struct lt_ynode *n, const struct lt_ynode *field, void **arg, struct lt_err *e)
{
	(void)field;
	*arg = (void *)name_pick(n, phone_names, sizeof(phone_names[0]), sizeof(phone_names) / sizeof(phone_names[0]),
				 "mapping.phone", "phone form", e);
	return *arg != NULL ? 0 : -1;
}

/* The national form ("0912345678") of s in nat (at least 16 bytes); -1 when s is not a
 * Vietnamese phone number. */
static int phone_national(const char *s, size_t len, char *nat)
{
	char d[16];
	size_t nd = 0;
	int plus = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] >= '0' && s[i] <= '9') {
			if (nd == sizeof(d) - 1)
				return -1;
			d[nd++] = s[i];
		} else if (s[i] == '+' && nd == 0 && !plus) {
			plus = 1;
		} else if (strchr(" .-()", s[i]) == NULL) {
			return -1;
		}
	}
	d[nd] = '\0';
	/* nd < 16: both fit nat as they are. */
	if (nd > 2 && d[0] == '8' && d[1] == '4') {
		nat[0] = '0';
		memcpy(nat + 1, d + 2, nd - 1);
		nd--;
	} else if (!plus && nd > 0 && d[0] == '0') {
		memcpy(nat, d, nd + 1);
	} else {
		return -1;
	}
	if (nd == 10 && strchr("35789", nat[1]) != NULL)
		return 0;
	if (nd == 11 && nat[1] == '2')
		return 0;
	return -1;
}

static int phone_apply(const struct lt_rule *r, json_t **v, const struct lt_rule_run *rr)
{
	const struct phone_name *pn = r->arg;
	char buf[40], nat[16];
	const char *s;
	size_t len;

	if (json_is_null(*v))
		return 0;
	if (lt_rule_text(*v, buf, sizeof(buf), &s, &len) < 0)
		return not_text(r, *v, rr);
	if (phone_national(s, len, nat) < 0)
		return fail_value(r, *v, rr, "is not a Vietnamese phone number");
	if (pn->form == PHONE_LOCAL) {
		replace(v, json_string_nocheck(nat));
	} else {
		char intl[17] = "84";

		memcpy(intl + 2, nat + 1, strlen(nat));   /* nat's digits after its 0, and its NUL */
		replace(v, json_string_nocheck(intl));
	}
	return 0;
}

/* ---- unaccent -------------------------------------------------------------------------------- */

/* `unaccent: true`: Vietnamese without diacritics (adapters/vntext.h), for SMS templates in GSM
 * coding and for VNPAY's hashed order info. */
static int unaccent_apply(const struct lt_rule *r, json_t **v, const struct lt_rule_run *rr)
{
	const char *s = NULL;
	size_t len = 0;
	char *out;
	int rc;

	rc = string_of(r, *v, rr, &s, &len);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	out = lt_xmalloc(len + 1);
	len = lt_vn_unaccent(s, len, out);
	replace(v, json_stringn_nocheck(out, len));
	free(out);
	return 0;
}

/* ---- amount_words ------------------------------------------------------------------------------ */

/* `amount_words: vi`, or `amount_words: { lang: vi, odd: linh | le }`: an integer amount of
 * đồng in words, as receipts print it ("Một triệu ba trăm hai mươi nghìn đồng"). */
static const enum lt_vn_odd odd_forms[] = { LT_VN_ODD_LINH, LT_VN_ODD_LE };

static int amount_words_compile(const struct lt_ynode *n, const struct lt_ynode *field, void **arg, struct lt_err *e)
{
	const struct lt_ynode *lang = n, *odd = NULL;
	const char *s;

	(void)field;
	*arg = (void *)&odd_forms[0];
	if (n->type == LT_Y_MAP) {
		for (size_t k = 0; k < n->n; k++)
			if (strcmp(n->keys[k]->str, "lang") != 0 && strcmp(n->keys[k]->str, "odd") != 0)
				return lt_ynode_err(n->keys[k], e, "mapping.amount_words",
						    "unknown key '%s' in amount_words (known: lang, odd)", n->keys[k]->str);
		lang = lt_ymap_get(n, "lang");
		odd = lt_ymap_get(n, "odd");
		if (lang == NULL)
			return lt_ynode_err(n, e, "mapping.amount_words", "amount_words needs 'lang: vi'");
	}
	if (lt_yget_str(lang, &s, e) < 0)
		return -1;
	if (strcmp(s, "vi") != 0)
		return lt_ynode_err(lang, e, "mapping.amount_words", "unknown amount_words language '%s' (known: vi)", s);
	if (odd == NULL)
		return 0;
	if (lt_yget_str(odd, &s, e) < 0)
		return -1;
	if (strcmp(s, "le") == 0 || strcmp(s, "lẻ") == 0)
		*arg = (void *)&odd_forms[1];
	else if (strcmp(s, "linh") != 0)
		return lt_ynode_err(odd, e, "mapping.amount_words", "unknown odd form '%s' (known: linh, le)", s);
	return 0;
}

static int amount_words_apply(const struct lt_rule *r, json_t **v, const struct lt_rule_run *rr)
{
	const enum lt_vn_odd *odd = r->arg;
	char words[LT_VN_WORDS_BUF];
	json_int_t x;
	int len;

	if (json_is_null(*v))
		return 0;
	if (json_is_integer(*v))
		x = json_integer_value(*v);
	else if (!json_is_string(*v) || parse_int(json_string_value(*v), json_string_length(*v), &x) < 0)
		return fail_value(r, *v, rr, "is not an integer amount");
	if (x < 0)
		return fail_value(r, *v, rr, "is negative; amount_words writes amounts of 0 or more");
	len = lt_vn_number_words(x, *odd, words, sizeof(words));
	if (len < 0)
		return fail_value(r, *v, rr, "is more than amount_words can write (10^15)");
	replace(v, json_sprintf("%s đồng", words));
	return 0;
}

/* ---- regex, group, matches ---------------------------------------------------------------------- */

#define REGEX_GROUPS 10      /* group 0 (the whole match) to 9 */

struct regex_arg {
	regex_t re;
	int group;               /* the group to take; -1 for `matches: true` */
};

static void regex_free(void *arg)
{
	struct regex_arg *ra = arg;

	if (ra == NULL)
		return;
	regfree(&ra->re);
	free(ra);
}

/* Compiles a POSIX extended regex written at n; the message names what it was for. */
static int regex_build(const struct lt_ynode *n, regex_t *re, int flags, const char *what, struct lt_err *e)
{
	const char *s;
	char why[160];
	int rc;

	if (lt_yget_str(n, &s, e) < 0)
		return -1;
	rc = regcomp(re, s, REG_EXTENDED | flags);
	if (rc == 0)
		return 0;
	regerror(rc, re, why, sizeof(why));
	return lt_ynode_err(n, e, what, "invalid %s '%s': %s", what + strlen("mapping."), s, why);
}

/* `regex: "^ERR:([0-9]+)"` gives the match; with `group: N` that group; with `matches: true`
 * whether it matched. No match (or an unmatched group) is no value: the default, or no field. */
static int regex_compile(const struct lt_ynode *n, const struct lt_ynode *field, void **arg, struct lt_err *e)
{
	const struct lt_ynode *group = lt_ymap_get(field, "group"), *matches = lt_ymap_get(field, "matches");
	struct regex_arg *ra;
	long long g = 0;
	int on;

	if (group != NULL && matches != NULL)
		return lt_ynode_err(n, e, "mapping.regex", "regex takes 'group' or 'matches', not both");
	if (matches != NULL) {
		if (lt_yget_bool(matches, &on, e) < 0)
			return -1;
		if (!on)
			return lt_ynode_err(matches, e, "mapping.regex", "write 'matches: true', or leave it out");
	}
	if (group != NULL && lt_yget_int(group, &g, e) < 0)
		return -1;
	ra = lt_xcalloc(1, sizeof(*ra));
	if (regex_build(n, &ra->re, matches != NULL ? REG_NOSUB : 0, "mapping.regex", e) < 0) {
		free(ra);
		return -1;
	}
	*arg = ra;
	ra->group = matches != NULL ? -1 : (int)g;
	if (group != NULL && (g < 0 || g >= REGEX_GROUPS || (size_t)g > ra->re.re_nsub))
		return lt_ynode_err(group, e, "mapping.regex", "group %lld, but the regex has %zu group%s", g,
				    ra->re.re_nsub, ra->re.re_nsub == 1 ? "" : "s");
	return 0;
}

/* group and matches are read by regex_compile; on their own they are a mistake. */
static int regex_modifier_compile(const struct lt_ynode *n, const struct lt_ynode *field, void **arg,
				  struct lt_err *e)
{
	(void)arg;
	if (lt_ymap_get(field, "regex") == NULL)
		return lt_ynode_err(n, e, "mapping.regex", "'group' and 'matches' need 'regex'");
	return 1;
}

static int regex_apply(const struct lt_rule *r, json_t **v, const struct lt_rule_run *rr)
{
	const struct regex_arg *ra = r->arg;
	regmatch_t m[REGEX_GROUPS];
	char buf[40];
	const char *s;
	size_t len;
	json_t *text;

	if (json_is_null(*v))
		return 0;
	if (lt_rule_text(*v, buf, sizeof(buf), &s, &len) < 0)
		return not_text(r, *v, rr);
	if (ra->group < 0) {
		replace(v, json_boolean(regexec(&ra->re, s, 0, NULL, 0) == 0));
		return 0;
	}
	if (regexec(&ra->re, s, (size_t)ra->group + 1, m, 0) != 0 || m[ra->group].rm_so < 0)
		return 1;
	/* The match is bytewise: a group cut inside a character would not be text. */
	text = json_stringn(s + m[ra->group].rm_so, (size_t)(m[ra->group].rm_eo - m[ra->group].rm_so));
	if (text == NULL)
		return lt_rule_fail(rr, "regex", r->line, r->col, "%s: the regex cut a character in two", rr->src);
	replace(v, text);
	return 0;
}

/* ---- map ------------------------------------------------------------------------------------- */

/* Maps up to this many keys are searched key by key (length first): cheaper than hashing the
 * value, as jansson's look-up does, for the few keys most maps have. */
#define MAP_SCAN_MAX 16

struct map_arg {
	json_t *table;           /* key text -> result (a jansson object is a hash table) */
	json_t *dflt;            /* the map's own default, NULL when none */
	char known[KNOWN_MAX + 8];
	int known_full;
	size_t nscan;            /* 0: look up in table */
	struct { const char *key; size_t len; json_t *val; } scan[MAP_SCAN_MAX];   /* borrowed from table */
};

static void map_free(void *arg)
{
	struct map_arg *ma = arg;

	if (ma == NULL)
		return;
	json_decref(ma->table);
	json_decref(ma->dflt);
	free(ma);
}

/* The "known: ..." list of a miss message: whole keys only, "..." once it is full. */
static void known_add(struct map_arg *ma, const char *key)
{
	size_t used = strlen(ma->known), need = strlen(key) + (used ? 2 : 0);

	if (ma->known_full)
		return;
	if (used + need > KNOWN_MAX) {
		snprintf(ma->known + used, sizeof(ma->known) - used, ", ...");
		ma->known_full = 1;
		return;
	}
	snprintf(ma->known + used, sizeof(ma->known) - used, "%s%s", used ? ", " : "", key);
}

static int map_compile(const struct lt_ynode *n, const struct lt_ynode *field, void **arg, struct lt_err *e)
{
	struct map_arg *ma;

	(void)field;
	if (n->type != LT_Y_MAP || n->n == 0)
		return lt_ynode_err(n, e, "mapping.map", "map needs a mapping of input values to results, e.g. { accepted: 2 }");
	ma = lt_xcalloc(1, sizeof(*ma));
	*arg = ma;
	ma->table = json_object();
	for (size_t k = 0; k < n->n; k++) {
		const struct lt_ynode *key = n->keys[k];
		const char *text = key->str;
		json_t *val = lt_rule_yvalue(n->items[k], e);

		if (val == NULL)
			return -1;
		/* Plain `default` is the map's own default; a quoted "default" is an input value. */
		if (!key->quoted && strcmp(text, "default") == 0) {
			ma->dflt = val;
			continue;
		}
		/* Keys are compared as text; a plain null key (~, null) is the text of JSON null. */
		if (lt_yscalar_kind(key) == LT_YS_NULL)
			text = "null";
		if (json_object_get(ma->table, text) != NULL) {
			json_decref(val);
			return lt_ynode_err(key, e, "mapping.map", "map key '%s' is written twice", text);
		}
		json_object_set_new_nocheck(ma->table, text, val);
		known_add(ma, text);
	}
	if (json_object_size(ma->table) <= MAP_SCAN_MAX) {
		for (void *it = json_object_iter(ma->table); it != NULL; it = json_object_iter_next(ma->table, it)) {
			ma->scan[ma->nscan].key = json_object_iter_key(it);
			ma->scan[ma->nscan].len = json_object_iter_key_len(it);
			ma->scan[ma->nscan++].val = json_object_iter_value(it);
		}
	}
	return 0;
}

static json_t *map_find(const struct map_arg *ma, const char *s, size_t len)
{
	if (ma->nscan == 0)
		return json_object_getn(ma->table, s, len);
	for (size_t i = 0; i < ma->nscan; i++)
		if (ma->scan[i].len == len && memcmp(ma->scan[i].key, s, len) == 0)
			return ma->scan[i].val;
	return NULL;
}

static int map_apply(const struct lt_rule *r, json_t **v, const struct lt_rule_run *rr)
{
	const struct map_arg *ma = r->arg;
	char buf[40], show[96];
	const char *s;
	size_t len;
	json_t *hit;

	if (lt_rule_text(*v, buf, sizeof(buf), &s, &len) < 0) {
		lt_rule_show(rr, *v, show, sizeof(show));
		return lt_rule_fail(rr, "map", r->line, r->col, "%s is %s; map needs a scalar", rr->src, show);
	}
	hit = map_find(ma, s, len);
	if (hit == NULL)
		hit = ma->dflt;
	if (hit != NULL) {
		replace(v, json_incref(hit));
		return 0;
	}
	/* SPEC.md's own example (`accepted: { from: error_code, map: {"0": true}, default: false }`)
	 * makes the field's default the answer to a miss, not only to a missing value. */
	if (rr->has_default)
		return 1;
	lt_rule_show(rr, *v, show, sizeof(show));
	return lt_rule_fail(rr, "map", r->line, r->col, "value %s is not in the map (known: %s)", show, ma->known);
}

/* ---- pattern ----------------------------------------------------------------------------------- */

/* Most patterns of the partners' formats are a fixed shape: '^[0-9A-Z]{3}\.[0-9]{6}-[0-9]{4,}$',
 * '^[0-9]+$'. Those are matched by a loop over the bytes here, regexec (~1,200 instructions a
 * call) being kept for every other pattern. The shape taken: anchored at both ends, a sequence
 * of items, each a literal byte or a bracket of ASCII letters, digits, ranges and . _ -, repeated
 * + or {m}, {m,}, {m,n} times with m >= 1, and no two items in a row sharing a byte. Then
 * there is only one way to match: each item takes every byte of its set that follows, up to
 * its bound (the next item, needing at least one byte outside that set, cannot start on one),
 * and the match is that walk reaching the end. The gateway runs in the C locale (it never
 * calls setlocale), where regcomp too reads bytes. */
#define SHAPE_ITEMS 24
#define SHAPE_NO_MAX UINT32_MAX

struct shape_item {
	uint8_t set[32];         /* bit c: byte c matches */
	uint32_t min, max;
};

struct pattern_arg {
	regex_t re;
	char *text;
	size_t nshape;           /* 0: not of the shape, regexec decides */
	struct shape_item shape[SHAPE_ITEMS];
};

static int shape_has(const struct shape_item *it, unsigned char c)
{
	return (it->set[c >> 3] >> (c & 7)) & 1;
}

static void shape_add(struct shape_item *it, unsigned char lo, unsigned char hi)
{
	for (unsigned c = lo; c <= hi; c++)
		it->set[c >> 3] |= (uint8_t)(1u << (c & 7));
}

static int ascii_alnum(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* A bracket's content at p (after '['): letters, digits, '.', '_', '-' first or last, and
 * ranges within one of 0-9, A-Z, a-z; returns past its ']', or NULL when it holds anything else
 * (a ']' first, '^', classes, other bytes). */
static const char *shape_bracket(const char *p, struct shape_item *it)
{
	const char *first = p;

	if (*p == ']')
		return NULL;   /* a ']' first is a member, not the end */
	while (*p != ']') {
		unsigned char lo = (unsigned char)p[0], hi = lo;

		if (lo == '-' && (p == first || p[1] == ']')) {
			shape_add(it, lo, lo);
			p++;
			continue;
		}
		if (!ascii_alnum(lo) && lo != '.' && lo != '_')
			return NULL;
		if (p[1] == '-' && p[2] != ']') {
			hi = (unsigned char)p[2];
			if (!ascii_alnum(lo) || !ascii_alnum(hi) || hi < lo || (lo <= '9') != (hi <= '9') ||
			    (lo <= 'Z') != (hi <= 'Z'))
				return NULL;
			p += 2;
		}
		shape_add(it, lo, hi);
		p++;
	}
	return p + 1;
}

/* A decimal bound of an interval, 1 to 255 digits' worth; NULL when there is none. */
static const char *shape_num(const char *p, uint32_t *v)
{
	*v = 0;
	if (*p < '0' || *p > '9')
		return NULL;
	while (*p >= '0' && *p <= '9') {
		*v = *v * 10 + (uint32_t)(*p++ - '0');
		if (*v > 255)
			return NULL;
	}
	return p;
}

/* The items of pattern s when it has the shape above; 0 when it has not. */
static size_t shape_compile(const char *s, struct shape_item *items)
{
	static const char special[] = ".[]()*+?{}|^$\\";
	const char *p = s;
	size_t n = 0;

	if (*p++ != '^')
		return 0;
	while (!(p[0] == '$' && p[1] == '\0')) {
		struct shape_item *it = &items[n];

		if (n == SHAPE_ITEMS || *p == '\0')
			return 0;
		memset(it, 0, sizeof(*it));
		if (*p == '[') {
			if ((p = shape_bracket(p + 1, it)) == NULL)
				return 0;
		} else if (*p == '\\' && p[1] != '\0' && strchr(special, p[1]) != NULL) {
			shape_add(it, (unsigned char)p[1], (unsigned char)p[1]);
			p += 2;
		} else if ((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f && strchr(special, *p) == NULL) {
			shape_add(it, (unsigned char)*p, (unsigned char)*p);
			p++;
		} else {
			return 0;
		}
		it->min = it->max = 1;
		if (*p == '+') {
			it->max = SHAPE_NO_MAX;
			p++;
		} else if (*p == '{') {
			if ((p = shape_num(p + 1, &it->min)) == NULL || it->min == 0)
				return 0;
			it->max = it->min;
			if (*p == ',') {
				if (*++p == '}')
					it->max = SHAPE_NO_MAX;
				else if ((p = shape_num(p, &it->max)) == NULL || it->max < it->min)
					return 0;
			}
			if (*p++ != '}')
				return 0;
		}
		if (*p == '*' || *p == '+' || *p == '?' || *p == '{')
			return 0;
		for (size_t k = 0; n > 0 && k < sizeof(it->set); k++)
			if (it->set[k] & items[n - 1].set[k])
				return 0;
		n++;
	}
	return n;
}

static int shape_match(const struct pattern_arg *pa, const char *s, size_t len)
{
	size_t pos = 0;

	for (size_t i = 0; i < pa->nshape; i++) {
		const struct shape_item *it = &pa->shape[i];
		uint32_t k = 0;

		while (k < it->max && pos < len && shape_has(it, (unsigned char)s[pos]))
			pos++, k++;
		if (k < it->min)
			return 0;
	}
	return pos == len;
}

static void pattern_free(void *arg)
{
	struct pattern_arg *pa = arg;

	if (pa == NULL)
		return;
	regfree(&pa->re);
	free(pa->text);
	free(pa);
}

static int pattern_compile(const struct lt_ynode *n, const struct lt_ynode *field, void **arg, struct lt_err *e)
{
	struct pattern_arg *pa = lt_xcalloc(1, sizeof(*pa));

	(void)field;
	if (regex_build(n, &pa->re, REG_NOSUB, "mapping.pattern", e) < 0) {
		free(pa);
		return -1;
	}
	pa->text = lt_xstrdup(n->str);
	pa->nshape = shape_compile(pa->text, pa->shape);
	*arg = pa;
	return 0;
}

static int pattern_apply(const struct lt_rule *r, json_t **v, const struct lt_rule_run *rr)
{
	const struct pattern_arg *pa = r->arg;
	char buf[40];
	const char *s;
	size_t len;

	if (json_is_null(*v))
		return 0;
	if (lt_rule_text(*v, buf, sizeof(buf), &s, &len) < 0)
		return not_text(r, *v, rr);
	/* Strings never hold a NUL (the JSON decoder refuses \u0000), so s is the whole text. */
	if (pa->nshape > 0 ? shape_match(pa, s, len) : regexec(&pa->re, s, 0, NULL, 0) == 0)
		return 0;
	return fail_value(r, *v, rr, "does not match the pattern '%s'", pa->text);
}

/* ---- max_length, min, max ------------------------------------------------------------------- */

static int max_length_compile(const struct lt_ynode *n, const struct lt_ynode *field, void **arg, struct lt_err *e)
{
	long long v;

	(void)field;
	if (lt_yget_int(n, &v, e) < 0)
		return -1;
	if (v < 0)
		return lt_ynode_err(n, e, "mapping.max_length", "max_length must not be negative");
	*arg = lt_xmalloc(sizeof(size_t));
	*(size_t *)*arg = (size_t)v;
	return 0;
}

static int max_length_apply(const struct lt_rule *r, json_t **v, const struct lt_rule_run *rr)
{
	size_t max = *(const size_t *)r->arg, chars = 0;
	char buf[40];
	const char *s;
	size_t len;

	if (json_is_null(*v))
		return 0;
	if (lt_rule_text(*v, buf, sizeof(buf), &s, &len) < 0)
		return not_text(r, *v, rr);
	/* Characters (code points), not bytes: "Nguyễn" is 6 long, 8 bytes. */
	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			chars++;
	if (chars <= max)
		return 0;
	return lt_rule_fail(rr, "max_length", r->line, r->col, "%s is %zu characters long, more than max_length %zu",
			    rr->src, chars, max);
}

struct bound {
	json_t *v;               /* an integer or a real */
	int is_min;
};

static void bound_free(void *arg)
{
	struct bound *bd = arg;

	if (bd == NULL)
		return;
	json_decref(bd->v);
	free(bd);
}

static int bound_compile(const struct lt_ynode *n, void **arg, struct lt_err *e, int is_min)
{
	enum lt_yscalar kind = lt_yscalar_kind(n);
	struct bound *bd;
	json_t *v;

	if (n->type != LT_Y_SCALAR || (kind != LT_YS_INT && kind != LT_YS_FLOAT))
		return lt_ynode_err(n, e, is_min ? "mapping.min" : "mapping.max", "%s needs a number", is_min ? "min" : "max");
	v = lt_rule_yvalue(n, e);
	if (v == NULL)
		return -1;
	bd = lt_xmalloc(sizeof(*bd));
	bd->v = v;
	bd->is_min = is_min;
	*arg = bd;
	return 0;
}

static int min_compile(const struct lt_ynode *n, const struct lt_ynode *field, void **arg, struct lt_err *e)
{
	(void)field;
	return bound_compile(n, arg, e, 1);
}

static int max_compile(const struct lt_ynode *n, const struct lt_ynode *field, void **arg, struct lt_err *e)
{
	(void)field;
	return bound_compile(n, arg, e, 0);
}

/* <0, 0, >0 as a is below, equal to or above b; integers compared as integers, and mixed pairs
 * as long double, which holds every int64 exactly on the platforms we build for. */
static int num_cmp(const json_t *a, const json_t *b)
{
	long double x, y;

	if (json_is_integer(a) && json_is_integer(b))
		return (json_integer_value(a) > json_integer_value(b)) - (json_integer_value(a) < json_integer_value(b));
	x = json_is_integer(a) ? (long double)json_integer_value(a) : (long double)json_real_value(a);
	y = json_is_integer(b) ? (long double)json_integer_value(b) : (long double)json_real_value(b);
	return (x > y) - (x < y);
}

static int bound_apply(const struct lt_rule *r, json_t **v, const struct lt_rule_run *rr)
{
	const struct bound *bd = r->arg;
	char lim[40];
	const char *s;
	size_t len;
	int c;

	if (json_is_null(*v))
		return 0;
	if (!json_is_number(*v))
		return fail_value(r, *v, rr, "is not a number");
	c = num_cmp(*v, bd->v);
	if ((bd->is_min && c >= 0) || (!bd->is_min && c <= 0))
		return 0;
	lt_rule_text(bd->v, lim, sizeof(lim), &s, &len);
	return fail_value(r, *v, rr, "is %s than %s %s", bd->is_min ? "less" : "more", r->def->name, s);
}

/* ---- hmac ------------------------------------------------------------------------------------ */

/* `hmac: { algorithm, key, canonical }`: a signature over other fields of the same output object,
 * with the canonical strings and HMAC of adapters/sign.h (the ones callback verification uses), in
 * lower-case hex. The key may come from ${env:} or an absolute ${file:}. */
#define HMAC_CANON_MAX (1024 * 1024)

struct hmac_arg {
	struct lt_verify_cfg vc;     /* form, prefix, exclude, fields, separator; no values */
	int digest;
	char *key;
};

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void hmac_free(void *arg)
{
	struct hmac_arg *ha = arg;

	if (ha == NULL)
		return;
	free(ha->vc.prefix);
	free(ha->vc.separator);
	free_list(ha->vc.exclude, ha->vc.n_exclude);
	free_list(ha->vc.fields, ha->vc.n_fields);
	if (ha->key != NULL)
		OPENSSL_cleanse(ha->key, strlen(ha->key));
	free(ha->key);
	free(ha);
}

/* Only the keys named in known (NULL-terminated) may appear in map n. */
static int keys_known(const struct lt_ynode *n, const char *what, const char *const *known, struct lt_err *e)
{
	char list[160] = "";

	for (size_t k = 0; k < n->n; k++) {
		size_t i = 0;

		while (known[i] != NULL && strcmp(known[i], n->keys[k]->str) != 0)
			i++;
		if (known[i] != NULL)
			continue;
		for (i = 0; known[i] != NULL; i++)
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "", known[i]);
		return lt_ynode_err(n->keys[k], e, "mapping.hmac", "unknown key '%s' in %s (known: %s)", n->keys[k]->str,
				    what, list);
	}
	return 0;
}

static int str_list(const struct lt_ynode *n, char ***out, size_t *nout, struct lt_err *e)
{
	const char *s;

	if (n->type != LT_Y_SEQ)
		return lt_ynode_err(n, e, "mapping.hmac", "expected a list of field names, such as [amount, orderId]");
	*out = lt_xcalloc(n->n ? n->n : 1, sizeof(**out));
	for (size_t i = 0; i < n->n; i++) {
		if (lt_yget_str(n->items[i], &s, e) < 0)
			return -1;
		(*out)[(*nout)++] = lt_xstrdup(s);
	}
	return 0;
}

static int canonical_compile(const struct lt_ynode *n, struct lt_verify_cfg *vc, struct lt_err *e)
{
	static const char *const forms[] = { "sorted-query", "join", "pairs" };
	static const char *const keys[] = { "form", "fields", "separator", "prefix", "exclude", NULL };
	const struct lt_ynode *v;
	const char *s;

	if (n->type != LT_Y_MAP)
		return lt_ynode_err(n, e, "mapping.hmac", "canonical needs a mapping: { form: join, fields: [...] }");
	if (keys_known(n, "canonical", keys, e) < 0)
		return -1;
	if ((v = lt_ymap_get(n, "form")) == NULL)
		return lt_ynode_err(n, e, "mapping.hmac", "canonical needs 'form' (sorted-query, join or pairs)");
	if (lt_yget_str(v, &s, e) < 0)
		return -1;
	vc->form = LT_CANON_SORTED_QUERY;
	while (strcmp(s, forms[vc->form]) != 0)
		if (++vc->form > LT_CANON_PAIRS)
			return lt_ynode_err(v, e, "mapping.hmac", "unknown canonical form '%s' (known: sorted-query, join, pairs)", s);
	if ((v = lt_ymap_get(n, "fields")) != NULL && str_list(v, &vc->fields, &vc->n_fields, e) < 0)
		return -1;
	if ((v = lt_ymap_get(n, "exclude")) != NULL && str_list(v, &vc->exclude, &vc->n_exclude, e) < 0)
		return -1;
	if (vc->form != LT_CANON_SORTED_QUERY && vc->n_fields == 0)
		return lt_ynode_err(n, e, "mapping.hmac", "canonical form %s needs 'fields'", forms[vc->form]);
	if ((v = lt_ymap_get(n, "prefix")) != NULL) {
		if (lt_yget_str(v, &s, e) < 0)
			return -1;
		vc->prefix = lt_xstrdup(s);
	}
	s = "|";
	if ((v = lt_ymap_get(n, "separator")) != NULL && lt_yget_str(v, &s, e) < 0)
		return -1;
	vc->separator = lt_xstrdup(s);
	return 0;
}

static int hmac_compile(const struct lt_ynode *n, const struct lt_ynode *field, void **arg, struct lt_err *e)
{
	static const char *const keys[] = { "algorithm", "key", "canonical", NULL };
	const struct lt_ynode *alg, *key, *canon;
	struct hmac_arg *ha;
	const char *s;
	int secret = 0;

	(void)field;
	if (n->type != LT_Y_MAP)
		return lt_ynode_err(n, e, "mapping.hmac", "hmac needs a mapping: { algorithm: sha256, key: \"${env:NAME}\", "
				    "canonical: {...} }");
	if (keys_known(n, "hmac", keys, e) < 0)
		return -1;
	alg = lt_ymap_get(n, "algorithm");
	key = lt_ymap_get(n, "key");
	canon = lt_ymap_get(n, "canonical");
	if (alg == NULL || key == NULL || canon == NULL)
		return lt_ynode_err(n, e, "mapping.hmac", "hmac needs 'algorithm', 'key' and 'canonical'");
	ha = lt_xcalloc(1, sizeof(*ha));
	*arg = ha;
	if (lt_yget_str(alg, &s, e) < 0)
		return -1;
	if (lt_digest_parse(s, &ha->digest, e) < 0)
		return lt_ynode_err(alg, e, "mapping.hmac", "unknown algorithm '%s' (known: md5, sha1, sha256, sha512)", s);
	if (lt_yget_expand(key, NULL, &ha->key, &secret, e) < 0)
		return -1;
	if (ha->key[0] == '\0')
		return lt_ynode_err(key, e, "mapping.hmac", "the hmac key is empty");
	return canonical_compile(canon, &ha->vc, e);
}

static int hmac_sign(const struct lt_rule *r, json_t *obj, const char *self, json_t **v, const struct lt_rule_run *rr)
{
	const struct hmac_arg *ha = r->arg;
	struct lt_verify_cfg vc = ha->vc;
	char hex[LT_HEX_MAX];
	struct lt_buf b;
	struct lt_err e;
	int rc;

	/* The field itself is never part of what it signs. */
	vc.signature = (char *)self;
	lt_err_clear(&e);
	lt_buf_init(&b, HMAC_CANON_MAX);
	rc = lt_canon_build(&vc, obj, &b, &e);
	if (rc == 0)
		rc = lt_hmac_hex(ha->digest, ha->key, strlen(ha->key), b.data ? b.data : "", b.len, hex, sizeof(hex));
	lt_buf_free(&b);
	if (rc < 0)
		return lt_rule_fail(rr, "hmac", r->line, r->col, "cannot sign: %s", e.msg[0] ? e.msg : "hmac failed");
	*v = json_string_nocheck(hex);
	return 0;
}

/* ---- the table ------------------------------------------------------------------------------- */

/* In the order SPEC.md lists them; `order` is the order they run in. Entries without functions
 * are SPEC rules not built yet: naming one is a load error, never silently ignored. regex runs
 * before map so that a captured group can be mapped (SPEC.md's VNPT example does this). */
static const struct lt_rule_def rule_defs[] = {
	{ "type", LT_RULE_CONVERT, 0, type_compile, type_apply, NULL, NULL },
	{ "scale", LT_RULE_CONVERT + 1, 0, scale_compile, scale_apply, free, NULL },
	{ "trim", LT_RULE_SHAPE, 0, compile_flag, trim_apply, NULL, NULL },
	{ "upper", LT_RULE_SHAPE + 1, 0, compile_flag, upper_apply, NULL, NULL },
	{ "lower", LT_RULE_SHAPE + 2, 0, compile_flag, lower_apply, NULL, NULL },
	{ "unaccent", LT_RULE_SHAPE + 3, 0, compile_flag, unaccent_apply, NULL, NULL },
	{ "phone", LT_RULE_SHAPE + 4, 0, phone_compile, phone_apply, NULL, NULL },
	{ "date", LT_RULE_SHAPE + 5, 1, date_compile, date_apply, date_free, NULL },
	{ "amount_words", LT_RULE_SHAPE + 6, 0, amount_words_compile, amount_words_apply, NULL, NULL },
	{ "regex", LT_RULE_SHAPE + 7, 1, regex_compile, regex_apply, regex_free, NULL },
	{ "group", LT_RULE_SHAPE + 7, 0, regex_modifier_compile, NULL, NULL, NULL },
	{ "matches", LT_RULE_SHAPE + 7, 0, regex_modifier_compile, NULL, NULL, NULL },
	{ "map", LT_RULE_SHAPE + 10, 1, map_compile, map_apply, map_free, NULL },
	{ "pattern", LT_RULE_VALIDATE, 0, pattern_compile, pattern_apply, pattern_free, NULL },
	{ "max_length", LT_RULE_VALIDATE + 1, 0, max_length_compile, max_length_apply, free, NULL },
	{ "min", LT_RULE_VALIDATE + 2, 0, min_compile, bound_apply, bound_free, NULL },
	{ "max", LT_RULE_VALIDATE + 3, 0, max_compile, bound_apply, bound_free, NULL },
	{ "hmac", LT_RULE_VALIDATE + 20, 0, hmac_compile, NULL, hmac_free, hmac_sign },
};

const struct lt_rule_def *lt_rule_find(const char *name)
{
	for (size_t i = 0; i < sizeof(rule_defs) / sizeof(rule_defs[0]); i++)
		if (strcmp(rule_defs[i].name, name) == 0)
			return &rule_defs[i];
	return NULL;
}

size_t lt_rule_names(char *buf, size_t n)
{
	size_t used = 0;

	if (n == 0)
		return 0;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(rule_defs) / sizeof(rule_defs[0]); i++) {
		int w = snprintf(buf + used, n - used, "%s%s", used ? ", " : "", rule_defs[i].name);
		if (w < 0 || (size_t)w >= n - used)
			break;
		used += (size_t)w;
	}
	return used;
}

void lt_rule_release(struct lt_rule *r)
{
	if (r == NULL || r->def == NULL || r->def->free == NULL)
		return;
	r->def->free(r->arg);
	r->arg = NULL;
}
