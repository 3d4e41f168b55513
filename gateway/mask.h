/* mask.h: personal data out of log lines. Every string that reaches a log line goes through
 * lt_mask_text, which hides, by default and without configuration:
 *   - citizen IDs and other digit runs of 9..12 digits (CCCD 001085012345 -> 00108*****45,
 *     phone 0912345678 -> 091*****78, 84912345678 -> 849******78),
 *   - card and account numbers (13..19 digits, also grouped by spaces or dashes) -> first 6 and
 *     last 4 kept (PCI DSS display rule),
 *   - e-mail addresses (an.nguyen@example.vn -> a***@example.vn),
 * plus any literal value the caller names (the values of fields a mapping marks `mask: true`).
 * A digit run touching a letter or digit on either side (a hex request id, a dossier code) is not a
 * personal number and is left alone. Pure functions: unit-tested in tests/unit/test_mask.c. */
#ifndef LT_MASK_H
#define LT_MASK_H

#include <stddef.h>
#include <jansson.h>
#include "gateway/util.h"

/* Appends s (n bytes) to out with personal data masked. extra: n_extra literal values (borrowed)
 * replaced by "***" wherever they occur (empty or 1-character ones are ignored). */
void lt_mask_text(struct lt_buf *out, const char *s, size_t n, char *const *extra, size_t n_extra);

/* The same, written as the inside of a JSON string (quotes not added): the bytes lt_buf_json_str
 * would write for lt_mask_text's output, without the intermediate copy (log lines). */
void lt_mask_json(struct lt_buf *out, const char *s, size_t n, char *const *extra, size_t n_extra);

/* The masked copy of a NUL-terminated string (caller frees; NULL when s is NULL). */
char *lt_mask_str(const char *s, char *const *extra, size_t n_extra);

/* The string values (numbers written as text) found in doc at the dotted output paths of a
 * mapping's masked fields ("session", "data[].Email": `[]` walks every item). Appends new
 * strings to *vals and *n (caller frees each and the array). Bounded: at most 256 values. */
void lt_mask_collect(const json_t *doc, const char *const *paths, size_t n_paths, char ***vals, size_t *n);

#endif
