/* test_ytree.c: the strict YAML loader (gateway/ytree.c): positions, refusals with their exact
 * FILE:LINE:COL messages, core-schema typing, typed getters and secret expansion. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/util.h"
#include "gateway/ytree.h"

static struct lt_ytree *parse_ok(const char *yaml)
{
	struct lt_ytree *t = NULL;
	struct lt_err e;
	char msg[1024];

	lt_err_clear(&e);
	if (lt_ytree_parse("t.yaml", yaml, strlen(yaml), &t, &e) < 0) {
		lt_err_format(&e, msg, sizeof(msg));
		fail_msg("unexpected error: %s", msg);
	}
	return t;
}

/* Parses yaml, expects a failure with this code and this exact FILE:LINE:COL: message. */
static void parse_fails(const char *yaml, size_t len, const char *code, const char *text)
{
	struct lt_ytree *t = NULL;
	struct lt_err e;
	char msg[1024];

	lt_err_clear(&e);
	assert_int_equal(lt_ytree_parse("t.yaml", yaml, len, &t, &e), -1);
	assert_null(t);
	lt_err_format(&e, msg, sizeof(msg));
	assert_string_equal(msg, text);
	assert_string_equal(e.code, code);
}

#define FAILS(yaml, code, text) parse_fails(yaml, strlen(yaml), code, text)

static void test_tree_positions(void **state)
{
	struct lt_ytree *t = parse_ok("gateway:\n  workers: 4\nlist: [a, 'b', \"c\"]\nblock: |\n  x\n");
	const struct lt_ynode *r, *g, *l, *w;

	(void)state;
	r = t->root;
	assert_int_equal(r->type, LT_Y_MAP);
	assert_int_equal(r->n, 3);
	assert_string_equal(r->keys[0]->str, "gateway");
	assert_int_equal(r->keys[2]->line, 4);
	assert_int_equal(r->keys[2]->col, 1);
	g = lt_ymap_get(r, "gateway");
	assert_int_equal(g->type, LT_Y_MAP);
	assert_int_equal(g->line, 2);
	assert_int_equal(g->col, 3);
	w = lt_ymap_get(g, "workers");
	assert_string_equal(w->str, "4");
	assert_int_equal(w->len, 1);
	assert_int_equal(w->line, 2);
	assert_int_equal(w->col, 12);
	assert_false(w->quoted);
	assert_string_equal(w->file, "t.yaml");
	assert_string_equal(t->file, "t.yaml");
	l = lt_ymap_get(r, "list");
	assert_int_equal(l->type, LT_Y_SEQ);
	assert_int_equal(l->n, 3);
	assert_int_equal(l->col, 7);
	assert_false(l->items[0]->quoted);
	assert_true(l->items[1]->quoted);
	assert_true(l->items[2]->quoted);
	assert_int_equal(l->items[2]->col, 16);
	assert_string_equal(lt_ymap_get(r, "block")->str, "x\n");
	assert_true(lt_ymap_get(r, "block")->quoted);
	assert_null(lt_ymap_get(r, "nope"));
	assert_null(lt_ymap_get(l, "a"));
	lt_ytree_free(t);
}

static void test_load_fixture(void **state)
{
	struct lt_ytree *t = NULL;
	struct lt_err e;
	const struct lt_ynode *name, *ports;

	(void)state;
	lt_err_clear(&e);
	assert_int_equal(lt_ytree_load("fixtures/config/ytree/sample.yaml", &t, &e), 0);
	name = lt_ymap_get(t->root, "name");
	assert_string_equal(name->str, "Sở Tư pháp");
	assert_string_equal(name->file, "fixtures/config/ytree/sample.yaml");
	assert_int_equal(name->line, 2);
	assert_int_equal(name->col, 7);
	ports = lt_ymap_get(t->root, "ports");
	assert_int_equal(ports->n, 2);
	assert_int_equal(ports->items[1]->line, 5);
	assert_int_equal(ports->items[1]->col, 5);
	lt_ytree_free(t);
}

static void test_load_missing(void **state)
{
	struct lt_ytree *t = NULL;
	struct lt_err e;
	char msg[512];

	(void)state;
	lt_err_clear(&e);
	assert_int_equal(lt_ytree_load("fixtures/config/ytree/nope.yaml", &t, &e), -1);
	lt_err_format(&e, msg, sizeof(msg));
	assert_string_equal(msg, "cannot open fixtures/config/ytree/nope.yaml: No such file or directory");
}

