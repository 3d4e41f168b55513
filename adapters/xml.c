/* xml.c: the XML and SOAP codecs (adapters/xml.h).
 *
 * Parsing follows STACK.md § 2d: xmlCtxtReadMemory with NONET|NOERROR|NOWARNING only (never
 * NOENT, DTDLOAD, DTDATTR, DTDVALID, XINCLUDE or HUGE), a deny-all external entity loader, and
 * a parser context whose SAX callbacks stop the parse at the first DOCTYPE, past the depth bound
 * and past the element bound, so that a hostile document costs one cheap partial pass and never
 * a big tree. Without a DOCTYPE no entity can be declared, which closes XXE, billion laughs and
 * quadratic blowup at once. Writing emits the text directly, escaped exactly as libxml2 would
 * save the same tree (see the encoding section). */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/tree.h>
#include <libxml/uri.h>

#include "adapters/json.h"
#include "adapters/xml.h"
#include "gateway/util.h"

#define NAME_MAX_LEN 256     /* a mapped element name, "p:Local" */
#define PATH_MAX_LEN 512     /* an output path, for CDATA lookup and messages */
#define STR_(x) #x
#define STR(x) STR_(x)

/* ---- set-up ------------------------------------------------------------------------------------ */

/* No document may make the parser open anything: not a file, not a URL. */
static xmlParserInputPtr deny_loader(const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
	(void)url;
	(void)id;
	(void)ctxt;
	return NULL;
}

/* libxml2 prints some errors (a failed encoding conversion) through its generic handler even
 * with XML_PARSE_NOERROR; the parse fails all the same, and we report it ourselves. */
