/* form.h: application/x-www-form-urlencoded bodies and URL query strings, the wire format of
 * VNPAY's IPN and of many older bank and carrier callbacks. */
#ifndef LT_FORM_H
#define LT_FORM_H

#include <stddef.h>
#include "gateway/util.h"

/* Appends s[0..n) escaped as PHP's urlencode does, which is also a valid form encoding: A-Za-z0-9
 * and -_. as they are, space as '+', every other byte as %XX in upper-case hex. This exact set
 * matters: VNPAY signs the string this produces (FORMATS.md §3.1). */
void lt_form_escape(struct lt_buf *b, const char *s, size_t n);

#endif