static void test_empty_documents(void **state)
{
	static const char *const empties[] = { "", "# only a comment\n", "---\n", "---\n...\n" };

	(void)state;
	for (size_t i = 0; i < sizeof(empties) / sizeof(empties[0]); i++) {
		struct lt_ytree *t = parse_ok(empties[i]);

		assert_null(t->root);
		lt_ytree_free(t);
	}
}

static void test_scalar_kinds(void **state)
{
	static const struct {
		const char *yaml;
		enum lt_yscalar kind;
	} cases[] = {
		{ "v: null", LT_YS_NULL }, { "v: Null", LT_YS_NULL }, { "v: NULL", LT_YS_NULL }, { "v: ~", LT_YS_NULL },
		{ "v:", LT_YS_NULL }, { "v: nULL", LT_YS_STRING }, { "v: ''", LT_YS_STRING },
		{ "v: true", LT_YS_BOOL }, { "v: True", LT_YS_BOOL }, { "v: TRUE", LT_YS_BOOL },
		{ "v: false", LT_YS_BOOL }, { "v: False", LT_YS_BOOL }, { "v: FALSE", LT_YS_BOOL },
		{ "v: yes", LT_YS_STRING }, { "v: on", LT_YS_STRING }, { "v: 'true'", LT_YS_STRING },
		{ "v: 42", LT_YS_INT }, { "v: -7", LT_YS_INT }, { "v: +7", LT_YS_INT }, { "v: 0123", LT_YS_INT },
		{ "v: 0x1F", LT_YS_INT }, { "v: 0o17", LT_YS_INT }, { "v: 0o19", LT_YS_STRING },
		{ "v: 0x", LT_YS_STRING }, { "v: \"42\"", LT_YS_STRING }, { "v: 1_000", LT_YS_STRING },
		{ "v: 1.5", LT_YS_FLOAT }, { "v: .5", LT_YS_FLOAT }, { "v: 2.", LT_YS_FLOAT },
		{ "v: 1e3", LT_YS_FLOAT }, { "v: -1.5E-3", LT_YS_FLOAT }, { "v: .inf", LT_YS_FLOAT },
		{ "v: -.Inf", LT_YS_FLOAT }, { "v: .NaN", LT_YS_FLOAT }, { "v: 1e", LT_YS_STRING },
		{ "v: .", LT_YS_STRING }, { "v: 2s", LT_YS_STRING }, { "v: 1.2.3", LT_YS_STRING },
		{ "v: !!str 42", LT_YS_STRING }, { "v: !!int \"42\"", LT_YS_INT }, { "v: |\n  true\n", LT_YS_STRING },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct lt_ytree *t = parse_ok(cases[i].yaml);
		enum lt_yscalar k = lt_yscalar_kind(lt_ymap_get(t->root, "v"));

		if (k != cases[i].kind)
			fail_msg("%s: kind %d, expected %d", cases[i].yaml, (int)k, (int)cases[i].kind);
		lt_ytree_free(t);
	}
}

/* Runs a getter on key `v` of yaml and checks its formatted error. */
enum getter { G_STR, G_BOOL, G_INT, G_DUR, G_SIZE };

static void getter_fails(const char *yaml, enum getter g, const char *text)
{
	struct lt_ytree *t = parse_ok(yaml);
	const struct lt_ynode *v = lt_ymap_get(t->root, "v");
	struct lt_err e;
	const char *s;
	long long ll;
	size_t sz;
	int b, rc = 0;
	char msg[512];

	lt_err_clear(&e);
	switch (g) {
	case G_STR: rc = lt_yget_str(v, &s, &e); break;
	case G_BOOL: rc = lt_yget_bool(v, &b, &e); break;
	case G_INT: rc = lt_yget_int(v, &ll, &e); break;
	case G_DUR: rc = lt_yget_duration(v, &ll, &e); break;
	case G_SIZE: rc = lt_yget_size(v, &sz, &e); break;
	}
	assert_int_equal(rc, -1);
	lt_err_format(&e, msg, sizeof(msg));
	assert_string_equal(msg, text);
	assert_string_equal(e.code, "config.type");
	lt_ytree_free(t);
}

