/* json_oracle.h: the decoder lienthong had before adapters/json.c parsed JSON itself (the
 * pre-scan, then jansson 2.14's json_loadb with JSON_REJECT_DUPLICATES | JSON_DECODE_ANY), kept
 * only as the reference that the differential unit test (test_json_diff.c) and fuzz target
 * (tests/fuzz/json_diff) hold lt_json_decode to: the same documents accepted, into the same trees
 * with the same key order, and the same refusals word for word. Header-only so that both build
 * it from one place; not part of the product. */
#ifndef LT_JSON_ORACLE_H
#define LT_JSON_ORACLE_H

#include <stdio.h>
#include <string.h>
#include <jansson.h>

#include "adapters/json.h"

/* jansson's duplicate-key text is "duplicate object key near '"KEY"'": keep KEY only. */
static void lt_oracle_duplicate_reason(char *dst, size_t n, const char *text)
{
	const char *p = strstr(text, "near '\""), *end;
	char key[160];

	if (p == NULL || (end = strrchr(text, '"')) == NULL || end < p + 7) {
		snprintf(dst, n, "duplicate key");
		return;
	}
	p += 7;
	snprintf(key, sizeof(key), "%.*s", (int)(end - p), p);
	snprintf(dst, n, "duplicate key '%s'", key);
}

/* The old lt_json_decode. */
static int lt_oracle_decode(const char *buf, size_t len, json_t **out, struct lt_err *e)
{
	json_error_t jerr;
	json_t *doc;
	char reason[LT_ERR_MSG / 2];

	if (lt_json_prescan(buf, len, e) < 0)
		return -1;
	doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (doc != NULL) {
		*out = doc;
		return 0;
	}
	switch (json_error_code(&jerr)) {
	case json_error_duplicate_key:
		lt_oracle_duplicate_reason(reason, sizeof(reason), jerr.text);
		break;
	case json_error_null_character:
	case json_error_null_byte_in_key:
		snprintf(reason, sizeof(reason), "\\u0000 is not allowed in strings");
		break;
	default:
		snprintf(reason, sizeof(reason), "%s", jerr.text);
		break;
	}
	return lt_json_refuse(e, jerr.line, jerr.column, reason);
}

/* json_equal, and besides the same order of keys in every object. */
static int lt_oracle_same_tree(json_t *a, json_t *b)
{
	if (!json_equal(a, b))
		return 0;
	if (json_is_array(a)) {
		for (size_t i = 0; i < json_array_size(a); i++)
			if (!lt_oracle_same_tree(json_array_get(a, i), json_array_get(b, i)))
				return 0;
	} else if (json_is_object(a)) {
		void *ia = json_object_iter(a), *ib = json_object_iter(b);

		for (; ia != NULL && ib != NULL; ia = json_object_iter_next(a, ia), ib = json_object_iter_next(b, ib)) {
			if (json_object_iter_key_len(ia) != json_object_iter_key_len(ib) ||
			    memcmp(json_object_iter_key(ia), json_object_iter_key(ib), json_object_iter_key_len(ia)) != 0 ||
			    !lt_oracle_same_tree(json_object_iter_value(ia), json_object_iter_value(ib)))
				return 0;
		}
		if (ia != NULL || ib != NULL)
			return 0;
	}
	return 1;
}

/* Decodes buf with both. Returns 1 when they agree, else 0 with what differs in why. */
static int lt_oracle_agrees(const char *buf, size_t len, char *why, size_t n)
{
	struct lt_err eo, en;
	json_t *old = NULL, *new = NULL;
	int ro, rn, ok;

	lt_err_clear(&eo);
	lt_err_clear(&en);
	ro = lt_oracle_decode(buf, len, &old, &eo);
	rn = lt_json_decode(buf, len, &new, &en);
	if (ro == 0 && rn == 0)
		ok = lt_oracle_same_tree(old, new);
	else if (ro < 0 && rn < 0)
		ok = eo.status == en.status && strcmp(eo.code, en.code) == 0 && strcmp(eo.msg, en.msg) == 0;
	else
		ok = 0;
	if (!ok)
		snprintf(why, n, "old: %s | new: %s", ro == 0 ? "accepted" : eo.msg, rn == 0 ? "accepted" : en.msg);
	json_decref(old);
	json_decref(new);
	return ok;
}

#endif
