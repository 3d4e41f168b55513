/* vntext.c: Vietnamese text helpers (see vntext.h). */
#include <stdio.h>
#include <string.h>

#include "adapters/json.h"
#include "adapters/vntext.h"

/* ---- unaccent ------------------------------------------------------------------------------- */

/* The Vietnamese letters outside Latin Extended Additional: Latin-1 (à á â ã è é ê ì í ò ó ô õ
 * ù ú ý and capitals), Extended-A (ă đ ĩ ũ), Extended-B (ơ ư). Sorted by code point. */
static const struct {
	uint16_t cp;
	char base;
} vn_letters[] = {
	{ 0x00c0, 'A' }, { 0x00c1, 'A' }, { 0x00c2, 'A' }, { 0x00c3, 'A' }, { 0x00c8, 'E' }, { 0x00c9, 'E' },
	{ 0x00ca, 'E' }, { 0x00cc, 'I' }, { 0x00cd, 'I' }, { 0x00d2, 'O' }, { 0x00d3, 'O' }, { 0x00d4, 'O' },
	{ 0x00d5, 'O' }, { 0x00d9, 'U' }, { 0x00da, 'U' }, { 0x00dd, 'Y' }, { 0x00e0, 'a' }, { 0x00e1, 'a' },
	{ 0x00e2, 'a' }, { 0x00e3, 'a' }, { 0x00e8, 'e' }, { 0x00e9, 'e' }, { 0x00ea, 'e' }, { 0x00ec, 'i' },
	{ 0x00ed, 'i' }, { 0x00f2, 'o' }, { 0x00f3, 'o' }, { 0x00f4, 'o' }, { 0x00f5, 'o' }, { 0x00f9, 'u' },
	{ 0x00fa, 'u' }, { 0x00fd, 'y' }, { 0x0102, 'A' }, { 0x0103, 'a' }, { 0x0110, 'D' }, { 0x0111, 'd' },
	{ 0x0128, 'I' }, { 0x0129, 'i' }, { 0x0168, 'U' }, { 0x0169, 'u' }, { 0x01a0, 'O' }, { 0x01a1, 'o' },
	{ 0x01af, 'U' }, { 0x01b0, 'u' },
};

/* U+1EA0..U+1EF9 is Vietnamese only, capital and small alternating: 12 pairs of A (Ạ Ả Ấ Ầ Ẩ Ẫ
 * Ậ Ắ Ằ Ẳ Ẵ Ặ), 8 of E, 2 of I, 12 of O, 7 of U, 4 of Y; the base of pair k is this string's k-th
 * letter. */
#define EXT_ADD_FIRST 0x1ea0
#define EXT_ADD_LAST 0x1ef9
static const char ext_add_base[] = "AAAAAAAAAAAAEEEEEEEEIIOOOOOOOOOOOOUUUUUUUYYYY";

/* The ASCII letter for a Vietnamese letter, or 0. */
static char vn_base(uint32_t c)
{
	size_t lo = 0, hi = sizeof(vn_letters) / sizeof(vn_letters[0]);

	if (c >= EXT_ADD_FIRST && c <= EXT_ADD_LAST) {
		char b = ext_add_base[(c - EXT_ADD_FIRST) / 2];

		return (c - EXT_ADD_FIRST) % 2 ? (char)(b - 'A' + 'a') : b;
	}
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (vn_letters[mid].cp == c)
			return vn_letters[mid].base;
		if (vn_letters[mid].cp < c)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

size_t lt_vn_unaccent(const char *s, size_t len, char *out)
{
	size_t i = 0, o = 0, k;
	uint32_t c;
	char b;

	while (i < len) {
		k = lt_json_utf8_next(s + i, len - i, &c);
		if (k == 0) {
			/* Not UTF-8: copied as it is; the rule is not the place to judge encodings. */
			out[o++] = s[i++];
			continue;
		}
		/* NFD input: the base letter is already ASCII and its tone and vowel marks (grave,
		 * acute, circumflex, tilde, breve, hook above, horn, dot below) are combining marks. */
		if (c >= 0x0300 && c <= 0x036f) {
			i += k;
			continue;
		}
		b = k > 1 ? vn_base(c) : 0;
		if (b != 0) {
			out[o++] = b;
		} else {
			memcpy(out + o, s + i, k);
			o += k;
		}
		i += k;
	}
	out[o] = '\0';
	return o;
}

/* ---- amount in words ------------------------------------------------------------------------ */

static const char *const digit_words[10] = {
	"không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín",
};

/* Groups of three digits from the lowest: 10^15 is "một triệu tỷ", as receipts write it. */
static const char *const group_names[6] = { "", "nghìn", "triệu", "tỷ", "nghìn tỷ", "triệu tỷ" };

struct words {
	char *out;
	size_t n, len;
	int overflow;
};

static void word(struct words *w, const char *s)
{
	size_t l = strlen(s), sep = w->len > 0;

	if (w->len + sep + l >= w->n) {
		w->overflow = 1;
		return;
	}
	if (sep)
		w->out[w->len++] = ' ';
	memcpy(w->out + w->len, s, l + 1);
	w->len += l;
}

/* One group of three digits, g in 1..999. full: a higher group was read, so the hundreds are
 * read even when zero ("không trăm") and a lone unit takes "linh"/"lẻ". */
static void group_words(struct words *w, int g, int full, enum lt_vn_odd odd)
{
	int h = g / 100, t = g / 10 % 10, u = g % 10;

	if (h > 0 || full) {
		word(w, digit_words[h]);
		word(w, "trăm");
	}
	if (t == 0) {
		if (u == 0)
			return;
		if (h > 0 || full)
			word(w, odd == LT_VN_ODD_LE ? "lẻ" : "linh");
		word(w, digit_words[u]);
		return;
	}
	if (t == 1) {
		word(w, "mười");
	} else {
		word(w, digit_words[t]);
		word(w, "mươi");
	}
	/* After "mười" a one stays "một" and a four "bốn"; after "mươi" they become "mốt" and "tư".
	 * A five after either is "lăm". */
	if (u == 1)
		word(w, t == 1 ? "một" : "mốt");
	else if (u == 4)
		word(w, t == 1 ? "bốn" : "tư");
	else if (u == 5)
		word(w, "lăm");
	else if (u != 0)
		word(w, digit_words[u]);
}

int lt_vn_number_words(int64_t amount, enum lt_vn_odd odd, char *out, size_t n)
{
	struct words w = { out, n, 0, 0 };
	int groups[6], top = 0;

	if (n > 0)
		out[0] = '\0';
	if (amount < 0 || amount > LT_VN_WORDS_MAX_AMOUNT || n == 0)
		return -1;
	if (amount == 0) {
		word(&w, digit_words[0]);
	} else {
		for (int i = 0; i < 6; i++) {
			groups[i] = (int)(amount % 1000);
			amount /= 1000;
			if (groups[i] != 0)
				top = i;
		}
		for (int i = top; i >= 0; i--) {
			if (groups[i] == 0)
				continue;
			group_words(&w, groups[i], i < top, odd);
			if (group_names[i][0] != '\0')
				word(&w, group_names[i]);
		}
	}
	if (w.overflow) {
		out[0] = '\0';
		return -1;
	}
	/* Every first word (không, một ... chín, mười) starts with an ASCII letter. */
	out[0] = (char)(out[0] - 'a' + 'A');
	return (int)w.len;
}