static void test_getters(void **state)
{
	struct lt_ytree *t = parse_ok("s: plain\nq: '0123'\nb: True\ni: -42\nx: 0x1f\no: 0o17\n"
				      "d: 250ms\nm: 5m\nn: 300\nz: 64KiB\nqd: \"2s\"\n");
	const struct lt_ynode *r = t->root;
	const char *s;
	long long ll;
	size_t sz;
	int b;

	(void)state;
	assert_int_equal(lt_yget_str(lt_ymap_get(r, "s"), &s, NULL), 0);
	assert_string_equal(s, "plain");
	assert_int_equal(lt_yget_str(lt_ymap_get(r, "q"), &s, NULL), 0);
	assert_string_equal(s, "0123");
	assert_int_equal(lt_yget_str(lt_ymap_get(r, "i"), &s, NULL), 0);
	assert_string_equal(s, "-42");
	assert_int_equal(lt_yget_bool(lt_ymap_get(r, "b"), &b, NULL), 0);
	assert_int_equal(b, 1);
	assert_int_equal(lt_yget_int(lt_ymap_get(r, "i"), &ll, NULL), 0);
	assert_int_equal(ll, -42);
	assert_int_equal(lt_yget_int(lt_ymap_get(r, "x"), &ll, NULL), 0);
	assert_int_equal(ll, 31);
	assert_int_equal(lt_yget_int(lt_ymap_get(r, "o"), &ll, NULL), 0);
	assert_int_equal(ll, 15);
	assert_int_equal(lt_yget_duration(lt_ymap_get(r, "d"), &ll, NULL), 0);
	assert_int_equal(ll, 250);
	assert_int_equal(lt_yget_duration(lt_ymap_get(r, "m"), &ll, NULL), 0);
	assert_int_equal(ll, 300000);
	assert_int_equal(lt_yget_duration(lt_ymap_get(r, "n"), &ll, NULL), 0);
	assert_int_equal(ll, 300);
	assert_int_equal(lt_yget_duration(lt_ymap_get(r, "qd"), &ll, NULL), 0);
	assert_int_equal(ll, 2000);
	assert_int_equal(lt_yget_size(lt_ymap_get(r, "z"), &sz, NULL), 0);
	assert_int_equal(sz, 65536);
	lt_ytree_free(t);

	getter_fails("v: {a: 1}", G_STR, "t.yaml:1:4: expected a string, got a mapping");
	getter_fails("v:\n  - a\n", G_STR, "t.yaml:2:3: expected a string, got a list");
	getter_fails("v: yes", G_BOOL, "t.yaml:1:4: expected a boolean (true or false), got 'yes'");
	getter_fails("v: \"true\"", G_BOOL,
		     "t.yaml:1:4: expected a boolean (true or false), got 'true' (quoted, so a string)");
	getter_fails("v:", G_BOOL, "t.yaml:1:3: expected a boolean (true or false), got an empty value");
	getter_fails("v: 12a", G_INT, "t.yaml:1:4: expected an integer, got '12a'");
	getter_fails("v: '8443'", G_INT, "t.yaml:1:4: expected an integer, got '8443' (quoted, so a string)");
	getter_fails("v: 1.5", G_INT, "t.yaml:1:4: expected an integer, got '1.5'");
	getter_fails("v: 99999999999999999999", G_INT, "t.yaml:1:4: integer '99999999999999999999' is out of range");
	getter_fails("v: 2 s", G_DUR, "t.yaml:1:4: expected a duration such as 250ms, 2s or 5m, got '2 s'");
	getter_fails("v: [2s]", G_DUR, "t.yaml:1:4: expected a duration such as 250ms, 2s or 5m, got a list");
	getter_fails("v: 1MB/s", G_SIZE, "t.yaml:1:4: expected a size such as 512, 64KiB or 1MiB, got '1MB/s'");
}

static void test_show(void **state)
{
	struct lt_ytree *t = parse_ok("a: \"tab\\there\"\n"
				      "b: Hồ sơ của ông Nguyễn Văn Ấn tại Trung tâm Phục vụ hành chính công\n");
	char buf[80];

	(void)state;
	lt_ynode_show(lt_ymap_get(t->root, "a"), buf, sizeof(buf));
	assert_string_equal(buf, "'tab?here'");
	/* Byte 60 falls inside the 'ụ' (bytes 58-60): the cut backs off to its first byte. */
	lt_ynode_show(lt_ymap_get(t->root, "b"), buf, sizeof(buf));
	assert_string_equal(buf, "'Hồ sơ của ông Nguyễn Văn Ấn tại Trung tâm Ph...'");
	lt_ynode_show(t->root, buf, sizeof(buf));
	assert_string_equal(buf, "a mapping");
	lt_ynode_show(NULL, buf, sizeof(buf));
	assert_string_equal(buf, "nothing");
	lt_ytree_free(t);
}

