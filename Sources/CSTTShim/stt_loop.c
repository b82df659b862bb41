// swift-streaming-stt: the only file that calls libwebsockets.
// See include/stt_shim.h for the threading contract.

#include "stt_shim.h"

#include <libwebsockets.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <ctype.h>
#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

_Static_assert(LWS_PRE <= 64, "LWS_PRE headroom grew; check stt_msg layout");

/// Largest frame handed to lws_write in one call; bigger messages are split into continuation
/// frames so lws never takes its slow "partial write" path (see prior-art §6).
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

enum { P_CONNECT = 1, P_WRITE = 2, P_RXFLOW = 4, P_ABORT = 8 };
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
    int is_server;
    int handed_over;  // server: Swift was given its reference
    int established;
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
    lws_sorted_usec_list_t sul_connect;
    lws_sorted_usec_list_t sul_ping;

    // Plain HTTP (server transaction or client request).
    int is_http;          // server: this conn is one HTTP transaction
    char *method;         // client: HTTP method (NULL for WebSocket)
    uint8_t *body;        // client: request body
    size_t body_len;
    int body_pending;
    int http_done;
    char *req_method, *req_path, *req_query, *req_headers;  // server: the request until delivered
    size_t req_query_len, req_headers_len;
    int resp_ready;       // under mu
    int resp_status;      // under mu
    char *resp_headers;   // under mu
    size_t resp_headers_len;
    uint8_t *resp_body;   // under mu
    size_t resp_body_len;

    // Connect parameters (client).
    char *address, *host, *path, *headers, *ca_pem;
    size_t headers_len, ca_pem_len;
    int port, use_tls, tls_insecure;
    uint32_t connect_timeout_ms, ping_interval_ms, pong_timeout_ms, close_timeout_ms;
};

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
    int port;
    stt_loop_options opts;
    char *custom_headers;
    size_t custom_headers_len;
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
    // Where write_client_batch builds several frames for one write (service thread only).
    uint8_t batch[LWS_PRE + STT_BATCH_MAX];
};



// Which loop and connection the service thread is working on, so lws log lines (which carry
// no context) reach the right logger.
static __thread stt_loop *tl_loop;
static __thread stt_conn *tl_conn;

// ---------------------------------------------------------------------------------------------
// Logging: lws_set_log_level takes one process-wide function with no context pointer. It is set
// once (pthread_once) and never changed; it routes by the thread-locals above.

static void stt_log_emit(int level, const char *line) {
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) n--;
    char buf[1024];
    if (n >= sizeof buf) n = sizeof buf - 1;
    memcpy(buf, line, n);
    buf[n] = 0;
    stt_conn *c = tl_conn;
    stt_loop *l = tl_loop;
    if (c && c->user && l && !c->destroyed) {
        stt_event ev = {0};
        ev.kind = STT_EV_LOG;
        ev.code = level;
        ev.data = (const uint8_t *)buf;
        ev.len = n;
        ev.conn = c;
        l->opts.on_event(c->user, &ev);
    } else if (l && l->opts.on_log) {
        l->opts.on_log(l->opts.log_user, level, buf);
    }
}

static pthread_once_t log_once = PTHREAD_ONCE_INIT;

// OpenSSL set-up: libwebsockets 4.1 allocates its SSL ex-data indexes anew in every context
// created with LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT, which breaks the TLS handshakes in flight in
// other contexts ("can't get wsi from ssl privdata"). So only the first context of the process
// gets the option (under this lock, so no context does TLS before the indexes exist); later
// contexts get it only on their vhosts, which is what creates and frees the vhosts' SSL_CTXs.
static pthread_mutex_t ssl_init_mu = PTHREAD_MUTEX_INITIALIZER;
static int ssl_init_done;
static void install_log(void) { lws_set_log_level(LLL_ERR | LLL_WARN, stt_log_emit); }

// ---------------------------------------------------------------------------------------------
// Loop and connection references.

static void loop_unref(stt_loop *l) {
    if (atomic_fetch_sub(&l->refs, 1) != 1) return;
    pthread_mutex_destroy(&l->mu);
    while (l->pool) {
        stt_msg *m = l->pool;
        l->pool = m->next;
        free(m);
    }
    for (int i = 0; i < l->nvhosts; i++) free(l->vhosts[i].pem);
    free(l->vhosts);
    free(l->custom_headers);
    free(l);
}

/// A message buffer for `n` payload bytes: a released one of the same size class when the pool
/// has one, else a new one. Takes l->mu (the caller must not hold it). NULL when out of memory.
static stt_msg *msg_new(stt_loop *l, size_t n) {
    stt_msg *m = NULL;
    if (n <= STT_POOL_PAYLOAD_MAX) {
        pthread_mutex_lock(&l->mu);
        // Same size class: the pool's buffer is at least n and not more than twice n (+64).
        if (l->pool && l->pool->cap >= n && l->pool->cap <= 2 * n + 64) {
            m = l->pool;
            l->pool = m->next;
            l->pool_count--;
        }
        pthread_mutex_unlock(&l->mu);
    }
    if (!m) {
        size_t cap = (n + 63) & ~(size_t)63;
        m = malloc(sizeof *m + LWS_PRE + cap);
        if (!m) return NULL;
        m->cap = cap;
    }
    m->next = NULL;
    m->len = n;
    m->is_close = 0;
    m->close_code = 0;
    m->flags = 0;
    return m;
}

/// Releases a list of messages, keeping up to STT_POOL_MAX buffers for msg_new. Takes l->mu.
static void msgs_release(stt_loop *l, stt_msg *first) {
    stt_msg *drop = NULL;
    pthread_mutex_lock(&l->mu);
    while (first) {
        stt_msg *m = first;
        first = m->next;
        if (m->cap <= STT_POOL_PAYLOAD_MAX && l->pool_count < STT_POOL_MAX) {
            m->next = l->pool;
            l->pool = m;
            l->pool_count++;
        } else {
            m->next = drop;
            drop = m;
        }
    }
    pthread_mutex_unlock(&l->mu);
    while (drop) {
        stt_msg *m = drop;
        drop = m->next;
        free(m);
    }
}

/// Releases one message (see msgs_release).
static void msg_release(stt_loop *l, stt_msg *m) {
    m->next = NULL;
    msgs_release(l, m);
}

static void conn_free(stt_conn *c) {
    msgs_release(c->loop, c->head);
    free(c->rx);
    free(c->address);
    free(c->host);
    free(c->path);
    free(c->headers);
    free(c->ca_pem);
    free(c->method);
    free(c->body);
    free(c->req_method);
    free(c->req_path);
    free(c->req_query);
    free(c->req_headers);
    free(c->resp_headers);
    free(c->resp_body);
    stt_loop *l = c->loop;
    free(c);
    loop_unref(l);
}

static void conn_unref(stt_conn *c) {
    stt_loop *l = c->loop;
    pthread_mutex_lock(&l->mu);
    int left = --c->refs;
    pthread_mutex_unlock(&l->mu);
    if (!left) conn_free(c);
}

static stt_conn *conn_new(stt_loop *l, void *user, int refs) {
    stt_conn *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->loop = l;
    c->user = user;
    c->refs = refs;
    c->max_message = 16u << 20;
    atomic_fetch_add(&l->refs, 1);
    pthread_mutex_lock(&l->mu);
    l->conn_count++;
    pthread_mutex_unlock(&l->mu);
    return c;
}

