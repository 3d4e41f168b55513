/* test_json.c: adapters/json.c, the strict decoder and the compact writer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/json.h"
#include "gateway/util.h"

/* JSONTestSuite (MIT, tests/conformance/JSONTestSuite); LT_JSONTESTSUITE moves it. Tests run in tests/unit. */
#define SUITE_DIR "../conformance/JSONTestSuite/test_parsing"

/* Decodes s (n bytes); on failure returns NULL and leaves the message in e. */
static json_t *decode(const char *s, size_t n, struct lt_err *e)
{
	json_t *doc = NULL;

	lt_err_clear(e);
	if (lt_json_decode(s, n, &doc, e) < 0) {
		assert_null(doc);
		return NULL;
	}
	return doc;
}

static void assert_refused(const char *s, size_t n, const char *msg)
{
	struct lt_err e;

	assert_null(decode(s, n, &e));
	assert_int_equal(e.status, 400);
	assert_string_equal(e.code, "json.invalid");
	assert_string_equal(e.msg, msg);
}

/* Encodes doc and compares with want; frees doc. */
static void assert_encodes(json_t *doc, const char *want)
{
	struct lt_err e;
	char *out = NULL;
	size_t len = 0;

	lt_err_clear(&e);
	assert_int_equal(lt_json_encode(doc, &out, &len, &e), 0);
	assert_string_equal(out, want);
	assert_int_equal(len, strlen(want));
	free(out);
	json_decref(doc);
}

static void test_decode_object_keeps_order(void **state)
{
	struct lt_err e;
	const char *s = "{\"z\":1,\"a\":\"Nguyễn Văn An\",\"m\":[true,null]}";
	json_t *doc = decode(s, strlen(s), &e);

	(void)state;
	assert_non_null(doc);
	assert_encodes(doc, s);
}

static void test_decode_top_level_scalars(void **state)
{
	struct lt_err e;
	json_t *doc;

	(void)state;
	doc = decode("42", 2, &e);
	assert_non_null(doc);
	assert_int_equal(json_integer_value(doc), 42);
	json_decref(doc);
	doc = decode(" \"x\" ", 5, &e);
	assert_non_null(doc);
	assert_string_equal(json_string_value(doc), "x");
	json_decref(doc);
	doc = decode("null", 4, &e);
	assert_non_null(doc);
	assert_true(json_is_null(doc));
	json_decref(doc);
}

static void test_decode_not_nul_terminated(void **state)
{
	struct lt_err e;
	/* Only the first 7 bytes are the document; the rest must not be read. */
	json_t *doc = decode("{\"a\":1}garbage", 7, &e);

	(void)state;
	assert_non_null(doc);
	json_decref(doc);
}

/* Bytes the gateway did not make go into JSON as UTF-8: each byte that does not begin a valid
 * character (a stray continuation, an overlong form, a surrogate, a character cut at the end)
 * becomes U+FFFD; valid text, escapes and all, is written as lt_buf_json_str writes it. */
