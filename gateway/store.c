/* store.c: SQLite message store with a writer thread and group commit. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <openssl/rand.h>
#include <sqlite3.h>

#include "gateway/store.h"
#include "gateway/log.h"
#include "gateway/util.h"
#include "adapters/json.h"

/* Ops waiting for the writer at most: past it callers get 503 at once instead of piling up
 * memory and latency behind a slow disk. */
#define STORE_QUEUE_MAX 4096
/* Ops in one transaction at most, so one commit never holds the loop's answers for long. */
#define STORE_BATCH_MAX 256
#define STORE_BUSY_TIMEOUT_MS 5000

enum { ST_INSERT, ST_FIND_KEY, ST_GET, ST_LIST, ST_CLAIM_SEL, ST_CLAIM_UPD, ST_NEXT_DUE, ST_UPDATE,
       ST_REPLAY, ST_BEGIN, ST_COMMIT, ST_ROLLBACK, ST_N };

static const char *const sql_text[ST_N] = {
	[ST_INSERT] = "INSERT INTO messages (id, route, upstream, path, idem_key, content_type, request_id, body, "
		      "state, attempts, next_at, created_at, updated_at) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,'queued',0,"
		      "?9,?9,?9) ON CONFLICT (route, idem_key) DO NOTHING",
	[ST_FIND_KEY] = "SELECT id FROM messages WHERE route = ?1 AND idem_key = ?2",
	[ST_GET] = "SELECT id, route, upstream, path, idem_key, content_type, request_id, state, attempts, next_at, "
		   "last_error, created_at, updated_at, delivered_at FROM messages WHERE id = ?1",
	[ST_LIST] = "SELECT id, route, upstream, path, idem_key, content_type, request_id, state, attempts, next_at, "
		    "last_error, created_at, updated_at, delivered_at FROM messages WHERE state = ?1 "
		    "ORDER BY updated_at LIMIT ?2",
	[ST_CLAIM_SEL] = "SELECT id, route, upstream, path, idem_key, content_type, request_id, state, attempts, "
			 "next_at, last_error, created_at, updated_at, delivered_at, body FROM messages "
			 "WHERE state = 'queued' AND upstream = ?1 AND next_at <= ?2 ORDER BY next_at LIMIT ?3",
	[ST_CLAIM_UPD] = "UPDATE messages SET state = 'delivering', updated_at = ?2 WHERE id = ?1",
	[ST_NEXT_DUE] = "SELECT MIN(next_at) FROM messages WHERE state = 'queued' AND upstream = ?1",
	[ST_UPDATE] = "UPDATE messages SET state = ?2, attempts = ?3, next_at = ?4, last_error = ?5, updated_at = ?6, "
		      "delivered_at = CASE WHEN ?2 = 'delivered' THEN ?6 ELSE delivered_at END WHERE id = ?1",
	[ST_REPLAY] = "UPDATE messages SET state = 'queued', attempts = 0, next_at = ?2, last_error = NULL, "
		      "updated_at = ?2 WHERE id = ?1 AND state = 'dead'",
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
};

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS messages ("
	" id TEXT PRIMARY KEY, route TEXT NOT NULL, upstream TEXT NOT NULL, path TEXT, idem_key TEXT,"
	" content_type TEXT, request_id TEXT NOT NULL, body BLOB NOT NULL,"
	" state TEXT NOT NULL, attempts INTEGER NOT NULL, next_at INTEGER NOT NULL, last_error TEXT,"
	" created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, delivered_at INTEGER,"
	" UNIQUE (route, idem_key));"
	"CREATE INDEX IF NOT EXISTS messages_due ON messages (state, upstream, next_at);";

struct lt_store {
	sqlite3 *db;
	sqlite3_stmt *st[ST_N];
	pthread_t thread;
	int thread_started;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct lt_store_op *pending, **pending_tail;   /* guarded by lock */
	size_t n_pending;
	struct lt_store_op *finished, **finished_tail; /* guarded by lock */
	int stop;
	uint64_t counts[LT_ST_N];                      /* guarded by lock */
	int ok;                                        /* guarded by lock */
	int64_t delta[LT_ST_N];                        /* the writer's batch in progress */
	int pipe_r, pipe_w;
	struct event *ev;
};

void lt_msg_new_id(char *buf)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char rnd[LT_MSG_ID_LEN / 2];

	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		/* An id anyone can guess would let a caller read another's message state: no fallback. */
		fprintf(stderr, "lienthong: no randomness for a message id\n");
		abort();
	}
	for (size_t i = 0; i < sizeof(rnd); i++) {
		buf[2 * i] = hex[rnd[i] >> 4];
		buf[2 * i + 1] = hex[rnd[i] & 15];
	}
	buf[LT_MSG_ID_LEN] = '\0';
}