static char *dup_bytes(const char *s, size_t n) {
    if (!s) return NULL;
    char *d = malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

/// Queues service-thread work for `c`. Caller holds l->mu. Returns 1 if the caller must wake
/// the service thread (after checking l->dead).
static int mark_dirty_locked(stt_conn *c, int flag) {
    stt_loop *l = c->loop;
    c->pending |= flag;
    if (!c->in_dirty) {
        c->in_dirty = 1;
        c->refs++;
        c->next_dirty = l->dirty;
        l->dirty = c;
    }
    if (!l->wake_pending) {
        l->wake_pending = 1;
        return 1;
    }
    return 0;
}

// ---------------------------------------------------------------------------------------------
// Events to Swift (service thread).

static void emit(stt_conn *c, stt_event *ev) {
    ev->conn = c;
    if (c->user) c->loop->opts.on_event(c->user, ev);
}

static void emit_connect_failed(stt_conn *c, int kind, const char *detail) {
    if (c->fail_reported || c->established) return;
    c->fail_reported = 1;
    if (c->timed_out) kind = STT_FAIL_TIMEOUT;
    else if (c->aborted) kind = STT_FAIL_ABORTED;
    else if (c->loop->shutting_down) kind = STT_FAIL_LOOP_SHUTDOWN;
    stt_event ev = {0};
    ev.kind = STT_EV_CONNECT_FAILED;
    ev.code = kind;
    ev.status = c->http_status;
    ev.tls_error = c->tls_error;
    if (kind == STT_FAIL_TLS && c->tls_error) detail = X509_verify_cert_error_string(c->tls_error);
    ev.data = (const uint8_t *)(detail ? detail : "");
    ev.len = detail ? strlen(detail) : 0;
    emit(c, &ev);
}

static void emit_closed(stt_conn *c) {
    if (c->closed_reported || !c->established) return;
    c->closed_reported = 1;
    stt_event ev = {0};
    ev.kind = STT_EV_CLOSED;
    if (c->too_big) {
        ev.code = STT_CLOSE_TOO_BIG;
        ev.status = 1009;
    } else if (c->ping_timed_out) {
        ev.code = STT_CLOSE_PING_TIMEOUT;
    } else if (c->aborted) {
        ev.code = STT_CLOSE_ABORTED;
    } else if (c->peer_closed && (c->peer_first || !c->local_close_code)) {
        ev.code = STT_CLOSE_BY_PEER;
        ev.status = c->peer_code;
        ev.data = (const uint8_t *)c->peer_reason;
        ev.len = c->peer_reason_len;
    } else if (c->local_close_code) {
        ev.code = STT_CLOSE_LOCAL;
        ev.status = c->local_close_code;
        ev.data = (const uint8_t *)c->local_reason;
        ev.len = c->local_reason_len;
    } else if (c->loop->shutting_down) {
        ev.code = STT_CLOSE_LOOP_SHUTDOWN;
    } else {
        ev.code = STT_CLOSE_ABNORMAL;
    }
    emit(c, &ev);
}

/// The wsi is going away: report what has not been reported, then drop the shim's reference.
static void conn_destroyed(stt_conn *c) {
    if (c->destroyed) return;
    if (!c->established) emit_connect_failed(c, STT_FAIL_OTHER, "connection closed before the handshake completed");
    else emit_closed(c);
    lws_sul_cancel(&c->sul_connect);
    lws_sul_cancel(&c->sul_ping);
    c->destroyed = 1;
    c->wsi = NULL;
    stt_loop *l = c->loop;
    pthread_mutex_lock(&l->mu);
    c->state = S_DONE;
    l->conn_count--;
    pthread_mutex_unlock(&l->mu);
    stt_event ev = {0};
    ev.kind = STT_EV_DESTROYED;
    emit(c, &ev);
    conn_unref(c);
}

// ---------------------------------------------------------------------------------------------
// Timers (service thread).

static void kill_wsi(stt_conn *c) {
    if (c->wsi) lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

static void connect_timeout_cb(lws_sorted_usec_list_t *sul) {
    stt_conn *c = lws_container_of(sul, stt_conn, sul_connect);
    if (c->established || c->destroyed) return;
    c->timed_out = 1;
    kill_wsi(c);
}

static void close_timeout_cb(lws_sorted_usec_list_t *sul) {
    stt_conn *c = lws_container_of(sul, stt_conn, sul_connect);
    if (c->destroyed) return;
    kill_wsi(c);  // the peer never answered our close frame
}

static void ping_cb(lws_sorted_usec_list_t *sul) {
    stt_conn *c = lws_container_of(sul, stt_conn, sul_ping);
    if (!c->wsi || c->destroyed) return;
    if (c->awaiting_pong) {
        c->ping_timed_out = 1;
        kill_wsi(c);
        return;
    }
    c->ping_due = 1;
    c->awaiting_pong = 1;
    lws_callback_on_writable(c->wsi);
    lws_sul_schedule(c->loop->ctx, 0, &c->sul_ping, ping_cb, (lws_usec_t)c->pong_timeout_ms * 1000);
}

static void peer_alive(stt_conn *c) {
    if (!c->awaiting_pong) return;
    c->awaiting_pong = 0;
    lws_sul_schedule(c->loop->ctx, 0, &c->sul_ping, ping_cb, (lws_usec_t)c->ping_interval_ms * 1000);
}

static void on_established(stt_conn *c) {
    c->established = 1;
    lws_sul_cancel(&c->sul_connect);
    if (c->ping_interval_ms && c->pong_timeout_ms)
        lws_sul_schedule(c->loop->ctx, 0, &c->sul_ping, ping_cb, (lws_usec_t)c->ping_interval_ms * 1000);
    stt_loop *l = c->loop;
    pthread_mutex_lock(&l->mu);
    if (c->state == S_CONNECTING || c->state == S_NEW) c->state = S_OPEN;
    int has_data = c->head != NULL;
    int paused = c->rx_paused;
    int abort = c->abort_requested;
    pthread_mutex_unlock(&l->mu);
    if (paused) lws_rx_flow_control(c->wsi, 0);
    if (has_data || abort) lws_callback_on_writable(c->wsi);
}

// ---------------------------------------------------------------------------------------------
// Client connect (service thread).

static struct lws_vhost *vhost_for_ca(stt_loop *l, const char *pem, size_t len);

static void start_connect(stt_conn *c) {
    stt_loop *l = c->loop;
    struct lws_vhost *vh = l->vhost;
    if (c->use_tls && c->ca_pem) {
        vh = vhost_for_ca(l, c->ca_pem, c->ca_pem_len);
        if (!vh) {
            emit_connect_failed(c, STT_FAIL_TLS, "could not load the CA certificates");
            conn_destroyed(c);
            return;
        }
    }
    struct lws_client_connect_info i;
    memset(&i, 0, sizeof i);
    i.context = l->ctx;
    i.vhost = vh;
    i.address = c->address;
    i.port = c->port;
    i.path = c->path;
    i.host = c->host;
    i.origin = NULL;
    i.protocol = NULL;
    i.alpn = "http/1.1";
    i.opaque_user_data = c;
    i.pwsi = &c->wsi;
    i.method = c->method;
    // An HTTP client wsi must be bound to our protocol, or lws swallows the response body.
    if (c->method) i.local_protocol_name = "stt-client";
    i.retry_and_idle_policy = &l->idle_policy;
    if (c->use_tls) {
        i.ssl_connection = LCCSCF_USE_SSL;
        if (c->tls_insecure)
            i.ssl_connection |= LCCSCF_ALLOW_SELFSIGNED | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK |
                                LCCSCF_ALLOW_EXPIRED | LCCSCF_ALLOW_INSECURE;
    }
    pthread_mutex_lock(&l->mu);
    c->state = S_CONNECTING;
    c->refs++;  // keep c alive across a synchronous failure inside the call
    pthread_mutex_unlock(&l->mu);
    if (c->connect_timeout_ms)
        lws_sul_schedule(l->ctx, 0, &c->sul_connect, connect_timeout_cb, (lws_usec_t)c->connect_timeout_ms * 1000);
    stt_conn *prev = tl_conn;
    tl_conn = c;
    struct lws *w = lws_client_connect_via_info(&i);
    tl_conn = prev;
    if (!w) {
        c->wsi = NULL;
        if (!c->destroyed) {
            emit_connect_failed(c, STT_FAIL_NO_RESOURCES, "the connection could not be started");
            conn_destroyed(c);
        }
    }
    conn_unref(c);
}

// ---------------------------------------------------------------------------------------------
// Commands from the dirty list (service thread, from EVENT_WAIT_CANCELLED).

static void process_dirty(stt_loop *l) {
    pthread_mutex_lock(&l->mu);
    stt_conn *list = l->dirty;
    l->dirty = NULL;
    l->wake_pending = 0;
    pthread_mutex_unlock(&l->mu);
    while (list) {
        stt_conn *c = list;
        list = c->next_dirty;
        pthread_mutex_lock(&l->mu);
        c->in_dirty = 0;
        c->next_dirty = NULL;
        int p = c->pending;
        c->pending = 0;
        int paused = c->rx_paused;
        pthread_mutex_unlock(&l->mu);
        if (!c->destroyed) {
            if (p & P_CONNECT) start_connect(c);
            if (c->wsi && !c->destroyed) {
                if ((p & P_ABORT) && !c->established) {
                    c->aborted = 1;
                    kill_wsi(c);
                } else if (c->established) {
                    if (p & P_RXFLOW) lws_rx_flow_control(c->wsi, !paused);
                    if ((p & P_ABORT) && c->local_close_code) {
                        // Already waiting for the peer's close reply: drop it now.
                        c->aborted = 1;
                        kill_wsi(c);
                    } else if (p & (P_WRITE | P_ABORT)) {
                        lws_callback_on_writable(c->wsi);
                        // The drop happens in the next WRITEABLE callback; a socket the peer no
                        // longer reads never gets one, so it is killed after a second anyway.
                        if (p & P_ABORT) lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, 1);
                    }
                }
            }
        }
        conn_unref(c);
    }
}

/// At shutdown: connections whose connect never started get their failure and destroy events.
static void fail_unstarted(stt_loop *l) {
    pthread_mutex_lock(&l->mu);
    stt_conn *list = l->dirty;
    l->dirty = NULL;
    pthread_mutex_unlock(&l->mu);
    while (list) {
        stt_conn *c = list;
        list = c->next_dirty;
        pthread_mutex_lock(&l->mu);
        c->in_dirty = 0;
        int p = c->pending;
        c->pending = 0;
        pthread_mutex_unlock(&l->mu);
        if ((p & P_CONNECT) && !c->destroyed) conn_destroyed(c);
        conn_unref(c);
    }
}

// ---------------------------------------------------------------------------------------------
// Writing (service thread, WRITEABLE).

/// Whether `m` is a whole client data message (text or binary, FIN set), which the shim frames
/// itself rather than lws_write: libwebsockets 4.1 masks payloads a byte at a time and reads
/// /dev/urandom for every frame's mask, which dominated the cost of small audio frames.
static int is_client_data(const stt_conn *c, const stt_msg *m) {
    return !c->is_server && !m->is_close && (m->flags == LWS_WRITE_BINARY || m->flags == LWS_WRITE_TEXT);
}

/// Bytes of the client frame header (opcode, length, mask key) for a payload of `len` bytes.
static size_t client_header_size(size_t len) { return 2 + (len < 126 ? 0 : len <= 0xFFFF ? 2 : 8) + 4; }

/// Builds the masked client frame of `m` at `out` (which has room for the header and the
/// payload; `out` may be `m`'s own headroom, payload masked in place). Returns the frame's size,
/// 0 if no mask could be drawn.
static size_t build_client_frame(stt_loop *l, const stt_msg *m, uint8_t *out) {
    const uint8_t *payload = m->buf + LWS_PRE;
    size_t len = m->len;
    size_t header = client_header_size(len);
    uint8_t *h = out;
    h[0] = (uint8_t)(0x80 | ((m->flags & 0xf) == LWS_WRITE_BINARY ? 0x2 : 0x1));
    if (len < 126) {
        h[1] = (uint8_t)(0x80 | len);
    } else if (len <= 0xFFFF) {
        h[1] = 0x80 | 126;
        h[2] = (uint8_t)(len >> 8);
        h[3] = (uint8_t)len;
    } else {
        h[1] = 0x80 | 127;
        for (int i = 0; i < 8; i++) h[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
    }
    if (l->mask_used + 4 > sizeof(l->mask_pool)) {
        if (RAND_bytes(l->mask_pool, (int)sizeof(l->mask_pool)) != 1) return 0;
        l->mask_used = 0;
    }
    uint8_t key[4];
    memcpy(key, l->mask_pool + l->mask_used, 4);
    l->mask_used += 4;
    memcpy(h + header - 4, key, 4);
    uint8_t *dst = h + header;
    uint64_t key64;
    memcpy(&key64, key, 4);
    memcpy((uint8_t *)&key64 + 4, key, 4);
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t word;
        memcpy(&word, payload + i, 8);
        word ^= key64;
        memcpy(dst + i, &word, 8);
    }
    for (; i < len; i++) dst[i] = payload[i] ^ key[i & 3];
    return header + len;
}

_Static_assert(LWS_PRE >= 14, "a client frame header needs 14 bytes of headroom");

/// Writes one client data frame built in the message's own LWS_PRE headroom. The bytes go out
/// through lws_write(LWS_WRITE_HTTP) (raw on a ws connection), which buffers a partial write like
/// any other. -1 on failure.
static int write_client_frame(stt_loop *l, struct lws *wsi, stt_msg *m) {
    uint8_t *frame = m->buf + LWS_PRE - client_header_size(m->len);
    size_t size = build_client_frame(l, m, frame);
    if (!size) return -1;
    return lws_write(wsi, frame, size, LWS_WRITE_HTTP) < 0 ? -1 : 0;
}

/// Writes the client frames of the list `first` (whole data messages, at most STT_BATCH_MAX
/// framed bytes together) with one lws_write: one TLS record and one system call for several
/// small audio frames instead of one each. Frees the messages. -1 on failure.
static int write_client_batch(stt_loop *l, struct lws *wsi, stt_msg *first) {
    uint8_t *out = l->batch + LWS_PRE;
    size_t used = 0;
    int failed = 0;
    for (stt_msg *m = first; m && !failed; m = m->next) {
        size_t size = build_client_frame(l, m, out + used);
        if (!size) failed = 1;
        used += size;
    }
    msgs_release(l, first);
    if (failed) return -1;
    return lws_write(wsi, out, used, LWS_WRITE_HTTP) < 0 ? -1 : 0;
}

static int on_writeable(stt_conn *c) {
    stt_loop *l = c->loop;
    struct lws *wsi = c->wsi;
    if (c->local_close_code || c->aborted) return 0;  // lws may call once more after -1
    if (c->too_big) return -1;                         // sends the 1009 close set in on_receive
    pthread_mutex_lock(&l->mu);
    int abort = c->abort_requested;
    pthread_mutex_unlock(&l->mu);
    if (abort) {
        c->aborted = 1;
        return -1;  // no close reason: TCP is dropped without a close frame
    }
    if (c->ping_due) {
        uint8_t ping[LWS_PRE + 4];
        c->ping_due = 0;
        if (lws_write(wsi, ping + LWS_PRE, 0, LWS_WRITE_PING) < 0) return -1;
        if (lws_send_pipe_choked(wsi)) {
            lws_callback_on_writable(wsi);
            return 0;
        }
    }
    for (int n = 0; n < STT_WRITES_PER_CALLBACK; n++) {
        pthread_mutex_lock(&l->mu);
        stt_msg *m = c->head;
        if (!m) {
            pthread_mutex_unlock(&l->mu);
            return 0;
        }
        if (m->is_close && m->close_code < 0 && lws_partial_buffered(wsi)) {
            // lws still holds part of an earlier frame: let it drain before the drop.
            pthread_mutex_unlock(&l->mu);
            lws_callback_on_writable(wsi);
            return 0;
        }
        c->head = m->next;
        if (!c->head) c->tail = NULL;
        if (m->is_close && m->close_code < 0) {
            // stt_conn_drop: everything before it is written; now end TCP without a close frame.
            // A half-close (FIN) rather than close(): closing with unread input would send a RST,
            // and a RST makes the peer's kernel discard data it has not read yet. The wsi is
            // killed shortly after, or when the peer closes its side.
            pthread_mutex_unlock(&l->mu);
            msg_release(l, m);
            c->aborted = 1;
            c->local_close_code = -1;  // no more writes from on_writeable
            int fd = (int)lws_get_socket_fd(wsi);
            if (fd >= 0) shutdown(fd, SHUT_WR);
            lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, 2);
            return 0;
        }
        if (m->is_close) {
            pthread_mutex_unlock(&l->mu);
            c->local_close_code = m->close_code;
            c->local_reason_len = m->len;
            memcpy(c->local_reason, m->buf + LWS_PRE, m->len);
            lws_close_reason(wsi, (enum lws_close_status)m->close_code, m->buf + LWS_PRE, m->len);
            msg_release(l, m);
            if (c->close_timeout_ms)
                lws_sul_schedule(l->ctx, 0, &c->sul_connect, close_timeout_cb, (lws_usec_t)c->close_timeout_ms * 1000);
            return -1;
        }
        c->queued -= m->len;
        // Small client data frames queued together go out in one write (see write_client_batch).
        stt_msg *batch = NULL;
        if (is_client_data(c, m) && client_header_size(m->len) + m->len <= STT_BATCH_MAX) {
            size_t used = client_header_size(m->len) + m->len;
            stt_msg *last = m;
            stt_msg *next = c->head;
            while (next && is_client_data(c, next) &&
                   used + client_header_size(next->len) + next->len <= STT_BATCH_MAX) {
                used += client_header_size(next->len) + next->len;
                c->queued -= next->len;
                last->next = next;
                last = next;
                next = next->next;
            }
            last->next = NULL;
            c->head = next;
            if (!c->head) c->tail = NULL;
            batch = m;
        }
        int drained = 0;
        if (c->drain_wanted && c->queued <= c->drain_limit) {
            c->drain_wanted = 0;
            drained = 1;
        }
        int more = c->head != NULL;
        pthread_mutex_unlock(&l->mu);
        int r;
        if (batch && batch->next) {
            r = write_client_batch(l, wsi, batch);  // frees the messages
        } else {
            // One message (a batch of one is `m` itself).
            r = is_client_data(c, m) ? write_client_frame(l, wsi, m)
                                     : lws_write(wsi, m->buf + LWS_PRE, m->len, (enum lws_write_protocol)m->flags);
            msg_release(l, m);
        }
        if (drained) {
            stt_event ev = {0};
            ev.kind = STT_EV_DRAINED;
            emit(c, &ev);
        }
        if (r < 0) return -1;
        if (!more) return 0;
        if (lws_send_pipe_choked(wsi)) break;
    }
    lws_callback_on_writable(wsi);
    return 0;
}

