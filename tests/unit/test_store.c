/* The message store: durable insert, a duplicate idempotency key, claim, update, replay, list,
 * and recovery of `delivering` at open. Results come back through the event loop, as in the
 * gateway. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/store.h"
#include "gateway/util.h"

struct fixture {
	char dir[64];
	char *path;
	struct event_base *base;
	struct lt_store *store;
};

struct result {
	int done;
	int rc, duplicate, found, replayed;
	char id[LT_MSG_ID_LEN + 1];
	char state[16];
	int attempts;
	size_t n_rows;
	char body[64];
	char key[64];
};

static void on_done(struct lt_store_op *op, void *arg)
{
	struct result *r = arg;

	r->done = 1;
	r->rc = op->rc;
	r->duplicate = op->duplicate;
	r->found = op->found;
	r->replayed = op->replayed;
	memcpy(r->id, op->msg.id, sizeof(r->id));
	memcpy(r->state, op->msg.state, sizeof(r->state));
	r->attempts = op->msg.attempts;
	r->n_rows = op->n_rows;
	if (op->n_rows > 0) {
		memcpy(r->id, op->rows[0].id, sizeof(r->id));
		snprintf(r->body, sizeof(r->body), "%s", op->rows[0].body ? op->rows[0].body : "");
		snprintf(r->key, sizeof(r->key), "%s", op->rows[0].idem_key ? op->rows[0].idem_key : "");
		memcpy(r->state, op->rows[0].state, sizeof(r->state));
	}
}

/* Submits op and runs the loop until its result is back (bounded). */
static struct result run(struct fixture *f, struct lt_store_op *op)
{
	struct result r = { 0 };
	struct lt_err e;

	op->done = on_done;
	op->arg = &r;
	if (op->now == 0)
		op->now = (int64_t)lt_wall_ms();
	assert_int_equal(lt_store_submit(f->store, op, &e), 0);
	for (int i = 0; i < 10000 && !r.done; i++)
		event_base_loop(f->base, EVLOOP_ONCE);
	assert_true(r.done);
	return r;
}

static struct lt_store_op *insert_op(const char *route, const char *key, const char *body)
{
	struct lt_store_op *op = lt_store_op_new(LT_STORE_INSERT);

	lt_msg_new_id(op->msg.id);
	op->msg.route = lt_xstrdup(route);
	op->msg.upstream = lt_xstrdup("city");
	op->msg.path = lt_xstrdup("/payments");
	op->msg.idem_key = lt_xstrdup(key);
	op->msg.content_type = lt_xstrdup("application/json");
	op->msg.request_id = lt_xstrdup("req-1");
	op->msg.body = lt_xstrdup(body);
	op->msg.body_len = strlen(body);
	return op;
}

static struct lt_store_op *claim_op(void)
{
	struct lt_store_op *op = lt_store_op_new(LT_STORE_CLAIM);

	op->upstream = lt_xstrdup("city");
	op->limit = 8;
	return op;
}

