#pragma once
#include <fcgiapp.h>
#include <poll.h>

#ifndef POLLRDHUP
#define POLLRDHUP 0x2000 /* Linux's, behind _GNU_SOURCE */
#endif

/* 1 when the peer has closed (or broken) the connection on `fd`, without waiting; Swift
 * does not see POLLRDHUP. */
static inline int cfastcgi_peer_closed(int fd) {
    if (fd < 0) return 0;
    struct pollfd p = { .fd = fd, .events = POLLRDHUP, .revents = 0 };
    if (poll(&p, 1, 0) != 1) return 0;
    return (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}
