/*
 * listener: a listening stream socket on libuv, TCP or unix, for the HTTP server.
 *
 * An I/O module. Loop thread only. The struct is embedded by its owner, which gets
 * itself back in the connection callback with container_of() on the stream (the field
 * "h.stream" of the embedded listener). Fields are private to listener.c.
 *
 *     listener_init(&l, loop);
 *     listener_start(&l, "127.0.0.1:9464", on_connection, err, sizeof err);
 *     ... on_connection: listener_stream_init(&l, &client) and listener_accept(), or
 *         listener_refuse() ...
 *     listener_close(&l, owner, closed_cb);
 */
#ifndef USTATSD_LISTENER_H
#define USTATSD_LISTENER_H

#include <stddef.h>

#include <uv.h>

/*
 * Connections the kernel queues before the server accepts them; it caps this at
 * net.core.somaxconn (4096 by default). Deep, as Go's net package makes it: the HTTP
 * server paces its accepts under load (httpd.h), and a connection waiting in the queue
 * is served in its turn, where a full queue would refuse it (a Unix socket) or drop its
 * SYN for a second (TCP).
 */
#define LISTENER_BACKLOG 4096

/* A stream handle of either kind, for the listening socket and its clients. */
union listener_stream {
    uv_handle_t handle;
    uv_stream_t stream;
    uv_tcp_t tcp;
    uv_pipe_t pipe;
};

struct listener {
    /* Private. */
    uv_loop_t *loop;
    union listener_stream h;
    int open;        /* h was initialised: listener_close() closes it */
    char *unix_path; /* unlinked on close, unless adopted */
    int adopted;     /* the socket came from listener_adopt(): its file is not ours */
};

void listener_init(struct listener *l, uv_loop_t *loop);

/*
 * Start listening on addr: "host:port" with a numeric IPv4 host ("" or "*" for all,
 * "localhost" for 127.0.0.1: no name is ever resolved, which would block), "[v6]:port",
 * or "unix:/path". Port 0 picks a free port (see listener_address()). A unix: path
 * holding a stale socket (nobody accepting) is replaced; one in use gives -EADDRINUSE;
 * a non-socket file gives -EEXIST. Once per listener. cb runs for each connection.
 * Returns 0 or a negative code with a message in err (NUL-terminated, at most errlen
 * bytes; err may be NULL). Whatever it returns, listener_close() must be called.
 */
int listener_start(struct listener *l, const char *addr, uv_connection_cb cb, char *err,
                   size_t errlen);

/*
 * listener_start() on a socket that is already bound and listening at addr (fd, passed by
 * systemd's ListenStream=; sysd.h checked that it is a listening stream socket at addr),
 * instead of binding one. The listener owns fd from the call on, whatever it returns, and
 * never unlinks a unix: path: the file belongs to the .socket unit. Returns as
 * listener_start(); listener_close() must be called.
 */
int listener_adopt(struct listener *l, const char *addr, int fd, uv_connection_cb cb, char *err,
                   size_t errlen);

/*
 * Parse a TCP listen address, "host:port" (numeric IPv4; "" or "*" for all, "localhost"
 * for 127.0.0.1) or "[v6]:port", into ss without any name lookup: netaddr_parse(), which
 * the UDP ingest socket reads its address with too. Returns 0 or -EINVAL. The test client
 * connects with it too, so both sides read an address the same way.
 */
int listener_parse_inet(const char *addr, struct sockaddr_storage *ss);

/* The size of a client stream handle: a uv_tcp_t or a uv_pipe_t. */
size_t listener_stream_size(const struct listener *l);

/* Initialise s (of listener_stream_size() bytes) as a client stream. 0 or a libuv code. */
int listener_stream_init(struct listener *l, uv_stream_t *s);

/* Accept a pending connection into s, set up by listener_stream_init(). 0 or a libuv code. */
int listener_accept(struct listener *l, uv_stream_t *s);

/*
 * Refuse a pending connection: accept it (libuv stops accepting until we do), say "503"
 * if the socket takes it at once, and close it, reading nothing. The handle, allocated
 * here with data set to data, is passed to closed_cb, which must free() it. Returns 0
 * when closed_cb will run, or a libuv code when it will not.
 */
int listener_refuse(struct listener *l, void *data, uv_close_cb closed_cb);

/*
 * Write the bound address ("127.0.0.1:9464", "[::1]:9464", "unix:/path") to out.
 * Returns 0, -ENOTCONN before listening, or -ENOSPC.
 */
int listener_address(const struct listener *l, char *out, size_t len);

/*
 * Close the socket (if open; cb then runs on a later loop iteration with the handle,
 * whose data is set to data, as uv_close() does, and 1 is returned) and unlink a unix: socket file.
 * Returns 0 when there was nothing to close and cb will not run. Call once.
 */
int listener_close(struct listener *l, void *data, uv_close_cb cb);

#endif
