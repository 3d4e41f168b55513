/* certs.c: certificate expiry of a config's files (see certs.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "gateway/certs.h"
#include "gateway/util.h"

#define CERTS_PER_FILE_MAX 256      /* a CA bundle is read to its end, within reason */

int64_t lt_cert_file_not_after(const char *path)
{
	FILE *f = fopen(path, "r");
	int64_t earliest = 0;
	X509 *crt;

	if (f == NULL)
		return 0;
	for (int i = 0; i < CERTS_PER_FILE_MAX && (crt = PEM_read_X509(f, NULL, NULL, NULL)) != NULL; i++) {
		struct tm tm;

		if (ASN1_TIME_to_tm(X509_get0_notAfter(crt), &tm) == 1) {
			int64_t t = (int64_t)timegm(&tm);

			if (earliest == 0 || t < earliest)
				earliest = t;
		}
		X509_free(crt);
	}
	ERR_clear_error();      /* the read that ends the file leaves "no start line" behind */
	fclose(f);
	return earliest;
}

static void add(struct lt_cert_info **v, size_t *n, const char *path)
{
	if (path == NULL)
		return;
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*v)[i].path, path) == 0)
			return;
	*v = lt_xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[*n].path = lt_xstrdup(path);
	(*v)[*n].not_after = lt_cert_file_not_after(path);
	(*n)++;
}

size_t lt_certs_collect(const struct lt_config *cfg, struct lt_cert_info **out)
{
	struct lt_cert_info *v = NULL;
	size_t n = 0;

	for (size_t i = 0; i < cfg->n_listeners; i++) {
		add(&v, &n, cfg->listeners[i].cert);
		add(&v, &n, cfg->listeners[i].client_ca);
	}
	for (size_t i = 0; i < cfg->n_upstreams; i++) {
		add(&v, &n, cfg->upstreams[i].ca);
		add(&v, &n, cfg->upstreams[i].cert);
	}
	*out = v;
	return n;
}

void lt_certs_free(struct lt_cert_info *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].path);
	free(v);
}
