/* roundtrip.h: the invariants the xml and soap fuzz targets share, header-only so that each
 * driver stays one file to build. Decodes buf (SOAP when soap is 11); when it decodes to one
 * root, writes that root back (in a SOAP envelope when soap is 11), decodes the result and
 * aborts unless the model is the same; and aborts unless libxml2, reading what we wrote and
 * saving it again, gives the same bytes (our writer prints what libxml2 would print). */
#ifndef LT_FUZZ_ROUNDTRIP_H
#define LT_FUZZ_ROUNDTRIP_H

#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/xmlsave.h>
#include "adapters/xml.h"

static const struct lt_xml_ns lt_fuzz_ns[] = {
	{ (char *)"t", (char *)"http://tempuri.org/" },
	{ (char *)"d", (char *)"urn:hoso" },
};

/* The document's encoding is dropped before saving: without one, libxml2 writes attribute
 * characters past ASCII as references, which is what our writer does. */
static void lt_fuzz_xml_same_as_libxml2(const char *text, size_t len)
{
	static const char decl[] = "<?xml version=\"1.0\" encoding=\"utf-8\"?>";
	xmlDocPtr doc = xmlReadMemory(text, (int)len, NULL, NULL, XML_PARSE_NONET);
	xmlBufferPtr b = xmlBufferCreate();
	xmlSaveCtxtPtr sc;

	if (doc == NULL || b == NULL || strncmp(text, decl, sizeof(decl) - 1) != 0)
		abort();
	xmlFree((xmlChar *)doc->encoding);
	doc->encoding = NULL;
	if ((sc = xmlSaveToBuffer(b, "UTF-8", XML_SAVE_NO_DECL | XML_SAVE_AS_XML)) == NULL)
		abort();
	xmlSaveTree(sc, xmlDocGetRootElement(doc));
	xmlSaveClose(sc);
	if ((size_t)xmlBufferLength(b) != len - (sizeof(decl) - 1) ||
	    memcmp(xmlBufferContent(b), text + sizeof(decl) - 1, len - (sizeof(decl) - 1)) != 0)
		abort();
	xmlBufferFree(b);
	xmlFreeDoc(doc);
}

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
	/* A SOAP Body holding the same element twice reads as a list under one name: that is
	 * several roots, which no single document writes back. */
	if (json_is_array(root)) {
		json_decref(doc);
		return;
	}
	/* An element with only text is a string; written back, it is the root's text. */
	content = json_is_object(root) ? json_incref(root) : json_pack("{sO}", "#text", root);
	o.root = name;
	if (lt_xml_encode(content, &o, &text, &tlen, NULL) < 0)
		abort();
	if (lt_xml_decode(text, tlen, &o, &again, NULL) < 0 || !json_equal(doc, again))
		abort();
	lt_fuzz_xml_same_as_libxml2(text, tlen);
	free(text);
	json_decref(again);
	json_decref(content);
	json_decref(doc);
}

#endif
