/* Personal data masking: what an operator may and may not read in a log line. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "gateway/mask.h"
#include "adapters/json.h"

static void expect_masked(const char *in, const char *want)
{
	char *got = lt_mask_str(in, NULL, 0);

	assert_string_equal(got, want);
	free(got);
}

static void citizen_ids_keep_province_and_last_two(void **state)
{
	(void)state;
	expect_masked("001085012345", "00108*****45");
	expect_masked("id_number=001085012345;", "id_number=00108*****45;");
	expect_masked("{\"id_number\":\"001085012345\"}", "{\"id_number\":\"00108*****45\"}");
	/* The old 9-digit CMND too. */
	expect_masked("CMND 012345678", "CMND 012****78");
}

static void phones_are_masked_local_and_international(void **state)
{
	(void)state;
	expect_masked("call 0912345678 now", "call 091*****78 now");
	expect_masked("+84912345678", "+849******78");
}

/* A number may start with any digit: each of the ten starts one (the scan skips only bytes that
 * start no rule). */
static void numbers_starting_with_every_digit(void **state)
{
	(void)state;
	for (char d = '0'; d <= '9'; d++) {
		char in[32], want[32];

		snprintf(in, sizeof(in), "so %c12345678 nhe", d);
		snprintf(want, sizeof(want), "so %c12****78 nhe", d);
		expect_masked(in, want);
	}
}

static void cards_and_accounts_keep_six_and_four(void **state)
{
	(void)state;
	expect_masked("card 4111111111111111", "card 411111******1111");
	expect_masked("card 4111 1111 1111 1111.", "card 4111 11** **** 1111.");
	expect_masked("acct 9704198526191432198", "acct 970419*********2198");
}

static void emails_keep_first_letter_and_domain(void **state)
{
	(void)state;
	expect_masked("an.nguyen@example.vn", "a***@example.vn");
	expect_masked("to <an.nguyen@example.vn>.", "to <a***@example.vn>.");
	expect_masked("x@y", "x@y");
	expect_masked("user@localhost", "user@localhost");
	/* A first letter past ASCII stays whole: its lead byte alone before "***" was not UTF-8. */
	expect_masked("\xc4\x91uc.nguyen@example.vn", "\xc4\x91***@example.vn");
}

static void what_is_not_personal_stays(void **state)
{
	(void)state;
	/* Dossier codes, dates, hex ids, short numbers, sizes. */
	expect_masked("000.30.21.H26-250115-0001", "000.30.21.H26-250115-0001");
	expect_masked("2025-01-15 08:30:00", "2025-01-15 08:30:00");
	expect_masked("req 3f2a9c1234567890123abcdef", "req 3f2a9c1234567890123abcdef");
	expect_masked("a1234567890b", "a1234567890b");
	expect_masked("body larger than 1048576 bytes", "body larger than 1048576 bytes");
	expect_masked("", "");
	/* Non-ASCII text next to a number: UTF-8 letters count as letters. */
	expect_masked("Số 0912345678", "Số 091*****78");
}

static void named_values_are_hidden_wherever_they_are(void **state)
{
	char *extra[] = { "Nguyễn Văn An", "x", "" };
	char *got;

	(void)state;
	got = lt_mask_str("chủ hồ sơ Nguyễn Văn An, 0912345678", extra, 3);
	assert_string_equal(got, "chủ hồ sơ ***, 091*****78");
	free(got);
	assert_null(lt_mask_str(NULL, NULL, 0));
}

static void collect_walks_lists_of_masked_fields(void **state)
{
	const char *doc_text = "{\"session\":\"tok-1\",\"data\":[{\"Email\":\"a@b.vn\",\"So\":12},"
			       "{\"Email\":\"c@d.vn\"}],\"tags\":[\"p\",\"q\"]}";
	const char *paths[] = { "session", "data[].Email", "data[].So", "tags[]", "missing.path" };
	json_t *doc = json_loads(doc_text, 0, NULL);
	char **vals = NULL;
	size_t n = 0;

	(void)state;
	assert_non_null(doc);
	lt_mask_collect(doc, paths, 5, &vals, &n);
	assert_int_equal(n, 6);
	assert_string_equal(vals[0], "tok-1");
	assert_string_equal(vals[1], "a@b.vn");
	assert_string_equal(vals[2], "c@d.vn");
	assert_string_equal(vals[3], "12");
	assert_string_equal(vals[4], "p");
	assert_string_equal(vals[5], "q");
	for (size_t i = 0; i < n; i++)
		free(vals[i]);
	free(vals);
	json_decref(doc);
}

/* Log lines mask straight into JSON (lt_mask_json): the bytes must be those of writing what
 * lt_mask_text writes as JSON text (bytes that are not UTF-8 become U+FFFD), for any text —
 * random ones over the bytes that start or end a mask, and halves of a two-byte character. */
static void json_masking_is_escaped_text_masking(void **state)
{
	static const char alphabet[] = "0123456789012345678 -@@.._ab\"\\\n\tAnNg\xc3\xa1";
	char *extra[] = { "Ng\xc3\xa1", "0123", "@a", NULL, "" };
	char text[96];

	(void)state;
	srand(11);
	for (int round = 0; round < 20000; round++) {
		size_t n = (size_t)(rand() % (int)sizeof(text));
		struct lt_buf plain, direct, escaped;

		for (size_t i = 0; i < n; i++)
			text[i] = alphabet[rand() % (int)(sizeof(alphabet) - 1)];
		lt_buf_init(&plain, 4096);
		lt_buf_init(&direct, 4096);
		lt_buf_init(&escaped, 4096);
		lt_mask_text(&plain, text, n, extra, round % 2 ? 5 : 0);
		lt_mask_json(&direct, text, n, extra, round % 2 ? 5 : 0);
		lt_buf_json_text(&escaped, plain.data ? plain.data : "", plain.len);
		assert_int_equal(direct.len, escaped.len);
		if (direct.len > 0)
			assert_memory_equal(direct.data, escaped.data, direct.len);
		lt_buf_free(&plain);
		lt_buf_free(&direct);
		lt_buf_free(&escaped);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(citizen_ids_keep_province_and_last_two),
		cmocka_unit_test(phones_are_masked_local_and_international),
		cmocka_unit_test(numbers_starting_with_every_digit),
		cmocka_unit_test(cards_and_accounts_keep_six_and_four),
		cmocka_unit_test(emails_keep_first_letter_and_domain),
		cmocka_unit_test(what_is_not_personal_stays),
		cmocka_unit_test(named_values_are_hidden_wherever_they_are),
		cmocka_unit_test(collect_walks_lists_of_masked_fields),
		cmocka_unit_test(json_masking_is_escaped_text_masking),
	};
	return cmocka_run_group_tests_name("mask", tests, NULL, NULL);
}
