/* fuzz.c (map): the mapping engine on structured input: a mapping file, a NUL byte, then a
 * document. The mapping is compiled (every rule's compile step, paths, namespaces, render); when
 * it compiles, each of its sections maps the document. Whatever maps must be output its own
 * format reads back: JSON that decodes, XML or SOAP that is well-formed, a form that parses. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/form.h"
#include "adapters/json.h"
#include "adapters/xml.h"
#include "gateway/map.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *var(void *ctx, const char *name)
{
	(void)ctx;
	return strcmp(name, "auth.token") == 0 ? "fuzz-token" : NULL;
}

static void reads_back(const struct lt_map_section *s, const char *out, size_t len)
{
	struct lt_xml_opts o = { NULL, 0, 0, NULL, 0, NULL, 0 };
	struct lt_err e;
	json_t *doc = NULL;
	int rc;

	lt_err_clear(&e);
	switch (lt_map_out(s)) {
	case LT_FMT_JSON:
		rc = lt_json_decode(out, len, &doc, &e);
		break;
	case LT_FMT_XML:
	case LT_FMT_SOAP:
		o.soap = lt_map_out(s) == LT_FMT_SOAP;
		rc = lt_xml_decode(out, len, &o, &doc, &e);
		/* A mapping may well write a Fault into Body: it reads back as one. */
		if (rc < 0 && strcmp(e.code, "upstream.soap_fault") == 0)
			rc = 0;
		break;
	case LT_FMT_FORM:
		rc = lt_form_decode(out, len, &doc, &e);
		break;
	default:
		rc = 0;
	}
	if (rc < 0)
		abort();
	json_decref(doc);
}

static void run(const struct lt_map_section *s, const char *doc, size_t len)
{
	struct lt_map_vars vars = { var, NULL };
	struct lt_err e;
	char *out = NULL;
	size_t outlen;

	if (s == NULL)
		return;
	lt_err_clear(&e);
	if (lt_map_run(s, doc, len, &vars, &out, &outlen, &e) == 0) {
		reads_back(s, out, outlen);
		free(out);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data, *nul = memchr(buf, '\0', size);
	struct lt_diags d = { 0 };
	struct lt_map *m = NULL;
	size_t ylen = nul != NULL ? (size_t)(nul - buf) : size;

	if (lt_map_parse("fuzz.yaml", buf, ylen, &m, &d) == 0) {
		const char *doc = nul != NULL ? nul + 1 : "";
		size_t dlen = nul != NULL ? size - ylen - 1 : 0;

		run(lt_map_request(m), doc, dlen);
		run(lt_map_response(m), doc, dlen);
		lt_map_free(m);
	}
	lt_diags_free(&d);
	return 0;
}