static void test_anchors_and_aliases(void **state)
{
	(void)state;
	FAILS("a: &x 1\nb: 2\n", "yaml.alias", "t.yaml:1:4: anchors and aliases are not supported (&x)");
	FAILS("a: 1\nb: *x\n", "yaml.alias", "t.yaml:2:4: anchors and aliases are not supported (*x)");
	FAILS("base: &b {k: v}\nc: *b\n", "yaml.alias", "t.yaml:1:7: anchors and aliases are not supported (&b)");
	FAILS("- &s [*s]\n", "yaml.alias", "t.yaml:1:3: anchors and aliases are not supported (&s)");
	FAILS("a: {<<: *b}\n", "yaml.alias", "t.yaml:1:9: anchors and aliases are not supported (*b)");
}

static void test_tags(void **state)
{
	struct lt_ytree *t = parse_ok("a: !!str 12\nb: !!int \"12\"\nc: !!float 3\nd: !!map {k: v}\ne: !!seq []\n"
				      "f: !!null ~\ng: !!bool false\n");

	(void)state;
	assert_int_equal(lt_yscalar_kind(lt_ymap_get(t->root, "a")), LT_YS_STRING);
	assert_int_equal(lt_yscalar_kind(lt_ymap_get(t->root, "b")), LT_YS_INT);
	assert_int_equal(lt_yscalar_kind(lt_ymap_get(t->root, "c")), LT_YS_INT);
	assert_int_equal(lt_ymap_get(t->root, "d")->type, LT_Y_MAP);
	assert_int_equal(lt_ymap_get(t->root, "e")->type, LT_Y_SEQ);
	lt_ytree_free(t);

	FAILS("a: !foo x\n", "yaml.tag",
	      "t.yaml:1:4: tag !foo is not supported (only !!str, !!int, !!float, !!bool, !!null, !!seq and !!map)");
	FAILS("a: !!binary aGk=\n", "yaml.tag",
	      "t.yaml:1:4: tag !!binary is not supported (only !!str, !!int, !!float, !!bool, !!null, !!seq and !!map)");
	FAILS("a: !<tag:example.com:x> [1]\n", "yaml.tag",
	      "t.yaml:1:4: tag tag:example.com:x is not supported (only !!str, !!int, !!float, !!bool, !!null, "
	      "!!seq and !!map)");
	FAILS("a: !!int abc\n", "yaml.tag", "t.yaml:1:4: 'abc' is not a valid !!int");
	FAILS("a: !!bool yes\n", "yaml.tag", "t.yaml:1:4: 'yes' is not a valid !!bool");
	FAILS("a: !!map x\n", "yaml.tag", "t.yaml:1:4: tag !!map does not fit a scalar");
	FAILS("a: !!seq {k: v}\n", "yaml.tag", "t.yaml:1:4: tag !!seq does not fit a mapping");
}

static void test_duplicate_keys(void **state)
{
	struct lt_buf b;
	char expect[128];

	(void)state;
	FAILS("a: 1\nb: 2\na: 3\n", "yaml.duplicate_key", "t.yaml:3:1: duplicate key 'a' (first at 1:1)");
	FAILS("m: {x: 1, y: 2, x: 3}\n", "yaml.duplicate_key", "t.yaml:1:17: duplicate key 'x' (first at 1:5)");
	FAILS("a:\n  k: 1\n  'k': 2\n", "yaml.duplicate_key", "t.yaml:3:3: duplicate key 'k' (first at 2:3)");
	/* The same key in two different maps is fine. */
	lt_ytree_free(parse_ok("a: {k: 1}\nb: {k: 2}\n"));

	/* A big map goes through the hash set: its duplicate must still be caught. */
	lt_buf_init(&b, 1 << 20);
	for (int i = 0; i < 5000; i++)
		lt_buf_printf(&b, "key%d: %d\n", i, i);
	lt_buf_puts(&b, "key1234: again\n");
	snprintf(expect, sizeof(expect), "t.yaml:5001:1: duplicate key 'key1234' (first at 1235:1)");
	parse_fails(b.data, b.len, "yaml.duplicate_key", expect);
	lt_buf_free(&b);
}

