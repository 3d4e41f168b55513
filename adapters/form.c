/* form.c: form and query-string encoding and decoding (form.h). */
#include "adapters/form.h"

void lt_form_escape(struct lt_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
		    c == '.' || c == '_') {
			lt_buf_putc(b, (char)c);
		} else if (c == ' ') {
			lt_buf_putc(b, '+');
		} else {
			char enc[3] = { '%', hex[c >> 4], hex[c & 15] };

			lt_buf_append(b, enc, 3);
		}
	}
}