static void silent(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init(void)
{
	xmlInitParser();
	xmlSetExternalEntityLoader(deny_loader);
}

/* ---- decoding: parsing ------------------------------------------------------------------------- */

/* Why the SAX guards stopped the parse; ctxt->_private points here. */
struct guard {
	startElementNsSAX2Func start;   /* libxml2's tree builder */
	size_t nodes;
	const char *why;                /* NULL while the document is acceptable */
	int line, col;
};

static void guard_stop(xmlParserCtxtPtr c, struct guard *g, const char *why)
{
	if (g->why == NULL) {
		g->why = why;
		g->line = xmlSAX2GetLineNumber(c);
		g->col = xmlSAX2GetColumnNumber(c);
	}
	xmlStopParser(c);
}

/* Called for every DOCTYPE, with or without an internal subset. */
static void on_doctype(void *ctx, const xmlChar *name, const xmlChar *ext, const xmlChar *sys)
{
	xmlParserCtxtPtr c = ctx;

	(void)name;
	(void)ext;
	(void)sys;
	guard_stop(c, c->_private, "a DOCTYPE is not allowed");
}

static void on_start(void *ctx, const xmlChar *local, const xmlChar *prefix, const xmlChar *uri, int nns,
		     const xmlChar **ns, int nattrs, int ndefaulted, const xmlChar **attrs)
{
	xmlParserCtxtPtr c = ctx;
	struct guard *g = c->_private;

	/* nameNr counts the open ancestors: the element starting now is at depth nameNr + 1. */
	if (c->nameNr >= LT_XML_MAX_DEPTH) {
		guard_stop(c, g, "elements nested deeper than " STR(LT_XML_MAX_DEPTH) " levels");
		return;
	}
	if (++g->nodes > LT_XML_MAX_NODES) {
		guard_stop(c, g, "more than " STR(LT_XML_MAX_NODES) " elements");
		return;
	}
	g->start(ctx, local, prefix, uri, nns, ns, nattrs, ndefaulted, attrs);
}

static int invalid(struct lt_err *e, int line, int col, const char *reason)
{
	return lt_err_set(e, 400, "xml.invalid", "invalid XML at line %d column %d: %s", line, col, reason);
}

/* Parses buf into *doc (free with xmlFreeDoc). */
static int parse(const char *buf, size_t len, xmlDocPtr *doc, struct lt_err *e)
{
	struct guard g = { 0 };
	xmlParserCtxtPtr c;
	char reason[160];
	const char *nul;
	int rc = 0;

	pthread_once(&init_once, init);
	xmlSetGenericErrorFunc(NULL, silent);   /* per thread in libxml2: set on every call */
	*doc = NULL;
	if (len > LT_XML_MAX_BYTES) {
		snprintf(reason, sizeof(reason), "the document is %zu bytes, more than the limit of %u", len,
			 LT_XML_MAX_BYTES);
		return invalid(e, 1, 1, reason);
	}
	if (len == 0)
		return invalid(e, 1, 1, "the document is empty");
	/* libxml2 may take a NUL byte for the end of the input and accept what came before it. */
	if ((nul = memchr(buf, '\0', len)) != NULL) {
		int line = 1, col = 1;

		for (const char *p = buf; p < nul; p++, col++)
			if (*p == '\n')
				line++, col = 0;
		return invalid(e, line, col, "NUL byte");
	}
	c = xmlNewParserCtxt();
	if (c == NULL)
		return lt_err_set(e, 500, "xml.invalid", "cannot make an XML parser (out of memory)");
	c->_private = &g;
	g.start = c->sax->startElementNs;
	c->sax->startElementNs = on_start;
	c->sax->internalSubset = on_doctype;
	*doc = xmlCtxtReadMemory(c, buf, (int)len, NULL, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (g.why != NULL) {
		rc = invalid(e, g.line, g.col, g.why);
	} else if (*doc == NULL || !c->wellFormed || !c->nsWellFormed || xmlDocGetRootElement(*doc) == NULL) {
		/* nsWellFormed: libxml2 only warns about an undeclared prefix, whose element would then
		 * be named "x:a" in no namespace. */
		const xmlError *x = xmlCtxtGetLastError(c);
		size_t n;

		snprintf(reason, sizeof(reason), "%s", x != NULL && x->message != NULL ? x->message : "not well-formed");
		/* libxml2 adds a second line of bytes to some messages: the first line says it. */
		n = strcspn(reason, "\n");
		reason[n] = '\0';
		while (n > 0 && reason[n - 1] == ' ')
			reason[--n] = '\0';
		rc = invalid(e, x != NULL ? x->line : 0, x != NULL ? x->int2 : 0, reason);
	}
	xmlFreeParserCtxt(c);
	if (rc < 0) {
		xmlFreeDoc(*doc);
		*doc = NULL;
	}
	return rc;
}

/* ---- decoding: the document model -------------------------------------------------------------- */

/* The mapping's prefix for uri, or NULL when the mapping did not declare it. */
static const char *prefix_of(const struct lt_xml_opts *o, const xmlChar *uri)
{
	if (uri == NULL)
		return NULL;
	for (size_t i = 0; i < o->nns; i++)
		if (strcmp(o->ns[i].uri, (const char *)uri) == 0)
			return o->ns[i].prefix;
	return NULL;
}

/* "p:Local" with the mapping's prefix, or "Local"; at (when non-NULL) is put first. */
static void model_name(const struct lt_xml_opts *o, const char *at, const xmlChar *local, const xmlNs *ns,
		       char *buf, size_t n)
{
	const char *p = prefix_of(o, ns != NULL ? ns->href : NULL);

	snprintf(buf, n, "%s%s%s%s", at ? at : "", p ? p : "", p ? ":" : "", (const char *)local);
}

static int is_blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
			return 0;
	return 1;
}

static json_t *text_value(const char *s, size_t n, struct lt_err *e)
{
	json_t *v = json_stringn(s, n);

	/* libxml2 hands out UTF-8 only; a failure here is a bug, not bad input, but is refused anyway. */
	if (v == NULL)
		invalid(e, 0, 0, "text that is not UTF-8");
	return v;
}

/* Adds v under key: a key seen before becomes a list of every value, in document order. Steals v. */
static void add_repeated(json_t *obj, const char *key, json_t *v)
{
	json_t *old = json_object_get(obj, key);

	if (old == NULL) {
		json_object_set_new(obj, key, v);
	} else if (json_is_array(old)) {
		json_array_append_new(old, v);
	} else {
		json_t *list = json_array();

		json_array_append(list, old);
		json_array_append_new(list, v);
		json_object_set_new(obj, key, list);
	}
}

static json_t *element_value(const struct lt_xml_opts *o, xmlNodePtr el, struct lt_err *e);

/* Adds el's child elements to obj, repeated names as lists; appends its text to text. */
static int children_add(const struct lt_xml_opts *o, xmlNodePtr el, json_t *obj, struct lt_buf *text,
			struct lt_err *e)
{
	char name[NAME_MAX_LEN];

	for (xmlNodePtr ch = el->children; ch != NULL; ch = ch->next) {
		json_t *v;

		if (ch->type == XML_TEXT_NODE || ch->type == XML_CDATA_SECTION_NODE) {
			if (ch->content != NULL)
				lt_buf_puts(text, (const char *)ch->content);
			continue;
		}
		if (ch->type != XML_ELEMENT_NODE)
			continue;   /* comments and processing instructions carry no data */
		if ((v = element_value(o, ch, e)) == NULL)
			return -1;
		model_name(o, NULL, ch->name, ch->ns, name, sizeof(name));
		add_repeated(obj, name, v);
	}
	return 0;
}

/* An element: a string when it has only text, else an object of "@attr", "#text" and children. */
static json_t *element_value(const struct lt_xml_opts *o, xmlNodePtr el, struct lt_err *e)
{
	json_t *obj = json_object(), *v;
	struct lt_buf text;
	char name[NAME_MAX_LEN];

	for (xmlAttrPtr a = el->properties; a != NULL; a = a->next) {
		xmlChar *s = xmlNodeGetContent((xmlNodePtr)a);

		model_name(o, "@", a->name, a->ns, name, sizeof(name));
		v = text_value(s ? (const char *)s : "", s ? strlen((const char *)s) : 0, e);
		xmlFree(s);
		if (v == NULL || json_object_get(obj, name) != NULL) {
			if (v != NULL)
				invalid(e, el->line, 0, "two attributes have the same name in the mapping's prefixes");
			json_decref(v);
			json_decref(obj);
			return NULL;
		}
		json_object_set_new(obj, name, v);
	}
	lt_buf_init(&text, LT_XML_MAX_BYTES);
	if (children_add(o, el, obj, &text, e) < 0) {
		lt_buf_free(&text);
		json_decref(obj);
		return NULL;
	}
	if (json_object_size(obj) == 0) {
		json_decref(obj);
		v = text_value(text.data ? text.data : "", text.len, e);
		lt_buf_free(&text);
		return v;
	}
	/* Beside attributes or children, text that is only indentation is not data. */
	if (text.len > 0 && !is_blank(text.data, text.len)) {
		if ((v = text_value(text.data, text.len, e)) == NULL) {
			lt_buf_free(&text);
			json_decref(obj);
			return NULL;
		}
		json_object_set_new(obj, "#text", v);
	}
	lt_buf_free(&text);
	return obj;
}

/* ---- decoding: SOAP ---------------------------------------------------------------------------- */

static int is_soap_ns(const xmlNs *ns)
{
	return ns != NULL && (strcmp((const char *)ns->href, LT_SOAP11_NS) == 0 ||
			      strcmp((const char *)ns->href, LT_SOAP12_NS) == 0);
}

/* The first child element of el called local (namespace ignored: SOAP 1.1's faultcode has none). */
static xmlNodePtr child_named(xmlNodePtr el, const char *local)
{
	for (xmlNodePtr ch = el != NULL ? el->children : NULL; ch != NULL; ch = ch->next)
		if (ch->type == XML_ELEMENT_NODE && strcmp((const char *)ch->name, local) == 0)
			return ch;
	return NULL;
}

/* The trimmed text of el, control characters as spaces (it goes into a message), into buf. */
static void node_text(xmlNodePtr el, char *buf, size_t n)
{
	xmlChar *s = el != NULL ? xmlNodeGetContent(el) : NULL;
	const char *p = s ? (const char *)s : "";
	size_t len;

	p += strspn(p, " \t\r\n");
	snprintf(buf, n, "%s", p);
	xmlFree(s);
	for (char *q = buf; *q != '\0'; q++)
		if ((unsigned char)*q < 0x20)
			*q = ' ';
	len = strlen(buf);
	while (len > 0 && buf[len - 1] == ' ')
		buf[--len] = '\0';
}

/* SOAP 1.1: faultcode + faultstring; SOAP 1.2: Code/Value + Reason/Text. */
static int fault(xmlNodePtr f, struct lt_err *e)
{
	char code[128], text[LT_ERR_MSG];
	xmlNodePtr c = child_named(f, "faultcode"), t = child_named(f, "faultstring");

	if (c == NULL && t == NULL) {
		c = child_named(child_named(f, "Code"), "Value");
		t = child_named(child_named(f, "Reason"), "Text");
	}
	node_text(c, code, sizeof(code));
	node_text(t, text, sizeof(text));
	return lt_err_set(e, 502, "upstream.soap_fault", "upstream answered with a SOAP fault: %s: %s",
			  code[0] ? code : "(no code)", text[0] ? text : "(no text)");
}

static int soap_body(const struct lt_xml_opts *o, xmlNodePtr env, json_t **out, struct lt_err *e)
{
	xmlNodePtr body = NULL;
	struct lt_buf text;
	json_t *obj;
	int rc;

	if (env == NULL || strcmp((const char *)env->name, "Envelope") != 0 || !is_soap_ns(env->ns))
		return lt_err_set(e, 400, "soap.invalid", "not a SOAP envelope: the root element is '%s'",
				  env != NULL ? (const char *)env->name : "");
	for (xmlNodePtr ch = env->children; ch != NULL && body == NULL; ch = ch->next)
		if (ch->type == XML_ELEMENT_NODE && strcmp((const char *)ch->name, "Body") == 0 && ch->ns != NULL &&
		    strcmp((const char *)ch->ns->href, (const char *)env->ns->href) == 0)
			body = ch;
	if (body == NULL)
		return lt_err_set(e, 400, "soap.invalid", "the SOAP envelope has no Body");
	for (xmlNodePtr ch = body->children; ch != NULL; ch = ch->next)
		if (ch->type == XML_ELEMENT_NODE && strcmp((const char *)ch->name, "Fault") == 0 && ch->ns != NULL &&
		    strcmp((const char *)ch->ns->href, (const char *)env->ns->href) == 0)
			return fault(ch, e);
	obj = json_object();
	lt_buf_init(&text, LT_XML_MAX_BYTES);
	rc = children_add(o, body, obj, &text, e);
	lt_buf_free(&text);
	if (rc < 0) {
		json_decref(obj);
		return -1;
	}
	*out = obj;
	return 0;
}

int lt_xml_decode(const char *buf, size_t len, const struct lt_xml_opts *o, json_t **out, struct lt_err *e)
{
	xmlDocPtr doc;
	xmlNodePtr root;
	json_t *v;
	char name[NAME_MAX_LEN];
	int rc = 0;

	if (parse(buf, len, &doc, e) < 0)
		return -1;
	root = xmlDocGetRootElement(doc);
	if (o->soap) {
		rc = soap_body(o, root, out, e);
	} else if ((v = element_value(o, root, e)) == NULL) {
		rc = -1;
	} else {
		model_name(o, NULL, root->name, root->ns, name, sizeof(name));
		*out = json_object();
		json_object_set_new(*out, name, v);
	}
	xmlFreeDoc(doc);
	return rc;
}

/* ---- names ------------------------------------------------------------------------------------- */

/* The declared namespace index of the prefix of "p:Local" (name after any '@'), -1 when the name
 * has no prefix, -2 when the prefix is not declared. */
static long prefix_index(const char *name, const struct lt_xml_ns *ns, size_t nns)
{
	const char *colon = strchr(name, ':');

	if (colon == NULL)
		return -1;
	for (size_t i = 0; i < nns; i++)
		if (strlen(ns[i].prefix) == (size_t)(colon - name) && memcmp(ns[i].prefix, name, (size_t)(colon - name)) == 0)
			return (long)i;
	return -2;
}

/* XML 1.0 fifth edition § 2.3 (NameStartChar, NameChar), without ':': the rules libxml2's
 * parser applies, so that every name we write reads back. (xmlValidateNCName follows the fourth
 * edition's narrower tables and refused names the parser accepts: the fuzzer found U+02CE.) */
static int ncname_char(uint32_t c, int first)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (c >= 0xC0 && c <= 0xD6) ||
	    (c >= 0xD8 && c <= 0xF6) || (c >= 0xF8 && c <= 0x2FF) || (c >= 0x370 && c <= 0x37D) ||
	    (c >= 0x37F && c <= 0x1FFF) || (c >= 0x200C && c <= 0x200D) || (c >= 0x2070 && c <= 0x218F) ||
	    (c >= 0x2C00 && c <= 0x2FEF) || (c >= 0x3001 && c <= 0xD7FF) || (c >= 0xF900 && c <= 0xFDCF) ||
	    (c >= 0xFDF0 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0xEFFFF))
		return 1;
	return !first && (c == '-' || c == '.' || (c >= '0' && c <= '9') || c == 0xB7 || (c >= 0x300 && c <= 0x36F) ||
			  (c >= 0x203F && c <= 0x2040));
}

