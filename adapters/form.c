/* form.c: form and query-string encoding and decoding (form.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/form.h"
#include "adapters/json.h"
#include "gateway/map_rules.h"
#include "gateway/util.h"

static int form_fail(struct lt_err *e, size_t at, const char *name, const char *reason)
{
	lt_err_set(e, 400, "form.invalid", "invalid form at byte %zu: %s", at, reason);
	if (name != NULL)
		lt_err_field(e, name);
	return -1;
}

/* Percent-decodes s[0..n) into b (reset first). On a bad byte sets *bad to its offset in s and
 * returns the reason. */
static const char *unescape(const char *s, size_t n, struct lt_buf *b, size_t *bad)
{
	lt_buf_reset(b);
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];

		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			if (i + 2 >= n || lt_hex_digit(s[i + 1]) < 0 || lt_hex_digit(s[i + 2]) < 0) {
				*bad = i;
				return "'%' is not followed by two hex digits";
			}
			c = lt_hex_digit(s[i + 1]) << 4 | lt_hex_digit(s[i + 2]);
			if (c == 0) {
				*bad = i;
				return "%00 is not allowed";
			}
			i += 2;
		} else if (c == 0) {
			*bad = i;
			return "NUL byte";
		}
		lt_buf_putc(b, (char)c);
	}
	for (size_t i = 0, k; i < b->len; i += k) {
		k = lt_json_utf8_next(b->data + i, b->len - i, NULL);
		if (k == 0) {
			*bad = 0;
			return "not UTF-8 once decoded";
		}
	}
	return NULL;
}

int lt_form_decode(const char *buf, size_t len, json_t **out, struct lt_err *e)
{
	struct lt_buf name, val;
	json_t *o;
	size_t pos = 0, nfields = 0;
	int rc = 0;

	if (len > LT_FORM_MAX_LEN)
		return form_fail(e, LT_FORM_MAX_LEN, NULL, "longer than the form limit");
	lt_buf_init(&name, LT_FORM_MAX_NAME);
	lt_buf_init(&val, LT_FORM_MAX_LEN);
	o = json_object();
	while (pos < len && rc == 0) {
		const char *p = buf + pos, *amp = memchr(p, '&', len - pos);
		size_t plen = amp ? (size_t)(amp - p) : len - pos;
		const char *eq = memchr(p, '=', plen);
		size_t nlen = eq ? (size_t)(eq - p) : plen, bad = 0;
		const char *why;
		json_t *s;

		if (plen == 0) {
			pos++;
			continue;
		}
		if (nlen == 0) {
			rc = form_fail(e, pos, NULL, "a field without a name");
			break;
		}
		if ((why = unescape(p, nlen, &name, &bad)) != NULL || name.overflow) {
			rc = form_fail(e, pos + bad, NULL, why ? why : "a field name longer than 256 bytes");
			break;
		}
		if (++nfields > LT_FORM_MAX_FIELDS) {
			rc = form_fail(e, pos, NULL, "more than 512 fields");
			break;
		}
		if (json_object_get(o, name.data) != NULL) {
			rc = form_fail(e, pos, name.data, "a field given twice");
			break;
		}
		if (eq != NULL && (why = unescape(eq + 1, plen - nlen - 1, &val, &bad)) != NULL) {
			rc = form_fail(e, pos + nlen + 1 + bad, name.data, why);
			break;
		}
		s = json_stringn(eq ? (val.data ? val.data : "") : "", eq ? val.len : 0);
		if (s == NULL)
			abort();
		json_object_set_new(o, name.data, s);
		pos += plen + 1;
	}
	lt_buf_free(&name);
	lt_buf_free(&val);
	if (rc < 0) {
		json_decref(o);
		return -1;
	}
	*out = o;
	return 0;
}

int lt_form_encode(json_t *doc, char **out, size_t *len, struct lt_err *e)
{
	struct lt_buf b;
	const char *name;
	json_t *v;
	int first = 1;

	if (!json_is_object(doc))
		return lt_err_set(e, 500, "form.encode", "a form is made from an object of fields");
	lt_buf_init(&b, LT_FORM_MAX_LEN);
	json_object_foreach(doc, name, v) {
		char num[40];
		const char *s = "";
		size_t n = 0;

		if (!json_is_null(v) && lt_rule_text(v, num, sizeof(num), &s, &n) < 0) {
			lt_buf_free(&b);
			lt_err_set(e, 500, "form.encode", "field '%.100s' is %s, and a form has no nesting", name,
				   json_is_object(v) ? "an object" : "a list");
			lt_err_field(e, name);
			return -1;
		}
		if (!first)
			lt_buf_putc(&b, '&');
		first = 0;
		lt_form_escape(&b, name, strlen(name));
		lt_buf_putc(&b, '=');
		lt_form_escape(&b, s, n);
	}
	if (b.overflow) {
		lt_buf_free(&b);
		return lt_err_set(e, 500, "form.encode", "the form is longer than %u bytes", LT_FORM_MAX_LEN);
	}
	*out = lt_buf_take(&b, len);
	return 0;
}

void lt_form_escape(struct lt_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
		    c == '.' || c == '_') {
			lt_buf_putc(b, (char)c);
		} else if (c == ' ') {
			lt_buf_putc(b, '+');
		} else {
			char enc[3] = { '%', hex[c >> 4], hex[c & 15] };

			lt_buf_append(b, enc, 3);
		}
	}
}
