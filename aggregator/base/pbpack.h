/*
 * pbpack: a protobuf-c message appended to a buf, packed by protobuf-c (its size, then its
 * bytes), for the writers of protobuf bodies (expopb, exporw). A domain module.
 */
#ifndef USTATSD_PBPACK_H
#define USTATSD_PBPACK_H

#include <protobuf-c/protobuf-c.h>

#include "base/buf.h"

void pbpack_append(struct buf *b, const ProtobufCMessage *m);

#endif