static int setup(void **state)
{
	struct fixture *f = lt_xcalloc(1, sizeof(*f));
	struct lt_err e;

	snprintf(f->dir, sizeof(f->dir), "/tmp/lt-store-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->path = lt_xasprintf("%s/sub/test.db", f->dir);
	f->base = event_base_new();
	f->store = lt_store_open(f->path, f->base, &e);
	assert_non_null(f->store);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char *cmd = lt_xasprintf("rm -rf '%s'", f->dir);

	lt_store_close(f->store);
	event_base_free(f->base);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(f->path);
	free(f);
	return 0;
}

static void insert_then_duplicate_key_names_the_first(void **state)
{
	struct fixture *f = *state;
	struct result a = run(f, insert_op("vnpay.ipn", "TXN-1", "{\"a\":1}"));
	struct result b = run(f, insert_op("vnpay.ipn", "TXN-1", "{\"a\":2}"));
	struct result c = run(f, insert_op("momo.ipn", "TXN-1", "{\"a\":3}"));   /* unique per route only */

	assert_int_equal(a.rc, 0);
	assert_false(a.duplicate);
	assert_int_equal(b.rc, 0);
	assert_true(b.duplicate);
	assert_string_equal(b.id, a.id);
	assert_false(c.duplicate);
	assert_string_not_equal(c.id, a.id);
}

static void claim_update_replay_and_list(void **state)
{
	struct fixture *f = *state;
	struct result a = run(f, insert_op("r", "K-1", "{\"x\":true}"));
	struct result c = run(f, claim_op()), again, g, rep, l;
	struct lt_store_op *op;

	assert_int_equal(c.n_rows, 1);
	assert_string_equal(c.id, a.id);
	assert_string_equal(c.body, "{\"x\":true}");
	assert_string_equal(c.key, "K-1");
	assert_string_equal(c.state, "delivering");
	again = run(f, claim_op());
	assert_int_equal(again.n_rows, 0);                 /* claimed once only */

	op = lt_store_op_new(LT_STORE_UPDATE);
	memcpy(op->msg.id, a.id, sizeof(a.id));
	snprintf(op->msg.state, sizeof(op->msg.state), "dead");
	op->msg.attempts = 3;
	op->msg.last_error = lt_xstrdup("cannot connect");
	run(f, op);

	op = lt_store_op_new(LT_STORE_GET);
	memcpy(op->msg.id, a.id, sizeof(a.id));
	g = run(f, op);
	assert_true(g.found);
	assert_string_equal(g.state, "dead");
	assert_int_equal(g.attempts, 3);

	{
		uint64_t n[LT_ST_N];

		lt_store_counts(f->store, n);   /* what /metrics shows, kept by each commit */
		assert_int_equal(n[LT_ST_QUEUED], 0);
		assert_int_equal(n[LT_ST_DELIVERING], 0);
		assert_int_equal(n[LT_ST_DEAD], 1);
		assert_true(lt_store_ok(f->store));
	}
	op = lt_store_op_new(LT_STORE_LIST);
	snprintf(op->state, sizeof(op->state), "dead");
	op->limit = 10;
	l = run(f, op);
	assert_int_equal(l.n_rows, 1);
	assert_string_equal(l.id, a.id);

	op = lt_store_op_new(LT_STORE_REPLAY);
	memcpy(op->msg.id, a.id, sizeof(a.id));
	rep = run(f, op);
	assert_true(rep.found && rep.replayed);
	assert_string_equal(rep.state, "queued");
	assert_int_equal(rep.attempts, 0);
	op = lt_store_op_new(LT_STORE_REPLAY);               /* not dead any more */
	memcpy(op->msg.id, a.id, sizeof(a.id));
	rep = run(f, op);
	assert_true(rep.found);
	assert_false(rep.replayed);
	assert_int_equal(run(f, claim_op()).n_rows, 1);
	{
		uint64_t n[LT_ST_N];

		lt_store_counts(f->store, n);
		assert_int_equal(n[LT_ST_DEAD], 0);
		assert_int_equal(n[LT_ST_DELIVERING], 1);
	}
}

static void reopen_turns_delivering_back_into_queued(void **state)
{
	struct fixture *f = *state;
	struct result a = run(f, insert_op("r", "K-9", "{}"));
	struct lt_err e;

	assert_int_equal(run(f, claim_op()).n_rows, 1);
	lt_store_close(f->store);
	f->store = lt_store_open(f->path, f->base, &e);
	assert_non_null(f->store);
	uint64_t counts[LT_ST_N];
	lt_store_counts(f->store, counts);   /* counted again at open, after the recovery */
	assert_int_equal(counts[LT_ST_QUEUED], 1);
	assert_int_equal(counts[LT_ST_DELIVERING], 0);
	struct result c = run(f, claim_op());
	assert_int_equal(c.n_rows, 1);
	assert_string_equal(c.id, a.id);
}

static void message_ids_are_random_hex(void **state)
{
	char a[LT_MSG_ID_LEN + 1], b[LT_MSG_ID_LEN + 1];

	(void)state;
	lt_msg_new_id(a);
	lt_msg_new_id(b);
	assert_int_equal(strlen(a), 32);
	assert_int_equal(strspn(a, "0123456789abcdef"), 32);
	assert_string_not_equal(a, b);
}

/* last_error is a message bounded in bytes (struct lt_err), so it can end inside a character
 * (a SOAP fault's Vietnamese text, cut): the message's JSON must still be UTF-8. */
static void message_json_is_utf8_when_the_error_is_cut(void **state)
{
	struct lt_msg m;
	struct lt_buf b;

	(void)state;
	memset(&m, 0, sizeof(m));
	snprintf(m.id, sizeof(m.id), "%s", "0123456789abcdef0123456789abcdef");
	snprintf(m.state, sizeof(m.state), "%s", "dead");
	m.route = "bank.ipn";
	m.last_error = "upstream 'city' answered badly: L\xe1\xbb\x97i h\xe1\xbb";
	lt_buf_init(&b, 4096);
	lt_msg_json(&m, &b);
	assert_non_null(strstr(b.data, "\"last_error\":\"upstream 'city' answered badly: L\xe1\xbb\x97i h"
				  "\xef\xbf\xbd\xef\xbf\xbd\""));
	lt_buf_free(&b);
}

static void postgres_is_refused_clearly(void **state)
{
	struct fixture *f = *state;
	struct lt_err e;

	lt_err_clear(&e);
	assert_null(lt_store_open("postgres://db/lienthong", f->base, &e));
	assert_string_equal(e.code, "store.open");
	assert_non_null(strstr(e.msg, "PostgreSQL"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(insert_then_duplicate_key_names_the_first, setup, teardown),
		cmocka_unit_test_setup_teardown(claim_update_replay_and_list, setup, teardown),
		cmocka_unit_test_setup_teardown(reopen_turns_delivering_back_into_queued, setup, teardown),
		cmocka_unit_test(message_ids_are_random_hex),
		cmocka_unit_test(message_json_is_utf8_when_the_error_is_cut),
		cmocka_unit_test_setup_teardown(postgres_is_refused_clearly, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
