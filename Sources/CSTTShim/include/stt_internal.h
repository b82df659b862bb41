// swift-streaming-stt: the shim's internal definitions, shared by its C files and by C targets that
// extend a loop (CSTTTestServer). Swift never sees this header: the target's module map
// (include/module.modulemap) exports only stt_shim.h.
//
// Ownership, in one place (each file's header comment says which part it implements):
// - A loop (`stt_loop`) holds one reference for its creator, dropped by `stt_loop_destroy`, and
//   one for every connection not yet freed. It is freed when the last reference goes.
// - A connection (`stt_conn`) holds its own count (`refs`, under `loop->mu`): one for the shim
//   from creation until its wsi is destroyed (`stt_conn_destroyed`), one for whoever was handed
//   it (the caller of `stt_conn_connect`, or the receiver of a server connection), and one for
//   each pending entry in the loop's dirty list or an in-flight connect. It is freed by whichever
//   `stt_conn_unref` drops the count to zero, on any thread.
// - `c->user` (the pointer events are delivered to) belongs to the host; the shim stops using it
//   after STT_EV_DESTROYED.
//
// Threading: fields are marked "under mu" (any thread, holding `loop->mu`) or "service thread".
// Functions declared here run on the service thread unless their comment says otherwise.

#ifndef STT_INTERNAL_H
#define STT_INTERNAL_H

#include "stt_shim.h"

#include <libwebsockets.h>
#include <pthread.h>
#include <stdatomic.h>

_Static_assert(LWS_PRE <= 64, "LWS_PRE headroom grew; check stt_msg layout");

/// Largest frame handed to lws_write in one call; bigger messages are split into continuation
/// frames, so that one write rarely exceeds what the socket takes at once (what it does not take,
/// libwebsockets 4.1 copies into its own buffer and must send before anything else).
#define STT_FRAME_MAX 16384
/// Writes per WRITEABLE callback while the socket accepts more.
#define STT_WRITES_PER_CALLBACK 16
/// Most bytes of client frames gathered into one write: one TLS record.
#define STT_BATCH_MAX 16384
/// Message buffers a loop keeps for reuse, and the largest payload kept. Messages are allocated on
/// the sender's thread and released on the service thread; recycling them avoids glibc's arena
/// lock, which the two threads otherwise contend for about once per written batch.
#define STT_POOL_MAX 256
#define STT_POOL_PAYLOAD_MAX 16384

/// Work a command queues for the service thread (`stt_conn.pending`).
enum { P_CONNECT = 1, P_WRITE = 2, P_RXFLOW = 4, P_ABORT = 8 };
/// A connection's state as commands see it (`stt_conn.state`).
enum { S_NEW = 0, S_CONNECTING, S_OPEN, S_CLOSING, S_DONE };

typedef struct stt_msg {
    struct stt_msg *next;
    size_t len;
    size_t cap;  // payload capacity
    int flags;  // lws_write protocol incl. ws frame flags
    int is_close;
    int close_code;
    uint8_t buf[];  // LWS_PRE headroom + payload
} stt_msg;

struct stt_conn {
    stt_loop *loop;
    void *user;
    int refs;  // under loop->mu

    // Shared with other threads (under loop->mu).
    int state;
    int pending;
    int in_dirty;
    stt_conn *next_dirty;
    stt_msg *head, *tail;
    size_t queued;
    int drain_wanted;
    size_t drain_limit;
    int rx_paused;
    int abort_requested;
    size_t max_message;

    // Service thread only.
    struct lws *wsi;
    int is_server;        // accepted by a listening vhost: frames go out unmasked, through lws_write
    int unclaimed_ref;    // one reference is kept for a receiver not yet handed the connection
    int established;
    int reached_peer;     // client: TLS or the request has begun, so the TCP connection was made
    int fail_reported;
    int closed_reported;
    int destroyed;
    int http_status;
    int tls_error;
    int timed_out;
    int ping_timed_out;
    int too_big;
    int aborted;
    int peer_closed;
    int peer_first;
    int peer_code;
    char peer_reason[128];
    size_t peer_reason_len;
    int local_close_code;
    char local_reason[128];
    size_t local_reason_len;
    int rx_binary;
    size_t rx_max;
    uint8_t *rx;
    size_t rx_len, rx_cap;
    int ping_due;
    int awaiting_pong;
    int64_t ping_written_ns;  // CLOCK_MONOTONIC when the unanswered ping went out (0: none)
    int64_t ping_rtt_ns;      // the last ping's round trip (0: none yet); atomic, read by any thread
    lws_sorted_usec_list_t sul_connect;
    lws_sorted_usec_list_t sul_ping;

    // Plain HTTP request (client).
    char *method;         // HTTP method (NULL for WebSocket)
    uint8_t *body;        // request body
    size_t body_len;
    int body_pending;
    int http_done;

