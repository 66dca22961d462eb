#pragma once
#include <libheif/heif.h>
#include <stdlib.h>
#include <string.h>

/* libheif hands the whole encoded file to one write() call; this collects it into a
   malloc'd buffer so Swift never has to build a C callback. */
struct cheif_buffer { uint8_t *data; size_t size; };

static inline struct heif_error cheif_write_to_buffer(struct heif_context *ctx, const void *data,
                                                      size_t size, void *userdata) {
    (void)ctx;
    struct cheif_buffer *out = (struct cheif_buffer *)userdata;
    struct heif_error ok = { heif_error_Ok, heif_suberror_Unspecified, "" };
    struct heif_error oom = { heif_error_Memory_allocation_error, heif_suberror_Unspecified, "out of memory" };
    uint8_t *grown = (uint8_t *)realloc(out->data, out->size + size);
    if (!grown) return oom;
    memcpy(grown + out->size, data, size);
    out->data = grown;
    out->size += size;
    return ok;
}

static inline struct heif_error cheif_context_write_to_buffer(struct heif_context *ctx, struct cheif_buffer *out) {
    struct heif_writer writer = { 1, cheif_write_to_buffer };
    return heif_context_write(ctx, &writer, out);
}
