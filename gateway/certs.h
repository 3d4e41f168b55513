/* certs.h: when the certificates a config names expire, for /metrics
 * (lienthong_cert_expiry_seconds), the status page and `check`'s 30-day warning. Read once per
 * generation (start-up and reload: blocking file reads, never per request). */
#ifndef LT_CERTS_H
#define LT_CERTS_H

#include <stddef.h>
#include <stdint.h>
#include "gateway/config.h"

#define LT_CERT_WARN_DAYS 30

struct lt_cert_info {
	char *path;            /* owned, absolute */
	int64_t not_after;     /* unix seconds of the earliest notAfter in the file; 0 = unreadable */
};

/* Every distinct certificate file of cfg (listener cert and client_ca, upstream ca and cert):
 * a new array in *out (free with lt_certs_free), its length returned. */
size_t lt_certs_collect(const struct lt_config *cfg, struct lt_cert_info **out);
void lt_certs_free(struct lt_cert_info *v, size_t n);
/* The earliest notAfter of the PEM certificates in path (unix seconds), 0 when none is readable. */
int64_t lt_cert_file_not_after(const char *path);

#endif