static void test_structure_refusals(void **state)
{
	(void)state;
	FAILS("? [a, b]\n: c\n", "yaml.syntax", "t.yaml:1:3: a mapping key must be a scalar, not a list");
	FAILS("{ {a: 1}: 2 }\n", "yaml.syntax", "t.yaml:1:3: a mapping key must be a scalar, not a mapping");
	FAILS("a: 1\n---\nb: 2\n", "yaml.syntax", "t.yaml:2:1: a second YAML document (a file holds exactly one)");
	FAILS("a: \"x\\0y\"\n", "yaml.syntax", "t.yaml:1:4: a NUL character (\\0) is not allowed in a value");
}

static void test_syntax_errors(void **state)
{
	(void)state;
	FAILS("a: [1, 2\nb: 3\n", "yaml.syntax",
	      "t.yaml:2:2: did not find expected ',' or ']' (while parsing a flow sequence at 1:4)");
	FAILS("a: 1\n b: 2\n", "yaml.syntax", "t.yaml:2:3: mapping values are not allowed in this context");
	FAILS("k: \"open\n", "yaml.syntax",
	      "t.yaml:2:1: found unexpected end of stream (while scanning a quoted scalar at 1:4)");
	/* Reader errors have a byte offset, not a mark: the position is counted from it. */
	FAILS("a: 1\nb: x\xff\n", "yaml.syntax", "t.yaml:2:5: invalid leading UTF-8 octet (0xFF)");
	parse_fails("a: 1\nb: x\0y\n", 11, "yaml.syntax", "t.yaml:2:5: control characters are not allowed (0x00)");
}

/* "[[[...]]]" nested n deep. */
static char *nested(int n)
{
	char *s = lt_xmalloc((size_t)n * 2 + 1);

	memset(s, '[', (size_t)n);
	memset(s + n, ']', (size_t)n);
	s[2 * n] = '\0';
	return s;
}

static void test_depth_limit(void **state)
{
	char *ok = nested(LT_YTREE_MAX_DEPTH), *deep = nested(LT_YTREE_MAX_DEPTH + 1);

	(void)state;
	lt_ytree_free(parse_ok(ok));
	FAILS(deep, "yaml.limits", "t.yaml:1:65: nested deeper than 64 levels");
	free(ok);
	free(deep);
}

/* "[0,0,...,0]" with n scalars: n + 1 nodes. */
static char *flat(size_t n)
{
	char *s = lt_xmalloc(n * 2 + 2), *p = s;

	*p++ = '[';
	for (size_t i = 0; i < n; i++) {
		*p++ = '0';
		*p++ = i + 1 < n ? ',' : ']';
	}
	*p = '\0';
	return s;
}

static void test_node_limit(void **state)
{
	char *ok = flat(LT_YTREE_MAX_NODES - 1), *big = flat(LT_YTREE_MAX_NODES);
	char expect[128];

	(void)state;
	lt_ytree_free(parse_ok(ok));
	/* The sequence is node 1 at column 1; scalar k is node k + 1 at column 2k. */
	snprintf(expect, sizeof(expect), "t.yaml:1:%d: more than %d YAML nodes in one file",
		 2 * LT_YTREE_MAX_NODES, LT_YTREE_MAX_NODES);
	FAILS(big, "yaml.limits", expect);
	free(ok);
	free(big);
}

static void test_size_limit(void **state)
{
	char path[] = "/tmp/lt-ytree-XXXXXX";
	char *buf = lt_xcalloc(1, LT_YTREE_MAX_FILE + 1), expect[256];
	struct lt_ytree *t = NULL;
	struct lt_err e;
	int fd;

	(void)state;
	parse_fails(buf, LT_YTREE_MAX_FILE + 1, "yaml.limits", "t.yaml: file is larger than 8388608 bytes");
	free(buf);

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, LT_YTREE_MAX_FILE + 1), 0);
	close(fd);
	lt_err_clear(&e);
	assert_int_equal(lt_ytree_load(path, &t, &e), -1);
	assert_string_equal(e.code, "yaml.limits");
	snprintf(expect, sizeof(expect), "%s is larger than 8388608 bytes", path);
	assert_string_equal(e.msg, expect);
	unlink(path);
}

