/* err.c: the error struct, the check-diagnostics list, and the JSON error envelope. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include "gateway/err.h"
#include "adapters/json.h"
#include "gateway/util.h"

void lt_err_clear(struct lt_err *e)
{
	if (e != NULL)
		memset(e, 0, sizeof(*e));
}

static void copy_str(char *dst, size_t n, const char *src)
{
	if (src == NULL)
		src = "";
	snprintf(dst, n, "%s", src);
}

int lt_err_set(struct lt_err *e, int status, const char *code, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return -1;
	e->status = status;
	copy_str(e->code, sizeof(e->code), code);
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int lt_err_at(struct lt_err *e, const char *file, int line, int col, const char *code, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return -1;
	copy_str(e->file, sizeof(e->file), file);
	e->line = line;
	e->col = col;
	copy_str(e->code, sizeof(e->code), code);
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int lt_err_wrap(struct lt_err *e, int status, const char *code, const char *fmt, ...)
{
	char prefix[LT_ERR_MSG];
	size_t plen, mlen;
	va_list ap;

	if (e == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	plen = strlen(prefix);
	mlen = strlen(e->msg);
	/* prefix + ": " + old message, cut to fit. */
	if (plen + 2 >= sizeof(e->msg))
		plen = sizeof(e->msg) - 3;
	if (plen + 2 + mlen >= sizeof(e->msg))
		mlen = sizeof(e->msg) - plen - 3;
	memmove(e->msg + plen + 2, e->msg, mlen);
	e->msg[plen + 2 + mlen] = '\0';
	memcpy(e->msg, prefix, plen);
	e->msg[plen] = ':';
	e->msg[plen + 1] = ' ';
	e->status = status;
	if (code != NULL)
		copy_str(e->code, sizeof(e->code), code);
	return -1;
}

void lt_err_field(struct lt_err *e, const char *field)
{
	if (e != NULL)
		copy_str(e->field, sizeof(e->field), field);
}

static void format_loc(char *buf, size_t n, const char *file, int line, int col, const char *msg)
{
	if (file != NULL && *file != '\0' && line > 0 && col > 0)
		snprintf(buf, n, "%s:%d:%d: %s", file, line, col, msg);
	else if (file != NULL && *file != '\0' && line > 0)
		snprintf(buf, n, "%s:%d: %s", file, line, msg);
	else if (file != NULL && *file != '\0')
		snprintf(buf, n, "%s: %s", file, msg);
	else
		snprintf(buf, n, "%s", msg);
}

void lt_err_format(const struct lt_err *e, char *buf, size_t n)
{
	if (n == 0)
		return;
	format_loc(buf, n, e->file, e->line, e->col, e->msg);
}

static void env_member(struct lt_buf *b, const char *name, const char *val)
{
	if (val == NULL || *val == '\0')
		return;
	lt_buf_printf(b, ",\"%s\":\"", name);
	lt_buf_json_text(b, val, strlen(val));
	lt_buf_putc(b, '"');
}

char *lt_err_envelope(const struct lt_err *e, const char *route, const char *request_id)
{
	struct lt_buf b;

	lt_buf_init(&b, 8192);
	lt_buf_puts(&b, "{\"error\":{\"code\":\"");
	lt_buf_json_str(&b, e->code[0] ? e->code : "internal", strlen(e->code[0] ? e->code : "internal"));
	lt_buf_puts(&b, "\",\"message\":\"");
	/* A message may quote the request (a path) and may end in a character cut by its bound. */
	lt_buf_json_text(&b, e->msg, strlen(e->msg));
	lt_buf_putc(&b, '"');
	env_member(&b, "route", route);
	env_member(&b, "field", e->field);
	env_member(&b, "request_id", request_id);
	lt_buf_puts(&b, "}}");
	return lt_buf_take(&b, NULL);
}

void lt_diags_add(struct lt_diags *d, int warning, const char *file, int line, int col, const char *fmt, ...)
{
	char msg[LT_ERR_MSG * 2], text[LT_ERR_MSG * 3];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	format_loc(text, sizeof(text), file, line, col, msg);
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 8;
		d->v = lt_xrealloc(d->v, d->cap * sizeof(*d->v));
	}
	d->v[d->n].warning = warning;
	d->v[d->n].text = lt_xstrdup(text);
	d->n++;
	if (warning)
		d->nwarnings++;
	else
		d->nerrors++;
}

void lt_diags_add_err(struct lt_diags *d, const struct lt_err *e)
{
	if (e->field[0] != '\0')
		lt_diags_add(d, 0, e->file, e->line, e->col, "%s: %s", e->field, e->msg);
	else
		lt_diags_add(d, 0, e->file, e->line, e->col, "%s", e->msg);
}

void lt_diags_print(const struct lt_diags *d, FILE *f)
{
	for (size_t i = 0; i < d->n; i++) {
		if (d->v[i].warning)
			fprintf(f, "warning: %s\n", d->v[i].text);
		else
			fprintf(f, "%s\n", d->v[i].text);
	}
}

void lt_diags_free(struct lt_diags *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->v[i].text);
	free(d->v);
	memset(d, 0, sizeof(*d));
}
