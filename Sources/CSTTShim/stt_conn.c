// swift-streaming-stt: connections. Reference counting, the `stt_conn_*` commands, the events a
// connection emits, its timers (connect, keepalive, close) and the client connect itself.
//
// Ownership: a connection starts with two references. For a client (`stt_conn_connect`) one is
// the caller's, dropped by `stt_conn_release`, and one the shim's, dropped in
// `stt_conn_destroyed` after STT_EV_DESTROYED. A connection a server loop accepts is created the
// same way, its second reference "unclaimed" (`unclaimed_ref`) until the receiver is handed it;
// `stt_conn_destroyed` drops it if that never happened. Each entry on the loop's dirty list and
// each connect in progress holds one more. Whoever drops the last reference frees the
// connection, on whichever thread that is; every connection holds a loop reference until then.
// The host pointer (`user`) is never freed by the shim and is not used after STT_EV_DESTROYED.
//
// Threading:
// - Any thread: the public `stt_conn_*` commands, `stt_conn_new`, `stt_conn_unref`,
//   `stt_conn_free`, `stt_mark_dirty_locked` (holding loop->mu). They change only the fields
//   marked "under mu", queue work on the dirty list and wake the service thread; they never
//   call lws themselves.
// - Service thread only: events (`stt_emit*`), `stt_conn_destroyed`, `stt_conn_established`,
//   the timers, `stt_start_connect` and the client HTTP handlers. Every event is delivered there.

#include "stt_internal.h"

#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

// ---------------------------------------------------------------------------------------------
// References.

void stt_conn_free(stt_conn *c) {
    stt_loop *l = c->loop;
    stt_msgs_release(l, c->head);
    free(c->rx);
    free(c->address);
    free(c->host);
    free(c->path);
    free(c->headers);
    free(c->ca_pem);
    free(c->method);
    free(c->body);
    if (c->hook_data && l->hooks.free_conn_data) l->hooks.free_conn_data(c->hook_data);
    free(c);
    stt_loop_unref(l);
}

void stt_conn_unref(stt_conn *c) {
    stt_loop *l = c->loop;
    pthread_mutex_lock(&l->mu);
    int left = --c->refs;
    pthread_mutex_unlock(&l->mu);
    if (!left) stt_conn_free(c);
}