// ---------------------------------------------------------------------------------------------
// Reading (service thread, RECEIVE).

/// Appends to the connection's receive buffer, growing it geometrically. -1 when out of memory.
static int rx_append(stt_conn *c, const uint8_t *in, size_t len) {
    if (c->rx_len + len > c->rx_cap) {
        size_t cap = c->rx_cap ? c->rx_cap : 4096;
        while (cap < c->rx_len + len) cap *= 2;
        uint8_t *n = realloc(c->rx, cap);
        if (!n) return -1;
        c->rx = n;
        c->rx_cap = cap;
    }
    if (len) memcpy(c->rx + c->rx_len, in, len);
    c->rx_len += len;
    return 0;
}

static int on_receive(stt_conn *c, const uint8_t *in, size_t len) {
    struct lws *wsi = c->wsi;
    peer_alive(c);
    if (lws_is_first_fragment(wsi)) {
        c->rx_len = 0;
        c->rx_binary = lws_frame_is_binary(wsi);
        pthread_mutex_lock(&c->loop->mu);
        c->rx_max = c->max_message;
        pthread_mutex_unlock(&c->loop->mu);
    }
    if (c->too_big) return 0;  // the rest of an oversized message: discarded while closing
    if (c->rx_len + len > c->rx_max) {
        // Closed with 1009 from the next WRITEABLE callback, not from here: returning -1 inside
        // RECEIVE while TLS still holds decrypted input makes libwebsockets 4.1 go on writing that
        // input into the freed connection (heap corruption, seen with a 2 MiB frame over wss).
        static const char reason[] = "message too big";
        c->too_big = 1;
        c->rx_len = 0;
        lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, (unsigned char *)reason, sizeof reason - 1);
        lws_rx_flow_control(wsi, 0);
        lws_callback_on_writable(wsi);
        return 0;
    }
    if (rx_append(c, in, len)) return -1;
    if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
        stt_event ev = {0};
        ev.kind = STT_EV_MESSAGE;
        ev.binary = c->rx_binary;
        ev.data = c->rx;
        ev.len = c->rx_len;
        emit(c, &ev);
        c->rx_len = 0;
        if (c->rx_cap > (256u << 10)) {  // give back memory after a large message
            free(c->rx);
            c->rx = NULL;
            c->rx_cap = 0;
        }
    }
    return 0;
}

