/* test_vntext.c: Vietnamese text helpers (adapters/vntext.c): unaccent on NFC and NFD input,
 * amounts in words with every Vietnamese reading rule. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "adapters/vntext.h"

static void assert_unaccent(const char *in, const char *want)
{
	char out[512];
	size_t n = lt_vn_unaccent(in, strlen(in), out);

	assert_int_equal(n, strlen(out));
	assert_string_equal(out, want);
}

static void test_unaccent_nfc(void **state)
{
	(void)state;
	assert_unaccent("Nguyễn Văn Đức", "Nguyen Van Duc");
	assert_unaccent("Hồ sơ đã có kết quả. Trả lời tại Ủy ban", "Ho so da co ket qua. Tra loi tai Uy ban");
	assert_unaccent("ƯỚC ƠN Ữ Ự ĐĂNG", "UOC ON U U DANG");
	/* Every Vietnamese vowel with every tone, and đ / Đ. */
	assert_unaccent("aàáảãạ ăằắẳẵặ âầấẩẫậ eèéẻẽẹ êềếểễệ iìíỉĩị oòóỏõọ ôồốổỗộ ơờớởỡợ "
			"uùúủũụ ưừứửữự yỳýỷỹỵ đ",
			"aaaaaa aaaaaa aaaaaa eeeeee eeeeee iiiiii oooooo oooooo oooooo uuuuuu uuuuuu yyyyyy d");
	assert_unaccent("AÀÁẢÃẠ ĂẰẮẲẴẶ ÂẦẤẨẪẬ EÈÉẺẼẸ ÊỀẾỂỄỆ IÌÍỈĨỊ OÒÓỎÕỌ ÔỒỐỔỖỘ ƠỜỚỞỠỢ "
			"UÙÚỦŨỤ ƯỪỨỬỮỰ YỲÝỶỸỴ Đ",
			"AAAAAA AAAAAA AAAAAA EEEEEE EEEEEE IIIIII OOOOOO OOOOOO OOOOOO UUUUUU UUUUUU YYYYYY D");
}

static void test_unaccent_nfd(void **state)
{
	(void)state;
	/* e + circumflex + tilde, u + horn + dot below, a + breve + acute, o + hook above. */
	assert_unaccent("Nguye\xcc\x82\xcc\x83n", "Nguyen");
	assert_unaccent("Tru\xcc\x9b\xcc\xa3" "c", "Truc");
	assert_unaccent("A\xcc\x86\xcc\x81 o\xcc\x89 \xc4\x91", "A o d");
	/* Mixed NFC and NFD in one string. */
	assert_unaccent("Hà No\xcc\x82\xcc\xa3i", "Ha Noi");
}

static void test_unaccent_leaves_other_text(void **state)
{
	(void)state;
	assert_unaccent("", "");
	assert_unaccent("ASCII 0-9 {}[]~", "ASCII 0-9 {}[]~");
	assert_unaccent("ß × ÷ ñ 東京 Москва €", "ß × ÷ ñ 東京 Москва €");
	/* Invalid bytes are copied, never read past. */
	assert_unaccent("a\xff" "b\xe1\xba", "a\xff" "b\xe1\xba");
}

static void assert_words(int64_t amount, enum lt_vn_odd odd, const char *want)
{
	char out[LT_VN_WORDS_BUF];
	int n = lt_vn_number_words(amount, odd, out, sizeof(out));

	assert_int_equal(n, (int)strlen(want));
	assert_string_equal(out, want);
}

static void test_words_small(void **state)
{
	(void)state;
	assert_words(0, LT_VN_ODD_LINH, "Không");
	assert_words(1, LT_VN_ODD_LINH, "Một");
	assert_words(4, LT_VN_ODD_LINH, "Bốn");
	assert_words(5, LT_VN_ODD_LINH, "Năm");
	assert_words(10, LT_VN_ODD_LINH, "Mười");
	assert_words(11, LT_VN_ODD_LINH, "Mười một");
	assert_words(14, LT_VN_ODD_LINH, "Mười bốn");
	assert_words(15, LT_VN_ODD_LINH, "Mười lăm");
	assert_words(20, LT_VN_ODD_LINH, "Hai mươi");
	assert_words(21, LT_VN_ODD_LINH, "Hai mươi mốt");
	assert_words(24, LT_VN_ODD_LINH, "Hai mươi tư");
	assert_words(25, LT_VN_ODD_LINH, "Hai mươi lăm");
	assert_words(99, LT_VN_ODD_LINH, "Chín mươi chín");
}

