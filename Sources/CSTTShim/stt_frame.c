// swift-streaming-stt: framing. Message buffers and their pool, client frames built and masked
// by the shim, small frames batched into one write, and the reassembly of received messages.
//
// Ownership: a message (`stt_msg`) is allocated by the sending thread (`stt_msg_new`, from the
// loop's pool when it can), owned by its connection's queue from `stt_conn_send` /
// `stt_conn_close` on, and released to the pool by the service thread once written (or by
// `stt_conn_free` if never written). The pool belongs to the loop and is freed with it. A
// connection's receive buffer (`rx`) is owned by the connection; STT_EV_MESSAGE lends it to the
// host for the duration of the event only.
//
// Threading:
// - Any thread: `stt_msg_new`, `stt_msgs_release`, `stt_msg_release` (they take loop->mu for
//   the pool; the caller must not hold it).
// - Service thread only: everything else here, called from the WRITEABLE and RECEIVE callbacks.
//   The mask pool and the batch buffer of the loop are used only here.

#include "stt_internal.h"

#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

// ---------------------------------------------------------------------------------------------
// Message buffers (any thread).

stt_msg *stt_msg_new(stt_loop *l, size_t n) {
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

void stt_msgs_release(stt_loop *l, stt_msg *first) {
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

void stt_msg_release(stt_loop *l, stt_msg *m) {
    m->next = NULL;
    stt_msgs_release(l, m);
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
    stt_msgs_release(l, first);
    if (failed) return -1;
    return lws_write(wsi, out, used, LWS_WRITE_HTTP) < 0 ? -1 : 0;
}

int stt_on_writeable(stt_conn *c) {
    stt_loop *l = c->loop;
    struct lws *wsi = c->wsi;
    if (c->local_close_code || c->aborted) return 0;  // lws may call once more after -1
    if (c->too_big) return -1;                         // sends the 1009 close set in stt_on_receive
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
        c->ping_written_ns = stt_monotonic_ns();
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
            stt_msg_release(l, m);
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
            stt_msg_release(l, m);
            stt_start_close_timer(c);
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
            stt_msg_release(l, m);
        }
        if (drained) {
            stt_event ev = {0};
            ev.kind = STT_EV_DRAINED;
            stt_emit(c, &ev);
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

int stt_rx_append(stt_conn *c, const uint8_t *in, size_t len) {
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

int stt_on_receive(stt_conn *c, const uint8_t *in, size_t len) {
    struct lws *wsi = c->wsi;
    // Data is no answer to a ping: a peer that stopped reading may still be sending (transcripts
    // of audio it already has), and only a pong shows that it reads what we send.
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
    if (stt_rx_append(c, in, len)) return -1;
    if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
        stt_event ev = {0};
        ev.kind = STT_EV_MESSAGE;
        ev.binary = c->rx_binary;
        ev.data = c->rx;
        ev.len = c->rx_len;
        stt_emit(c, &ev);
        c->rx_len = 0;
        if (c->rx_cap > (256u << 10)) {  // give back memory after a large message
            free(c->rx);
            c->rx = NULL;
            c->rx_cap = 0;
        }
    }
    return 0;
}

void stt_on_peer_close(stt_conn *c, const uint8_t *in, size_t len) {
    c->peer_closed = 1;
    c->peer_first = !c->local_close_code;
    c->peer_code = len >= 2 ? (in[0] << 8) | in[1] : 1005;
    size_t n = len > 2 ? len - 2 : 0;
    if (n > sizeof c->peer_reason) n = sizeof c->peer_reason;
    if (n) memcpy(c->peer_reason, in + 2, n);
    c->peer_reason_len = n;
}