static void on_peer_close(stt_conn *c, const uint8_t *in, size_t len) {
    c->peer_closed = 1;
    c->peer_first = !c->local_close_code;
    c->peer_code = len >= 2 ? (in[0] << 8) | in[1] : 1005;
    size_t n = len > 2 ? len - 2 : 0;
    if (n > sizeof c->peer_reason) n = sizeof c->peer_reason;
    if (n) memcpy(c->peer_reason, in + 2, n);
    c->peer_reason_len = n;
}

// ---------------------------------------------------------------------------------------------
// Server handshake (service thread).

static void append_kv(char **buf, size_t *len, size_t *cap, const char *k, size_t kl, const char *v, size_t vl) {
    size_t need = *len + kl + vl + 2;
    if (need > *cap) {
        size_t nc = *cap ? *cap : 1024;
        while (nc < need) nc *= 2;
        char *n = realloc(*buf, nc);
        if (!n) return;
        *buf = n;
        *cap = nc;
    }
    for (size_t i = 0; i < kl; i++) {
        char ch = k[i];
        (*buf)[(*len)++] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
    }
    (*buf)[(*len)++] = 0;
    memcpy(*buf + *len, v, vl);
    *len += vl;
    (*buf)[(*len)++] = 0;
}

/// Collects the request's headers ("name\0value\0") and query arguments ("k=v\0") from the
/// header table. The caller frees both.
static void collect_request(stt_loop *l, struct lws *wsi, char **hdrs_out, size_t *hlen_out, char **query_out,
                            size_t *qlen_out) {
    char *hdrs = NULL, *query = NULL;
    size_t hlen = 0, hcap = 0, qlen = 0, qcap = 0;
    char val[8192];
    for (int t = 0; t < WSI_TOKEN_COUNT; t++) {
        const char *name = (const char *)lws_token_to_string((enum lws_token_indexes)t);
        if (!name || name[0] == ':' || t == WSI_TOKEN_HTTP_URI_ARGS) continue;
        size_t nl = strlen(name);
        if (nl < 2 || name[nl - 1] != ':') continue;
        if (lws_hdr_total_length(wsi, (enum lws_token_indexes)t) <= 0) continue;
        int n = lws_hdr_copy(wsi, val, sizeof val, (enum lws_token_indexes)t);
        if (n < 0) continue;
        append_kv(&hdrs, &hlen, &hcap, name, nl - 1, val, (size_t)n);
    }
    for (size_t off = 0; l->custom_headers && off < l->custom_headers_len;) {
        const char *name = l->custom_headers + off;
        size_t nl = strlen(name);
        off += nl + 1;
        char withcolon[256];
        if (!nl || nl + 2 > sizeof withcolon) continue;
        memcpy(withcolon, name, nl);
        withcolon[nl] = ':';
        withcolon[nl + 1] = 0;
        if (lws_hdr_custom_length(wsi, withcolon, (int)nl + 1) < 0) continue;
        int n = lws_hdr_custom_copy(wsi, val, sizeof val, withcolon, (int)nl + 1);
        if (n < 0) continue;
        append_kv(&hdrs, &hlen, &hcap, name, nl, val, (size_t)n);
    }
    for (int f = 0;; f++) {
        int n = lws_hdr_copy_fragment(wsi, val, sizeof val, WSI_TOKEN_HTTP_URI_ARGS, f);
        if (n < 0) break;
        if (qlen + (size_t)n + 1 > qcap) {
            size_t nc = qcap ? qcap * 2 : 1024;
            while (nc < qlen + (size_t)n + 1) nc *= 2;
            char *q = realloc(query, nc);
            if (!q) break;
            query = q;
            qcap = nc;
        }
        memcpy(query + qlen, val, (size_t)n);
        qlen += (size_t)n;
        query[qlen++] = 0;
    }
    *hdrs_out = hdrs;
    *hlen_out = hlen;
    *query_out = query;
    *qlen_out = qlen;
}

static int on_confirm_upgrade(stt_loop *l, struct lws *wsi) {
    char *hdrs = NULL, *query = NULL;
    size_t hlen = 0, qlen = 0;
    collect_request(l, wsi, &hdrs, &hlen, &query, &qlen);
    char path[2048] = "";
    lws_hdr_copy(wsi, path, sizeof path, WSI_TOKEN_GET_URI);
    stt_handshake hs;
    hs.path = path;
    hs.query = query ? query : "";
    hs.query_len = qlen;
    hs.headers = hdrs ? hdrs : "";
    hs.headers_len = hlen;
    void *user = NULL;
    int status = l->opts.on_handshake ? l->opts.on_handshake(l->opts.server_user, &hs, &user) : 0;
    free(hdrs);
    free(query);
    if (status) {
        lws_return_http_status(wsi, (unsigned int)status, NULL);
        return 1;
    }
    // The connection exists from here; it is handed to Swift when established. (`user` of the
    // callback is still NULL here: the protocol's per-session data comes later.)
    stt_conn *c = conn_new(l, user, 2);  // one for the shim, one for Swift (given at ESTABLISHED)
    if (!c) return -1;
    c->wsi = wsi;
    c->is_server = 1;
    c->close_timeout_ms = 5000;
    lws_set_opaque_user_data(wsi, c);
    return 0;
}

