/* fuzz.c (json_diff): lt_json_decode against the decoder it replaced (tests/unit/json_oracle.h:
 * the pre-scan, then jansson's json_loadb). Any difference in what is accepted, in the tree built
 * (values and key order) or in the refusal's message, line and column aborts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "tests/unit/json_oracle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[2 * LT_ERR_MSG + 64];

	if (!lt_oracle_agrees((const char *)data, size, why, sizeof(why))) {
		fprintf(stderr, "json_diff: %s\n", why);
		abort();
	}
	return 0;
}
