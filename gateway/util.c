/* util.c: allocation (abort on OOM), bounded buffers, durations and sizes, clocks, file reading. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#include "gateway/util.h"

static void oom(size_t n)
{
	fprintf(stderr, "lienthong: out of memory allocating %zu bytes\n", n);
	abort();
}

void *lt_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL)
		oom(n);
	return p;
}

void *lt_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (p == NULL)
		oom(n * size);
	return p;
}

void *lt_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (q == NULL)
		oom(n);
	return q;
}

char *lt_xstrdup(const char *s)
{
	if (s == NULL)
		return NULL;
	return lt_xstrndup(s, strlen(s));
}

char *lt_xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = lt_xmalloc(len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *lt_xasprintf(const char *fmt, ...)
{
	va_list ap, ap2;
	int n;
	char *p;

	va_start(ap, fmt);
	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	p = lt_xmalloc((size_t)n + 1);
	vsnprintf(p, (size_t)n + 1, fmt, ap2);
	va_end(ap2);
	return p;
}

void lt_buf_init(struct lt_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

static int buf_grow(struct lt_buf *b, size_t extra)
{
	size_t need, cap;

	if (b->overflow)
		return -1;
	if (extra > b->max - b->len || b->len + extra > b->max) {
		b->overflow = 1;
		return -1;
	}
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	b->data = lt_xrealloc(b->data, cap);
	b->cap = cap;
	return 0;
}

void lt_buf_reserve(struct lt_buf *b, size_t n)
{
	if (!b->overflow)
		buf_grow(b, n < b->max - b->len ? n : b->max - b->len);
}

int lt_buf_append(struct lt_buf *b, const void *p, size_t n)
{
	/* The writers append a few bytes at a time: most appends fit, and skip the checks of a growth. */
	if (!(n < b->cap - b->len && b->len + n <= b->max && !b->overflow) && buf_grow(b, n) < 0)
		return -1;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int lt_buf_puts(struct lt_buf *b, const char *s)
{
	return lt_buf_append(b, s, strlen(s));
}

int lt_buf_putc(struct lt_buf *b, char c)
{
	return lt_buf_append(b, &c, 1);
}

int lt_buf_put_size(struct lt_buf *b, size_t v)
{
	char d[24];
	size_t i = sizeof(d);

	do
		d[--i] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	return lt_buf_append(b, d + i, sizeof(d) - i);
}

int lt_buf_vprintf(struct lt_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	if (b->overflow)
		return -1;
	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0 || buf_grow(b, (size_t)n) < 0)
		return -1;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int lt_buf_printf(struct lt_buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = lt_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

void lt_buf_reset(struct lt_buf *b)
{
	b->len = 0;
	b->overflow = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

void lt_buf_free(struct lt_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
	b->overflow = 0;
}

char *lt_buf_take(struct lt_buf *b, size_t *len)
{
	char *p = b->data;

	if (p == NULL)
		p = lt_xstrdup("");
	if (len != NULL)
		*len = b->data ? b->len : 0;
	b->data = NULL;
	b->len = b->cap = 0;
	b->overflow = 0;
	return p;
}

int lt_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Parses "<digits><unit>" where unit is looked up in the table; returns -1 on anything else. */
struct unit { const char *name; unsigned long long mult; };

static int parse_with_units(const char *s, const struct unit *units, unsigned long long *out)
{
	unsigned long long v = 0;
	const char *p = s;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	while (*p >= '0' && *p <= '9') {
		if (v > (~0ULL - 9) / 10)
			return -1;
		v = v * 10 + (unsigned long long)(*p - '0');
		p++;
	}
	for (const struct unit *u = units; u->name != NULL; u++) {
		if (strcmp(p, u->name) == 0) {
			if (u->mult != 0 && v > ~0ULL / u->mult)
				return -1;
			*out = v * u->mult;
			return 0;
		}
	}
	return -1;
}

int lt_parse_duration_ms(const char *s, long long *ms)
{
	static const struct unit units[] = {
		{ "", 1 }, { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 }, { NULL, 0 }
	};
	unsigned long long v;

	if (parse_with_units(s, units, &v) < 0 || v > (unsigned long long)1e15)
		return -1;
	*ms = (long long)v;
	return 0;
}

int lt_parse_size(const char *s, size_t *out)
{
	static const struct unit units[] = {
		{ "", 1 }, { "B", 1 }, { "KiB", 1024 }, { "MiB", 1024 * 1024 }, { "GiB", 1024ULL * 1024 * 1024 },
		{ "KB", 1000 }, { "MB", 1000 * 1000 }, { "GB", 1000ULL * 1000 * 1000 }, { NULL, 0 }
	};
	unsigned long long v;

	if (parse_with_units(s, units, &v) < 0 || v > (unsigned long long)SIZE_MAX / 2)
		return -1;
	*out = (size_t)v;
	return 0;
}

uint64_t lt_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t lt_mono_ms(void)
{
	return lt_mono_us() / 1000u;
}

uint64_t lt_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int lt_read_file(const char *path, size_t max, char **out, size_t *len, struct lt_err *e)
{
	FILE *f;
	struct stat st;
	char *buf = NULL;
	size_t n;

	f = fopen(path, "rb");
	if (f == NULL)
		return lt_err_set(e, 0, "file.open", "cannot open %s: %s", path, strerror(errno));
	if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
		fclose(f);
		return lt_err_set(e, 0, "file.open", "%s is not a regular file", path);
	}
	if ((unsigned long long)st.st_size > max) {
		fclose(f);
		return lt_err_set(e, 0, "file.too_large", "%s is larger than %zu bytes", path, max);
	}
	buf = lt_xmalloc((size_t)st.st_size + 1);
	n = fread(buf, 1, (size_t)st.st_size, f);
	if (ferror(f) || n != (size_t)st.st_size) {
		fclose(f);
		free(buf);
		return lt_err_set(e, 0, "file.read", "cannot read %s", path);
	}
	fclose(f);
	buf[n] = '\0';
	*out = buf;
	if (len != NULL)
		*len = n;
	return 0;
}

char *lt_path_join(const char *dir, const char *path)
{
	if (path == NULL)
		return NULL;
	if (path[0] == '/' || dir == NULL || dir[0] == '\0' || strcmp(dir, ".") == 0)
		return lt_xstrdup(path);
	return lt_xasprintf("%s/%s", dir, path);
}

char *lt_path_dir(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return lt_xstrdup(".");
	if (slash == path)
		return lt_xstrdup("/");
	return lt_xstrndup(path, (size_t)(slash - path));
}

int lt_ct_equal(const void *a, const void *b, size_t n)
{
	const volatile unsigned char *x = a, *y = b;
	unsigned char d = 0;

	for (size_t i = 0; i < n; i++)
		d |= x[i] ^ y[i];
	return d == 0;
}