/* ---- secrets ---------------------------------------------------------------------------------- */

static char secret_dir[64];

static int secrets_setup(void **state)
{
	(void)state;
	snprintf(secret_dir, sizeof(secret_dir), "/tmp/lt-secrets-XXXXXX");
	return mkdtemp(secret_dir) == NULL ? -1 : 0;
}

static void write_file(const char *dir, const char *name, const char *data, size_t len)
{
	char *path = lt_path_join(dir, name);
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
	free(path);
}

static int secrets_teardown(void **state)
{
	static const char *const files[] = { "pass", "crlf", "two", "big", "nul", NULL };

	(void)state;
	for (size_t i = 0; files[i] != NULL; i++) {
		char *p = lt_path_join(secret_dir, files[i]);

		unlink(p);
		free(p);
	}
	rmdir(secret_dir);
	return 0;
}

static void expands_to(const char *in, const char *want, int want_secret)
{
	char *out = NULL;
	int secret = -1;
	struct lt_err e;

	lt_err_clear(&e);
	if (lt_expand_secrets(in, secret_dir, &out, &secret, &e) < 0)
		fail_msg("%s: %s", in, e.msg);
	assert_string_equal(out, want);
	assert_int_equal(secret, want_secret);
	free(out);
}

static void expand_fails(const char *in, const char *msg)
{
	char *out = NULL;
	struct lt_err e;

	lt_err_clear(&e);
	assert_int_equal(lt_expand_secrets(in, secret_dir, &out, NULL, &e), -1);
	assert_null(out);
	assert_string_equal(e.code, "config.secret");
	assert_string_equal(e.msg, msg);
	/* No secret value may ever reach a message. */
	assert_null(strstr(e.msg, "hunter2"));
	assert_null(strstr(e.msg, "s3cret"));
}

static void test_expand_env(void **state)
{
	(void)state;
	setenv("LT_T_PASS", "hunter2", 1);
	setenv("LT_T_EMPTY", "", 1);
	unsetenv("LT_T_UNSET");
	expands_to("plain text", "plain text", 0);
	expands_to("${env:LT_T_PASS}", "hunter2", 1);
	expands_to("Bearer ${env:LT_T_PASS}!", "Bearer hunter2!", 1);
	expands_to("${env:LT_T_UNSET:-dev}", "dev", 1);
	expands_to("${env:LT_T_EMPTY:-dev}", "dev", 1);
	expands_to("${env:LT_T_PASS:-dev}", "hunter2", 1);
	expands_to("${env:LT_T_UNSET:-}", "", 1);
	expands_to("a$b $ ${env:LT_T_PASS}$", "a$b $ hunter2$", 1);
	expands_to("$${env:LT_T_PASS}", "${env:LT_T_PASS}", 0);
	expands_to("cost: $$5", "cost: $$5", 0);
	expand_fails("${env:LT_T_UNSET}", "environment variable LT_T_UNSET is not set");
	expand_fails("x ${env:LT_T_EMPTY}",
		     "environment variable LT_T_EMPTY is empty (write ${env:LT_T_EMPTY:-} if empty is meant)");
	expand_fails("${env:1BAD}",
		     "'${env:1BAD}': a variable name is letters, digits and _, not starting with a digit");
	expand_fails("${env:}", "'${env:}': a variable name is letters, digits and _, not starting with a digit");
	expand_fails("${vault:db/pass}",
		     "unknown reference '${vault:db/pass}' (expected ${env:NAME}, ${env:NAME:-default} or ${file:PATH}; "
		     "write $${ for a literal ${)");
	expand_fails("${LT_T_PASS}",
		     "unknown reference '${LT_T_PASS}' (expected ${env:NAME}, ${env:NAME:-default} or ${file:PATH}; "
		     "write $${ for a literal ${)");
	expand_fails("x ${env:LT_T_PASS", "'${env:LT_T_PASS' has no closing } (write $${ for a literal ${)");
	unsetenv("LT_T_PASS");
	unsetenv("LT_T_EMPTY");
}

