/* fuzz.c (vntext): the Vietnamese text helpers of the unaccent and amount_words rules. The first
 * byte picks the function. unaccent never writes more than it read, always terminates its
 * output, and turns valid UTF-8 into valid UTF-8 with no Vietnamese diacritic left; the amount
 * in words is refused outside 0..10^15 and is otherwise a capitalised, bounded text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/json.h"
#include "adapters/vntext.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 1 when s is valid UTF-8 (and, when strict, holds no Vietnamese diacritic). */
static int utf8_ok(const char *s, size_t len, int strict)
{
	uint32_t c;

	for (size_t i = 0, k; i < len; i += k) {
		k = lt_json_utf8_next(s + i, len - i, &c);
		if (k == 0)
			return 0;
		/* Combining marks, đ/Đ and Latin Extended Additional must all be gone. */
		if (strict && ((c >= 0x0300 && c <= 0x036f) || c == 0x0110 || c == 0x0111 || c == 0x01a0 ||
			       c == 0x01a1 || c == 0x01af || c == 0x01b0 || (c >= 0x1ea0 && c <= 0x1ef9)))
			return 0;
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] & 1) {
		const char *in = (const char *)data + 1;
		size_t len = size - 1, n;
		char *out = malloc(len + 1);

		if (out == NULL)
			return 0;
		n = lt_vn_unaccent(in, len, out);
		if (n > len || out[n] != '\0')
			abort();
		if (utf8_ok(in, len, 0) && !utf8_ok(out, n, 1))
			abort();
		free(out);
	} else {
		char words[LT_VN_WORDS_BUF];
		int64_t v = 0;
		int n;

		memcpy(&v, data + 1, size - 1 < sizeof(v) ? size - 1 : sizeof(v));
		if (data[0] & 2)   /* mostly amounts in range, where the reading rules are */
			v = (int64_t)((uint64_t)v % (LT_VN_WORDS_MAX_AMOUNT + 1));
		n = lt_vn_number_words(v, (data[0] & 4) ? LT_VN_ODD_LE : LT_VN_ODD_LINH, words, sizeof(words));
		if ((v < 0 || v > LT_VN_WORDS_MAX_AMOUNT) != (n < 0))
			abort();
		if (n >= 0 && (n == 0 || (size_t)n >= sizeof(words) || words[n] != '\0' || words[0] < 'A' ||
			       words[0] > 'Z' || !utf8_ok(words, (size_t)n, 0)))
			abort();
	}
	return 0;
}