static void on_server_established(stt_conn *c) {
    c->established = 1;
    c->handed_over = 1;
    // Open before Swift hears of it: its handler may send and close at once.
    pthread_mutex_lock(&c->loop->mu);
    c->state = S_OPEN;
    pthread_mutex_unlock(&c->loop->mu);
    stt_event ev = {0};
    ev.kind = STT_EV_ESTABLISHED;
    ev.status = 101;
    ev.conn = c;
    emit(c, &ev);
}

// ---------------------------------------------------------------------------------------------
// Plain HTTP, server side (service thread).

static const struct {
    enum lws_token_indexes token;
    const char *method;
} http_methods[] = {
    {WSI_TOKEN_GET_URI, "GET"},       {WSI_TOKEN_POST_URI, "POST"},       {WSI_TOKEN_PUT_URI, "PUT"},
    {WSI_TOKEN_DELETE_URI, "DELETE"}, {WSI_TOKEN_PATCH_URI, "PATCH"},     {WSI_TOKEN_OPTIONS_URI, "OPTIONS"},
    {WSI_TOKEN_HEAD_URI, "HEAD"},
};

static void deliver_http_request(stt_conn *c) {
    stt_loop *l = c->loop;
    stt_http_request req;
    req.method = c->req_method ? c->req_method : "GET";
    req.path = c->req_path ? c->req_path : "/";
    req.query = c->req_query ? c->req_query : "";
    req.query_len = c->req_query_len;
    req.headers = c->req_headers ? c->req_headers : "";
    req.headers_len = c->req_headers_len;
    req.body = c->rx;
    req.body_len = c->rx_len;
    c->handed_over = 1;
    l->opts.on_http(l->opts.server_user, c, &req);  // Swift now owns one reference
}

static int on_http_request(stt_loop *l, struct lws *wsi, const char *uri) {
    if (!l->opts.on_http) {
        if (lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL)) return -1;
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    }
    stt_conn *c = conn_new(l, NULL, 2);  // one for the shim, one for Swift (given with the request)
    if (!c) return -1;
    c->wsi = wsi;
    c->is_server = 1;
    c->is_http = 1;
    c->established = 1;
    c->fail_reported = 1;
    c->closed_reported = 1;
    const char *method = "GET";
    for (size_t i = 0; i < sizeof http_methods / sizeof http_methods[0]; i++)
        if (lws_hdr_total_length(wsi, http_methods[i].token) > 0) {
            method = http_methods[i].method;
            break;
        }
    c->req_method = dup_bytes(method, strlen(method));
    c->req_path = dup_bytes(uri ? uri : "/", uri ? strlen(uri) : 1);
    collect_request(l, wsi, &c->req_headers, &c->req_headers_len, &c->req_query, &c->req_query_len);
    pthread_mutex_lock(&l->mu);
    c->state = S_OPEN;
    pthread_mutex_unlock(&l->mu);
    lws_set_opaque_user_data(wsi, c);
    char length[32] = "";
    int has_body = lws_hdr_copy(wsi, length, sizeof length, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0 && atol(length) > 0;
    if (!has_body) {
        c->http_done = 1;
        deliver_http_request(c);
    }
    return 0;
}

static int on_http_body(stt_conn *c, const uint8_t *in, size_t len) {
    if (c->rx_len + len > (1u << 20)) {
        lws_return_http_status(c->wsi, 413, NULL);
        return -1;
    }
    if (rx_append(c, in, len)) return -1;
    return 0;
}