    // Owned by the loop's hooks (set on the service thread before the connection is handed out;
    // freed with `hooks.free_conn_data` when the connection is freed).
    void *hook_data;

    // Connect parameters (client).
    char *address, *host, *path, *headers, *ca_pem;
    size_t headers_len, ca_pem_len;
    int port, use_tls, tls_insecure;
    uint32_t connect_timeout_ms, ping_interval_ms, pong_timeout_ms, close_timeout_ms;
};

/// What another C target adds to a loop it creates with `stt_loop_start`: CSTTTestServer fills one
/// to make a listening loop. The client shim calls server code only through these pointers.
typedef struct stt_loop_hooks {
    /// Fills in the creation info of the loop's one vhost (port, interface, protocols,
    /// certificates) instead of the client vhost's; `vi->options` is already set. Called once,
    /// inside `stt_loop_start`, on the creating thread.
    void (*configure_vhost)(stt_loop *loop, struct lws_context_creation_info *vi);
    /// The error `stt_loop_start` reports when that vhost cannot be created.
    const char *vhost_error;
    /// Called once the vhost exists, on the creating thread, before the service thread starts
    /// (e.g. to read the port the kernel chose). May be NULL.
    void (*vhost_created)(stt_loop *loop);
    /// Handles the lws callback reasons the client dispatch does not (service thread); `conn` is
    /// the wsi's connection, or NULL. Returns what the lws callback returns.
    int (*callback)(stt_loop *loop, stt_conn *conn, struct lws *wsi, enum lws_callback_reasons reason, void *user,
                    void *in, size_t len);
    /// Frees a connection's `hook_data` (the thread that frees the connection; may be NULL).
    void (*free_conn_data)(void *conn_data);
    /// Frees the loop's `hook_data` (the thread that frees the loop; may be NULL).
    void (*free_data)(void *data);
} stt_loop_hooks;

typedef struct stt_vhost_entry {
    char *pem;
    size_t len;
    struct lws_vhost *vhost;
} stt_vhost_entry;

struct stt_loop {
    atomic_int refs;
    struct lws_context *ctx;
    struct lws_vhost *vhost;
    pthread_t thread;
    atomic_int stop;
    pthread_mutex_t mu;
    int dead;         // under mu: context gone, no more commands
    int wake_pending; // under mu
    stt_conn *dirty;  // under mu
    int conn_count;   // under mu
    int shutting_down;
    stt_loop_options opts;
    stt_loop_hooks hooks;  // all NULL for a client loop; immutable after creation
    void *hook_data;       // the hooks' own state; immutable pointer after creation
    stt_vhost_entry *vhosts;
    int nvhosts;
    const char *pending_ca;
    size_t pending_ca_len;
    lws_retry_bo_t idle_policy;
    // Frame masks for client data frames (service thread only): drawn from OpenSSL's CSPRNG in
    // blocks, four bytes per frame (RFC 6455 5.3: unpredictable, from a strong source).
    uint8_t mask_pool[256];
    size_t mask_used;  // starts at sizeof(mask_pool): the first frame draws a block
    stt_msg *pool;  // under mu: released message buffers for reuse
    int pool_count; // under mu
    // Where the framing builds several frames for one write (service thread only).
    uint8_t batch[LWS_PRE + STT_BATCH_MAX];
};

// ---------------------------------------------------------------------------------------------
// Event loop (stt_loop.c).

/// Which loop and connection the service thread is working on, so lws log lines (which carry
/// no context) reach the right logger. Thread-local: each is set only by its own thread.
extern __thread stt_loop *stt_current_loop;
extern __thread stt_conn *stt_current_conn;

/// Creates a loop whose vhost and extra callback reasons come from `hooks` (NULL: a client loop),
/// and starts its service thread. `hook_data` belongs to the loop from this call on (freed with
/// `hooks->free_data`, also when creation fails). Any thread.
stt_loop *stt_loop_start(const stt_loop_options *options, const stt_loop_hooks *hooks, void *hook_data, char *error,
                         size_t error_len);
/// Drops a reference to the loop; the last one frees it. Any thread.
void stt_loop_unref(stt_loop *loop);
/// Wakes the service thread if `need` (from `stt_mark_dirty_locked`) and the caller is not on
/// it. Any thread, holding loop->mu.
void stt_wake(stt_loop *loop, int need);
/// Runs the commands queued on the dirty list.
void stt_process_dirty(stt_loop *loop);
/// At shutdown: connections whose connect never started get their failure and destroy events.
void stt_fail_unstarted(stt_loop *loop);
/// A copy of `n` bytes of `s`, NUL-terminated; NULL if `s` is NULL or memory is exhausted. Any thread.
char *stt_dup_bytes(const char *s, size_t n);

