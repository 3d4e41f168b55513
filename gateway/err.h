/* err.h: the project's one error convention.
 *
 * Every fallible function returns 0 on success and -1 on failure and fills a caller-owned
 * struct lt_err: a stable machine code, a human message, the HTTP status it answers with,
 * and a location (FILE:LINE:COL in a config or mapping file, a field path in a document).
 * `lienthong check` collects many problems at once in a struct lt_diags. */
#ifndef LT_ERR_H
#define LT_ERR_H

#include <stddef.h>
#include <stdio.h>

#define LT_ERR_MSG 512

struct lt_err {
	int status;            /* HTTP status this error answers with; 0 when not an HTTP error */
	char code[64];         /* stable, dotted: "mapping.required", "json.invalid", "config.unknown_key" */
	char msg[LT_ERR_MSG];  /* for people; never contains a secret */
	char file[256];        /* source file, "" when none */
	int line, col;         /* 1-based; 0 when unknown */
	char field[256];       /* document field path ("data[0].MaHoSo"), "" when none */
};

/* Resets every member. e may be NULL. */
void lt_err_clear(struct lt_err *e);

/* Sets status, code and message (printf-style); keeps file/line/col/field. Always returns -1, so
 * that `return lt_err_set(...)` reads as a failure. e may be NULL. */
int lt_err_set(struct lt_err *e, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Same, with a file position. file is copied. Always returns -1. */
int lt_err_at(struct lt_err *e, const char *file, int line, int col, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

/* Puts context in front of the message ("login to upstream 'x' failed: <old message>") and sets
 * status and code (code NULL keeps the old one). Always returns -1. */
int lt_err_wrap(struct lt_err *e, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Sets the field path (copied, truncated to fit). */
void lt_err_field(struct lt_err *e, const char *field);

/* Writes "FILE:LINE:COL: message" (or "FILE: message", or "message") into buf (always NUL-terminated). */
void lt_err_format(const struct lt_err *e, char *buf, size_t n);

/* The JSON error envelope of SPEC.md § HTTP behaviour:
 * {"error":{"code":...,"message":...,"route":...,"field":...,"request_id":...}}
 * route, request_id may be NULL (then omitted). Returns a new malloc'd NUL-terminated string. */
char *lt_err_envelope(const struct lt_err *e, const char *route, const char *request_id);

/* A list of problems for `check`: each entry is one line "FILE:LINE:COL: message". */
struct lt_diag {
	int warning;  /* 1 = warning (does not fail check), 0 = error */
	char *text;   /* owned */
};

struct lt_diags {
	struct lt_diag *v;
	size_t n, cap;
	int nerrors, nwarnings;
};

/* Appends a problem. file may be NULL; line/col 0 are left out of the text. */
void lt_diags_add(struct lt_diags *d, int warning, const char *file, int line, int col, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
/* Appends an lt_err as an error entry (its file/line/col, and its field if any). */
void lt_diags_add_err(struct lt_diags *d, const struct lt_err *e);
/* Prints one line per entry; a warning line starts with "warning: ". */
void lt_diags_print(const struct lt_diags *d, FILE *f);
/* Frees the entries; d itself is caller-owned and left empty and reusable. */
void lt_diags_free(struct lt_diags *d);

#endif
