/*
 * seedunit: the sockets systemd passes a seed's daemon, read from packaging/ustatsd.socket
 * and the seed's ustatsd.socket.d/override.conf, checked against the seed's config and
 * made as systemd makes them.
 */
#ifndef USTATSD_TESTS_SEEDUNIT_H
#define USTATSD_TESTS_SEEDUNIT_H

#include <jansson.h>
#include <stddef.h>

#define SEEDUNIT_MAX_SOCKETS 16

/* What the [Socket] sections of a unit and its drop-ins say, in systemd's order. */
struct seedunit {
    char dgram[SEEDUNIT_MAX_SOCKETS][128];
    size_t ndgram;
    char stream[SEEDUNIT_MAX_SOCKETS][128];
    size_t nstream;
    char group[64];
    char mode[16];
};

/*
 * Read path's [Socket] section into u, as systemd applies a drop-in over its unit: a
 * ListenDatagram= or ListenStream= with an empty value empties its list, any other adds
 * to it; SocketGroup= and SocketMode= replace. A missing file reads as nothing.
 */
void seedunit_read(const char *path, struct seedunit *u);

/*
 * The packaged unit plus the seed's drop-in must pass exactly the sockets the seed's
 * config (root, as shipped) asks for: the daemon refuses a passed socket its config does
 * not name, and binds itself one the unit does not pass (then it is not the unit's, and
 * its mode and group are not either). The ingest socket's mode and group must be the
 * config's. Defaults as docs/configuration.md gives them.
 */
void seedunit_check(const char *seed, json_t *root, const struct seedunit *u);

/* A listening TCP socket at "a.b.c.d:port", as ListenStream= makes it. */
int seedunit_bind_stream(const char *addr);

/* A Unix datagram socket bound at path, as ListenDatagram= makes it. */
int seedunit_bind_dgram(const char *path);

#endif