// ---------------------------------------------------------------------------------------------
// Connections (stt_conn.c).

/// A new connection with `refs` references, counted in the loop. Any thread.
stt_conn *stt_conn_new(stt_loop *loop, void *user, int refs);
/// Frees a connection whose last reference is gone. Any thread.
void stt_conn_free(stt_conn *conn);
/// Drops one reference; the last one frees the connection. Any thread; takes loop->mu.
void stt_conn_unref(stt_conn *conn);
/// Queues service-thread work for `conn`. Caller holds loop->mu. Returns 1 if the caller must
/// wake the service thread (see `stt_wake`).
int stt_mark_dirty_locked(stt_conn *conn, int flag);
/// Delivers an event to the connection's host pointer.
void stt_emit(stt_conn *conn, stt_event *event);
/// Reports STT_EV_CONNECT_FAILED once, unless the connection was established.
void stt_emit_connect_failed(stt_conn *conn, int kind, const char *detail);
/// Reports STT_EV_CLOSED once, if the connection was established.
void stt_emit_closed(stt_conn *conn);
/// The wsi is going away: reports what has not been reported, then STT_EV_DESTROYED, then drops
/// the shim's reference (and the unclaimed one, if any).
void stt_conn_destroyed(stt_conn *conn);
/// The WebSocket connection is open: starts keepalive, marks it open and applies the commands
/// that waited for it.
void stt_conn_established(stt_conn *conn);
/// A pong arrived: the peer reads what we send. (Data does not count: a peer that stopped
/// reading may go on sending.)
void stt_peer_alive(stt_conn *conn);
/// CLOCK_MONOTONIC in nanoseconds.
int64_t stt_monotonic_ns(void);
/// Makes lws close the wsi from its next timeout check.
void stt_kill_wsi(stt_conn *conn);
/// Starts the timer that drops TCP if the peer does not answer our close frame.
void stt_start_close_timer(stt_conn *conn);
/// Starts a client connect (P_CONNECT).
void stt_start_connect(stt_conn *conn);
/// Client HTTP: a piece of the response body.
int stt_client_http_read(stt_conn *conn, const uint8_t *in, size_t len);
/// Client HTTP: the response is complete.
void stt_client_http_completed(stt_conn *conn);

// ---------------------------------------------------------------------------------------------
// Framing (stt_frame.c).

/// A message buffer for `n` payload bytes, from the loop's pool when it has one of the size class.
/// Any thread; takes loop->mu (the caller must not hold it). NULL when out of memory.
stt_msg *stt_msg_new(stt_loop *loop, size_t n);
/// Releases a list of messages, keeping up to STT_POOL_MAX buffers. Any thread; takes loop->mu.
void stt_msgs_release(stt_loop *loop, stt_msg *first);
/// Releases one message (see stt_msgs_release).
void stt_msg_release(stt_loop *loop, stt_msg *m);
/// WRITEABLE: writes queued messages (client frames built and masked here, batched).
int stt_on_writeable(stt_conn *conn);
/// Appends to the receive buffer, growing it geometrically. -1 when out of memory.
int stt_rx_append(stt_conn *conn, const uint8_t *in, size_t len);
/// RECEIVE: reassembles a message from lws' pieces and delivers it whole.
int stt_on_receive(stt_conn *conn, const uint8_t *in, size_t len);
/// WS_PEER_INITIATED_CLOSE: records the peer's close code and reason.
void stt_on_peer_close(stt_conn *conn, const uint8_t *in, size_t len);

// ---------------------------------------------------------------------------------------------
// TLS (stt_tls.c).

/// The client vhost trusting the system roots plus the CAs in `pem` (created on first use).
struct lws_vhost *stt_vhost_for_ca(stt_loop *loop, const char *pem, size_t len);
/// LOAD_EXTRA_CLIENT_VERIFY_CERTS: system roots and the pending CAs for a new client SSL_CTX.
void stt_tls_load_client_certs(stt_loop *loop, void *ssl_ctx);
/// OPENSSL_PERFORM_SERVER_CERT_VERIFICATION: records (or, insecure, overrules) a verify error.
void stt_tls_verify(stt_conn *conn, void *x509_store_ctx, int preverify_ok);
/// CLIENT_CONNECTION_ERROR: whether the failure was a TLS failure.
int stt_tls_failed(stt_conn *conn, struct lws *wsi, const char *message);

// ---------------------------------------------------------------------------------------------
// The lws callback (stt_callback.c).

/// The protocol callback of every vhost the shim creates. Reasons it does not handle go to the
/// loop's `hooks.callback`.
int stt_lws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len);
/// The client vhosts' protocol table.
extern const struct lws_protocols stt_client_protocols[];

#endif
