// swift-streaming-stt: the C shim over libwebsockets 4.1.
//
// Why this shim exists: libwebsockets needs LWS_PRE bytes of headroom before every payload
// (`LWS_PRE` is a function-like macro Swift cannot import), masks client payloads in place,
// delivers large messages in pieces, and allows exactly one call from foreign threads
// (`lws_cancel_service`). All of that is easiest to get right in C, on the service thread.
// Swift sees only opaque handles, plain integers and one event callback.
//
// This header is the client's whole interface. The shim's internal definitions are in
// stt_internal.h, which the module map leaves out; the test server (listening loops, HTTP
// answers, test certificates) is the separate CSTTTestServer target, declared in its own header.
//
// Threading contract:
// - `stt_loop_create` / `stt_loop_destroy` are called from any thread except the service thread.
// - `stt_conn_*` commands may be called from any thread: they take the loop's mutex, queue the
//   work and wake the service thread with `lws_cancel_service` (the only lws call made off it).
// - Every event is delivered on the service thread, synchronously; handlers must not block.
// - After `STT_EV_DESTROYED` no further event arrives for that connection.
//
// Every exported symbol is prefixed `stt_`.

#ifndef STT_SHIM_H
#define STT_SHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct stt_loop stt_loop;
typedef struct stt_conn stt_conn;

/// Kinds of `stt_event`.
enum stt_event_kind {
    /// The WebSocket handshake completed (client) or a peer connected (server).
    STT_EV_ESTABLISHED = 1,
    /// A complete message: `data`/`len`, `binary` says which kind.
    STT_EV_MESSAGE = 2,
    /// The outbound queue fell to or below the limit a blocked sender waits for.
    STT_EV_DRAINED = 3,
    /// The client connection failed before it was established. `code` is a `stt_fail_kind`,
    /// `status` the HTTP status seen (0 if none), `tls_error` an X509 verify result (0 if none),
    /// `data` a static description from libwebsockets or OpenSSL.
    STT_EV_CONNECT_FAILED = 4,
    /// The established connection closed. `code` is a `stt_close_kind`, `status` the close code
    /// (0 if there was no close frame), `data` the close reason.
    STT_EV_CLOSED = 5,
    /// Last event of a connection: the shim drops its reference after this returns.
    STT_EV_DESTROYED = 6,
    /// A line of libwebsockets' own log, emitted while this connection was being serviced.
    /// `code` is the lws log level bit, `data` the line.
    STT_EV_LOG = 7,
    /// A client HTTP request completed: `status` is the HTTP status, `data`/`len` the body.
    STT_EV_HTTP_RESPONSE = 8,
    /// A client connection reached its peer: TCP (and TLS) are up and the request is being
    /// written. Sent once, before `STT_EV_ESTABLISHED` or `STT_EV_CONNECT_FAILED`.
    STT_EV_PEER_REACHED = 9,
};

/// Why a client connection failed before it was established.
enum stt_fail_kind {
    STT_FAIL_OTHER = 0,
    STT_FAIL_REFUSED = 1,
    STT_FAIL_TLS = 2,
    STT_FAIL_TIMEOUT = 3,
    STT_FAIL_HTTP_STATUS = 4,
    STT_FAIL_ABORTED = 5,
    STT_FAIL_NO_RESOURCES = 6,
    STT_FAIL_LOOP_SHUTDOWN = 7,
};

/// How an established connection ended.
enum stt_close_kind {
    /// The peer sent a close frame (its code and reason are in the event).
    STT_CLOSE_BY_PEER = 1,
    /// We sent a close frame (our code and reason are in the event).
    STT_CLOSE_LOCAL = 2,
    /// The connection ended without a close frame: TCP reset or EOF.
    STT_CLOSE_ABNORMAL = 3,
    /// An inbound message exceeded the maximum size; we closed with 1009.
    STT_CLOSE_TOO_BIG = 4,
    /// No pong arrived within the pong timeout after a ping was due (written or not: a ping stuck
    /// behind a full socket counts from when it was due). Data from the peer is no answer.
    STT_CLOSE_PING_TIMEOUT = 5,
    /// `stt_conn_abort` dropped the connection without a close frame.
    STT_CLOSE_ABORTED = 6,
    /// The event loop was shut down under the connection.
    STT_CLOSE_LOOP_SHUTDOWN = 7,
};

/// One event from the service thread. Pointers are valid only during the callback.
typedef struct stt_event {
    int kind;
    int code;
    int status;
    int binary;
    int tls_error;
    const uint8_t *data;
    size_t len;
    /// The connection the event belongs to (valid during the callback). For STT_EV_ESTABLISHED
    /// on a server loop the receiver also owns one reference, to balance with `stt_conn_release`.
    stt_conn *conn;
} stt_event;

/// Receives every connection event; `user` is the pointer bound to the connection.
typedef void (*stt_event_fn)(void *user, const stt_event *event);
/// Receives libwebsockets log lines that belong to no connection.
typedef void (*stt_log_fn)(void *user, int level, const char *line);

