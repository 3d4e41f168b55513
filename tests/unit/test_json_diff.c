/* test_json_diff.c: lt_json_decode against the decoder it replaced (json_oracle.h: the pre-scan,
 * then jansson's json_loadb). Both must accept the same documents, build the same trees with the
 * same key order, and refuse with the same message, line and column: on JSONTestSuite, on the fuzz
 * corpora, on every prefix and many one-byte changes of the small ones, and on the cases below
 * where the two could most easily drift apart. */
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
#include "json_oracle.h"

#define SUITE_DIR "../conformance/JSONTestSuite/test_parsing"
#define SMALL 512           /* documents up to this size also get their prefixes and changes tried */

static int disagreements;

/* Each document is decoded from a heap block of exactly its size, as evbuffer_pullup hands the
 * gateway a body: no terminator, so AddressSanitizer reports a read of even one byte past the end
 * (a prefix of a larger buffer would hide it). */
static void check(const char *what, const char *buf, size_t len)
{
	char why[2 * LT_ERR_MSG + 64];
	char *exact = malloc(len);

	assert_true(exact != NULL || len == 0);
	if (len > 0)
		memcpy(exact, buf, len);
	if (!lt_oracle_agrees(exact != NULL ? exact : "", len, why, sizeof(why))) {
		if (disagreements++ < 20)
			print_error("%s (%zu bytes: %.*s): %s\n", what, len, (int)(len < 80 ? len : 80), buf, why);
	}
	free(exact);
}

/* The document, and when it is small every prefix of it and every position set to each byte
 * that changes how a lexer reads what follows. */
static void check_variants(const char *name, const char *buf, size_t len)
{
	static const char bytes[] = { '"', '\\', '\n', '\0', '\xff', '\xc3', '\xe1', '}', ']', ',', ':', 'u', '0', 'e', '.', '-', ' ', 'D' };
	char *copy;

	check(name, buf, len);
	if (len > SMALL)
		return;
	copy = lt_xmalloc(len + 1);
	for (size_t i = 0; i < len; i++)
		check(name, buf, i);
	for (size_t i = 0; i < len; i++) {
		memcpy(copy, buf, len);
		for (size_t k = 0; k < sizeof(bytes); k++) {
			copy[i] = bytes[k];
			check(name, copy, len);
		}
	}
	free(copy);
}

/* Every file of dir; returns how many. */
static int check_dir(const char *dir)
{
	DIR *dp = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (dp == NULL)
		fail_msg("%s not found", dir);
	while ((de = readdir(dp)) != NULL) {
		char *path, *buf;
		size_t len;
		struct lt_err e;

		if (de->d_name[0] == '.')
			continue;
		path = lt_path_join(dir, de->d_name);
		assert_int_equal(lt_read_file(path, 1 << 20, &buf, &len, &e), 0);
		check_variants(de->d_name, buf, len);
		free(buf);
		free(path);
		n++;
	}
	closedir(dp);
	return n;
}

static void test_json_test_suite_agrees(void **state)
{
	const char *dir = getenv("LT_JSONTESTSUITE") ? getenv("LT_JSONTESTSUITE") : SUITE_DIR;

	(void)state;
	disagreements = 0;
	assert_int_equal(check_dir(dir), 318);
	assert_int_equal(disagreements, 0);
}

static void test_fuzz_corpora_agree(void **state)
{
	(void)state;
	disagreements = 0;
	assert_true(check_dir("../fuzz/json/corpus") > 100);
	assert_true(check_dir("../fuzz/json_diff/corpus") > 10);
	assert_int_equal(disagreements, 0);
}

