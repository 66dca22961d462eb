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