void lt_msg_clear(struct lt_msg *m)
{
	free(m->route);
	free(m->upstream);
	free(m->path);
	free(m->idem_key);
	free(m->content_type);
	free(m->request_id);
	free(m->body);
	free(m->last_error);
	memset(m, 0, sizeof(*m));
}

static void put_time(struct lt_buf *b, const char *name, int64_t ms)
{
	struct tm tm;
	time_t secs = (time_t)(ms / 1000);
	char when[40];

	if (ms <= 0) {
		lt_buf_printf(b, ",\"%s\":null", name);
		return;
	}
	gmtime_r(&secs, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	lt_buf_printf(b, ",\"%s\":\"%s.%03dZ\"", name, when, (int)(ms % 1000));
}

static void put_str(struct lt_buf *b, const char *name, const char *v)
{
	if (v == NULL) {
		lt_buf_printf(b, ",\"%s\":null", name);
		return;
	}
	lt_buf_printf(b, ",\"%s\":\"", name);
	/* last_error is a bounded message that may quote an upstream and end inside a character. */
	lt_buf_json_text(b, v, strlen(v));
	lt_buf_putc(b, '"');
}

void lt_msg_json(const struct lt_msg *m, struct lt_buf *b)
{
	lt_buf_printf(b, "{\"id\":\"%s\"", m->id);
	put_str(b, "route", m->route);
	put_str(b, "state", m->state);
	lt_buf_printf(b, ",\"attempts\":%d", m->attempts);
	put_str(b, "last_error", m->last_error);
	put_time(b, "created_at", m->created_at);
	put_time(b, "updated_at", m->updated_at);
	put_time(b, "delivered_at", m->delivered_at);
	lt_buf_putc(b, '}');
}

struct lt_store_op *lt_store_op_new(enum lt_store_kind kind)
{
	struct lt_store_op *op = lt_xcalloc(1, sizeof(*op));

	op->kind = kind;
	return op;
}

void lt_store_op_free(struct lt_store_op *op)
{
	if (op == NULL)
		return;
	lt_msg_clear(&op->msg);
	for (size_t i = 0; i < op->n_rows; i++)
		lt_msg_clear(&op->rows[i]);
	free(op->rows);
	free(op->upstream);
	free(op);
}

/* ---- the writer thread ------------------------------------------------------------------- */

static char *col_str(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t ? lt_xstrdup((const char *)t) : NULL;
}

/* Reads the columns of ST_GET/ST_LIST (and ST_CLAIM_SEL, whose 15th column is the body). */
static void row_read(sqlite3_stmt *st, struct lt_msg *m, int with_body)
{
	const unsigned char *t = sqlite3_column_text(st, 0);

	snprintf(m->id, sizeof(m->id), "%s", t ? (const char *)t : "");
	m->route = col_str(st, 1);
	m->upstream = col_str(st, 2);
	m->path = col_str(st, 3);
	m->idem_key = col_str(st, 4);
	m->content_type = col_str(st, 5);
	m->request_id = col_str(st, 6);
	t = sqlite3_column_text(st, 7);
	snprintf(m->state, sizeof(m->state), "%s", t ? (const char *)t : "");
	m->attempts = sqlite3_column_int(st, 8);
	m->next_at = sqlite3_column_int64(st, 9);
	m->last_error = col_str(st, 10);
	m->created_at = sqlite3_column_int64(st, 11);
	m->updated_at = sqlite3_column_int64(st, 12);
	m->delivered_at = sqlite3_column_int64(st, 13);
	if (with_body) {
		const void *p = sqlite3_column_blob(st, 14);
		int n = sqlite3_column_bytes(st, 14);

		m->body_len = (size_t)n;
		m->body = lt_xmalloc(m->body_len + 1);
		if (n > 0)
			memcpy(m->body, p, m->body_len);
		m->body[m->body_len] = '\0';
	}
}

static int db_fail(struct lt_store *s, struct lt_store_op *op, const char *what)
{
	op->rc = -1;
	return lt_err_set(&op->err, 503, "store.failed", "the message store failed to %s: %s", what,
			  sqlite3_errmsg(s->db));
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v == NULL)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
}