static int on_http_writeable(stt_conn *c) {
    stt_loop *l = c->loop;
    struct lws *wsi = c->wsi;
    pthread_mutex_lock(&l->mu);
    if (!c->resp_ready) {
        pthread_mutex_unlock(&l->mu);
        return 0;
    }
    int status = c->resp_status;
    char *headers = c->resp_headers;
    size_t headers_len = c->resp_headers_len;
    uint8_t *body = c->resp_body;
    size_t body_len = c->resp_body_len;
    c->resp_headers = NULL;
    c->resp_body = NULL;
    c->resp_ready = 0;
    pthread_mutex_unlock(&l->mu);

    const char *content_type = "application/json";
    for (size_t off = 0; headers && off < headers_len;) {
        const char *name = headers + off;
        const char *value = name + strlen(name) + 1;
        off += strlen(name) + strlen(value) + 2;
        if (!strcasecmp(name, "content-type")) content_type = value;
    }
    unsigned char buf[LWS_PRE + 4096];
    unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf - 1;
    int bad = lws_add_http_common_headers(wsi, (unsigned int)status, content_type, body_len, &p, end);
    for (size_t off = 0; !bad && headers && off < headers_len;) {
        const char *name = headers + off;
        const char *value = name + strlen(name) + 1;
        off += strlen(name) + strlen(value) + 2;
        if (!strcasecmp(name, "content-type")) continue;
        char withcolon[256];
        size_t nl = strlen(name);
        if (nl + 2 > sizeof withcolon) continue;
        memcpy(withcolon, name, nl);
        withcolon[nl] = ':';
        withcolon[nl + 1] = 0;
        bad = lws_add_http_header_by_name(wsi, (const unsigned char *)withcolon, (const unsigned char *)value,
                                          (int)strlen(value), &p, end);
    }
    if (!bad) bad = lws_finalize_write_http_header(wsi, start, &p, end);
    if (!bad && body_len) {
        uint8_t *out = malloc(LWS_PRE + body_len);
        if (!out) bad = 1;
        else {
            memcpy(out + LWS_PRE, body, body_len);
            bad = lws_write(wsi, out + LWS_PRE, body_len, LWS_WRITE_HTTP_FINAL) < 0;
            free(out);
        }
    }
    free(headers);
    free(body);
    // The transaction is over: this conn is done; the wsi may serve another request.
    lws_set_opaque_user_data(wsi, NULL);
    conn_destroyed(c);
    if (bad) return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

// ---------------------------------------------------------------------------------------------
// Plain HTTP, client side (service thread).

static int on_client_http_read(stt_conn *c, const uint8_t *in, size_t len) {
    if (c->rx_len + len > c->max_message) return -1;
    return on_http_body(c, in, len);
}

static void on_client_http_completed(stt_conn *c) {
    if (c->http_done) return;
    c->http_done = 1;
    c->fail_reported = 1;  // the outcome is this response, not a connect failure
    stt_event ev = {0};
    ev.kind = STT_EV_HTTP_RESPONSE;
    ev.status = c->http_status;
    ev.data = c->rx;
    ev.len = c->rx_len;
    emit(c, &ev);
    kill_wsi(c);  // no keep-alive pool: one request per connection
}

// ---------------------------------------------------------------------------------------------
// The protocol callback.

/// Whether `dir` holds OpenSSL's hashed certificate links ("1a2b3c4d.0"), as
/// update-ca-certificates makes in /etc/ssl/certs.
static int has_hashed_certificates(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int found = 0;
    struct dirent *e;
    while (!found && (e = readdir(d))) {
        const char *n = e->d_name;
        size_t len = strlen(n);
        if (len < 10 || n[8] != '.') continue;
        found = 1;
        for (int i = 0; i < 8; i++)
            if (!isxdigit((unsigned char)n[i])) found = 0;
    }
    closedir(d);
    return found;
}

/// Whether SSL_CERT_FILE is unset or names the system's default bundle (which
/// update-ca-certificates builds from the same certificates as the hashed directory).
static int cert_file_is_default(void) {
    const char *file = getenv(X509_get_default_cert_file_env());
    if (!file) return 1;
    char given[PATH_MAX], standard[PATH_MAX];
    return realpath(file, given) && realpath(X509_get_default_cert_file(), standard) && !strcmp(given, standard);
}

/// Trusts the system's root certificates. SSL_CTX_set_default_verify_paths parses the whole
/// bundle file (about 140 certificates, ~37 ms of CPU with OpenSSL 3) for every TLS context;
/// the hashed directory gives the same roots, each read only when a chain needs it. The bundle
/// is still loaded when SSL_CERT_FILE names another file or the directory has no hashed links.
/// (The vhosts are created with LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS, so lws does not load it.)
static void trust_system_roots(SSL_CTX *ctx) {
    const char *dir = getenv(X509_get_default_cert_dir_env());
    if (!dir) dir = X509_get_default_cert_dir();
    X509_LOOKUP *lookup = NULL;
    if (cert_file_is_default() && strchr(dir, ':') == NULL && has_hashed_certificates(dir))
        lookup = X509_STORE_add_lookup(SSL_CTX_get_cert_store(ctx), X509_LOOKUP_hash_dir());
    if (!lookup || X509_LOOKUP_add_dir(lookup, dir, X509_FILETYPE_PEM) != 1) SSL_CTX_set_default_verify_paths(ctx);
    ERR_clear_error();
}

static stt_conn *conn_of(struct lws *wsi) { return wsi ? (stt_conn *)lws_get_opaque_user_data(wsi) : NULL; }

static int stt_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len) {
    stt_loop *l = tl_loop;
    stt_conn *c = NULL;
    int ret = 0;
    switch (reason) {
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        // Sent once per protocol per vhost with a fake wsi: act on the main vhost only.
        if (l && lws_get_vhost(wsi) == l->vhost) process_dirty(l);
        return 0;  // never nonzero here

    case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_CLIENT_VERIFY_CERTS: {
        SSL_CTX *ctx = (SSL_CTX *)user;
        trust_system_roots(ctx);
        // Idle connections give their TLS record buffers back (tens of KiB each).
        SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
        if (l && l->pending_ca) {
            BIO *bio = BIO_new_mem_buf(l->pending_ca, (int)l->pending_ca_len);
            X509_STORE *store = SSL_CTX_get_cert_store(ctx);
            X509 *x;
            int added = 0;
            while (bio && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
                if (X509_STORE_add_cert(store, x) == 1) added++;
                X509_free(x);
            }
            ERR_clear_error();
            if (bio) BIO_free(bio);
            if (!added) l->pending_ca = NULL;  // tells vhost_for_ca the PEM was unusable
        }
        return 0;
    }

    case LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION:
        // user: X509_STORE_CTX*, len: preverify_ok. Called once per chain depth.
        c = conn_of(wsi);
        if (c && !len) {
            if (c->tls_insecure) {
                // Explicitly insecure connection: overrule every verification error.
                X509_STORE_CTX_set_error((X509_STORE_CTX *)user, X509_V_OK);
            } else if (!c->tls_error) {
                c->tls_error = X509_STORE_CTX_get_error((X509_STORE_CTX *)user);
            }
        }
        return 0;

    default:
        break;
    }

    c = conn_of(wsi);
    stt_conn *prev = tl_conn;
    tl_conn = c;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
        unsigned char **p = (unsigned char **)in, *end = *p + len;
        if (c && c->headers) {
            for (size_t off = 0; off < c->headers_len;) {
                const char *name = c->headers + off;
                size_t nl = strlen(name);
                const char *value = name + nl + 1;
                size_t vl = strlen(value);
                off += nl + vl + 2;
                char withcolon[256];
                if (nl + 2 > sizeof withcolon) continue;
                memcpy(withcolon, name, nl);
                withcolon[nl] = ':';
                withcolon[nl + 1] = 0;
                if (lws_add_http_header_by_name(wsi, (const unsigned char *)withcolon, (const unsigned char *)value,
                                                (int)vl, p, end)) {
                    ret = -1;
                    break;
                }
            }
        }
        if (c && c->method && c->body && !ret) {
            char length[32];
            int n = snprintf(length, sizeof length, "%zu", c->body_len);
            if (lws_add_http_header_by_name(wsi, (const unsigned char *)"content-length:", (const unsigned char *)length,
                                            n, p, end)) {
                ret = -1;
                break;
            }
            c->body_pending = 1;
            lws_client_http_body_pending(wsi, 1);
            lws_callback_on_writable(wsi);
        }
        break;
    }

    case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
        if (c) c->http_status = (int)lws_http_client_http_response(wsi);
        break;

    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (c) {
            const char *s = in ? (const char *)in : "";
            int kind = STT_FAIL_OTHER;
            if (!c->method && c->http_status && c->http_status != 101) kind = STT_FAIL_HTTP_STATUS;
            else if (c->tls_error || strstr(s, "SSL") || strstr(s, "ssl") || strstr(s, "tls")) kind = STT_FAIL_TLS;
            else if (strstr(s, "nable to connect") || strstr(s, "refused")) kind = STT_FAIL_REFUSED;
            emit_connect_failed(c, kind, s);
        }
        break;

    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        if (c) {
            c->http_status = 101;
            on_established(c);
            stt_event ev = {0};
            ev.kind = STT_EV_ESTABLISHED;
            ev.status = 101;
            emit(c, &ev);
        }
        break;

    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        if (l) ret = on_confirm_upgrade(l, wsi);
        break;

    case LWS_CALLBACK_ESTABLISHED:
        if (c) {
            on_server_established(c);
            on_established(c);
        }
        break;

    case LWS_CALLBACK_HTTP:
        if (l) ret = on_http_request(l, wsi, (const char *)in);
        break;

    case LWS_CALLBACK_HTTP_BODY:
        if (c && c->is_http) ret = on_http_body(c, (const uint8_t *)in, len);
        break;

    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (c && c->is_http && !c->http_done) {
            c->http_done = 1;
            deliver_http_request(c);
        }
        break;

    case LWS_CALLBACK_HTTP_WRITEABLE:
        if (c && c->is_http) ret = on_http_writeable(c);
        break;

    case LWS_CALLBACK_CLIENT_HTTP_WRITEABLE:
        if (c && c->body_pending) {
            c->body_pending = 0;
            uint8_t *out = malloc(LWS_PRE + c->body_len + 1);
            if (!out) {
                ret = -1;
                break;
            }
            if (c->body_len) memcpy(out + LWS_PRE, c->body, c->body_len);
            int n = lws_write(wsi, out + LWS_PRE, c->body_len, LWS_WRITE_HTTP_FINAL);
            free(out);
            lws_client_http_body_pending(wsi, 0);
            if (n < 0) ret = -1;
        }
        break;

    case LWS_CALLBACK_RECEIVE_CLIENT_HTTP: {
        char buffer[LWS_PRE + 4096];
        char *px = buffer + LWS_PRE;
        int lenx = (int)sizeof buffer - LWS_PRE;
        if (lws_http_client_read(wsi, &px, &lenx) < 0) ret = -1;
        break;
    }

    case LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ:
        if (c) ret = on_client_http_read(c, (const uint8_t *)in, len);
        break;

    case LWS_CALLBACK_COMPLETED_CLIENT_HTTP:
        if (c) on_client_http_completed(c);
        break;

    case LWS_CALLBACK_CLIENT_RECEIVE:
    case LWS_CALLBACK_RECEIVE:
        if (c) ret = on_receive(c, (const uint8_t *)in, len);
        break;

    case LWS_CALLBACK_CLIENT_RECEIVE_PONG:
    case LWS_CALLBACK_RECEIVE_PONG:
        if (c) peer_alive(c);
        break;

    case LWS_CALLBACK_CLIENT_WRITEABLE:
    case LWS_CALLBACK_SERVER_WRITEABLE:
        if (c) ret = on_writeable(c);
        break;

    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        if (c) on_peer_close(c, (const uint8_t *)in, len);
        break;

    case LWS_CALLBACK_CLIENT_CLOSED:
    case LWS_CALLBACK_CLOSED:
        if (c) emit_closed(c);
        break;

    case LWS_CALLBACK_WSI_DESTROY:
        if (c) {
            lws_set_opaque_user_data(wsi, NULL);
            // A server connection accepted at the handshake but never established: Swift never
            // received its reference, so drop that one too.
            int orphan = c->is_server && !c->handed_over;
            if (orphan) conn_unref(c);
            conn_destroyed(c);
        }
        break;

    default:
        break;
    }
    tl_conn = prev;
    return ret;
}

