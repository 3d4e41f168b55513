/* Listeners as the kernel sees them: bound where the config says, with TCP_NODELAY (without it a TLS
 * answer, headers and body in two records, waits 40 ms for the client's delayed ACK; the benchmark
 * found it), and connections the listener accepts inherit the option. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <event2/event.h>

#include "gateway/server.h"

/* A free loopback port: bind to 0, read it back, close. */
static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static int nodelay(int fd)
{
	int v = 0;
	socklen_t len = sizeof(v);

	assert_int_equal(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &len), 0);
	return v;
}

static void listeners_set_tcp_nodelay(void **state)
{
	struct lt_listener_cfg l = { .name = "public", .listen = "127.0.0.1", .host = "127.0.0.1" };
	struct lt_config cfg = {
		.listeners = &l, .n_listeners = 1,
		.gateway.limits = { .max_body = 1 << 20, .max_headers = 16384, .header_timeout_ms = 1000,
				    .body_timeout_ms = 1000 },
	};
	struct lt_server srv;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct lt_err e;
	int lfd, cfd, afd;

	(void)state;
	memset(&srv, 0, sizeof(srv));
	lt_err_clear(&e);
	l.port = free_port();
	srv.base = event_base_new();
	assert_non_null(srv.base);
	assert_int_equal(lt_server_listen(&srv, &cfg, 1, &e), 0);
	lfd = (int)srv.listeners[0].fd;
	assert_true(nodelay(lfd));

	/* What the kernel hands accept() carries it too (Linux inherits it from the listening socket). */
	cfd = socket(AF_INET, SOCK_STREAM, 0);
	a.sin_port = htons((uint16_t)l.port);
	assert_int_equal(connect(cfd, (struct sockaddr *)&a, sizeof(a)), 0);
	afd = accept(lfd, NULL, NULL);
	assert_true(afd >= 0);
	assert_true(nodelay(afd));
	close(afd);
	close(cfd);
	lt_server_free(&srv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(listeners_set_tcp_nodelay),
	};
	return cmocka_run_group_tests_name("listen", tests, NULL, NULL);
}