static sqlite3_stmt *stmt(struct lt_store *s, int which)
{
	sqlite3_stmt *st = s->st[which];

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

/* Collects every row of st into op->rows (bounded by the statement's LIMIT). */
static int read_rows(struct lt_store *s, struct lt_store_op *op, sqlite3_stmt *st, int with_body)
{
	size_t cap = 0;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (op->n_rows == cap) {
			cap = cap ? cap * 2 : 16;
			op->rows = lt_xrealloc(op->rows, cap * sizeof(*op->rows));
		}
		memset(&op->rows[op->n_rows], 0, sizeof(*op->rows));
		row_read(st, &op->rows[op->n_rows++], with_body);
	}
	return rc == SQLITE_DONE ? 0 : db_fail(s, op, "read messages");
}

static int state_index(const char *state)
{
	static const char *const names[LT_ST_N] = { "queued", "delivering", "delivered", "dead" };

	for (int i = 0; i < LT_ST_N; i++)
		if (strcmp(state, names[i]) == 0)
			return i;
	return -1;
}

/* A message moved from one state to another (-1: none) in the batch being written. */
static void moved(struct lt_store *s, int from, int to, int64_t n)
{
	if (from >= 0)
		s->delta[from] -= n;
	if (to >= 0)
		s->delta[to] += n;
}

static int run_insert(struct lt_store *s, struct lt_store_op *op)
{
	const struct lt_msg *m = &op->msg;
	sqlite3_stmt *st = stmt(s, ST_INSERT);

	sqlite3_bind_text(st, 1, m->id, -1, SQLITE_TRANSIENT);
	bind_text(st, 2, m->route);
	bind_text(st, 3, m->upstream);
	bind_text(st, 4, m->path);
	bind_text(st, 5, m->idem_key);
	bind_text(st, 6, m->content_type);
	bind_text(st, 7, m->request_id ? m->request_id : "");
	sqlite3_bind_blob(st, 8, m->body ? m->body : "", (int)m->body_len, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 9, op->now);
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_fail(s, op, "store a message");
	if (sqlite3_changes(s->db) > 0 || m->idem_key == NULL) {
		moved(s, -1, LT_ST_QUEUED, 1);
		return 0;
	}
	/* The key was there already: the caller learns the first message's id. */
	op->duplicate = 1;
	st = stmt(s, ST_FIND_KEY);
	bind_text(st, 1, m->route);
	bind_text(st, 2, m->idem_key);
	if (sqlite3_step(st) == SQLITE_ROW)
		snprintf(op->msg.id, sizeof(op->msg.id), "%s", (const char *)sqlite3_column_text(st, 0));
	return 0;
}

static int run_get(struct lt_store *s, struct lt_store_op *op)
{
	sqlite3_stmt *st = stmt(s, ST_GET);
	char id[sizeof(op->msg.id)];
	int rc;

	memcpy(id, op->msg.id, sizeof(id));
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		lt_msg_clear(&op->msg);
		row_read(st, &op->msg, 0);
		op->found = 1;
		return 0;
	}
	return rc == SQLITE_DONE ? 0 : db_fail(s, op, "read a message");
}