static int ncname_ok(const char *s)
{
	size_t len = strlen(s), i = 0;

	while (i < len) {
		uint32_t c = (unsigned char)s[i];
		size_t k = c < 0x80 ? 1 : lt_json_utf8_next(s + i, len - i, &c);

		if (k == 0 || !ncname_char(c, i == 0))
			return 0;
		i += k;
	}
	return len > 0;
}

int lt_xml_name_check(const char *name, int attr, const struct lt_xml_ns *ns, size_t nns, char *why, size_t n)
{
	const char *colon, *local;

	if (attr)
		name++;   /* the '@' */
	colon = strchr(name, ':');
	local = colon != NULL ? colon + 1 : name;
	if (prefix_index(name, ns, nns) == -2) {
		snprintf(why, n, "prefix '%.*s' in '%s' is not declared in namespaces", (int)(colon - name), name, name);
		return -1;
	}
	if (!ncname_ok(local)) {
		snprintf(why, n, "'%s' is not an XML %s name", local, attr ? "attribute" : "element");
		return -1;
	}
	/* Namespaces in XML 1.0 § 3: an unprefixed attribute named xmlns is a declaration, not data.
	 * Written from a document's key it would put the element and its unprefixed children in a
	 * namespace the sender chose. (A prefixed xmlns:p never gets here: prefixes starting with
	 * "xml" cannot be declared.) */
	if (attr && colon == NULL && strcmp(name, "xmlns") == 0) {
		snprintf(why, n, "an attribute named 'xmlns' would declare a namespace");
		return -1;
	}
	return 0;
}

