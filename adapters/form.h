/* form.h: application/x-www-form-urlencoded bodies and URL query strings, the wire format of
 * VNPAY's IPN and of many older bank and carrier callbacks (SPEC.md § Mapping file, formats `form`
 * and `query`).
 *
 * The parser is our own, length-aware and strict, because a signed callback must mean one thing
 * only: names and values are percent-decoded with '+' as space; a bare name ("a&b=1") is a field
 * with an empty value; empty pieces ("a=1&&b=2", a trailing '&') carry nothing and are skipped, as
 * browsers do. Refused, with 400 "form.invalid": an invalid %XX escape, a NUL byte (raw or %00),
 * text that is not UTF-8 once decoded, an empty name, a name given twice (two parsers would pick
 * different copies), more than LT_FORM_MAX_FIELDS fields, a name over LT_FORM_MAX_NAME bytes, and
 * input over LT_FORM_MAX_LEN bytes. The result is a flat JSON object of strings, in input order. */
#ifndef LT_FORM_H
#define LT_FORM_H

#include <stddef.h>
#include <jansson.h>
#include "gateway/err.h"
#include "gateway/util.h"

#define LT_FORM_MAX_FIELDS 512
#define LT_FORM_MAX_NAME   256
#define LT_FORM_MAX_LEN    (4u * 1024 * 1024)

/* Decodes buf[0..len) (a form body, or a query string without its '?'; need not be
 * NUL-terminated). *out is a new reference to a new object, set only on success. On error returns
 * -1 with e->status 400, e->code "form.invalid", e->msg "invalid form at byte N: <reason>" and
 * e->field the field's name when it is known and printable. */
int lt_form_decode(const char *buf, size_t len, json_t **out, struct lt_err *e);

/* Encodes a flat object (borrowed): name=value joined by '&', both escaped by lt_form_escape, in
 * the object's order. Strings as they are, integers in decimal, reals in their shortest exact form,
 * true/false, null as an empty value. *out is malloc'd and NUL-terminated (caller frees), *len its
 * length (may be NULL). Fails with 500 "form.encode" for a document that is not an object, a
 * member that is an object or a list (a form has no nesting), or output over LT_FORM_MAX_LEN. */
int lt_form_encode(json_t *doc, char **out, size_t *len, struct lt_err *e);

/* Appends s[0..n) escaped as PHP's urlencode does, which is also a valid form encoding: A-Za-z0-9
 * and -_. as they are, space as '+', every other byte as %XX in upper-case hex. This exact set
 * matters: VNPAY signs the string this produces (FORMATS.md §3.1). */
void lt_form_escape(struct lt_buf *b, const char *s, size_t n);

#endif
