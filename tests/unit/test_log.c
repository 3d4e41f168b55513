/* The access line's bytes: built by hand (gateway/log.c), they must be exactly what the printf
 * family wrote before ("%d", "%ld", "%zu", "%.3f"), for every latency, and masked as mask.h says. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "gateway/log.h"

/* Runs lt_log_access with stderr redirected to a file; returns the line (caller frees). */
static char *access_line(const struct lt_access *a)
{
	FILE *f = tmpfile();
	int saved = dup(STDERR_FILENO);
	char *line = calloc(1, 8192);
	size_t n;

	assert_non_null(f);
	assert_non_null(line);
	assert_true(saved >= 0);
	assert_true(dup2(fileno(f), STDERR_FILENO) >= 0);
	lt_log_access(a);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	rewind(f);
	n = fread(line, 1, 8191, f);
	fclose(f);
	line[n] = '\0';
	return line;
}

/* What follows the time field, as the printf-based code wrote it. */
static void expect_tail(const struct lt_access *a, const char *masked_path, char *out, size_t n)
{
	int k = snprintf(out, n, "\",\"type\":\"access\",\"request_id\":\"%s\",\"method\":\"%s\",\"path\":\"%s\","
			 "\"route\":null,\"client\":\"%s\",\"upstream\":\"%s\",\"status\":%d,\"upstream_status\":",
			 a->request_id, a->method, masked_path, a->client, a->upstream, a->status);

	if (a->upstream_status > 0)
		k += snprintf(out + k, n - (size_t)k, "%ld", a->upstream_status);
	else
		k += snprintf(out + k, n - (size_t)k, "null");
	k += snprintf(out + k, n - (size_t)k, ",\"bytes_in\":%zu,\"bytes_out\":%zu,\"latency_ms\":%.3f", a->bytes_in,
		      a->bytes_out, a->latency_ms);
	if (a->upstream_ms >= 0)
		k += snprintf(out + k, n - (size_t)k, ",\"upstream_ms\":%.3f", a->upstream_ms);
	snprintf(out + k, n - (size_t)k, "}\n");
}

static void check_line(const struct lt_access *a, const char *masked_path)
{
	char want[4096];
	char *line = access_line(a);
	const char *tail;

	/* {"time":"2026-11-23T16:45:55.715Z" */
	assert_memory_equal(line, "{\"time\":\"", 9);
	assert_int_equal(line[9 + 4], '-');
	assert_int_equal(line[9 + 10], 'T');
	assert_int_equal(line[9 + 19], '.');
	assert_int_equal(line[9 + 23], 'Z');
	tail = line + 9 + 24;
	expect_tail(a, masked_path, want, sizeof(want));
	assert_string_equal(tail, want);
	free(line);
}

static void numbers_are_printfs(void **state)
{
	static const double ms[] = {
		0, 0.0004, 0.0005, 0.0015, 0.0025, 1.0005, 2.0005, 1.2345, 0.999, 0.9995, 0.99949999,
		12.5, 1234.567, 999999.9995, 1e6 - 0.0005, 1e7, 123456789.123, 3.0e-9, 1e300,
	};
	struct lt_access a = {
		.request_id = "0af7651916cd43dd8448eb211c80319c", .method = "POST", .path = "/v1/x",
		.client = "CN=city", .upstream = "dvcqg", .status = 200, .upstream_status = 201,
		.bytes_in = 1803, .bytes_out = (size_t)-1,
	};

	(void)state;
	lt_log_init(LT_LOG_INFO, LT_LOG_JSON);
	for (size_t i = 0; i < sizeof(ms) / sizeof(ms[0]); i++) {
		a.latency_ms = ms[i];
		a.upstream_ms = i % 3 == 0 ? -1 : ms[sizeof(ms) / sizeof(ms[0]) - 1 - i];
		a.status = i % 2 ? 504 : 200;
		a.upstream_status = i % 4 == 0 ? 0 : (long)i * 100;
		check_line(&a, "/v1/x");
	}
	/* Latencies as the pipeline makes them (microseconds / 1000) and as curl's seconds * 1000. */
	srand(7);
	for (int i = 0; i < 20000; i++) {
		uint64_t us = (uint64_t)rand() * (uint64_t)(i % 7 + 1);

		a.latency_ms = (double)us / 1000.0;
		a.upstream_ms = ((double)rand() / RAND_MAX) * 3.0 * 1000.0;
		check_line(&a, "/v1/x");
	}
}

static void strings_are_masked_and_escaped(void **state)
{
	char *extra[] = { "Nguyễn Văn An" };
	struct lt_access a = {
		.request_id = "e2e-1", .method = "GET", .path = "/q/0912345678/\"Nguyễn Văn An\"\\an@example.vn",
		.client = "CN=city", .upstream = "dvcqg", .status = 200, .latency_ms = 1.5, .upstream_ms = -1,
		.masked = extra, .n_masked = 1,
	};

	(void)state;
	lt_log_init(LT_LOG_INFO, LT_LOG_JSON);
	check_line(&a, "/q/091*****78/\\\"***\\\"\\\\a***@example.vn");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(numbers_are_printfs),
		cmocka_unit_test(strings_are_masked_and_escaped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