int lt_xml_uri_check(const char *uri, char *why, size_t n)
{
	xmlURIPtr u;

	/* RFC 3986 characters only, and no '&': libxml2 keeps "&#38;" in the value it checks when it
	 * reads the declaration back, so "a&b" comes back as a URI with a fragment, and two of them
	 * as an invalid one. A namespace name is an identifier: nothing real needs '&'. */
	for (const char *p = uri; *p != '\0'; p++) {
		unsigned char ch = (unsigned char)*p;

		if (ch == '&' || ch <= ' ' || ch >= 0x7f || strchr("\"<>\\^`{|}", ch) != NULL) {
			char what[8];

			if (ch > ' ' && ch < 0x7f)
				snprintf(what, sizeof(what), "'%c'", ch);
			else
				snprintf(what, sizeof(what), "0x%02X", ch);
			snprintf(why, n, "namespace URI '%s' may not hold %s (byte %zu); percent-encode it: %%%02X",
				 uri, what, (size_t)(p - uri), ch);
			return -1;
		}
	}
	u = xmlParseURI(uri);
	if (u == NULL) {
		snprintf(why, n, "namespace URI '%s' is not a valid URI", uri);
		return -1;
	}
	xmlFreeURI(u);
	return 0;
}

/* ---- encoding ---------------------------------------------------------------------------------- */

