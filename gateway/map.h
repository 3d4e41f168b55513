/* map.h: the mapping engine. One mapping file maps one route's request (and optionally its
 * response) from one format to another with YAML field rules (SPEC.md § Mapping file).
 *
 * The engine is pure: bytes in, bytes out, errors with field paths. It never touches a socket
 * and never logs, so it is unit-tested and fuzzed on its own. Documents are held as jansson
 * json_t trees whatever their wire format: JSON is the lingua franca, and the codecs in
 * adapters/ turn XML, SOAP, form and query documents into and out of that tree. */
#ifndef LT_MAP_H
#define LT_MAP_H

#include <stddef.h>
#include <jansson.h>
#include "gateway/err.h"

enum lt_fmt { LT_FMT_JSON, LT_FMT_XML, LT_FMT_SOAP, LT_FMT_FORM, LT_FMT_QUERY };

struct lt_map;            /* a compiled mapping file (opaque) */
struct lt_map_section;    /* its request: or response: section (opaque) */

/* Resolves `var:` names ("auth.token", "request.id", "route.name"); returns NULL when unknown.
 * The returned string is borrowed for the duration of the lt_map_* call. */
struct lt_map_vars {
	const char *(*get)(void *ctx, const char *name);
	void *ctx;
};

/* Compiles a mapping file (docs/mapping.md). Every problem goes to d as FILE:LINE:COL: message
 * (all of them, not the first only); returns 0 and *out (free with lt_map_free) when there was
 * no error, else -1 and nothing. lt_map_parse names the buffer `file` for messages and resolves
 * `examples:` and ${file:} paths against its folder. Blocking (file reads): load time only. A
 * compiled mapping is immutable: any number of threads may apply it at once. */
int lt_map_load(const char *path, struct lt_map **out, struct lt_diags *d);
int lt_map_parse(const char *file, const char *buf, size_t len, struct lt_map **out, struct lt_diags *d);
void lt_map_free(struct lt_map *m);   /* m may be NULL */

/* Borrowed; NULL when the file has no such section. */
const struct lt_map_section *lt_map_request(const struct lt_map *m);
const struct lt_map_section *lt_map_response(const struct lt_map *m);
enum lt_fmt lt_map_in(const struct lt_map_section *s);
enum lt_fmt lt_map_out(const struct lt_map_section *s);
/* The Content-Type the section's output is sent with ("application/json", "text/xml; charset=utf-8"). */
const char *lt_map_content_type(const struct lt_map_section *s);

/* SOAP 1.1's SOAPAction header value for a `soap:` output (the action, unquoted), or NULL when the
 * section does not write SOAP 1.1 (SOAP 1.2 carries the action in the content type). Borrowed. */
const char *lt_map_soap_action(const struct lt_map_section *s);

/* Applies the section's fields to a decoded document. in is borrowed; *out is a new reference
 * to a new top-level object, which may share unchanged subtrees with in (copied values are
 * referenced, not duplicated): callers may change its top level (the auth layer places the
 * token there) but nothing below it. On a rule failure returns -1 with e->status 422, e->code
 * "mapping.<rule>" (mapping.required, mapping.type, mapping.map, mapping.pattern, ...),
 * e->field the output field path ("data[0].MaHoSo"), e->msg naming the input path, and
 * e->file/line/col where the failing rule is written; nothing is half-built: *out is only set
 * on success. vars may be NULL (every var is then unset). */
int lt_map_apply(const struct lt_map_section *s, json_t *in, const struct lt_map_vars *vars,
		 json_t **out, struct lt_err *e);

/* Decodes input bytes in the section's `in` format (400 "json.invalid", "form.invalid" etc. on bad
 * input). For `in: query` buf is the request's query string without its '?' (the caller takes it
 * from the URL, not the body); `form` and `query` give a flat object of strings (adapters/form.h).
 * *out is a new reference, set on success only. */
int lt_map_decode(const struct lt_map_section *s, const char *buf, size_t len, json_t **out, struct lt_err *e);
/* Encodes a document (borrowed, not changed) in the section's `out` format. *out is malloc'd
 * and NUL-terminated (caller frees), *len its length (may be NULL). */
int lt_map_encode(const struct lt_map_section *s, json_t *doc, char **out, size_t *len, struct lt_err *e);

/* decode + apply + encode; *out as lt_map_encode. Errors as the three steps give them. */
int lt_map_run(const struct lt_map_section *s, const char *in, size_t inlen, const struct lt_map_vars *vars,
	       char **out, size_t *outlen, struct lt_err *e);

/* Runs the file's `examples:` (paths relative to the mapping file); each mismatch or failure goes
 * to d at the example's FILE:LINE:COL with a readable diff by field path ("example 'NAME':
 * data[0].NgayTiepNhan: expected \"...\", got \"...\""). Output and expected file are compared
 * byte for byte in compact form. Vars default to { auth.token: "example-session" }. Returns the
 * number of failing examples. Blocking (file reads): check and load time only. */
int lt_map_check_examples(const struct lt_map *m, struct lt_diags *d);

/* The output paths of masked fields, for the log layer: `mask: true`, auth.* vars, values from
 * ${env:} / ${file:}. Paths are dotted, lists written with [] ("session", "data[].Email").
 * *paths is borrowed from s; returns their number. */
size_t lt_map_masked(const struct lt_map_section *s, const char *const **paths);

#endif
