/* vntext.h: Vietnamese text helpers for the mapping rules `unaccent` and `amount_words: vi`
 * (FORMATS.md § 7.4, § 7.5).
 *
 * This module owns what "Vietnamese without diacritics" and "an amount in Vietnamese words" mean
 * at the gateway. Both are pure functions on bytes, with no allocation and no locale: SMS
 * carriers refuse accented content on GSM templates, VNPAY hashes unaccented order info, and
 * every receipt (TT78 `TgTTTBChu`, VNPT `AmountInWords`) carries its total in words. */
#ifndef LT_VNTEXT_H
#define LT_VNTEXT_H

#include <stddef.h>
#include <stdint.h>

/* Writes s (len bytes of UTF-8) without Vietnamese diacritics into out, which must hold len + 1
 * bytes (the result is never longer than the input); out is NUL-terminated. Every Vietnamese
 * letter, precomposed (NFC) or decomposed (NFD), becomes its ASCII base letter, keeping case
 * (ễ -> e, Ư -> U, đ -> d, Đ -> D); combining marks U+0300..U+036F are dropped; everything else
 * (ASCII, other scripts, invalid bytes) is copied unchanged. Returns the output length. */
size_t lt_vn_unaccent(const char *s, size_t len, char *out);

/* How a zero tens digit before a unit is read: "một trăm linh năm" (the northern, official
 * form, and the default) or "một trăm lẻ năm" (the southern one). */
enum lt_vn_odd { LT_VN_ODD_LINH, LT_VN_ODD_LE };

#define LT_VN_WORDS_MAX_AMOUNT 1000000000000000LL   /* 10^15: "Một triệu tỷ" */
#define LT_VN_WORDS_BUF 512                          /* enough for any amount up to the maximum */

/* Writes amount (0 .. LT_VN_WORDS_MAX_AMOUNT) in Vietnamese words into out (n bytes, at least
 * LT_VN_WORDS_BUF for any amount), first letter capitalised, no currency: 1320000 -> "Một triệu
 * ba trăm hai mươi nghìn", 105 -> "Một trăm linh năm", 21 -> "Hai mươi mốt", 0 -> "Không".
 * Zero groups of three digits are skipped; a group after a non-zero higher group is read in
 * full ("Một nghìn không trăm linh một"). Returns the length, or -1 when amount is out of range
 * or n too small (out is then an empty string when n > 0). */
int lt_vn_number_words(int64_t amount, enum lt_vn_odd odd, char *out, size_t n);

#endif