/* The writer emits text directly, byte for byte what libxml2's xmlSaveTree (UTF-8, unformatted,
 * XML_SAVE_AS_XML) writes for the tree the document model describes: the mapping's names as
 * written ("t:Local"), every namespace declared on the root, `<a/>` for an element without
 * children, text escaped as xmlEscapeContent does (& < > and CR), attribute values as
 * xmlBufAttrSerializeTxtContent does for a document without an encoding (also " TAB LF CR, and
 * non-ASCII as &#xHEX;). Building a libxml2 tree to print it cost more than half of a SOAP
 * mapping's time (bench/NOTES.md); the fuzz targets check, on every input, that libxml2 reading
 * our output and saving it again gives the same bytes (tests/fuzz/roundtrip.h). */
struct enc {
	const struct lt_xml_opts *o;
	struct lt_buf out;
	struct lt_buf path;      /* output path of the value being written: "a.b[].c" */
	struct lt_err *e;
};

/* One element being written: its start tag stays open (attributes may still come) until the
 * first child is written. */
struct elem {
	const char *name;        /* as written, without '@' */
	int open;                /* "<name ..." written, '>' not yet */
};

static int enc_fail(struct enc *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int enc_fail(struct enc *x, const char *fmt, ...)
{
	char msg[LT_ERR_MSG];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	lt_err_set(x->e, 422, "mapping.xml", "%s", msg);
	lt_err_field(x->e, x->path.data ? x->path.data : "");
	return -1;
}

/* Checks a mapping's element or attribute name (prefix declared, local part an NCName). */
static int enc_name(struct enc *x, const char *name, int attr)
{
	char why[LT_ERR_MSG / 2];

	if (lt_xml_name_check(name, attr, x->o->ns, x->o->nns, why, sizeof(why)) < 0)
		return enc_fail(x, "cannot write XML: %s", why);
	return 0;
}

/* XML 1.0 has no way to write most control characters, U+FFFE or U+FFFF, even escaped. */
static int xml_chars_ok(const char *s, size_t len)
{
	size_t i = 0;

	/* A rendered document is checked again as the text that carries it: words with no control
	 * character and no 0xEF (the lead byte of U+FFFE and U+FFFF) are passed eight bytes at a
	 * time, the others and the last few bytes one by one. */
	while (i < len) {
		uint64_t w;
		size_t end = len - i > 8 ? i + 8 : len;

		if (len - i >= 8) {
			memcpy(&w, s + i, 8);
			if ((lt_word_has_below(w, 0x20) | lt_word_has_byte(w, 0xef)) == 0) {
				i += 8;
				continue;
			}
		}
		for (; i < end; i++) {
			unsigned char c = (unsigned char)s[i];

			if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
				return 0;
			if (c == 0xef && i + 2 < len && (unsigned char)s[i + 1] == 0xbf &&
			    ((unsigned char)s[i + 2] & 0xfe) == 0xbe)
				return 0;
		}
	}
	return 1;
}

static int is_cdata(const struct enc *x)
{
	for (size_t i = 0; i < x->o->ncdata; i++)
		if (x->path.data != NULL && strcmp(x->o->cdata[i], x->path.data) == 0)
			return 1;
	return 0;
}

/* Appends s with the bytes that need it replaced; runs of plain bytes go in one copy. */
static void put_escaped(struct lt_buf *b, const char *s, size_t len, int attr)
{
	size_t run = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *rep;
		char hex[16];

		switch (c) {
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '&': rep = "&amp;"; break;
		case '\r': rep = "&#13;"; break;
		case '"': rep = attr ? "&quot;" : NULL; break;
		case '\n': rep = attr ? "&#10;" : NULL; break;
		case '\t': rep = attr ? "&#9;" : NULL; break;
		default: rep = NULL; break;
		}
		if (rep == NULL && attr && c >= 0x80) {
			uint32_t cp;
			size_t n = lt_json_utf8_next(s + i, len - i, &cp);

			if (n > 0) {
				snprintf(hex, sizeof(hex), "&#x%X;", (unsigned)cp);
				lt_buf_append(b, s + run, i - run);
				lt_buf_puts(b, hex);
				i += n - 1;
				run = i + 1;
			}
			continue;
		}
		if (rep == NULL)
			continue;
		lt_buf_append(b, s + run, i - run);
		lt_buf_puts(b, rep);
		run = i + 1;
	}
	lt_buf_append(b, s + run, len - run);
}

