#pragma once
#include <errno.h>
#include <fcgiapp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <unistd.h>

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

/* An epoll instance of its own watching `listen_fd` with EPOLLEXCLUSIVE (Linux 4.5+): when
 * each thread of a pool waits on one of these, a new connection wakes one idle thread where
 * poll() on the socket woke them all. -1 with errno when it cannot be made. Swift's Glibc
 * module does not import <sys/epoll.h>. */
static inline int cfastcgi_connection_waiter(int listen_fd) {
    int waiter = epoll_create1(EPOLL_CLOEXEC);
    if (waiter < 0) return -1;
    struct epoll_event event = { .events = EPOLLIN | EPOLLEXCLUSIVE, .data = { .fd = listen_fd } };
    if (epoll_ctl(waiter, EPOLL_CTL_ADD, listen_fd, &event) != 0) {
        int saved = errno;
        close(waiter);
        errno = saved;
        return -1;
    }
    return waiter;
}

/* 1 when `waiter` reports a connection within `milliseconds`; 0 when none came, or a signal
 * interrupted the wait. */
static inline int cfastcgi_wait_for_connection(int waiter, int milliseconds) {
    struct epoll_event event;
    return epoll_wait(waiter, &event, 1, milliseconds) == 1;
}
