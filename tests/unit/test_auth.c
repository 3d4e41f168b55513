/* Upstream auth: static headers, the login call and its answer, refusals, token placement. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/auth.h"

static int refused_status[] = { 401 };
static char *refused_values[] = { "-1" };

static struct lt_auth_cfg login_cfg(json_t *body)
{
	struct lt_auth_cfg a = {
		.type = LT_AUTH_LOGIN, .login_path = "/auth", .login_body = body, .token_field = "session",
		.put_body = "session", .refresh_status = refused_status, .n_refresh_status = 1,
		.refresh_field = "error_code", .refresh_values = refused_values, .n_refresh_values = 1,
	};
	return a;
}

static void static_headers(void **state)
{
	struct lt_auth_cfg basic = { .type = LT_AUTH_BASIC, .username = "Aladdin", .password = "open sesame" };
	struct lt_auth_cfg bearer = { .type = LT_AUTH_BEARER, .token = "t0k" };
	struct lt_auth_cfg header = { .type = LT_AUTH_HEADER, .header_name = "X-Api-Key", .header_value = "k1" };
	struct lt_auth_cfg none = { .type = LT_AUTH_NONE };
	char *h;

	(void)state;
	h = lt_auth_static_header(&basic);
	assert_string_equal(h, "Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");   /* RFC 7617 example */
	free(h);
	h = lt_auth_static_header(&bearer);
	assert_string_equal(h, "Authorization: Bearer t0k");
	free(h);
	h = lt_auth_static_header(&header);
	assert_string_equal(h, "X-Api-Key: k1");
	free(h);
	assert_null(lt_auth_static_header(&none));
	assert_false(lt_auth_needs_token(&basic));
}

static void login_request_and_answer(void **state)
{
	json_t *body = json_pack("{s:s,s:s}", "username", "hanoi-gw", "password", "p@ss\"word");
	struct lt_auth_cfg a = login_cfg(body);
	struct lt_err e;
	char *url, *req, *hdr, *tok = NULL;
	const char *ctype;
	size_t len;
	long long ttl;
	const char ok[] = "{\"error_code\":\"0\",\"message\":\"Thành công\",\"session\":\"6f3c-e91\"}";
	const char bad[] = "{\"error_code\":\"-1\",\"message\":\"Sai tên đăng nhập hoặc mật khẩu\"}";

	(void)state;
	lt_err_clear(&e);
	assert_true(lt_auth_needs_token(&a));
	assert_int_equal(lt_auth_login_request(&a, "https://127.0.0.1:9443/adapter", &url, &req, &len, &ctype, &hdr, &e), 0);
	assert_string_equal(url, "https://127.0.0.1:9443/adapter/auth");
	assert_null(hdr);
	assert_string_equal(req, "{\"username\":\"hanoi-gw\",\"password\":\"p@ss\\\"word\"}");
	assert_int_equal(len, strlen(req));
	assert_string_equal(ctype, "application/json");
	free(url);
	free(req);
	assert_int_equal(lt_auth_login_answer(&a, 200, ok, strlen(ok), &tok, &ttl, &e), 0);
	assert_string_equal(tok, "6f3c-e91");
	assert_int_equal(ttl, 0);
	free(tok);
	assert_int_equal(lt_auth_login_answer(&a, 200, bad, strlen(bad), &tok, &ttl, &e), -1);
	assert_int_equal(e.status, 502);
	assert_string_equal(e.code, "upstream.auth");
	assert_string_equal(e.msg, "login refused: no 'session' in the answer: Sai tên đăng nhập hoặc mật khẩu");
	assert_int_equal(lt_auth_login_answer(&a, 500, ok, strlen(ok), &tok, &ttl, &e), -1);
	assert_string_equal(e.msg, "login refused: HTTP 500");
	/* the credentials never appear in an error */
	assert_null(strstr(e.msg, "p@ss"));
	json_decref(body);
}

static void refusal_by_status_or_field(void **state)
{
	struct lt_auth_cfg a = login_cfg(NULL);
	const char expired[] = "{\"error_code\":\"-1\",\"message\":\"Session không hợp lệ hoặc đã hết hạn\"}";
	const char expired_int[] = "{\"error_code\":-1}";
	const char fine[] = "{\"error_code\":\"0\"}";
	const char other[] = "{\"error_code\":\"2\",\"message\":\"Dữ liệu không hợp lệ\"}";

	(void)state;
	assert_true(lt_auth_refused(&a, 401, "", 0));
	assert_true(lt_auth_refused(&a, 200, expired, strlen(expired)));
	assert_true(lt_auth_refused(&a, 200, expired_int, strlen(expired_int)));
	assert_false(lt_auth_refused(&a, 200, fine, strlen(fine)));
	assert_false(lt_auth_refused(&a, 200, other, strlen(other)));
	assert_false(lt_auth_refused(&a, 500, "not json", 8));
}