static int run_claim(struct lt_store *s, struct lt_store_op *op)
{
	sqlite3_stmt *st = stmt(s, ST_CLAIM_SEL);

	sqlite3_bind_text(st, 1, op->upstream, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, op->now);
	sqlite3_bind_int(st, 3, op->limit);
	if (read_rows(s, op, st, 1) < 0)
		return -1;
	for (size_t i = 0; i < op->n_rows; i++) {
		st = stmt(s, ST_CLAIM_UPD);
		sqlite3_bind_text(st, 1, op->rows[i].id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 2, op->now);
		if (sqlite3_step(st) != SQLITE_DONE)
			return db_fail(s, op, "claim a message");
		snprintf(op->rows[i].state, sizeof(op->rows[i].state), "delivering");
	}
	moved(s, LT_ST_QUEUED, LT_ST_DELIVERING, (int64_t)op->n_rows);
	st = stmt(s, ST_NEXT_DUE);
	sqlite3_bind_text(st, 1, op->upstream, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW)
		op->next_due = sqlite3_column_int64(st, 0);
	return 0;
}

static int run_op(struct lt_store *s, struct lt_store_op *op)
{
	sqlite3_stmt *st;

	switch (op->kind) {
	case LT_STORE_INSERT:
		return run_insert(s, op);
	case LT_STORE_GET:
		return run_get(s, op);
	case LT_STORE_LIST:
		st = stmt(s, ST_LIST);
		sqlite3_bind_text(st, 1, op->state, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int(st, 2, op->limit);
		return read_rows(s, op, st, 0);
	case LT_STORE_CLAIM:
		return run_claim(s, op);
	case LT_STORE_UPDATE:
		st = stmt(s, ST_UPDATE);
		sqlite3_bind_text(st, 1, op->msg.id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 2, op->msg.state, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int(st, 3, op->msg.attempts);
		sqlite3_bind_int64(st, 4, op->msg.next_at);
		bind_text(st, 5, op->msg.last_error);
		sqlite3_bind_int64(st, 6, op->now);
		if (sqlite3_step(st) != SQLITE_DONE)
			return db_fail(s, op, "update a message");
		/* The worker only updates messages it claimed. */
		moved(s, LT_ST_DELIVERING, state_index(op->msg.state), sqlite3_changes(s->db));
		return 0;
	case LT_STORE_REPLAY:
		st = stmt(s, ST_REPLAY);
		sqlite3_bind_text(st, 1, op->msg.id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 2, op->now);
		if (sqlite3_step(st) != SQLITE_DONE)
			return db_fail(s, op, "replay a message");
		op->replayed = sqlite3_changes(s->db) > 0;
		if (op->replayed)
			moved(s, LT_ST_DEAD, LT_ST_QUEUED, 1);
		return run_get(s, op);
	}
	return db_fail(s, op, "understand an operation");
}

/* One transaction for the whole batch: one fsync however many messages it carries. */
static void run_batch(struct lt_store *s, struct lt_store_op *batch)
{
	struct lt_store_op *op;
	int ok = 1;

	memset(s->delta, 0, sizeof(s->delta));
	if (sqlite3_step(stmt(s, ST_BEGIN)) != SQLITE_DONE)
		ok = 0;
	for (op = batch; ok && op != NULL; op = op->next_)
		(void)run_op(s, op);
	if (ok && sqlite3_step(stmt(s, ST_COMMIT)) != SQLITE_DONE)
		ok = 0;
	sqlite3_reset(s->st[ST_COMMIT]);
	pthread_mutex_lock(&s->lock);
	s->ok = ok;
	for (int i = 0; ok && i < LT_ST_N; i++)
		s->counts[i] = (uint64_t)((int64_t)s->counts[i] + s->delta[i]);
	pthread_mutex_unlock(&s->lock);
	if (ok)
		return;
	/* Nothing of the batch is on disk: no op may report success. */
	lt_log_error("message store: transaction failed: %s", sqlite3_errmsg(s->db));
	sqlite3_step(stmt(s, ST_ROLLBACK));
	sqlite3_reset(s->st[ST_ROLLBACK]);
	for (op = batch; op != NULL; op = op->next_) {
		op->duplicate = op->found = op->replayed = 0;
		if (op->rc == 0)
			db_fail(s, op, "commit");
	}
}

static void *writer_main(void *arg)
{
	struct lt_store *s = arg;

	for (;;) {
		struct lt_store_op *batch, **tail, *op;
		size_t n = 0;
		char one = 1;

		pthread_mutex_lock(&s->lock);
		while (s->pending == NULL && !s->stop)
			pthread_cond_wait(&s->wake, &s->lock);
		if (s->pending == NULL) {
			pthread_mutex_unlock(&s->lock);
			return NULL;
		}
		batch = s->pending;
		tail = &batch;
		while (*tail != NULL && n < STORE_BATCH_MAX) {
			tail = &(*tail)->next_;
			n++;
		}
		s->pending = *tail;
		if (s->pending == NULL)
			s->pending_tail = &s->pending;
		*tail = NULL;
		s->n_pending -= n;
		pthread_mutex_unlock(&s->lock);

		run_batch(s, batch);
		for (op = batch; op->next_ != NULL; op = op->next_)
			;
		pthread_mutex_lock(&s->lock);
		*s->finished_tail = batch;
		s->finished_tail = &op->next_;
		pthread_mutex_unlock(&s->lock);
		/* EAGAIN means a wake-up is already pending: nothing is lost. */
		if (write(s->pipe_w, &one, 1) < 0 && errno != EAGAIN)
			lt_log_error("message store: cannot wake the loop: %s", strerror(errno));
	}
}

/* ---- the loop side ----------------------------------------------------------------------- */

static void on_finished(evutil_socket_t fd, short what, void *arg)
{
	struct lt_store *s = arg;
	struct lt_store_op *list, *op;
	char buf[64];

	(void)what;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&s->lock);
	list = s->finished;
	s->finished = NULL;
	s->finished_tail = &s->finished;
	pthread_mutex_unlock(&s->lock);
	while ((op = list) != NULL) {
		list = op->next_;
		op->next_ = NULL;
		if (op->done != NULL)
			op->done(op, op->arg);
		lt_store_op_free(op);
	}
}

void lt_store_counts(struct lt_store *s, uint64_t counts[LT_ST_N])
{
	pthread_mutex_lock(&s->lock);
	memcpy(counts, s->counts, sizeof(s->counts));
	pthread_mutex_unlock(&s->lock);
}

int lt_store_ok(struct lt_store *s)
{
	int ok;

	pthread_mutex_lock(&s->lock);
	ok = s->ok;
	pthread_mutex_unlock(&s->lock);
	return ok;
}

/* The counts by state, once at open; commits keep them up to date from then on. */
static int count_states(struct lt_store *s, const char *path, struct lt_err *e)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(s->db, "SELECT state, COUNT(*) FROM messages GROUP BY state", -1, &st, NULL) !=
	    SQLITE_OK)
		return lt_err_set(e, 0, "store.open", "message store %s: %s", path, sqlite3_errmsg(s->db));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int i = state_index((const char *)sqlite3_column_text(st, 0));

		if (i >= 0)
			s->counts[i] = (uint64_t)sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return lt_err_set(e, 0, "store.open", "message store %s: %s", path, sqlite3_errmsg(s->db));
	s->ok = 1;
	return 0;
}