/// Options for `stt_loop_create`.
typedef struct stt_loop_options {
    /// Receives connection events.
    stt_event_fn on_event;
    /// Receives log lines outside any connection (may be NULL).
    stt_log_fn on_log;
    void *log_user;
    /// lws log levels to emit (bitmask of LLL_*), 0 for errors and warnings.
    int log_levels;
    /// Called on the service thread after every service pass (may be NULL): runs the work queued
    /// for the thread (Swift jobs, see `stt_loop_wake`); returns nonzero when work is left.
    int (*on_idle)(void *user);
    void *idle_user;
} stt_loop_options;

/// Creates a context with a client vhost and starts its service thread. Returns NULL and fills
/// `error` on failure.
stt_loop *stt_loop_create(const stt_loop_options *options, char *error, size_t error_len);
/// Stops the service thread, closes every connection (each gets CLOSED/CONNECT_FAILED and
/// DESTROYED), destroys the context and frees the loop. Blocks until done.
void stt_loop_destroy(stt_loop *loop);
/// Number of connections alive on the loop (created and not yet destroyed).
int stt_loop_connection_count(stt_loop *loop);
/// Makes the service thread finish its current wait and call `on_idle` (any thread). Returns 0
/// once the loop is shutting down (its thread no longer calls `on_idle`).
int stt_loop_wake(stt_loop *loop);
/// Whether the calling thread is `loop`'s service thread.
int stt_loop_is_service_thread(const stt_loop *loop);
/// Writes `line` to libwebsockets' own log at `level` (an LLL_* bit), as libwebsockets itself
/// does: it reaches the connection being serviced, or the loop's `on_log` when called on a
/// service thread outside any connection (tests of log scrubbing).
void stt_log_line(int level, const char *line);

/// Parameters for `stt_conn_connect`. Strings are copied.
typedef struct stt_connect_params {
    /// Numeric IP address to connect to (resolved by the caller, off the service thread).
    const char *address;
    int port;
    /// Host name for the Host header, SNI and certificate verification.
    const char *host;
    /// Path and query, starting with '/'.
    const char *path;
    /// Extra headers as "name\0value\0..." (names without colon).
    const char *headers;
    size_t headers_len;
    int use_tls;
    /// Skip certificate chain, expiry and host name verification.
    int tls_insecure;
    /// Extra trusted CA certificates, PEM (NULL for none). System roots are always trusted too.
    const char *ca_pem;
    size_t ca_pem_len;
    /// Timeouts in milliseconds (0 disables the timer).
    uint32_t connect_timeout_ms;
    uint32_t ping_interval_ms;
    uint32_t pong_timeout_ms;
    /// How long to wait for the peer's answer to our close frame before dropping TCP.
    uint32_t close_timeout_ms;
    /// Largest inbound message before the connection fails with 1009 (HTTP: largest body).
    size_t max_message_size;
    /// NULL for a WebSocket upgrade; otherwise a plain HTTP request with this method ("GET",
    /// "POST", ...), `body` sent after the headers, and the answer reported as STT_EV_HTTP_RESPONSE.
    const char *method;
    const uint8_t *body;
    size_t body_len;
} stt_connect_params;

/// Creates a client connection bound to `user` and starts connecting; events report the outcome.
/// Returns NULL (and sends no event) when the loop is shut down or memory is exhausted.
/// The caller owns one reference.
stt_conn *stt_conn_connect(stt_loop *loop, const stt_connect_params *params, void *user);

/// Queues a message (split into `fragments` frames when > 1). Returns -1 if the connection is
/// closed or closing, 1 if more than `limit` bytes are now queued (a STT_EV_DRAINED event will
/// follow once the queue is back at or under `limit / 2`), 0 otherwise.
int stt_conn_send(stt_conn *conn, const void *data, size_t len, int binary, int fragments, size_t limit);
/// Re-arms the drain notification: returns 1 if more than `limit` bytes are still queued (a
/// STT_EV_DRAINED event will follow at or under `limit / 2`), 0 if not, -1 if the connection is
/// closing or closed.
int stt_conn_wait_drain(stt_conn *conn, size_t limit);
/// Bytes queued and not yet handed to the socket.
size_t stt_conn_queued_bytes(stt_conn *conn);
/// The round trip of the last keepalive ping answered, in nanoseconds (from writing the ping to
/// its pong); 0 before the first. Any thread.
int64_t stt_conn_ping_rtt_ns(stt_conn *conn);
/// Queues a close frame after every queued message. Returns -1 if already closing.
int stt_conn_close(stt_conn *conn, int code, const char *reason, size_t reason_len);
/// Drops TCP without a close frame once every message queued before has been written.
int stt_conn_drop(stt_conn *conn);
/// Drops the connection at once, without a close frame.
void stt_conn_abort(stt_conn *conn);
/// Stops (1) or resumes (0) reading from the socket.
void stt_conn_pause_reading(stt_conn *conn, int paused);
/// Drops the caller's reference.
void stt_conn_release(stt_conn *conn);

#ifdef __cplusplus
}
#endif

#endif
