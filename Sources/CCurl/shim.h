#pragma once
#include <curl/curl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/*
 * curl_easy_setopt and curl_easy_getinfo are variadic, which Swift cannot call: one typed
 * wrapper per argument type. The callbacks are plain C so that Swift never builds a C
 * function pointer from a closure.
 */
static inline CURLcode ccurl_setopt_long(CURL *easy, CURLoption option, long value) {
    return curl_easy_setopt(easy, option, value);
}
static inline CURLcode ccurl_setopt_string(CURL *easy, CURLoption option, const char *value) {
    return curl_easy_setopt(easy, option, value);
}
static inline CURLcode ccurl_setopt_slist(CURL *easy, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(easy, option, value);
}
static inline CURLcode ccurl_getinfo_long(CURL *easy, CURLINFO info, long *value) {
    return curl_easy_getinfo(easy, info, value);
}
static inline CURLcode ccurl_getinfo_string(CURL *easy, CURLINFO info, const char **value) {
    return curl_easy_getinfo(easy, info, value);
}

/* Why the write callback stopped the transfer (curl then reports CURLE_WRITE_ERROR). */
enum {
    CCURL_STOP_NONE = 0,
    CCURL_STOP_TOO_LARGE = 1,    /* the body (or its Content-Length) passed the limit */
    CCURL_STOP_NOT_SUCCESS = 2,  /* a non-2xx answer: its body is not wanted */
    CCURL_STOP_NO_MEMORY = 3,
};

/* The state one transfer's callbacks share: the body so far and the only address a
 * socket may be opened to. */
typedef struct ccurl_transfer {
    CURL *easy;
    unsigned char *body;
    size_t length;
    size_t capacity;
    size_t limit;
    int answer_checked;
    int stop;
    int address_refused;
    int pinned_family;
    unsigned char pinned_address[16];
    unsigned short pinned_port;
    char error[CURL_ERROR_SIZE];
} ccurl_transfer;

/* Appends to the growable body; returning less than asked makes curl abort at once. */
static inline size_t ccurl_write(char *data, size_t size, size_t count, void *context) {
    ccurl_transfer *t = (ccurl_transfer *)context;
    size_t n = size * count;
    if (!t->answer_checked) {
        long status = 0;
        curl_off_t declared = -1;
        curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
        t->answer_checked = 1;
        if (status < 200 || status > 299) { t->stop = CCURL_STOP_NOT_SUCCESS; return 0; }
        curl_easy_getinfo(t->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &declared);
        if (declared > 0 && (curl_off_t)t->limit < declared) { t->stop = CCURL_STOP_TOO_LARGE; return 0; }
    }
    if (n > t->limit - t->length) { t->stop = CCURL_STOP_TOO_LARGE; return 0; }
    if (t->length + n > t->capacity) {
        size_t capacity = t->capacity ? t->capacity : 65536;
        while (capacity < t->length + n) capacity *= 2;
        if (capacity > t->limit) capacity = t->limit;
        unsigned char *grown = (unsigned char *)realloc(t->body, capacity);
        if (!grown) { t->stop = CCURL_STOP_NO_MEMORY; return 0; }
        t->body = grown;
        t->capacity = capacity;
    }
    memcpy(t->body + t->length, data, n);
    t->length += n;
    return n;
}

/* Opens a socket only to the pinned address and port: whatever curl derived from the URL,
 * the connection goes where the policy checked or nowhere. */
static inline curl_socket_t ccurl_open_socket(void *context, curlsocktype purpose, struct curl_sockaddr *address) {
    ccurl_transfer *t = (ccurl_transfer *)context;
    int same = 0;
    if (purpose == CURLSOCKTYPE_IPCXN && address->family == t->pinned_family) {
        if (address->family == AF_INET && address->addrlen >= sizeof(struct sockaddr_in)) {
            const struct sockaddr_in *in = (const struct sockaddr_in *)&address->addr;
            same = memcmp(&in->sin_addr, t->pinned_address, 4) == 0 && ntohs(in->sin_port) == t->pinned_port;
        } else if (address->family == AF_INET6 && address->addrlen >= sizeof(struct sockaddr_in6)) {
            const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&address->addr;
            same = memcmp(&in6->sin6_addr, t->pinned_address, 16) == 0 && ntohs(in6->sin6_port) == t->pinned_port;
        }
    }
    if (!same) { t->address_refused = 1; return CURL_SOCKET_BAD; }
    return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

/* Sets the only address (numeric, v4 or v6) and port a socket may be opened to; 0 if the
 * text is not a numeric address. */
static inline int ccurl_transfer_pin(ccurl_transfer *t, const char *address, unsigned short port) {
    t->pinned_port = port;
    if (inet_pton(AF_INET, address, t->pinned_address) == 1) { t->pinned_family = AF_INET; return 1; }
    if (inet_pton(AF_INET6, address, t->pinned_address) == 1) { t->pinned_family = AF_INET6; return 1; }
    return 0;
}

/* Points the handle's write, open-socket and error-buffer options at `t`. */
static inline CURLcode ccurl_transfer_attach(ccurl_transfer *t) {
    CURLcode rc;
    if ((rc = curl_easy_setopt(t->easy, CURLOPT_ERRORBUFFER, t->error))) return rc;
    if ((rc = curl_easy_setopt(t->easy, CURLOPT_WRITEFUNCTION, ccurl_write))) return rc;
    if ((rc = curl_easy_setopt(t->easy, CURLOPT_WRITEDATA, t))) return rc;
    if ((rc = curl_easy_setopt(t->easy, CURLOPT_OPENSOCKETFUNCTION, ccurl_open_socket))) return rc;
    return curl_easy_setopt(t->easy, CURLOPT_OPENSOCKETDATA, t);
}

static inline CURLcode ccurl_setopt_pointer(CURL *easy, CURLoption option, const void *value) {
    return curl_easy_setopt(easy, option, value);
}
static inline CURLcode ccurl_setopt_off(CURL *easy, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(easy, option, value);
}

/* A growable response body for trusted endpoints (the object store): no address pinning,
 * every status's body kept (an S3 error document explains a refusal), at most `limit`. */
typedef struct ccurl_buffer {
    unsigned char *data;
    size_t length;
    size_t capacity;
    size_t limit;
    int too_large;
} ccurl_buffer;

static inline size_t ccurl_buffer_write(char *data, size_t size, size_t count, void *context) {
    ccurl_buffer *b = (ccurl_buffer *)context;
    size_t n = size * count;
    if (n > b->limit - b->length) { b->too_large = 1; return 0; }
    if (b->length + n > b->capacity) {
        size_t capacity = b->capacity ? b->capacity : 65536;
        while (capacity < b->length + n) capacity *= 2;
        unsigned char *grown = (unsigned char *)realloc(b->data, capacity);
        if (!grown) { b->too_large = 1; return 0; }
        b->data = grown;
        b->capacity = capacity;
    }
    memcpy(b->data + b->length, data, n);
    b->length += n;
    return n;
}

/* Empties the buffer (keeping its memory) and points the handle's write callback at it. */
static inline CURLcode ccurl_buffer_attach(CURL *easy, ccurl_buffer *b, size_t limit) {
    CURLcode rc;
    b->length = 0;
    b->limit = limit;
    b->too_large = 0;
    if ((rc = curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, ccurl_buffer_write))) return rc;
    return curl_easy_setopt(easy, CURLOPT_WRITEDATA, b);
}