/* The first "]]>" in s, or NULL; memchr finds the candidates (a rendered document is kilobytes). */
static const char *find_cdata_end(const char *s, size_t len)
{
	const char *end = s + len;

	for (const char *p = s; (p = memchr(p, ']', (size_t)(end - p))) != NULL; p++)
		if (end - p >= 3 && p[1] == ']' && p[2] == '>')
			return p;
	return NULL;
}

/* A CDATA section cannot hold "]]>": end it after "]]" and start the next with ">". */
static void put_cdata(struct lt_buf *b, const char *s, size_t len)
{
	size_t start = 0;
	const char *end;

	while ((end = find_cdata_end(s + start, len - start)) != NULL) {
		size_t i = (size_t)(end - s);

		lt_buf_puts(b, "<![CDATA[");
		lt_buf_append(b, s + start, i + 2 - start);
		lt_buf_puts(b, "]]>");
		start = i + 2;
	}
	lt_buf_puts(b, "<![CDATA[");
	lt_buf_append(b, s + start, len - start);
	lt_buf_puts(b, "]]>");
}

/* Ends el's start tag before its first child. */
static void elem_content(struct enc *x, struct elem *el)
{
	if (el->open) {
		lt_buf_putc(&x->out, '>');
		el->open = 0;
	}
}

