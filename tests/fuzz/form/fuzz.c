/* fuzz.c (form): libFuzzer driver for the form and query-string codec (adapters/form.c).
 *
 * Properties checked on every input, beyond "no crash, no sanitizer report": a decoded form is a
 * flat object of valid UTF-8 strings within the bounds, and encoding it and decoding the result
 * gives the same object back (so what the gateway writes, it and the next hop read the same way).
 *
 * Built and run by `make fuzz` / `make fuzz-replay` (tests/fuzz/README.md), or by hand:
 *   build/fuzz/fuzz_form -dict=tests/fuzz/form/form.dict tests/fuzz/form/corpus */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "adapters/form.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lt_err e;
	json_t *doc = NULL, *back = NULL;
	const char *name;
	json_t *v;
	char *enc = NULL;
	size_t len = 0;

	if (lt_form_decode((const char *)data, size, &doc, &e) < 0)
		return 0;
	if (json_object_size(doc) > LT_FORM_MAX_FIELDS)
		abort();
	json_object_foreach(doc, name, v)
		if (!json_is_string(v) || name[0] == '\0')
			abort();
	if (lt_form_encode(doc, &enc, &len, &e) < 0 || lt_form_decode(enc, len, &back, &e) < 0 ||
	    !json_equal(doc, back))
		abort();
	free(enc);
	json_decref(back);
	json_decref(doc);
	return 0;
}