static void test_json_text_replaces_what_is_not_utf8(void **state)
{
	static const struct { const char *in; size_t n; const char *out; } cases[] = {
		{ "Nguy\xe1\xbb\x85n \"A\"\n", 0, "Nguy\xe1\xbb\x85n \\\"A\\\"\\n" },
		{ "/v1/\xff\xfe-x", 0, "/v1/\xef\xbf\xbd\xef\xbf\xbd-x" },
		{ "a\xc0\xaf" "b", 0, "a\xef\xbf\xbd\xef\xbf\xbd" "b" },
		{ "\xed\xa0\x80", 0, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
		{ "cut \xe1\xbb", 0, "cut \xef\xbf\xbd\xef\xbf\xbd" },
		{ "\xf0\x9f\x98\x80\x01", 0, "\xf0\x9f\x98\x80\\u0001" },
		{ "\xc3\xa9xyz", 2, "\xc3\xa9" },   /* only n bytes are read */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct lt_buf b;
		size_t n = cases[i].n ? cases[i].n : strlen(cases[i].in);
		char *exact = lt_xmalloc(n);

		memcpy(exact, cases[i].in, n);
		lt_buf_init(&b, 1024);
		assert_int_equal(lt_buf_json_text(&b, exact, n), 0);
		assert_string_equal(b.data, cases[i].out);
		lt_buf_free(&b);
		free(exact);
	}
}

/* ASCII is passed over sixteen and eight bytes at a time: a byte that is not UTF-8, a character
 * that is, and one to escape are each found at every position of texts up to 40 bytes long. */
static void test_json_text_at_every_position(void **state)
{
	static const struct { const char *in, *out; } pieces[] = {
		{ "\xff", "\xef\xbf\xbd" }, { "\xe1\xbb", "\xef\xbf\xbd\xef\xbf\xbd" }, { "\xc3\xa9", "\xc3\xa9" },
		{ "\xe1\xbb\x87", "\xe1\xbb\x87" }, { "\"", "\\\"" }, { "\x01", "\\u0001" },
	};
	const char *const pad = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN";

	(void)state;
	for (size_t c = 0; c < sizeof(pieces) / sizeof(pieces[0]); c++) {
		for (int len = 0; len <= 40; len++) {
			for (int at = 0; at <= len; at++) {
				char in[64], want[64];
				struct lt_buf b;
				int n = snprintf(in, sizeof(in), "%.*s%s%.*s", at, pad, pieces[c].in, len - at, pad + at);

				snprintf(want, sizeof(want), "%.*s%s%.*s", at, pad, pieces[c].out, len - at, pad + at);
				lt_buf_init(&b, 1024);
				assert_int_equal(lt_buf_json_text(&b, in, (size_t)n), 0);
				assert_string_equal(b.data, want);
				lt_buf_free(&b);
			}
		}
	}
}

static void test_duplicate_key(void **state)
{
	(void)state;
	assert_refused("{\"a\":1,\"a\":2}", 13, "invalid JSON at line 1 column 10: duplicate key 'a'");
	assert_refused("{\"x\":{\"k\":1,\n\"k\":1}}", 19, "invalid JSON at line 2 column 3: duplicate key 'k'");
}

static void test_nul_escape_refused(void **state)
{
	(void)state;
	assert_refused("{\"a\":\"x\\u0000\"}", 15, "invalid JSON at line 1 column 14: \\u0000 is not allowed in strings");
	assert_refused("{\"a\\u0000\":1}", 13, "invalid JSON at line 1 column 10: \\u0000 is not allowed in strings");
}

static void test_nul_byte_refused(void **state)
{
	(void)state;
	/* jansson alone accepts this one (it stops reading at the NUL). */
	assert_refused("123\0", 4, "invalid JSON at line 1 column 4: NUL byte");
}

static void test_bom_refused(void **state)
{
	(void)state;
	assert_refused("\xef\xbb\xbf{}", 5, "invalid JSON at line 1 column 1: byte order mark is not allowed");
}

static void test_invalid_utf8_refused_and_not_echoed(void **state)
{
	struct lt_err e;

	(void)state;
	assert_null(decode("{\"k\":\"\xc3\"}", 9, &e));
	assert_int_equal(e.status, 400);
	/* The offending byte is reported, never copied raw into the message. */
	assert_string_equal(e.msg, "invalid JSON at line 1 column 6: unable to decode byte 0xc3 near '\"'");
	assert_null(decode("[\"\xed\xa0\x80\"]", 5, &e));   /* UTF-8 encoded surrogate */
	assert_null(decode("[\"\xc0\xaf\"]", 4, &e));       /* overlong '/' */
}

static void test_syntax_errors(void **state)
{
	(void)state;
	assert_refused("", 0, "invalid JSON at line 1 column 1: unexpected token near end of file");
	assert_refused("[1,]", 4, "invalid JSON at line 1 column 4: unexpected token near ']'");
	/* A citizen id written as a number with its leading zero (STACK.md § 2f) is not JSON. */
	assert_refused("{\"cccd\":079203001234}", 21, "invalid JSON at line 1 column 9: invalid token near '0'");
	assert_refused("{\"amount\":9223372036854775808}", 30,
		       "invalid JSON at line 1 column 29: too big integer near '9223372036854775808'");
}

/* n arrays deep around a 0, built in a malloc'd buffer. */
static char *nested(size_t depth, size_t *len)
{
	char *s = lt_xmalloc(2 * depth + 2);

	memset(s, '[', depth);
	s[depth] = '0';
	memset(s + depth + 1, ']', depth);
	s[2 * depth + 1] = '\0';
	*len = 2 * depth + 1;
	return s;
}

static void test_depth_bound(void **state)
{
	struct lt_err e;
	size_t len;
	char *s;
	json_t *doc;

	(void)state;
	s = nested(LT_JSON_MAX_DEPTH, &len);
	doc = decode(s, len, &e);
	assert_non_null(doc);
	json_decref(doc);
	free(s);

	s = nested(LT_JSON_MAX_DEPTH + 1, &len);
	assert_refused(s, len, "invalid JSON at line 1 column 513: nesting deeper than 512 levels");
	free(s);

	/* Refused by the pre-scan at byte 513, before jansson recurses at all. */
	s = nested(10000, &len);
	assert_refused(s, len, "invalid JSON at line 1 column 513: nesting deeper than 512 levels");
	free(s);
}

static void test_brackets_in_strings_do_not_count(void **state)
{
	struct lt_err e;
	struct lt_buf b;
	json_t *doc;

	(void)state;
	lt_buf_init(&b, 1 << 16);
	lt_buf_puts(&b, "[\"");
	for (int i = 0; i < 1000; i++)
		lt_buf_puts(&b, "[{\\\"");
	lt_buf_puts(&b, "\"]");
	doc = decode(b.data, b.len, &e);
	assert_non_null(doc);
	assert_int_equal(json_string_length(json_array_get(doc, 0)), 3000);
	json_decref(doc);
	lt_buf_free(&b);
}

static void test_encode_compact_utf8_escapes(void **state)
{
	(void)state;
	assert_encodes(json_pack("{s:s, s:[i, b, n], s:{}}", "ChuHoSo", "Nguyễn Văn An", "x", 1, 0, "e"),
		       "{\"ChuHoSo\":\"Nguyễn Văn An\",\"x\":[1,false,null],\"e\":{}}");
	assert_encodes(json_string("a\"b\\c\n\t\x01/"), "\"a\\\"b\\\\c\\n\\t\\u0001/\"");
	assert_encodes(json_integer(9007199254740993LL), "9007199254740993");
	assert_encodes(json_integer(-9223372036854775807LL - 1), "-9223372036854775808");
	assert_encodes(json_array(), "[]");
}

/* Strings are scanned eight bytes at a time: a character to escape is found at every offset of
 * a word and across words, and bytes that need no escape (DEL, UTF-8) are left as they are. */
static void test_encode_escapes_at_every_offset(void **state)
{
	static const struct { const char *in, *out; } chars[] = {
		{ "\"", "\\\"" }, { "\\", "\\\\" }, { "\n", "\\n" }, { "\x1f", "\\u001f" }, { "\x01", "\\u0001" },
		{ "\t", "\\t" }, { "\r", "\\r" }, { "\b", "\\b" }, { "\f", "\\f" }, { "/", "/" },
		{ "\x7f", "\x7f" }, { "\xc3\xa9", "\xc3\xa9" }, { " ", " " },
	};

	(void)state;
	for (size_t c = 0; c < sizeof(chars) / sizeof(chars[0]); c++) {
		for (size_t at = 0; at <= 20; at++) {
			char in[64], want[64];

			snprintf(in, sizeof(in), "%.*s%s%.*s", (int)at, "xxxxxxxxxxxxxxxxxxxx", chars[c].in, (int)(20 - at),
				 "yyyyyyyyyyyyyyyyyyyy");
			snprintf(want, sizeof(want), "\"%.*s%s%.*s\"", (int)at, "xxxxxxxxxxxxxxxxxxxx", chars[c].out,
				 (int)(20 - at), "yyyyyyyyyyyyyyyyyyyy");
			assert_encodes(json_string(in), want);
		}
	}
}

/* The writer checks a string in sixteen-byte blocks, whole words and overlapping halves, each
 * sized by the string's length: a character to escape is found at every position of strings of
 * every length from 1 to 40, as a value and as an object key, and a string with none is copied
 * whole. */
static void test_encode_escapes_at_every_length(void **state)
{
	static const struct { const char *in, *out; } chars[] = {
		{ "\"", "\\\"" }, { "\\", "\\\\" }, { "\n", "\\n" }, { "\x01", "\\u0001" }, { "\x1f", "\\u001f" },
		{ "\xc3\xa9", "\xc3\xa9" }, { " ", " " }, { "\x7f", "\x7f" },
	};

	(void)state;
	for (size_t c = 0; c < sizeof(chars) / sizeof(chars[0]); c++) {
		for (int len = 1; len <= 40; len++) {
			for (int at = 0; at < len; at++) {
				char in[96], out[96], want[256];
				json_t *obj = json_object();

				snprintf(in, sizeof(in), "%.*s%s%.*s", at, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
					 chars[c].in, len - 1 - at, "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy");
				snprintf(out, sizeof(out), "%.*s%s%.*s", at, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
					 chars[c].out, len - 1 - at, "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy");
				snprintf(want, sizeof(want), "\"%s\"", out);
				assert_encodes(json_string(in), want);
				json_object_set_new(obj, "k", json_true());
				json_object_set_new(obj, in, json_string(in));
				snprintf(want, sizeof(want), "{\"k\":true,\"%s\":\"%s\"}", out, out);
				assert_encodes(obj, want);
			}
		}
	}
}

/* Past the first reservation and across every growth of the buffer, strings of every length with
 * and without characters to escape come out as jansson's own compact writer puts them. */
static void test_encode_long_document_as_jansson(void **state)
{
	static const char *const pieces[] = { "a", "\xc3\xa9", "\xe1\xbb\x87", "\"", "\n", "\\", "\x01", "\x7f", "b", "c" };
	json_t *doc = json_array(), *obj = json_object();
	char *want, *got = NULL, key[16];
	size_t len = 0;
	struct lt_err e;

	(void)state;
	for (int i = 0; i < 600; i++) {
		struct lt_buf b;

		lt_buf_init(&b, 1 << 12);
		for (int k = 0; k < i % 41; k++)
			lt_buf_puts(&b, pieces[(i * 7 + k * (i % 3 == 0 ? 1 : 0)) % (i % 2 ? 3 : 10)]);
		json_array_append_new(doc, json_string(b.data ? b.data : ""));
		snprintf(key, sizeof(key), "k%d", i);
		json_object_set_new(obj, key, json_integer((json_int_t)i * -7919));
		lt_buf_free(&b);
	}
	json_array_append_new(doc, obj);
	want = json_dumps(doc, JSON_COMPACT);
	lt_err_clear(&e);
	assert_int_equal(lt_json_encode(doc, &got, &len, &e), 0);
	assert_true(strlen(want) > 3 * 4096);
	assert_string_equal(got, want);
	assert_int_equal(len, strlen(want));
	free(want);
	free(got);
	json_decref(doc);
}

static void test_encode_reals_shortest(void **state)
{
	(void)state;
	assert_encodes(json_pack("[f,f,f,f,f,f]", 0.1, 1.5, 100.0, 1e300, -0.0, 1.0 / 3),
		       "[0.1,1.5,100.0,1e+300,-0.0,0.3333333333333333]");
}

static void test_real_text_round_trips(void **state)
{
	static const double v[] = { 0.1, 0.2 + 0.1, 5e-324, 1.7976931348623157e308, 123456789.125, 1e21, 2.5e-7 };
	char buf[40];

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		lt_json_real_text(v[i], buf, sizeof(buf));
		assert_true(strtod(buf, NULL) == v[i]);
		assert_non_null(strpbrk(buf, ".e"));
	}
	lt_json_real_text(0.30000000000000004, buf, sizeof(buf));
	assert_string_equal(buf, "0.30000000000000004");
}

