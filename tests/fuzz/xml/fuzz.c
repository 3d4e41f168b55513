/* fuzz.c (xml): the XML decoder and writer. Whatever decodes must write back as XML that decodes
 * to the same document model (names in the mapping's prefixes, lists, @attr, #text). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/xml.h"
#include "tests/fuzz/roundtrip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	lt_fuzz_xml_roundtrip((const char *)data, size, 0);
	return 0;
}
