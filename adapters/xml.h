/* xml.h: the XML and SOAP codecs of the mapping language (SPEC.md § Mapping file,
 * docs/mapping.md § The XML document model).
 *
 * This module owns what the gateway accepts as XML from a caller or an upstream and how it
 * writes XML: libxml2 with network access, DTDs and entity expansion off, any DOCTYPE refused,
 * depth, size and element count bounded; and the one document model that turns an XML tree
 * into a jansson tree and back, with element names in the MAPPING's namespace prefixes (an
 * element is selected by its namespace URI, never by the prefix its writer happened to use).
 * SOAP is a thin layer on top: the envelope (1.1 or 1.2) is unwrapped on the way in, a Fault
 * becomes an upstream error, and the envelope is written around the root on the way out. */
#ifndef LT_XML_H
#define LT_XML_H

#include <stddef.h>
#include <jansson.h>
#include "gateway/err.h"

#define LT_XML_MAX_BYTES  (10u * 1024 * 1024)   /* a document to decode, refused before parsing */
#define LT_XML_MAX_DEPTH  64                    /* element nesting, the root being 1 */
#define LT_XML_MAX_NODES  100000                /* elements in one document */
#define LT_XML_MAX_OUTPUT (64u * 1024 * 1024)   /* an encoded document, in bytes */

#define LT_SOAP11_NS "http://schemas.xmlsoap.org/soap/envelope/"
#define LT_SOAP12_NS "http://www.w3.org/2003/05/soap-envelope"

/* One namespace a mapping declares: `namespaces: { t: "http://tempuri.org/" }`. */
struct lt_xml_ns {
	char *prefix;
	char *uri;
};

struct lt_xml_opts {
	const struct lt_xml_ns *ns;       /* the mapping's prefixes (borrowed); nns may be 0 */
	size_t nns;
	int soap;                         /* 0: plain XML; 11 or 12: a SOAP envelope of that version
					   * (decoding accepts either version whenever soap != 0) */
	/* Encoding only: */
	const char *root;                 /* the root element (inside Body for SOAP): "t:Op" or "Op" */
	int decl;                         /* write the <?xml ...?> declaration first */
	const char *const *cdata;         /* output paths ("t:xmlInvData", "a[].b") written as CDATA */
	size_t ncdata;
};

/* Decodes buf (len bytes, need not be NUL-terminated) into the document model: plain XML gives
 * { "<root name>": <root element> }; SOAP gives the object of Body's child elements
 * ({ "t:OpResponse": {...} }). On bad input returns -1 with status 400 and code "xml.invalid"
 * ("invalid XML at line L column C: <reason>"; a DOCTYPE, a document over LT_XML_MAX_BYTES,
 * deeper than LT_XML_MAX_DEPTH or with more than LT_XML_MAX_NODES elements are refused the same
 * way), or "soap.invalid" for well-formed XML that is not a SOAP envelope with a Body. A SOAP
 * Fault returns -1 with status 502, code "upstream.soap_fault" and the message
 * "upstream answered with a SOAP fault: <code>: <text>". *out is a new reference, set on
 * success only. o is borrowed. Thread-safe. */
int lt_xml_decode(const char *buf, size_t len, const struct lt_xml_opts *o, json_t **out, struct lt_err *e);

/* Encodes doc (an object, borrowed, not modified) as the children of o->root, inside a SOAP
 * envelope when o->soap is 11 or 12; every namespace of o is declared on the root element.
 * Keys "@name" become attributes, "#text" text; a list repeats its element; null writes an empty
 * element. UTF-8 is written as is, nothing is pretty-printed, text is escaped (&, <, >), and the
 * values at o->cdata paths go out as CDATA sections (split where the text holds "]]>").
 * *out is malloc'd and NUL-terminated (caller frees), *len its length (len may be NULL). Fails
 * with status 422 and code "mapping.xml" (e->field set) for a name that is not an XML name or
 * uses an undeclared prefix, a character XML 1.0 cannot hold, or a list inside a list; 500
 * "xml.encode" past LT_XML_MAX_OUTPUT bytes. Thread-safe. */
int lt_xml_encode(json_t *doc, const struct lt_xml_opts *o, char **out, size_t *len, struct lt_err *e);

/* Checks an element or attribute name as a mapping writes it ("t:Local", "Local", "@t:attr"
 * when attr is 1): a valid XML name whose prefix, if any, is one of ns. Returns 0, or -1 with
 * the reason in why (always NUL-terminated). For `lienthong check`. */
int lt_xml_name_check(const char *name, int attr, const struct lt_xml_ns *ns, size_t nns, char *why, size_t n);

/* Checks a namespace URI as a mapping declares it: one libxml2 parses as a URI (it refuses a
 * document declaring any other, so our own output would not read back). Returns 0, or -1 with
 * the reason in why (always NUL-terminated). For `lienthong check`. */
int lt_xml_uri_check(const char *uri, char *why, size_t n);

#endif