/* Where a hand-written lexer most easily reads one byte more or less than jansson did. */
static void test_edge_cases_agree(void **state)
{
	static const char *const docs[] = {
		"", " ", "\n\n", "[", "{", "]", "}", ",", ":", "[1", "[1,", "[1,]", "[,1]", "{\"a\"", "{\"a\":",
		"{\"a\":1", "{\"a\":1,", "{\"a\":1,}", "{1:2}", "{\"a\" 1}", "[1 2]", "{\"a\":1 \"b\":2}", "[]]",
		"{}}", "1 2", "\"a\" \"b\"", "[\"a\" \"b\"]",
		"-", "-x", "--1", "01", "-01", "0x1", "1.", "1.e5", "1e", "1e+", "1E-", ".5", "+1", "1.5e",
		"0.0", "-0", "-0.0", "1e400", "-1e400", "1e-400", "9223372036854775807", "9223372036854775808",
		"-9223372036854775808", "-9223372036854775809", "123456789012345678901234567890",
		"1.7976931348623157e308", "1.7976931348623159e308", "[1e999]", "[123abc]", "[1true]",
		"tru", "truex", "nul", "nulll", "True", "[true false]", "t\xc3\xa9", "1\xc3\xa9", "1\xff",
		"[1\xff]", "[1.\xff]", "[1e\xff]", "[tru\xff]", "\xff", " \xc3", "\xc3\xa9", "[\xe1\xba\xa1]",
		"\"\xc3\"", "\"\xc3\xa9\xff\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"\xc0\xaf\"",
		"\"abc", "\"abc\\", "\"\\", "\"\\x\"", "\"\\\xc3\xa9\"", "\"\\\xff\"", "\"\\u\"", "\"\\u12\"",
		"\"\\u12", "\"\\u12\xc3\xa9\"", "\"\\u12\xff\"", "\"\\u0041\"", "\"\\u00e9\"", "\"\\u0000\"",
		"{\"\\u0000\":1}", "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\udc00\"", "\"\\ud800\\u0041\"",
		"\"\\ud800\\n\"", "\"\\ud800x\"", "\"\\ud800\\ud800\\udc00\"", "\"\\ud800\\u12\"",
		"\"\\udc00 \\x\"", "\"\\ud800\" x", "\"a\nb\"", "\"a\tb\"", "\"a\x01\"", "\"a\x7f\"",
		"\"\\\n\"", "\"\\u\n\"", "[\"\\u00e9\\n\\\"\\/\\b\\f\\r\\t\\\\\"]",
		"{\"a\":1,\"a\":2}", "{\"a\\u0041\":1,\"aA\":2}", "{\"a very long key name here\":1,\"a very long key name here\":2}",
		"{\"\":1,\"\":2}", "{\"k\xc3\xa9\":1,\"k\xc3\xa9\":2}", "{\"a\":{\"b\":1},\"a\":2}",
		"{\"\\u00e9\":1,\"\\u00e9\\u00e9\":{\"\\u00e9\":[\"\\u00e9\"]}}",
		/* A duplicate is found when its value goes in: refused at the key all the same, before
		 * whatever is wrong after it, its escaped text kept while the value's is decoded. */
		"{\"a\\n\":1,\"a\\n\":\"\\n\\u12\"}", "{\"a\\u0041\":1,\"aA\":[1,}", "{\"k\":1,\"k\":{\"x\":}}",
		"{\"a\":1,\"a\":\"\\u0000\"}", "{\"\\u00e9\":1,\"\\u00e9\":\"x\\ud800\"}", "{\"k\":[{\"k\":1,\"k\"\xff}]}",
		"{\"a very long key name here\":1,\"a very long key name here\":tru}", "{\"a\":1,\"b\":2,\"a\":[[[",
		"[1]\n\n  x", "[1]\n\xc3\xa9", "[1] \"abc", "[1] \"a\\x\"", "[1] 123abc", "[1]\r\n,",
		"{\"a\":\n\n  ]}", "\n\n\n\"\\ud800\"", "[\"\xc3\xa9\xc3\xa9\", \x01]", "[\"\xe1\xba\xa1\" \"b\"]",
		"\xef\xbb\xbf{}", "[1]\0", "[\"a\0\"]", "{\"a\":1}garbage", "[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]",
		"{\"z\":1,\"a\":2,\"m\":3,\"b\":[{\"y\":1,\"x\":2}]}", "[\"a\",\"\\u00e9\",\"\\ud83d\\ude00\",\"x\\\"y\"]",
	};

	(void)state;
	disagreements = 0;
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
		check_variants("edge case", docs[i], strlen(docs[i]));
	/* The NUL cases above stop at strlen; these count it. */
	check("NUL", "[1]\0", 4);
	check("NUL", "[\"a\0\"]", 6);
	check("NUL", "[1,]\0", 5);
	assert_int_equal(disagreements, 0);
}

/* Deep nesting: at the bound, past it, and past it after a syntax error. */
static void test_depth_agrees(void **state)
{
	struct lt_buf b;

	(void)state;
	disagreements = 0;
	for (size_t depth = LT_JSON_MAX_DEPTH - 1; depth <= LT_JSON_MAX_DEPTH + 1; depth++) {
		lt_buf_init(&b, 1 << 16);
		for (size_t i = 0; i < depth; i++)
			lt_buf_puts(&b, i % 2 ? "[" : "{\"k\":");
		lt_buf_puts(&b, "0");
		for (size_t i = depth; i-- > 0;)
			lt_buf_puts(&b, i % 2 ? "]" : "}");
		check("deep", b.data, b.len);
		check("deep, cut", b.data, b.len / 2);
		lt_buf_free(&b);
	}
	lt_buf_init(&b, 1 << 16);
	lt_buf_puts(&b, "[1,,");
	for (size_t i = 0; i < 600; i++)
		lt_buf_puts(&b, "[");
	check("error, then deep", b.data, b.len);
	lt_buf_free(&b);
	assert_int_equal(disagreements, 0);
}

/* Strings are skipped sixteen, then eight bytes at a time, up to the first byte that needs a
 * look: each kind of such byte at every position of strings of every length up to 40, as a key
 * and as a value, near the end of the input and far from it. */
static void test_string_scan_agrees(void **state)
{
	static const char *const pieces[] = { "\"", "\\n", "\\u00e9", "\n", "\x01", "\x7f", "\xc3\xa9", "\xe1\xbb\x87",
					      "\xf0\x9f\x98\x80", "\xc3", "\xe1\xbb", "\xed\xa0\x80", "\xff", "\\", "\\x" };
	const char *const pad = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";

	(void)state;
	disagreements = 0;
	for (size_t c = 0; c < sizeof(pieces) / sizeof(pieces[0]); c++) {
		for (int len = 0; len <= 40; len++) {
			for (int at = 0; at <= len; at++) {
				char doc[256];
				int n;

				n = snprintf(doc, sizeof(doc), "{\"%.*s%s%.*s\":1}", at, pad, pieces[c], len - at, pad);
				check("string scan, key", doc, (size_t)n);
				n = snprintf(doc, sizeof(doc), "[\"%.*s%s%.*s\", %s]", at, pad, pieces[c], len - at, pad, pad);
				check("string scan, value", doc, (size_t)n);
				n = snprintf(doc, sizeof(doc), "\"%.*s%s%.*s\"", at, pad, pieces[c], len - at, pad);
				check("string scan, at the end", doc, (size_t)n);
				check("string scan, cut", doc, (size_t)n - 1);
			}
		}
	}
	assert_int_equal(disagreements, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_edge_cases_agree),
		cmocka_unit_test(test_depth_agrees),
		cmocka_unit_test(test_string_scan_agrees),
		cmocka_unit_test(test_json_test_suite_agrees),
		cmocka_unit_test(test_fuzz_corpora_agree),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
