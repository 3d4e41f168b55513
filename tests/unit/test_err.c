/* The error convention: messages with locations, the JSON envelope, diagnostics. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/err.h"
#include "gateway/util.h"

static void envelope_has_every_member_escaped(void **state)
{
	struct lt_err e;
	char *body;

	(void)state;
	lt_err_clear(&e);
	assert_int_equal(lt_err_set(&e, 422, "mapping.required", "required field \"code\" is missing"), -1);
	lt_err_field(&e, "data[0].MaHoSo");
	body = lt_err_envelope(&e, "dvcqg.dossier.sync", "abc-123");
	assert_string_equal(body, "{\"error\":{\"code\":\"mapping.required\",\"message\":\"required field \\\"code\\\" "
				  "is missing\",\"route\":\"dvcqg.dossier.sync\",\"field\":\"data[0].MaHoSo\","
				  "\"request_id\":\"abc-123\"}}");
	free(body);
}

static void envelope_leaves_out_what_is_unknown(void **state)
{
	struct lt_err e;
	char *body;

	(void)state;
	lt_err_clear(&e);
	lt_err_set(&e, 404, "route.not_found", "no route for GET /x\n\x01");
	body = lt_err_envelope(&e, NULL, "r1");
	assert_string_equal(body, "{\"error\":{\"code\":\"route.not_found\",\"message\":\"no route for GET /x\\n\\u0001\","
				  "\"request_id\":\"r1\"}}");
	free(body);
}

static void locations_format_as_file_line_col(void **state)
{
	struct lt_err e;
	char buf[256];

	(void)state;
	lt_err_clear(&e);
	lt_err_at(&e, "conf/x.yaml", 12, 7, "config.unknown_key", "unknown key 'timout'");
	lt_err_format(&e, buf, sizeof(buf));
	assert_string_equal(buf, "conf/x.yaml:12:7: unknown key 'timout'");
	lt_err_clear(&e);
	lt_err_set(&e, 0, "x", "plain");
	lt_err_format(&e, buf, sizeof(buf));
	assert_string_equal(buf, "plain");
}

static void wrap_prefixes_and_recodes(void **state)
{
	struct lt_err e;

	(void)state;
	lt_err_clear(&e);
	lt_err_set(&e, 400, "json.invalid", "invalid JSON at line 1 column 2");
	lt_err_wrap(&e, 502, "upstream.bad_response", "upstream '%s' answer could not be mapped", "dvcqg");
	assert_int_equal(e.status, 502);
	assert_string_equal(e.code, "upstream.bad_response");
	assert_string_equal(e.msg, "upstream 'dvcqg' answer could not be mapped: invalid JSON at line 1 column 2");
	/* a long message is cut, never overflowed */
	memset(e.msg, 'x', sizeof(e.msg) - 1);
	e.msg[sizeof(e.msg) - 1] = '\0';
	lt_err_wrap(&e, 502, NULL, "ctx");
	assert_int_equal(strlen(e.msg), sizeof(e.msg) - 1);
	assert_memory_equal(e.msg, "ctx: xxx", 8);
	assert_string_equal(e.code, "upstream.bad_response");
}

static void diags_collect_errors_and_warnings(void **state)
{
	struct lt_diags d = { 0 };

	(void)state;
	lt_diags_add(&d, 0, "a.yaml", 3, 5, "bad %s", "thing");
	lt_diags_add(&d, 1, "a.yaml", 0, 0, "listener on 0.0.0.0 without TLS");
	assert_int_equal(d.nerrors, 1);
	assert_int_equal(d.nwarnings, 1);
	assert_string_equal(d.v[0].text, "a.yaml:3:5: bad thing");
	assert_string_equal(d.v[1].text, "a.yaml: listener on 0.0.0.0 without TLS");
	lt_diags_free(&d);
	assert_int_equal(d.n, 0);
}

static void buf_is_bounded_and_sticky(void **state)
{
	struct lt_buf b;
	char *s;
	size_t n;

	(void)state;
	lt_buf_init(&b, 8);
	assert_int_equal(lt_buf_puts(&b, "12345"), 0);
	assert_int_equal(lt_buf_puts(&b, "6789"), -1);
	assert_true(b.overflow);
	assert_int_equal(lt_buf_puts(&b, "1"), -1);
	lt_buf_reset(&b);
	assert_int_equal(lt_buf_printf(&b, "%d", 1234567), 0);
	s = lt_buf_take(&b, &n);
	assert_string_equal(s, "1234567");
	assert_int_equal(n, 7);
	free(s);
}

static void durations_and_sizes(void **state)
{
	long long ms;
	size_t sz;

	(void)state;
	assert_int_equal(lt_parse_duration_ms("250ms", &ms), 0);
	assert_int_equal(ms, 250);
	assert_int_equal(lt_parse_duration_ms("2s", &ms), 0);
	assert_int_equal(ms, 2000);
	assert_int_equal(lt_parse_duration_ms("5m", &ms), 0);
	assert_int_equal(ms, 300000);
	assert_int_equal(lt_parse_duration_ms("2 s", &ms), -1);
	assert_int_equal(lt_parse_duration_ms("-1s", &ms), -1);
	assert_int_equal(lt_parse_duration_ms("1d", &ms), -1);
	assert_int_equal(lt_parse_size("1MiB", &sz), 0);
	assert_int_equal(sz, 1048576);
	assert_int_equal(lt_parse_size("64KiB", &sz), 0);
	assert_int_equal(sz, 65536);
	assert_int_equal(lt_parse_size("99999999999999999999999GiB", &sz), -1);
	assert_int_equal(lt_parse_size("1.5MiB", &sz), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(envelope_has_every_member_escaped),
		cmocka_unit_test(envelope_leaves_out_what_is_unknown),
		cmocka_unit_test(locations_format_as_file_line_col),
		cmocka_unit_test(wrap_prefixes_and_recodes),
		cmocka_unit_test(diags_collect_errors_and_warnings),
		cmocka_unit_test(buf_is_bounded_and_sticky),
		cmocka_unit_test(durations_and_sizes),
	};
	return cmocka_run_group_tests_name("err", tests, NULL, NULL);
}
