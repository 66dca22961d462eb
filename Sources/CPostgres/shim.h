#pragma once
#include <libpq-fe.h>
#include <poll.h>

/* Waits until the connection's socket is readable or `timeout_ms` passes: the one
 * blocking point of a LISTEN loop, outside Swift so no pollfd juggling leaks above. */
static inline int cpostgres_wait_readable(PGconn *conn, int timeout_ms) {
    struct pollfd p = { .fd = PQsocket(conn), .events = POLLIN };
    if (p.fd < 0) return -1;
    return poll(&p, 1, timeout_ms);
}

/* Waits until the connection's socket is ready for `events` (POLLIN, POLLOUT) or
 * `timeout_ms` passes: a statement's wait for its answer, bounded. */
static inline int cpostgres_wait(PGconn *conn, short events, int timeout_ms) {
    struct pollfd p = { .fd = PQsocket(conn), .events = events };
    if (p.fd < 0) return -1;
    return poll(&p, 1, timeout_ms);
}
