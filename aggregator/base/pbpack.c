#include "base/pbpack.h"

#include <stdint.h>

void pbpack_append(struct buf *b, const ProtobufCMessage *m)
{
    size_t size = protobuf_c_message_get_packed_size(m);

    buf_grow(b, size);
    b->len += protobuf_c_message_pack(m, (uint8_t *)b->ptr + b->len);
}
