/* roundtrip.h: the one invariant the xml and soap fuzz targets share, header-only so that each
 * driver stays one file to build. Decodes buf (SOAP when soap is 11); when it decodes to one
 * root, writes that root back (in a SOAP envelope when soap is 11), decodes the result and
 * aborts unless the model is the same. */
#ifndef LT_FUZZ_ROUNDTRIP_H
#define LT_FUZZ_ROUNDTRIP_H

#include <stdlib.h>
#include <jansson.h>
#include "adapters/xml.h"

static const struct lt_xml_ns lt_fuzz_ns[] = {
	{ (char *)"t", (char *)"http://tempuri.org/" },
	{ (char *)"d", (char *)"urn:hoso" },
};

static void lt_fuzz_xml_roundtrip(const char *buf, size_t len, int soap)
{
	struct lt_xml_opts o = { lt_fuzz_ns, 2, soap, NULL, 1, NULL, 0 };
	json_t *doc = NULL, *again = NULL, *root, *content;
	const char *name;
	char *text = NULL;
	size_t tlen;

	if (lt_xml_decode(buf, len, &o, &doc, NULL) < 0)
		return;
	if (json_object_size(doc) != 1) {
		json_decref(doc);
		return;
	}
	name = json_object_iter_key(json_object_iter(doc));
	root = json_object_get(doc, name);
	/* An element with only text is a string; written back, it is the root's text. */
	content = json_is_object(root) ? json_incref(root) : json_pack("{sO}", "#text", root);
	o.root = name;
	if (lt_xml_encode(content, &o, &text, &tlen, NULL) < 0)
		abort();
	if (lt_xml_decode(text, tlen, &o, &again, NULL) < 0 || !json_equal(doc, again))
		abort();
	free(text);
	json_decref(again);
	json_decref(content);
	json_decref(doc);
}

#endif