static int add_text(struct enc *x, struct elem *el, json_t *v)
{
	char buf[40];
	const char *s;
	size_t len;

	if (lt_json_scalar_text(v, "", buf, sizeof(buf), &s, &len) < 0)
		return enc_fail(x, "cannot write XML: a list or an object cannot be text");
	if (!xml_chars_ok(s, len))
		return enc_fail(x, "cannot write XML: the text holds a control character XML 1.0 cannot carry");
	if (is_cdata(x)) {
		elem_content(x, el);
		put_cdata(&x->out, s, len);
	} else if (len > 0) {
		elem_content(x, el);
		put_escaped(&x->out, s, len, 0);
	}
	return 0;
}

static int fill(struct enc *x, struct elem *el, json_t *v);

static int add_element(struct enc *x, struct elem *parent, const char *key, json_t *v)
{
	struct elem el = { key, 1 };

	if (enc_name(x, key, 0) < 0)
		return -1;
	elem_content(x, parent);
	lt_buf_putc(&x->out, '<');
	lt_buf_puts(&x->out, key);
	if (fill(x, &el, v) < 0)
		return -1;
	if (el.open) {
		lt_buf_puts(&x->out, "/>");
	} else {
		lt_buf_puts(&x->out, "</");
		lt_buf_puts(&x->out, key);
		lt_buf_putc(&x->out, '>');
	}
	return 0;
}

static int add_attribute(struct enc *x, const char *key, json_t *v)
{
	char buf[40];
	const char *s;
	size_t len;

	if (enc_name(x, key, 1) < 0)
		return -1;
	if (lt_json_scalar_text(v, "", buf, sizeof(buf), &s, &len) < 0)
		return enc_fail(x, "cannot write XML: attribute '%s' needs a scalar value", key);
	if (!xml_chars_ok(s, len) || memchr(s, '\0', len) != NULL)
		return enc_fail(x, "cannot write XML: the text holds a control character XML 1.0 cannot carry");
	lt_buf_putc(&x->out, ' ');
	lt_buf_puts(&x->out, key + 1);
	lt_buf_puts(&x->out, "=\"");
	put_escaped(&x->out, s, len, 1);
	lt_buf_putc(&x->out, '"');
	return 0;
}

static void path_push(struct enc *x, size_t mark, const char *key)
{
	if (mark > 0)
		lt_buf_putc(&x->path, '.');
	lt_buf_puts(&x->path, key);
}

static void path_pop(struct enc *x, size_t mark)
{
	x->path.len = mark;
	if (x->path.data != NULL)
		x->path.data[mark] = '\0';
}

/* Writes v as the content of el, whose start tag is open: the attributes first (a start tag
 * holds them all), then text and child elements in the object's order. So when an attribute and
 * a child are both unwritable, the attribute's failure is the one reported. */
