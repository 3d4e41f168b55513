/* fuzz.c (soap): the SOAP decoder (envelopes of both versions, Body, Fault) and the envelope
 * writer. A Body with one element must go through a SOAP 1.1 envelope and back unchanged. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/xml.h"
#include "tests/fuzz/roundtrip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	lt_fuzz_xml_roundtrip((const char *)data, size, 11);
	return 0;
}
