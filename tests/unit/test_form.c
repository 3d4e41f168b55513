/* The form and query-string codec: what it decodes, what it refuses and why, what it writes; and
 * `in: query` / `in: form` / `out: form` mappings through the engine. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/form.h"
#include "adapters/json.h"
#include "gateway/map.h"

/* Decodes and returns the compact JSON of the result (caller frees). */
static char *decoded(const char *in, size_t len)
{
	struct lt_err e;
	json_t *o = NULL;
	char *s = NULL;

	lt_err_clear(&e);
	if (lt_form_decode(in, len, &o, &e) < 0)
		print_error("unexpected error %s [%s] %s\n", e.code, e.field, e.msg);
	assert_non_null(o);
	assert_int_equal(lt_json_encode(o, &s, NULL, &e), 0);
	json_decref(o);
	return s;
}

static void assert_decodes(const char *in, const char *want)
{
	char *got = decoded(in, strlen(in));

	assert_string_equal(got, want);
	free(got);
}

static void assert_refused(const char *in, size_t len, const char *msg, const char *field)
{
	struct lt_err e;
	json_t *o = (json_t *)&e;   /* a sentinel: must stay untouched */

	lt_err_clear(&e);
	assert_int_equal(lt_form_decode(in, len, &o, &e), -1);
	assert_ptr_equal(o, (json_t *)&e);
	assert_int_equal(e.status, 400);
	assert_string_equal(e.code, "form.invalid");
	assert_string_equal(e.msg, msg);
	assert_string_equal(e.field, field);
}

static void decodes_in_order(void **state)
{
	(void)state;
	/* VNPAY's IPN: '+' is a space, %XX decoded, order kept (not sorted). */
	assert_decodes("vnp_TxnRef=HS1&vnp_Amount=12000000&vnp_OrderInfo=Thanh+toan+le+phi%3A5&vnp_ReturnUrl="
		       "https%3A%2F%2Fdomainmerchant.vn%2FReturnUrl",
		       "{\"vnp_TxnRef\":\"HS1\",\"vnp_Amount\":\"12000000\",\"vnp_OrderInfo\":\"Thanh toan le phi:5\","
		       "\"vnp_ReturnUrl\":\"https://domainmerchant.vn/ReturnUrl\"}");
	assert_decodes("", "{}");
	/* A bare name is a field with an empty value; empty pieces carry nothing. */
	assert_decodes("a&b=&&c=1&", "{\"a\":\"\",\"b\":\"\",\"c\":\"1\"}");
	/* '=' inside a value, an encoded '&', UTF-8 percent-encoded or raw, lower-case hex. */
	assert_decodes("q=a=b&r=x%26y&t=Th%c3%a0nh+c%C3%B4ng&u=Hà Nội",
		       "{\"q\":\"a=b\",\"r\":\"x&y\",\"t\":\"Thành công\",\"u\":\"Hà Nội\"}");
	/* Names are decoded too. */
	assert_decodes("a%5B0%5D=1&b+c=2", "{\"a[0]\":\"1\",\"b c\":\"2\"}");
}

static void refuses_what_is_ambiguous(void **state)
{
	char big[LT_FORM_MAX_NAME + 8];
	struct lt_buf many;

	(void)state;
	assert_refused("a=1&b=%4", 8, "invalid form at byte 6: '%' is not followed by two hex digits", "b");
	assert_refused("a=%zz", 5, "invalid form at byte 2: '%' is not followed by two hex digits", "a");
	assert_refused("a=1%", 4, "invalid form at byte 3: '%' is not followed by two hex digits", "a");
	assert_refused("a=x%00y", 7, "invalid form at byte 3: %00 is not allowed", "a");
	assert_refused("a=x\0y", 5, "invalid form at byte 3: NUL byte", "a");
	assert_refused("a%00=1", 6, "invalid form at byte 1: %00 is not allowed", "");
	assert_refused("a=%C3%28", 8, "invalid form at byte 2: not UTF-8 once decoded", "a");
	assert_refused("a=%ED%A0%80", 11, "invalid form at byte 2: not UTF-8 once decoded", "a");   /* surrogate */
	assert_refused("a=\xc0\xaf", 4, "invalid form at byte 2: not UTF-8 once decoded", "a");     /* overlong */
	assert_refused("a=1&=2", 6, "invalid form at byte 4: a field without a name", "");
	/* Two parsers would pick different copies of a repeated name; so is an encoded repeat. */
	assert_refused("vnp_Amount=1&vnp_Amount=1000", 28, "invalid form at byte 13: a field given twice", "vnp_Amount");
	assert_refused("a=1&%61=2", 9, "invalid form at byte 4: a field given twice", "a");

	memset(big, 'n', sizeof(big));
	big[LT_FORM_MAX_NAME + 1] = '=';
	assert_refused(big, LT_FORM_MAX_NAME + 2, "invalid form at byte 0: a field name longer than 256 bytes", "");
	lt_buf_init(&many, 1 << 20);
	for (int i = 0; i <= LT_FORM_MAX_FIELDS; i++)
		lt_buf_printf(&many, "f%d=%d&", i, i);
	assert_false(many.overflow);
	assert_refused(many.data, many.len, "invalid form at byte 4388: more than 512 fields", "");
	many.len -= strlen("f512=512&");
	free(decoded(many.data, many.len));        /* exactly the maximum is fine */
	lt_buf_free(&many);
	assert_refused("a=1", LT_FORM_MAX_LEN + 1, "invalid form at byte 4194304: longer than the form limit", "");
}