static void test_words_hundreds(void **state)
{
	(void)state;
	assert_words(100, LT_VN_ODD_LINH, "Một trăm");
	assert_words(101, LT_VN_ODD_LINH, "Một trăm linh một");
	assert_words(105, LT_VN_ODD_LINH, "Một trăm linh năm");
	assert_words(105, LT_VN_ODD_LE, "Một trăm lẻ năm");
	assert_words(110, LT_VN_ODD_LINH, "Một trăm mười");
	assert_words(115, LT_VN_ODD_LINH, "Một trăm mười lăm");
	assert_words(151, LT_VN_ODD_LINH, "Một trăm năm mươi mốt");
	assert_words(999, LT_VN_ODD_LINH, "Chín trăm chín mươi chín");
}

static void test_words_groups(void **state)
{
	(void)state;
	assert_words(1000, LT_VN_ODD_LINH, "Một nghìn");
	assert_words(1001, LT_VN_ODD_LINH, "Một nghìn không trăm linh một");
	assert_words(1001, LT_VN_ODD_LE, "Một nghìn không trăm lẻ một");
	assert_words(1010, LT_VN_ODD_LINH, "Một nghìn không trăm mười");
	assert_words(1024, LT_VN_ODD_LINH, "Một nghìn không trăm hai mươi tư");
	assert_words(15000, LT_VN_ODD_LINH, "Mười lăm nghìn");
	assert_words(100000, LT_VN_ODD_LINH, "Một trăm nghìn");
	assert_words(1320000, LT_VN_ODD_LINH, "Một triệu ba trăm hai mươi nghìn");
	assert_words(1000005, LT_VN_ODD_LINH, "Một triệu không trăm linh năm");
	assert_words(1000000000, LT_VN_ODD_LINH, "Một tỷ");
	assert_words(2147483648LL, LT_VN_ODD_LINH,
		     "Hai tỷ một trăm bốn mươi bảy triệu bốn trăm tám mươi ba nghìn sáu trăm bốn mươi tám");
	assert_words(21000000000LL, LT_VN_ODD_LINH, "Hai mươi mốt tỷ");
	assert_words(1000000000000LL, LT_VN_ODD_LINH, "Một nghìn tỷ");
	assert_words(999999999999999LL, LT_VN_ODD_LINH,
		     "Chín trăm chín mươi chín nghìn tỷ chín trăm chín mươi chín tỷ chín trăm chín mươi chín "
		     "triệu chín trăm chín mươi chín nghìn chín trăm chín mươi chín");
	assert_words(LT_VN_WORDS_MAX_AMOUNT, LT_VN_ODD_LINH, "Một triệu tỷ");
}

static void test_words_refused(void **state)
{
	char out[LT_VN_WORDS_BUF], small[8];

	(void)state;
	assert_int_equal(lt_vn_number_words(-1, LT_VN_ODD_LINH, out, sizeof(out)), -1);
	assert_string_equal(out, "");
	assert_int_equal(lt_vn_number_words(LT_VN_WORDS_MAX_AMOUNT + 1, LT_VN_ODD_LINH, out, sizeof(out)), -1);
	assert_int_equal(lt_vn_number_words(INT64_MIN, LT_VN_ODD_LINH, out, sizeof(out)), -1);
	/* A buffer too small is refused, never overrun. */
	assert_int_equal(lt_vn_number_words(1320000, LT_VN_ODD_LINH, small, sizeof(small)), -1);
	assert_string_equal(small, "");
	assert_int_equal(lt_vn_number_words(1, LT_VN_ODD_LINH, out, 0), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unaccent_nfc),
		cmocka_unit_test(test_unaccent_nfd),
		cmocka_unit_test(test_unaccent_leaves_other_text),
		cmocka_unit_test(test_words_small),
		cmocka_unit_test(test_words_hundreds),
		cmocka_unit_test(test_words_groups),
		cmocka_unit_test(test_words_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