/* The four y_ files the gateway refuses on purpose (conformance/README.md). */
static int deliberate_refusal(const char *name)
{
	static const char *const names[] = {
		"y_object_duplicated_key.json", "y_object_duplicated_key_and_value.json",
		"y_object_escaped_null_in_key.json", "y_string_null_escape.json",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i]) == 0)
			return 1;
	return 0;
}

static void test_json_test_suite(void **state)
{
	const char *dir = getenv("LT_JSONTESTSUITE") ? getenv("LT_JSONTESTSUITE") : SUITE_DIR;
	DIR *dp = opendir(dir);
	struct dirent *de;
	int ny = 0, nn = 0, ni = 0, refused_y = 0, bad = 0;

	(void)state;
	if (dp == NULL) {
		fail_msg("JSONTestSuite not found at %s (set LT_JSONTESTSUITE)", dir);
	}
	while ((de = readdir(dp)) != NULL) {
		char *path, *buf;
		size_t len;
		struct lt_err e;
		json_t *doc;

		if (de->d_name[0] != 'y' && de->d_name[0] != 'n' && de->d_name[0] != 'i')
			continue;
		path = lt_path_join(dir, de->d_name);
		lt_err_clear(&e);
		assert_int_equal(lt_read_file(path, 1 << 20, &buf, &len, &e), 0);
		doc = decode(buf, len, &e);
		switch (de->d_name[0]) {
		case 'y':
			ny++;
			if (deliberate_refusal(de->d_name)) {
				refused_y++;
				if (doc != NULL || e.status != 400)
					bad++, print_error("%s: must be refused on purpose\n", de->d_name);
			} else if (doc == NULL) {
				bad++, print_error("%s: refused: %s\n", de->d_name, e.msg);
			}
			break;
		case 'n':
			nn++;
			if (doc != NULL)
				bad++, print_error("%s: accepted\n", de->d_name);
			else if (e.status != 400 || strcmp(e.code, "json.invalid") != 0)
				bad++, print_error("%s: wrong error %d %s\n", de->d_name, e.status, e.code);
			break;
		default:
			ni++;   /* implementation-defined: reaching here without a crash is the test */
			break;
		}
		json_decref(doc);
		free(buf);
		free(path);
	}
	closedir(dp);
	assert_int_equal(bad, 0);
	assert_int_equal(refused_y, 4);
	/* The suite as shipped: 95 y_, 188 n_, 35 i_. */
	assert_int_equal(ny, 95);
	assert_int_equal(nn, 188);
	assert_int_equal(ni, 35);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_object_keeps_order),
		cmocka_unit_test(test_decode_top_level_scalars),
		cmocka_unit_test(test_decode_not_nul_terminated),
		cmocka_unit_test(test_json_text_replaces_what_is_not_utf8),
		cmocka_unit_test(test_json_text_at_every_position),
		cmocka_unit_test(test_duplicate_key),
		cmocka_unit_test(test_nul_escape_refused),
		cmocka_unit_test(test_nul_byte_refused),
		cmocka_unit_test(test_bom_refused),
		cmocka_unit_test(test_invalid_utf8_refused_and_not_echoed),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_depth_bound),
		cmocka_unit_test(test_brackets_in_strings_do_not_count),
		cmocka_unit_test(test_encode_compact_utf8_escapes),
		cmocka_unit_test(test_encode_escapes_at_every_offset),
		cmocka_unit_test(test_encode_escapes_at_every_length),
		cmocka_unit_test(test_encode_long_document_as_jansson),
		cmocka_unit_test(test_encode_reals_shortest),
		cmocka_unit_test(test_real_text_round_trips),
		cmocka_unit_test(test_json_test_suite),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