static void test_expand_file(void **state)
{
	char *big = lt_xmalloc(LT_SECRET_FILE_MAX + 1), expect[256];

	(void)state;
	write_file(secret_dir, "pass", "s3cret\n", 7);
	write_file(secret_dir, "crlf", "s3cret\r\n", 8);
	write_file(secret_dir, "two", "s3cret\n\n", 8);
	write_file(secret_dir, "nul", "s3c\0ret", 7);
	memset(big, 'x', LT_SECRET_FILE_MAX + 1);
	write_file(secret_dir, "big", big, LT_SECRET_FILE_MAX + 1);
	free(big);

	expands_to("${file:pass}", "s3cret", 1);
	expands_to("<${file:crlf}>", "<s3cret>", 1);
	expands_to("${file:two}", "s3cret\n", 1);
	snprintf(expect, sizeof(expect), "${file:%s/pass}", secret_dir);
	expands_to(expect, "s3cret", 1);
	snprintf(expect, sizeof(expect), "secret file missing: cannot open %s/missing: No such file or directory",
		 secret_dir);
	expand_fails("${file:missing}", expect);
	snprintf(expect, sizeof(expect), "secret file big: %s/big is larger than 65536 bytes", secret_dir);
	expand_fails("${file:big}", expect);
	expand_fails("${file:nul}", "secret file nul contains a NUL byte");
	expand_fails("${file:}", "'${file:}' needs a file name");
}

static void test_yget_expand(void **state)
{
	struct lt_ytree *t = parse_ok("ok: \"${env:LT_T_TOKEN}\"\nbad:\n  x: \"${env:LT_T_NOPE}\"\nmap: {a: 1}\n");
	struct lt_err e;
	char *out = NULL, msg[256];
	int secret = 0;

	(void)state;
	setenv("LT_T_TOKEN", "hunter2", 1);
	unsetenv("LT_T_NOPE");
	assert_int_equal(lt_yget_expand(lt_ymap_get(t->root, "ok"), secret_dir, &out, &secret, NULL), 0);
	assert_string_equal(out, "hunter2");
	assert_int_equal(secret, 1);
	free(out);
	lt_err_clear(&e);
	assert_int_equal(lt_yget_expand(lt_ymap_get(lt_ymap_get(t->root, "bad"), "x"), secret_dir, &out, &secret, &e),
			 -1);
	lt_err_format(&e, msg, sizeof(msg));
	assert_string_equal(msg, "t.yaml:3:6: environment variable LT_T_NOPE is not set");
	assert_int_equal(lt_yget_expand(lt_ymap_get(t->root, "map"), secret_dir, &out, &secret, &e), -1);
	lt_err_format(&e, msg, sizeof(msg));
	assert_string_equal(msg, "t.yaml:4:6: expected a string, got a mapping");
	unsetenv("LT_T_TOKEN");
	lt_ytree_free(t);
}

static void test_ynode_err(void **state)
{
	struct lt_ytree *t = parse_ok("a:\n  b: 1\n");
	struct lt_err e;
	char msg[256];

	(void)state;
	lt_err_clear(&e);
	assert_int_equal(lt_ynode_err(lt_ymap_get(lt_ymap_get(t->root, "a"), "b"), &e, "config.value",
				      "%s is %d", "b", 1), -1);
	lt_err_format(&e, msg, sizeof(msg));
	assert_string_equal(msg, "t.yaml:2:6: b is 1");
	assert_string_equal(e.code, "config.value");
	assert_int_equal(lt_ynode_err(NULL, &e, "config.value", "no node"), -1);
	lt_err_format(&e, msg, sizeof(msg));
	assert_string_equal(msg, "no node");
	lt_ytree_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tree_positions),
		cmocka_unit_test(test_load_fixture),
		cmocka_unit_test(test_load_missing),
		cmocka_unit_test(test_empty_documents),
		cmocka_unit_test(test_scalar_kinds),
		cmocka_unit_test(test_getters),
		cmocka_unit_test(test_show),
		cmocka_unit_test(test_anchors_and_aliases),
		cmocka_unit_test(test_tags),
		cmocka_unit_test(test_duplicate_keys),
		cmocka_unit_test(test_structure_refusals),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_node_limit),
		cmocka_unit_test(test_size_limit),
		cmocka_unit_test(test_expand_env),
		cmocka_unit_test(test_expand_file),
		cmocka_unit_test(test_yget_expand),
		cmocka_unit_test(test_ynode_err),
	};

	return cmocka_run_group_tests(tests, secrets_setup, secrets_teardown);
}