static int fill(struct enc *x, struct elem *el, json_t *v)
{
	size_t mark = x->path.len, i;
	const char *key;
	json_t *item;

	if (!json_is_object(v))
		return add_text(x, el, v);
	json_object_foreach(v, key, item) {
		if (key[0] != '@')
			continue;
		path_push(x, mark, key);
		if (add_attribute(x, key, item) < 0)
			return -1;
		path_pop(x, mark);
	}
	json_object_foreach(v, key, item) {
		int rc = 0;

		if (key[0] == '@')
			continue;
		path_push(x, mark, key);
		if (strcmp(key, "#text") == 0) {
			rc = add_text(x, el, item);
		} else if (json_is_array(item)) {
			json_t *one;

			lt_buf_puts(&x->path, "[]");
			json_array_foreach(item, i, one) {
				if (json_is_array(one))
					rc = enc_fail(x, "cannot write XML: a list inside a list has no element name");
				else
					rc = add_element(x, el, key, one);
				if (rc < 0)
					break;
			}
		} else {
			rc = add_element(x, el, key, item);
		}
		if (rc < 0)
			return -1;
		path_pop(x, mark);
	}
	return 0;
}

/* libxml2's xmlBufWriteQuotedString, for namespace URIs (double quotes, or single ones when the
 * URI holds '"' and no '\''), except that '&' and '<' are escaped: libxml2 writes them bare, which
 * is not well-formed XML. lt_xml_uri_check keeps all three out of a mapping's URIs; the writer
 * does not count on it, as its callers are not all mappings. */
static void put_quoted(struct lt_buf *b, const char *s)
{
	char q = strchr(s, '"') == NULL || strchr(s, '\'') != NULL ? '"' : '\'';

	lt_buf_putc(b, q);
	for (; *s != '\0'; s++) {
		if (*s == '&')
			lt_buf_puts(b, "&amp;");
		else if (*s == '<')
			lt_buf_puts(b, "&lt;");
		else if (*s == '"' && q == '"')
			lt_buf_puts(b, "&quot;");
		else
			lt_buf_putc(b, *s);
	}
	lt_buf_putc(b, q);
}

int lt_xml_encode(json_t *doc, const struct lt_xml_opts *o, char **out, size_t *len, struct lt_err *e)
{
	static const char decl[] = "<?xml version=\"1.0\" encoding=\"utf-8\"?>";
	struct enc x = { o, { 0 }, { 0 }, e };
	struct elem root = { o->root, 1 };
	const char *soap = o->soap == 12 ? LT_SOAP12_NS : LT_SOAP11_NS;
	int rc;

	if (!json_is_object(doc))
		return lt_err_set(e, 500, "xml.encode", "an XML document is written from an object");
	lt_buf_init(&x.out, LT_XML_MAX_OUTPUT + (o->decl ? sizeof(decl) - 1 : 0));
	lt_buf_init(&x.path, PATH_MAX_LEN);
	if (o->decl)
		lt_buf_puts(&x.out, decl);
	if (o->soap) {
		lt_buf_puts(&x.out, "<soap:Envelope xmlns:soap=");
		put_quoted(&x.out, soap);
		lt_buf_puts(&x.out, "><soap:Body>");
	}
	rc = enc_name(&x, o->root, 0);
	if (rc == 0) {
		lt_buf_putc(&x.out, '<');
		lt_buf_puts(&x.out, o->root);
		for (size_t i = 0; i < o->nns; i++) {
			lt_buf_puts(&x.out, " xmlns:");
			lt_buf_puts(&x.out, o->ns[i].prefix);
			lt_buf_putc(&x.out, '=');
			put_quoted(&x.out, o->ns[i].uri);
		}
		rc = fill(&x, &root, doc);
	}
	if (rc == 0) {
		if (root.open) {
			lt_buf_puts(&x.out, "/>");
		} else {
			lt_buf_puts(&x.out, "</");
			lt_buf_puts(&x.out, o->root);
			lt_buf_putc(&x.out, '>');
		}
		if (o->soap)
			lt_buf_puts(&x.out, "</soap:Body></soap:Envelope>");
		if (x.out.overflow)
			rc = lt_err_set(e, 500, "xml.encode", "the XML document would pass %u bytes", LT_XML_MAX_OUTPUT);
	}
	if (rc == 0)
		*out = lt_buf_take(&x.out, len);
	lt_buf_free(&x.out);
	lt_buf_free(&x.path);
	return rc;
}