/* The decoded-answer form says the same as the bytes form (the pipeline decodes a JSON answer once). */
static void refusal_on_a_decoded_answer(void **state)
{
	struct lt_auth_cfg a = login_cfg(NULL);
	struct lt_auth_cfg none = { .type = LT_AUTH_NONE };
	json_t *expired = json_pack("{s:s,s:s}", "error_code", "-1", "message", "Session hết hạn");
	json_t *fine = json_pack("{s:i}", "error_code", 0);

	(void)state;
	assert_true(lt_auth_refused_doc(&a, 200, expired));
	assert_false(lt_auth_refused_doc(&a, 200, fine));
	assert_true(lt_auth_refused_doc(&a, 401, NULL));      /* by status, whatever the body */
	assert_false(lt_auth_refused_doc(&a, 200, NULL));     /* not JSON: nothing to read */
	assert_false(lt_auth_refused_doc(&none, 401, expired)); /* no token, nothing to refuse */
	json_decref(expired);
	json_decref(fine);
}

static void token_goes_where_the_mapping_put_it_else_first(void **state)
{
	struct lt_auth_cfg a = login_cfg(NULL);
	json_t *placed = json_pack("{s:s,s:s,s:s}", "madonvi", "000.00.00.H26", "session", "", "service", "X");
	json_t *absent = json_pack("{s:s,s:s}", "madonvi", "000.00.00.H26", "service", "X");
	char *s;

	(void)state;
	lt_auth_place_body(&a, placed, "tok");
	s = json_dumps(placed, JSON_COMPACT | JSON_PRESERVE_ORDER);
	assert_string_equal(s, "{\"madonvi\":\"000.00.00.H26\",\"session\":\"tok\",\"service\":\"X\"}");
	free(s);
	lt_auth_place_body(&a, absent, "tok");
	s = json_dumps(absent, JSON_COMPACT | JSON_PRESERVE_ORDER);
	assert_string_equal(s, "{\"session\":\"tok\",\"madonvi\":\"000.00.00.H26\",\"service\":\"X\"}");
	free(s);
	json_decref(placed);
	json_decref(absent);
}

static void oauth2_client_credentials(void **state)
{
	struct lt_auth_cfg a = { .type = LT_AUTH_OAUTH2, .token_url = "https://lgsp.example/token", .client_id = "city gw",
				 .client_secret = "s&cret", .scope = "dvc" };
	const char answer[] = "{\"access_token\":\"AT1\",\"token_type\":\"Bearer\",\"expires_in\":3600}";
	struct lt_err e;
	char *url, *req, *hdr, *tok, *h;
	const char *ctype;
	size_t len;
	long long ttl;

	(void)state;
	lt_err_clear(&e);
	assert_int_equal(lt_auth_login_request(&a, "https://ignored", &url, &req, &len, &ctype, &hdr, &e), 0);
	assert_string_equal(url, "https://lgsp.example/token");
	assert_string_equal(req, "grant_type=client_credentials&scope=dvc");
	assert_string_equal(hdr, "Authorization: Basic Y2l0eSBndzpzJmNyZXQ=");   /* "city gw:s&cret" */
	assert_string_equal(ctype, "application/x-www-form-urlencoded");
	assert_int_equal(lt_auth_login_answer(&a, 200, answer, strlen(answer), &tok, &ttl, &e), 0);
	assert_string_equal(tok, "AT1");
	assert_int_equal(ttl, 3600000);
	h = lt_auth_token_header(&a, tok);
	assert_string_equal(h, "Authorization: Bearer AT1");
	assert_true(lt_auth_refused(&a, 401, "", 0));
	free(url);
	free(req);
	free(tok);
	free(h);
	free(hdr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(static_headers),
		cmocka_unit_test(login_request_and_answer),
		cmocka_unit_test(refusal_by_status_or_field),
		cmocka_unit_test(refusal_on_a_decoded_answer),
		cmocka_unit_test(token_goes_where_the_mapping_put_it_else_first),
		cmocka_unit_test(oauth2_client_credentials),
	};
	return cmocka_run_group_tests_name("auth", tests, NULL, NULL);
}