static void encodes(void **state)
{
	json_t *o = json_pack("{s:s,s:i,s:f,s:b,s:n,s:s}", "vnp_OrderInfo", "Thanh toan: 5*~", "amount", 120000,
			      "rate", 0.1, "ok", 1, "none", "name", "Hà Nội");
	json_t *bad = json_pack("{s:{s:i}}", "nested", "a", 1), *back = NULL;
	struct lt_err e;
	char *s = NULL;
	size_t len = 0;

	(void)state;
	lt_err_clear(&e);
	assert_int_equal(lt_form_encode(o, &s, &len, &e), 0);
	assert_string_equal(s, "vnp_OrderInfo=Thanh+toan%3A+5%2A%7E&amount=120000&rate=0.1&ok=true&none=&name="
			    "H%C3%A0+N%E1%BB%99i");
	assert_int_equal(len, strlen(s));
	/* What we write, we read back (as strings). */
	assert_int_equal(lt_form_decode(s, len, &back, &e), 0);
	assert_string_equal(json_string_value(json_object_get(back, "vnp_OrderInfo")), "Thanh toan: 5*~");
	assert_string_equal(json_string_value(json_object_get(back, "name")), "Hà Nội");
	json_decref(back);
	free(s);
	assert_int_equal(lt_form_encode(bad, &s, &len, &e), -1);
	assert_string_equal(e.code, "form.encode");
	assert_string_equal(e.msg, "field 'nested' is an object, and a form has no nesting");
	json_decref(bad);
	json_decref(o);
}

static struct lt_map *load(const char *yaml, struct lt_diags *d)
{
	struct lt_map *m = NULL;

	lt_map_parse("fixtures/map/t.yaml", yaml, strlen(yaml), &m, d);
	return m;
}

/* `in: query` and `in: form` compile and run; `out: form` writes a form. */
static void mappings_read_and_write_forms(void **state)
{
	struct lt_diags d = { 0 };
	struct lt_map *m = load("request:\n  in: query\n  out: form\n  fields:\n"
				"    order: { from: vnp_TxnRef, required: true }\n"
				"    amount: { from: vnp_Amount, type: integer }\n"
				"    info: { from: vnp_OrderInfo }\n", &d);
	struct lt_err e;
	char *out = NULL;
	size_t len;
	const char q[] = "vnp_Amount=12000000&vnp_OrderInfo=Le+phi+ho+so&vnp_TxnRef=HS250115000123";

	(void)state;
	lt_diags_print(&d, stderr);
	assert_non_null(m);
	assert_int_equal(lt_map_in(lt_map_request(m)), LT_FMT_QUERY);
	lt_err_clear(&e);
	assert_int_equal(lt_map_run(lt_map_request(m), q, strlen(q), NULL, &out, &len, &e), 0);
	assert_string_equal(out, "order=HS250115000123&amount=12000000&info=Le+phi+ho+so");
	assert_string_equal(lt_map_content_type(lt_map_request(m)), "application/x-www-form-urlencoded");
	free(out);
	/* A bad query is a 400 before any rule runs. */
	assert_int_equal(lt_map_run(lt_map_request(m), "vnp_TxnRef=%", 12, NULL, &out, &len, &e), -1);
	assert_int_equal(e.status, 400);
	assert_string_equal(e.code, "form.invalid");
	lt_map_free(m);
	lt_diags_free(&d);

	m = load("request:\n  in: form\n  fields:\n    order: { from: orderId }\n", &d);
	assert_non_null(m);
	assert_int_equal(lt_map_run(lt_map_request(m), "orderId=7", 9, NULL, &out, &len, &e), 0);
	assert_string_equal(out, "{\"order\":\"7\"}");
	free(out);
	lt_map_free(m);
	lt_diags_free(&d);
}

static void query_is_read_never_written(void **state)
{
	struct lt_diags d = { 0 };

	(void)state;
	assert_null(load("request:\n  out: query\n  fields:\n    a: { from: x }\n"
			 "response:\n  in: query\n  fields:\n    a: { from: x }\n", &d));
	assert_int_equal(d.n, 2);
	assert_string_equal(d.v[0].text, "fixtures/map/t.yaml:2:8: out: query is not supported (a query string is "
			    "read from the caller's URL); use form");
	assert_string_equal(d.v[1].text, "fixtures/map/t.yaml:6:7: in: query is for a request (the caller's URL), "
			    "not for an answer");
	lt_diags_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(decodes_in_order),
		cmocka_unit_test(refuses_what_is_ambiguous),
		cmocka_unit_test(encodes),
		cmocka_unit_test(mappings_read_and_write_forms),
		cmocka_unit_test(query_is_read_never_written),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
