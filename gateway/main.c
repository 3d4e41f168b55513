/* main.c: the command line (SPEC.md § Command line): run, check, map, version. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include <openssl/ssl.h>

#include "gateway/arena.h"
#include "gateway/config.h"
#include "gateway/log.h"
#include "gateway/map.h"
#include "gateway/server.h"
#include "gateway/util.h"

#define MAP_INPUT_MAX (64u * 1024 * 1024)

static void usage(FILE *f)
{
	fprintf(f,
		"usage: lienthong [run] [-c FILE]        run the gateway (default FILE: %s)\n"
		"       lienthong check [-c FILE]        check config, mappings, certificates and examples\n"
		"       lienthong map MAPPING [-i FILE] [--response] [--var NAME=VALUE]...\n"
		"                                        map one document (stdin by default) and print it\n"
		"       lienthong version\n",
		LT_CONFIG_DEFAULT);
}

static int cmd_check(const char *path)
{
	struct lt_diags d = { 0 };
	struct lt_config *cfg = NULL;
	int rc = lt_config_load(path, &cfg, &d);

	/* The report is what check is for: on standard output, so it pipes and greps like a linter's. */
	lt_diags_print(&d, stdout);
	if (rc == 0) {
		printf("%s: ok (%zu listeners, %zu upstreams, %zu routes%s)\n", path, cfg->n_listeners,
		       cfg->n_upstreams, cfg->n_routes, d.nwarnings ? ", with warnings" : "");
		lt_config_free(cfg);
	}
	lt_diags_free(&d);
	return rc == 0 ? 0 : 1;
}

struct cli_vars {
	char **names, **values;
	size_t n;
};

static const char *cli_var(void *ctx, const char *name)
{
	const struct cli_vars *v = ctx;

	for (size_t i = 0; i < v->n; i++)
		if (strcmp(v->names[i], name) == 0)
			return v->values[i];
	return NULL;
}

static int cmd_map(int argc, char **argv)
{
	const char *mapping = NULL, *input = NULL;
	int response = 0, rc = 1;
	struct cli_vars vars = { 0 };
	struct lt_map_vars mv = { cli_var, &vars };
	struct lt_diags d = { 0 };
	struct lt_map *m = NULL;
	const struct lt_map_section *s;
	struct lt_buf in;
	struct lt_err err;
	char *out = NULL;
	size_t outlen = 0;

	lt_err_clear(&err);
	lt_buf_init(&in, MAP_INPUT_MAX);
	vars.names = lt_xcalloc((size_t)argc, sizeof(char *));
	vars.values = lt_xcalloc((size_t)argc, sizeof(char *));
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-i") == 0 && i + 1 < argc) {
			input = argv[++i];
		} else if (strcmp(argv[i], "--response") == 0) {
			response = 1;
		} else if (strcmp(argv[i], "--var") == 0 && i + 1 < argc) {
			char *eq = strchr(argv[++i], '=');

			if (eq == NULL) {
				fprintf(stderr, "lienthong map: --var wants NAME=VALUE, got '%s'\n", argv[i]);
				goto out;
			}
			vars.names[vars.n] = lt_xstrndup(argv[i], (size_t)(eq - argv[i]));
			vars.values[vars.n++] = lt_xstrdup(eq + 1);
		} else if (argv[i][0] != '-' && mapping == NULL) {
			mapping = argv[i];
		} else {
			usage(stderr);
			goto out;
		}
	}
	if (mapping == NULL) {
		usage(stderr);
		goto out;
	}
	if (lt_map_load(mapping, &m, &d) < 0) {
		lt_diags_print(&d, stderr);
		goto out;
	}
	s = response ? lt_map_response(m) : lt_map_request(m);
	if (s == NULL) {
		fprintf(stderr, "%s: has no %s section\n", mapping, response ? "response" : "request");
		goto out;
	}
	if (input != NULL) {
		char *data;
		size_t len;

		if (lt_read_file(input, MAP_INPUT_MAX, &data, &len, &err) < 0) {
			fprintf(stderr, "lienthong map: %s\n", err.msg);
			goto out;
		}
		lt_buf_append(&in, data, len);
		free(data);
	} else {
		char chunk[65536];
		size_t n;

		while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
			if (lt_buf_append(&in, chunk, n) < 0)
				break;
		if (in.overflow) {
			fprintf(stderr, "lienthong map: input larger than %u bytes\n", MAP_INPUT_MAX);
			goto out;
		}
	}
	if (lt_map_run(s, in.data ? in.data : "", in.len, &mv, &out, &outlen, &err) < 0) {
		char line[LT_ERR_MSG * 2];

		lt_err_format(&err, line, sizeof(line));
		if (err.field[0] != '\0')
			fprintf(stderr, "%s: %s (%s)\n", err.field, line, err.code);
		else
			fprintf(stderr, "%s (%s)\n", line, err.code);
		goto out;
	}
	if (lt_map_out(s) == LT_FMT_JSON) {
		json_error_t jerr;
		json_t *doc = json_loadb(out, outlen, JSON_DECODE_ANY, &jerr);
		char *pretty = doc ? lt_json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY) : NULL;

		fputs(pretty ? pretty : out, stdout);
		fputc('\n', stdout);
		free(pretty);
		json_decref(doc);
	} else {
		fwrite(out, 1, outlen, stdout);
		fputc('\n', stdout);
	}
	rc = 0;
out:
	for (size_t i = 0; i < vars.n; i++) {
		free(vars.names[i]);
		free(vars.values[i]);
	}
	free(vars.names);
	free(vars.values);
	free(out);
	lt_buf_free(&in);
	lt_map_free(m);
	lt_diags_free(&d);
	return rc;
}

static int cmd_run(const char *path)
{
	struct lt_server srv;
	int rc;

	if (lt_server_start(&srv, path) < 0) {
		lt_server_free(&srv);
		return 1;
	}
	rc = lt_server_run(&srv);
	lt_server_free(&srv);
	return rc;
}

/* -c FILE anywhere after the command; returns the config path. */
static const char *config_arg(int argc, char **argv, int *bad)
{
	const char *path = LT_CONFIG_DEFAULT;

	*bad = 0;
	for (int i = 0; i < argc; i++) {
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc)
			path = argv[++i];
		else
			*bad = 1;
	}
	return path;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "run";
	int first = 2, bad = 0, rc;

	/* Before any json_t exists: every block jansson frees must carry the allocator's header. */
	lt_arena_install();
	if (argc > 1 && argv[1][0] == '-' && strcmp(argv[1], "-h") != 0 && strcmp(argv[1], "--help") != 0) {
		cmd = "run";
		first = 1;
	}
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
		printf("lienthong %s (%s, libcurl %s, %s)\n", LT_VERSION, OpenSSL_version(OPENSSL_VERSION),
		       v->version, v->ssl_version);
		return 0;
	}
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		fprintf(stderr, "lienthong: cannot initialise libcurl\n");
		return 1;
	}
	if (strcmp(cmd, "run") == 0) {
		const char *path = config_arg(argc - first, argv + first, &bad);
		rc = bad ? (usage(stderr), 2) : cmd_run(path);
	} else if (strcmp(cmd, "check") == 0) {
		const char *path = config_arg(argc - first, argv + first, &bad);
		rc = bad ? (usage(stderr), 2) : cmd_check(path);
	} else if (strcmp(cmd, "map") == 0) {
		rc = cmd_map(argc - 2, argv + 2);
	} else {
		fprintf(stderr, "lienthong: unknown command '%s'\n", cmd);
		usage(stderr);
		rc = 2;
	}
	curl_global_cleanup();
	return rc;
}
