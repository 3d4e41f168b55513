/* fuzz.c (json): the strict JSON decoder and the writer. Whatever decodes must encode, and the
 * encoded text must decode to a document that encodes to the same text (the writer is stable). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *doc = NULL, *again = NULL;
	char *a = NULL, *b = NULL;
	size_t alen, blen;

	if (lt_json_decode((const char *)data, size, &doc, NULL) < 0)
		return 0;
	if (lt_json_encode(doc, &a, &alen, NULL) < 0)
		abort();
	if (lt_json_decode(a, alen, &again, NULL) < 0 || lt_json_encode(again, &b, &blen, NULL) < 0)
		abort();
	if (alen != blen || memcmp(a, b, alen) != 0)
		abort();
	free(a);
	free(b);
	json_decref(again);
	json_decref(doc);
	return 0;
}