static const struct lws_protocols stt_client_protocols[] = {
    {"stt-client", stt_callback, 0, STT_FRAME_MAX, 0, NULL, STT_FRAME_MAX},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static const struct lws_protocols stt_server_protocols[] = {
    {"stt-server", stt_callback, 0, STT_FRAME_MAX, 0, NULL, STT_FRAME_MAX},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static struct lws_vhost *vhost_for_ca(stt_loop *l, const char *pem, size_t len) {
    for (int i = 0; i < l->nvhosts; i++)
        if (l->vhosts[i].len == len && !memcmp(l->vhosts[i].pem, pem, len)) return l->vhosts[i].vhost;
    stt_vhost_entry *nv = realloc(l->vhosts, sizeof *nv * (size_t)(l->nvhosts + 1));
    if (!nv) return NULL;
    l->vhosts = nv;
    char name[32];
    snprintf(name, sizeof name, "stt-client-%d", l->nvhosts + 1);
    struct lws_context_creation_info vi;
    memset(&vi, 0, sizeof vi);
    vi.port = CONTEXT_PORT_NO_LISTEN;
    vi.protocols = stt_client_protocols;
    vi.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS;
    vi.vhost_name = name;
    // lws shares one client SSL_CTX between vhosts whose TLS settings hash the same, and the
    // hash includes ca_mem: giving the PEM here keeps this vhost's trust store its own (the
    // default vhost must not learn these CAs). lws loads the first certificate; the
    // LOAD_EXTRA_CLIENT_VERIFY_CERTS callback adds all of them plus the system roots.
    vi.client_ssl_ca_mem = pem;
    vi.client_ssl_ca_mem_len = (unsigned int)len;
    l->pending_ca = pem;
    l->pending_ca_len = len;
    struct lws_vhost *vh = lws_create_vhost(l->ctx, &vi);
    int usable = l->pending_ca != NULL;
    l->pending_ca = NULL;
    if (!vh) return NULL;
    if (!usable) {
        lws_vhost_destroy(vh);
        return NULL;
    }
    nv[l->nvhosts].pem = dup_bytes(pem, len);
    nv[l->nvhosts].len = len;
    nv[l->nvhosts].vhost = vh;
    l->nvhosts++;
    return vh;
}

// ---------------------------------------------------------------------------------------------
// Loop lifecycle.

static void *service_main(void *arg) {
    stt_loop *l = arg;
    tl_loop = l;
    while (!atomic_load(&l->stop)) {
        if (lws_service(l->ctx, 0) < 0) break;
        // Jobs queued for this thread (see on_idle) and commands queued on it (by those jobs, or
        // by Swift code inside the pass's callbacks) woke no poll: run and process them now, a
        // few rounds at most, then let the sockets be serviced without waiting in the poll.
        for (int round = 0;; round++) {
            int more = l->opts.on_idle ? l->opts.on_idle(l->opts.idle_user) : 0;
            pthread_mutex_lock(&l->mu);
            int dirty = l->dirty != NULL;
            pthread_mutex_unlock(&l->mu);
            if (dirty) process_dirty(l);
            if (!more && !dirty) break;
            if (round == 3) {
                lws_cancel_service(l->ctx);
                break;
            }
        }
    }
    l->shutting_down = 1;
    pthread_mutex_lock(&l->mu);
    l->dead = 1;
    pthread_mutex_unlock(&l->mu);
    fail_unstarted(l);
    lws_context_destroy(l->ctx);
    l->ctx = NULL;
    tl_loop = NULL;
    return NULL;
}

stt_loop *stt_loop_create(const stt_loop_options *o, char *error, size_t error_len) {
    pthread_once(&log_once, install_log);
    stt_loop *l = calloc(1, sizeof *l);
    if (!l) {
        snprintf(error, error_len, "out of memory");
        return NULL;
    }
    atomic_init(&l->refs, 1);
    atomic_init(&l->stop, 0);
    pthread_mutex_init(&l->mu, NULL);
    l->mask_used = sizeof(l->mask_pool);  // no masks drawn yet: the first frame draws a block
    l->opts = *o;
    l->opts.server_iface = NULL;
    l->opts.server_cert_path = NULL;
    l->opts.server_key_path = NULL;
    if (o->server_custom_headers && o->server_custom_headers_len) {
        l->custom_headers = dup_bytes(o->server_custom_headers, o->server_custom_headers_len);
        l->custom_headers_len = o->server_custom_headers_len;
    }
    l->opts.server_custom_headers = NULL;
    // lws' own idle ping/hangup is off: keepalive is ours (ping_cb). A zero hangup time makes
    // lws skip its validity timer altogether; any other value re-inserts that timer into the
    // loop's sorted timer list (a walk over every connection's timers) each time data arrives.
    l->idle_policy.secs_since_valid_ping = 0;
    l->idle_policy.secs_since_valid_hangup = 0;

    pthread_mutex_lock(&ssl_init_mu);
    int first = !ssl_init_done;
    ssl_init_done = 1;

    struct lws_context_creation_info ci;
    memset(&ci, 0, sizeof ci);
    ci.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | (first ? LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT : 0);
    ci.port = CONTEXT_PORT_NO_LISTEN;
    ci.fd_limit_per_thread = 0;
    ci.timeout_secs = 300;  // our own timers decide; lws' defaults must not fire first
    ci.pt_serv_buf_size = 32768;
    ci.user = l;

    stt_loop *prev = tl_loop;
    tl_loop = l;
    l->ctx = lws_create_context(&ci);
    if (!l->ctx) {
        if (first) ssl_init_done = 0;
        pthread_mutex_unlock(&ssl_init_mu);
        tl_loop = prev;
        snprintf(error, error_len, "libwebsockets context creation failed");
        loop_unref(l);
        return NULL;
    }
    struct lws_context_creation_info vi;
    memset(&vi, 0, sizeof vi);
    vi.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS;
    if (o->server) {
        vi.port = o->server_port;
        vi.iface = o->server_iface;
        vi.protocols = stt_server_protocols;
        vi.vhost_name = "stt-server";
        vi.ssl_cert_filepath = o->server_cert_path;
        vi.ssl_private_key_filepath = o->server_key_path;
    } else {
        vi.port = CONTEXT_PORT_NO_LISTEN;
        vi.protocols = stt_client_protocols;
        vi.vhost_name = "stt-client";
    }
    l->vhost = lws_create_vhost(l->ctx, &vi);
    pthread_mutex_unlock(&ssl_init_mu);
    if (!l->vhost) {
        snprintf(error, error_len, o->server ? "could not listen (address in use, or bad certificate/key)"
                                             : "could not create the client vhost");
        lws_context_destroy(l->ctx);
            tl_loop = prev;
        loop_unref(l);
        return NULL;
    }
    tl_loop = prev;
    if (o->server) l->port = lws_get_vhost_listen_port(l->vhost);
    if (pthread_create(&l->thread, NULL, service_main, l)) {
        snprintf(error, error_len, "could not start the service thread");
        tl_loop = l;
        lws_context_destroy(l->ctx);
            tl_loop = prev;
        loop_unref(l);
        return NULL;
    }
    return l;
}

int stt_loop_port(const stt_loop *l) { return l->port; }

int stt_loop_connection_count(stt_loop *l) {
    pthread_mutex_lock(&l->mu);
    int n = l->conn_count;
    pthread_mutex_unlock(&l->mu);
    return n;
}

void stt_loop_destroy(stt_loop *l) {
    atomic_store(&l->stop, 1);
    pthread_mutex_lock(&l->mu);
    if (!l->dead) lws_cancel_service(l->ctx);
    pthread_mutex_unlock(&l->mu);
    pthread_join(l->thread, NULL);
    loop_unref(l);
}

int stt_loop_wake(stt_loop *l) {
    pthread_mutex_lock(&l->mu);
    int alive = !l->dead && !atomic_load(&l->stop);
    if (!l->dead) lws_cancel_service(l->ctx);
    pthread_mutex_unlock(&l->mu);
    return alive;
}

int stt_loop_is_service_thread(const stt_loop *l) { return tl_loop == l; }

// ---------------------------------------------------------------------------------------------
// Commands (any thread).

static void wake(stt_loop *l, int need) {
    // On the service thread (a Swift job running between two passes, see on_idle) the dirty
    // list is processed right after the jobs; waking the poll would cost two syscalls per command.
    if (need && !l->dead && tl_loop != l) lws_cancel_service(l->ctx);
}

stt_conn *stt_conn_connect(stt_loop *l, const stt_connect_params *p, void *user) {
    stt_conn *c = conn_new(l, user, 2);  // one for the shim (until DESTROYED), one for the caller
    if (!c) return NULL;
    c->address = dup_bytes(p->address, strlen(p->address));
    c->host = dup_bytes(p->host, strlen(p->host));
    c->path = dup_bytes(p->path, strlen(p->path));
    if (p->headers && p->headers_len) {
        c->headers = dup_bytes(p->headers, p->headers_len);
        c->headers_len = p->headers_len;
    }
    if (p->ca_pem && p->ca_pem_len) {
        c->ca_pem = dup_bytes(p->ca_pem, p->ca_pem_len);
        c->ca_pem_len = p->ca_pem_len;
    }
    c->port = p->port;
    c->use_tls = p->use_tls;
    c->tls_insecure = p->tls_insecure;
    c->connect_timeout_ms = p->connect_timeout_ms;
    c->close_timeout_ms = p->close_timeout_ms;
    if (p->method) {
        c->method = dup_bytes(p->method, strlen(p->method));
        if (p->body_len || !strcmp(p->method, "POST") || !strcmp(p->method, "PUT") || !strcmp(p->method, "PATCH")) {
            c->body = malloc(p->body_len + 1);
            if (c->body && p->body_len) memcpy(c->body, p->body, p->body_len);
            c->body_len = p->body_len;
        }
    }
    c->ping_interval_ms = p->ping_interval_ms;
    c->pong_timeout_ms = p->pong_timeout_ms;
    if (p->max_message_size) c->max_message = p->max_message_size;
    pthread_mutex_lock(&l->mu);
    if (l->dead) {
        l->conn_count--;
        pthread_mutex_unlock(&l->mu);
        conn_free(c);  // the shim never saw it; no event will be sent
        return NULL;
    }
    int need = mark_dirty_locked(c, P_CONNECT);
    wake(l, need);
    pthread_mutex_unlock(&l->mu);
    return c;
}

int stt_conn_send(stt_conn *c, const void *data, size_t len, int binary, int fragments, size_t limit) {
    stt_loop *l = c->loop;
    if (fragments < 1) fragments = 1;
    // Split into frames: at most STT_FRAME_MAX bytes each, and at least `fragments` frames.
    size_t nframes = (len + STT_FRAME_MAX - 1) / STT_FRAME_MAX;
    if (nframes < (size_t)fragments) nframes = (size_t)fragments;
    if (nframes < 1) nframes = 1;
    size_t per = len / nframes, extra = len % nframes;
    stt_msg *first = NULL, *last = NULL;
    const uint8_t *src = data;
    int base = binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT;
    for (size_t i = 0; i < nframes; i++) {
        size_t n = per + (i < extra ? 1 : 0);
        stt_msg *m = msg_new(l, n);
        if (!m) {
            msgs_release(l, first);
            return -1;
        }
        m->flags = nframes == 1 ? base : lws_write_ws_flags(base, i == 0, i == nframes - 1);
        if (n) memcpy(m->buf + LWS_PRE, src, n);
        src += n;
        if (last) last->next = m;
        else first = m;
        last = m;
    }
    pthread_mutex_lock(&l->mu);
    if (c->state >= S_CLOSING || l->dead) {
        pthread_mutex_unlock(&l->mu);
        msgs_release(l, first);
        return -1;
    }
    int was_empty = c->head == NULL;
    if (c->tail) c->tail->next = first;
    else c->head = first;
    c->tail = last;
    c->queued += len;
    int over = 0;
    if (c->queued > limit) {
        // Wake the sender when half the limit has drained, not as soon as one frame has gone:
        // a sender that outruns the socket then wakes once per limit/2 bytes, not once per frame.
        over = 1;
        if (!c->drain_wanted || limit / 2 < c->drain_limit) c->drain_limit = limit / 2;
        c->drain_wanted = 1;
    }
    int need = 0;
    if (was_empty && c->state == S_OPEN) need = mark_dirty_locked(c, P_WRITE);
    wake(l, need);
    pthread_mutex_unlock(&l->mu);
    return over;
}

int stt_conn_wait_drain(stt_conn *c, size_t limit) {
    pthread_mutex_lock(&c->loop->mu);
    int wait = 0;
    if (c->state < S_CLOSING && !c->loop->dead && c->queued > limit) {
        if (!c->drain_wanted || limit / 2 < c->drain_limit) c->drain_limit = limit / 2;
        c->drain_wanted = 1;
        wait = 1;
    } else if (c->state >= S_CLOSING || c->loop->dead) {
        wait = -1;
    }
    pthread_mutex_unlock(&c->loop->mu);
    return wait;
}

size_t stt_conn_queued_bytes(stt_conn *c) {
    pthread_mutex_lock(&c->loop->mu);
    size_t q = c->queued;
    pthread_mutex_unlock(&c->loop->mu);
    return q;
}

int stt_conn_close(stt_conn *c, int code, const char *reason, size_t reason_len) {
    stt_loop *l = c->loop;
    if (reason_len > 123) reason_len = 123;
    stt_msg *m = msg_new(l, reason_len + 1);
    if (!m) return -1;
    m->len = reason_len;
    m->is_close = 1;
    m->close_code = code;
    if (reason_len) memcpy(m->buf + LWS_PRE, reason, reason_len);
    pthread_mutex_lock(&l->mu);
    if (c->state >= S_CLOSING || l->dead) {
        pthread_mutex_unlock(&l->mu);
        msg_release(l, m);
        return -1;
    }
    int was_open = c->state == S_OPEN;
    c->state = S_CLOSING;
    int was_empty = c->head == NULL;
    if (c->tail) c->tail->next = m;
    else c->head = m;
    c->tail = m;
    int need = 0;
    if (was_empty && was_open) need = mark_dirty_locked(c, P_WRITE);
    else if (!was_open) need = mark_dirty_locked(c, P_ABORT);  // not yet open: give up the attempt
    if (!was_open) c->abort_requested = 1;
    wake(l, need);
    pthread_mutex_unlock(&l->mu);
    return 0;
}

int stt_conn_drop(stt_conn *c) { return stt_conn_close(c, -1, NULL, 0); }

void stt_conn_abort(stt_conn *c) {
    stt_loop *l = c->loop;
    pthread_mutex_lock(&l->mu);
    int need = 0;
    if (c->state != S_DONE && !l->dead) {
        c->abort_requested = 1;
        if (c->state < S_CLOSING) c->state = S_CLOSING;
        need = mark_dirty_locked(c, P_ABORT);
    }
    wake(l, need);
    pthread_mutex_unlock(&l->mu);
}

void stt_conn_pause_reading(stt_conn *c, int paused) {
    stt_loop *l = c->loop;
    pthread_mutex_lock(&l->mu);
    int need = 0;
    if (c->rx_paused != paused && c->state != S_DONE && !l->dead) {
        c->rx_paused = paused;
        need = mark_dirty_locked(c, P_RXFLOW);
    }
    wake(l, need);
    pthread_mutex_unlock(&l->mu);
}

void stt_conn_set_max_message_size(stt_conn *c, size_t max) {
    pthread_mutex_lock(&c->loop->mu);
    c->max_message = max;
    pthread_mutex_unlock(&c->loop->mu);
}

void stt_conn_release(stt_conn *c) { conn_unref(c); }

int stt_http_respond(stt_conn *c, int status, const char *headers, size_t headers_len, const void *body,
                     size_t body_len) {
    stt_loop *l = c->loop;
    char *h = headers_len ? dup_bytes(headers, headers_len) : NULL;
    uint8_t *b = body_len ? malloc(body_len) : NULL;
    if (b) memcpy(b, body, body_len);
    pthread_mutex_lock(&l->mu);
    if (!c->is_http || c->state == S_DONE || c->resp_ready || c->resp_status || l->dead) {
        pthread_mutex_unlock(&l->mu);
        free(h);
        free(b);
        return -1;
    }
    c->resp_ready = 1;
    c->resp_status = status;
    c->resp_headers = h;
    c->resp_headers_len = headers_len;
    c->resp_body = b;
    c->resp_body_len = body_len;
    int need = mark_dirty_locked(c, P_WRITE);
    wake(l, need);
    pthread_mutex_unlock(&l->mu);
    return 0;
}