int lt_store_submit(struct lt_store *s, struct lt_store_op *op, struct lt_err *e)
{
	/* The bound sheds new work (inserts, reads). The delivery worker's claims and outcomes are
	 * already bounded by its concurrency, and refusing an outcome would strand its message in
	 * `delivering` until the next start. */
	int bounded = op->kind != LT_STORE_UPDATE && op->kind != LT_STORE_CLAIM;

	pthread_mutex_lock(&s->lock);
	if ((bounded && s->n_pending >= STORE_QUEUE_MAX) || s->stop) {
		pthread_mutex_unlock(&s->lock);
		return lt_err_set(e, 503, "store.busy", "the message store is overloaded; try again");
	}
	op->next_ = NULL;
	*s->pending_tail = op;
	s->pending_tail = &op->next_;
	s->n_pending++;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static int exec_sql(struct lt_store *s, const char *sql, const char *path, struct lt_err *e)
{
	char *msg = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	lt_err_set(e, 0, "store.open", "message store %s: %s", path, msg ? msg : sqlite3_errmsg(s->db));
	sqlite3_free(msg);
	return -1;
}

/* The store's folder, one level, for the default var/lienthong.db of a fresh checkout. */
static void make_parent(const char *path)
{
	char *dir = lt_path_dir(path);

	if (mkdir(dir, 0750) < 0 && errno != EEXIST)
		lt_log_warn("cannot create %s: %s", dir, strerror(errno));
	free(dir);
}

struct lt_store *lt_store_open(const char *path, struct event_base *base, struct lt_err *e)
{
	struct lt_store *s = lt_xcalloc(1, sizeof(*s));
	int fds[2];

	s->pipe_r = s->pipe_w = -1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->wake, NULL);
	s->pending_tail = &s->pending;
	s->finished_tail = &s->finished;
	if (strncmp(path, "postgres://", 11) == 0 || strncmp(path, "postgresql://", 13) == 0) {
		lt_err_set(e, 0, "store.open", "gateway.store: PostgreSQL is not supported yet; use a SQLite file");
		goto fail;
	}
	make_parent(path);
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		lt_err_set(e, 0, "store.open", "message store %s: %s", path,
			   s->db ? sqlite3_errmsg(s->db) : "cannot open");
		goto fail;
	}
	sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
	/* WAL: readers never wait for the writer; FULL: every commit is fsynced before it returns,
	 * which is the promise queue mode makes before it acks. */
	if (exec_sql(s, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;", path, e) < 0 ||
	    exec_sql(s, schema, path, e) < 0 ||
	    exec_sql(s, "UPDATE messages SET state = 'queued' WHERE state = 'delivering';", path, e) < 0)
		goto fail;
	if (sqlite3_changes(s->db) > 0)
		lt_log_warn("message store: %d messages were being delivered when the gateway stopped; "
			    "they will be delivered again with the same Idempotency-Key", sqlite3_changes(s->db));
	if (count_states(s, path, e) < 0)
		goto fail;
	for (int i = 0; i < ST_N; i++) {
		if (sqlite3_prepare_v3(s->db, sql_text[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL) !=
		    SQLITE_OK) {
			lt_err_set(e, 0, "store.open", "message store %s: %s", path, sqlite3_errmsg(s->db));
			goto fail;
		}
	}
	if (pipe(fds) < 0) {
		lt_err_set(e, 0, "store.open", "message store: pipe: %s", strerror(errno));
		goto fail;
	}
	s->pipe_r = fds[0];
	s->pipe_w = fds[1];
	evutil_make_socket_nonblocking(s->pipe_r);
	evutil_make_socket_nonblocking(s->pipe_w);
	evutil_make_socket_closeonexec(s->pipe_r);
	evutil_make_socket_closeonexec(s->pipe_w);
	s->ev = event_new(base, s->pipe_r, EV_READ | EV_PERSIST, on_finished, s);
	if (s->ev == NULL || event_add(s->ev, NULL) < 0) {
		lt_err_set(e, 0, "store.open", "message store: cannot watch its pipe");
		goto fail;
	}
	if (pthread_create(&s->thread, NULL, writer_main, s) != 0) {
		lt_err_set(e, 0, "store.open", "message store: cannot start the writer thread");
		goto fail;
	}
	s->thread_started = 1;
	return s;
fail:
	lt_store_close(s);
	return NULL;
}

static void free_list(struct lt_store_op *op)
{
	while (op != NULL) {
		struct lt_store_op *next = op->next_;

		lt_store_op_free(op);
		op = next;
	}
}

void lt_store_close(struct lt_store *s)
{
	if (s == NULL)
		return;
	if (s->thread_started) {
		pthread_mutex_lock(&s->lock);
		s->stop = 1;
		pthread_cond_signal(&s->wake);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->thread, NULL);
	}
	free_list(s->pending);
	free_list(s->finished);
	if (s->ev != NULL)
		event_free(s->ev);
	if (s->pipe_r >= 0)
		close(s->pipe_r);
	if (s->pipe_w >= 0)
		close(s->pipe_w);
	for (int i = 0; i < ST_N; i++)
		sqlite3_finalize(s->st[i]);
	if (s->db != NULL)
		sqlite3_close(s->db);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->wake);
	free(s);
}