stt_conn *stt_conn_new(stt_loop *l, void *user, int refs) {
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

int stt_mark_dirty_locked(stt_conn *c, int flag) {
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
// Events to the host (service thread).

void stt_emit(stt_conn *c, stt_event *ev) {
    ev->conn = c;
    if (c->user) c->loop->opts.on_event(c->user, ev);
}

void stt_emit_connect_failed(stt_conn *c, int kind, const char *detail) {
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
    stt_emit(c, &ev);
}

void stt_emit_closed(stt_conn *c) {
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
    stt_emit(c, &ev);
}

void stt_conn_destroyed(stt_conn *c) {
    if (c->destroyed) return;
    // A client connection that ends before it ever reached its peer never made its TCP connection:
    // libwebsockets 4.1 reports a connect() that fails at once (ENETUNREACH, EHOSTUNREACH, as for an
    // IPv6 address without an IPv6 route) by destroying the connection, without an error callback.
    if (!c->established && !c->reached_peer && c->state == S_CONNECTING)
        stt_emit_connect_failed(c, STT_FAIL_REFUSED, "could not connect (unreachable)");
    else if (!c->established)
        stt_emit_connect_failed(c, STT_FAIL_OTHER, "connection closed before the handshake completed");
    else stt_emit_closed(c);
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
    stt_emit(c, &ev);
    if (c->unclaimed_ref) {
        // Accepted but never handed over: nobody else will release the receiver's reference.
        c->unclaimed_ref = 0;
        stt_conn_unref(c);
    }
    stt_conn_unref(c);
}

// ---------------------------------------------------------------------------------------------
// Timers (service thread).

void stt_kill_wsi(stt_conn *c) {
    if (c->wsi) lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

static void connect_timeout_cb(lws_sorted_usec_list_t *sul) {
    stt_conn *c = lws_container_of(sul, stt_conn, sul_connect);
    if (c->established || c->destroyed) return;
    c->timed_out = 1;
    stt_kill_wsi(c);
}

static void close_timeout_cb(lws_sorted_usec_list_t *sul) {
    stt_conn *c = lws_container_of(sul, stt_conn, sul_connect);
    if (c->destroyed) return;
    stt_kill_wsi(c);  // the peer never answered our close frame
}

void stt_start_close_timer(stt_conn *c) {
    if (c->close_timeout_ms)
        lws_sul_schedule(c->loop->ctx, 0, &c->sul_connect, close_timeout_cb, (lws_usec_t)c->close_timeout_ms * 1000);
}

static void ping_cb(lws_sorted_usec_list_t *sul) {
    stt_conn *c = lws_container_of(sul, stt_conn, sul_ping);
    if (!c->wsi || c->destroyed) return;
    if (c->awaiting_pong) {
        c->ping_timed_out = 1;
        stt_kill_wsi(c);
        return;
    }
    c->ping_due = 1;
    c->awaiting_pong = 1;
    lws_callback_on_writable(c->wsi);
    lws_sul_schedule(c->loop->ctx, 0, &c->sul_ping, ping_cb, (lws_usec_t)c->pong_timeout_ms * 1000);
}

int64_t stt_monotonic_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

void stt_peer_alive(stt_conn *c) {
    if (!c->awaiting_pong) return;
    c->awaiting_pong = 0;
    if (c->ping_written_ns) {
        int64_t rtt = stt_monotonic_ns() - c->ping_written_ns;
        c->ping_written_ns = 0;
        __atomic_store_n(&c->ping_rtt_ns, rtt > 0 ? rtt : 1, __ATOMIC_RELAXED);
    }
    lws_sul_schedule(c->loop->ctx, 0, &c->sul_ping, ping_cb, (lws_usec_t)c->ping_interval_ms * 1000);
}

void stt_conn_established(stt_conn *c) {
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

void stt_start_connect(stt_conn *c) {
    stt_loop *l = c->loop;
    struct lws_vhost *vh = l->vhost;
    if (c->use_tls && c->ca_pem) {
        vh = stt_vhost_for_ca(l, c->ca_pem, c->ca_pem_len);
        if (!vh) {
            stt_emit_connect_failed(c, STT_FAIL_TLS, "could not load the CA certificates");
            stt_conn_destroyed(c);
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
    stt_conn *prev = stt_current_conn;
    stt_current_conn = c;
    struct lws *w = lws_client_connect_via_info(&i);
    stt_current_conn = prev;
    if (!w) {
        c->wsi = NULL;
        if (!c->destroyed) {
            stt_emit_connect_failed(c, STT_FAIL_NO_RESOURCES, "the connection could not be started");
            stt_conn_destroyed(c);
        }
    }
    stt_conn_unref(c);
}

// ---------------------------------------------------------------------------------------------
// Plain HTTP, client side (service thread).

int stt_client_http_read(stt_conn *c, const uint8_t *in, size_t len) {
    if (c->rx_len + len > c->max_message) return -1;
    if (c->rx_len + len > (1u << 20)) {
        lws_return_http_status(c->wsi, 413, NULL);
        return -1;
    }
    if (stt_rx_append(c, in, len)) return -1;
    return 0;
}

void stt_client_http_completed(stt_conn *c) {
    if (c->http_done) return;
    c->http_done = 1;
    c->fail_reported = 1;  // the outcome is this response, not a connect failure
    stt_event ev = {0};
    ev.kind = STT_EV_HTTP_RESPONSE;
    ev.status = c->http_status;
    ev.data = c->rx;
    ev.len = c->rx_len;
    stt_emit(c, &ev);
    stt_kill_wsi(c);  // no keep-alive pool: one request per connection
}

// ---------------------------------------------------------------------------------------------
// Commands (any thread).

stt_conn *stt_conn_connect(stt_loop *l, const stt_connect_params *p, void *user) {
    stt_conn *c = stt_conn_new(l, user, 2);  // one for the shim (until DESTROYED), one for the caller
    if (!c) return NULL;
    c->address = stt_dup_bytes(p->address, strlen(p->address));
    c->host = stt_dup_bytes(p->host, strlen(p->host));
    c->path = stt_dup_bytes(p->path, strlen(p->path));
    if (p->headers && p->headers_len) {
        c->headers = stt_dup_bytes(p->headers, p->headers_len);
        c->headers_len = p->headers_len;
    }
    if (p->ca_pem && p->ca_pem_len) {
        c->ca_pem = stt_dup_bytes(p->ca_pem, p->ca_pem_len);
        c->ca_pem_len = p->ca_pem_len;
    }
    c->port = p->port;
    c->use_tls = p->use_tls;
    c->tls_insecure = p->tls_insecure;
    c->connect_timeout_ms = p->connect_timeout_ms;
    c->close_timeout_ms = p->close_timeout_ms;
    if (p->method) {
        c->method = stt_dup_bytes(p->method, strlen(p->method));
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
        stt_conn_free(c);  // the shim never saw it; no event will be sent
        return NULL;
    }
    int need = stt_mark_dirty_locked(c, P_CONNECT);
    stt_wake(l, need);
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
        stt_msg *m = stt_msg_new(l, n);
        if (!m) {
            stt_msgs_release(l, first);
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
        stt_msgs_release(l, first);
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
    if (was_empty && c->state == S_OPEN) need = stt_mark_dirty_locked(c, P_WRITE);
    stt_wake(l, need);
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

int64_t stt_conn_ping_rtt_ns(stt_conn *c) {
    return __atomic_load_n(&c->ping_rtt_ns, __ATOMIC_RELAXED);
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
    stt_msg *m = stt_msg_new(l, reason_len + 1);
    if (!m) return -1;
    m->len = reason_len;
    m->is_close = 1;
    m->close_code = code;
    if (reason_len) memcpy(m->buf + LWS_PRE, reason, reason_len);
    pthread_mutex_lock(&l->mu);
    if (c->state >= S_CLOSING || l->dead) {
        pthread_mutex_unlock(&l->mu);
        stt_msg_release(l, m);
        return -1;
    }
    int was_open = c->state == S_OPEN;
    c->state = S_CLOSING;
    int was_empty = c->head == NULL;
    if (c->tail) c->tail->next = m;
    else c->head = m;
    c->tail = m;
    int need = 0;
    if (was_empty && was_open) need = stt_mark_dirty_locked(c, P_WRITE);
    else if (!was_open) need = stt_mark_dirty_locked(c, P_ABORT);  // not yet open: give up the attempt
    if (!was_open) c->abort_requested = 1;
    stt_wake(l, need);
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
        need = stt_mark_dirty_locked(c, P_ABORT);
    }
    stt_wake(l, need);
    pthread_mutex_unlock(&l->mu);
}

void stt_conn_pause_reading(stt_conn *c, int paused) {
    stt_loop *l = c->loop;
    pthread_mutex_lock(&l->mu);
    int need = 0;
    if (c->rx_paused != paused && c->state != S_DONE && !l->dead) {
        c->rx_paused = paused;
        need = stt_mark_dirty_locked(c, P_RXFLOW);
    }
    stt_wake(l, need);
    pthread_mutex_unlock(&l->mu);
}

void stt_conn_release(stt_conn *c) { stt_conn_unref(c); }
