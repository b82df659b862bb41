// swift-streaming-stt: the test server's loops. A listening vhost on the client shim's event loop,
// added through the loop's hooks (stt_internal.h): WebSocket handshakes decided by the host,
// server-side WebSocket connections (framed by lws, not masked) and one-request HTTP transactions.
//
// Ownership:
// - The server's state (`stt_server`, copies of the options) is the loop's hook data, freed with
//   the loop.
// - An accepted WebSocket connection is created at the handshake with two references: the
//   shim's, and one for the host, handed over with STT_EV_ESTABLISHED (until then it is
//   "unclaimed", and dropped by the shim if the connection never gets there). The host
//   releases it with `stt_conn_release`.
// - An HTTP request is a connection of its own (its `hook_data` is the `stt_http_txn`, freed with
//   it): two references, one handed to the host with `on_http`, which answers with
//   `stt_http_respond` and releases it; the shim drops its own once the answer is written (or the
//   wsi goes away first).
//
// Threading:
// - Any thread except a service thread: `stt_server_loop_create`.
// - Any thread: `stt_http_respond` (under loop->mu, then a wake through the dirty list),
//   `stt_conn_set_max_message_size` (under loop->mu), `stt_loop_port` (set before the loop is
//   returned).
// - Service thread only: the hooks (`server_callback` and what it calls), `on_handshake` and
//   `on_http`. `configure_vhost` and `vhost_created` run on the creating thread, before the
//   service thread starts.

#include "stt_test_server.h"

#include "stt_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <sys/socket.h>

/// A listening loop's state: its `hook_data`. Immutable once the loop is returned.
typedef struct stt_server {
    char *iface;
    int requested_port;
    char *cert_path, *key_path;
    stt_handshake_fn on_handshake;
    stt_http_fn on_http;
    void *user;
    char *custom_headers;
    size_t custom_headers_len;
    int receive_buffer;  // SO_RCVBUF of each accepted socket, 0 for the system's
    int port;            // the port listened on
} stt_server;

/// One plain HTTP request and its answer: the `hook_data` of its connection.
typedef struct stt_http_txn {
    int http_done;
    char *req_method, *req_path, *req_query, *req_headers;  // the request until delivered
    size_t req_query_len, req_headers_len;
    int resp_ready;       // under mu
    int resp_status;      // under mu
    char *resp_headers;   // under mu
    size_t resp_headers_len;
    uint8_t *resp_body;   // under mu
    size_t resp_body_len;
} stt_http_txn;

static void free_http_txn(void *data) {
    stt_http_txn *t = data;
    free(t->req_method);
    free(t->req_path);
    free(t->req_query);
    free(t->req_headers);
    free(t->resp_headers);
    free(t->resp_body);
    free(t);
}

static void free_server(void *data) {
    stt_server *s = data;
    free(s->iface);
    free(s->cert_path);
    free(s->key_path);
    free(s->custom_headers);
    free(s);
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
static void collect_request(const stt_server *s, struct lws *wsi, char **hdrs_out, size_t *hlen_out, char **query_out,
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
    for (size_t off = 0; s->custom_headers && off < s->custom_headers_len;) {
        const char *name = s->custom_headers + off;
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

static int on_confirm_upgrade(stt_loop *l, const stt_server *s, struct lws *wsi) {
    char *hdrs = NULL, *query = NULL;
    size_t hlen = 0, qlen = 0;
    collect_request(s, wsi, &hdrs, &hlen, &query, &qlen);
    char path[2048] = "";
    lws_hdr_copy(wsi, path, sizeof path, WSI_TOKEN_GET_URI);
    stt_handshake hs;
    hs.path = path;
    hs.query = query ? query : "";
    hs.query_len = qlen;
    hs.headers = hdrs ? hdrs : "";
    hs.headers_len = hlen;
    void *user = NULL;
    int status = s->on_handshake ? s->on_handshake(s->user, &hs, &user) : 0;
    free(hdrs);
    free(query);
    if (status) {
        lws_return_http_status(wsi, (unsigned int)status, NULL);
        return 1;
    }
    // The connection exists from here; it is handed to Swift when established. (`user` of the
    // callback is still NULL here: the protocol's per-session data comes later.)
    stt_conn *c = stt_conn_new(l, user, 2);  // one for the shim, one for Swift (given at ESTABLISHED)
    if (!c) return -1;
    c->wsi = wsi;
    c->is_server = 1;
    c->unclaimed_ref = 1;
    c->close_timeout_ms = 5000;
    lws_set_opaque_user_data(wsi, c);
    return 0;
}

static void on_server_established(stt_conn *c) {
    c->established = 1;
    c->unclaimed_ref = 0;
    // Open before Swift hears of it: its handler may send and close at once.
    pthread_mutex_lock(&c->loop->mu);
    c->state = S_OPEN;
    pthread_mutex_unlock(&c->loop->mu);
    stt_event ev = {0};
    ev.kind = STT_EV_ESTABLISHED;
    ev.status = 101;
    ev.conn = c;
    stt_emit(c, &ev);
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

static void deliver_http_request(const stt_server *s, stt_conn *c) {
    stt_http_txn *t = c->hook_data;
    stt_http_request req;
    req.method = t->req_method ? t->req_method : "GET";
    req.path = t->req_path ? t->req_path : "/";
    req.query = t->req_query ? t->req_query : "";
    req.query_len = t->req_query_len;
    req.headers = t->req_headers ? t->req_headers : "";
    req.headers_len = t->req_headers_len;
    req.body = c->rx;
    req.body_len = c->rx_len;
    c->unclaimed_ref = 0;
    s->on_http(s->user, c, &req);  // Swift now owns one reference
}

static int on_http_request(stt_loop *l, const stt_server *s, struct lws *wsi, const char *uri) {
    if (!s->on_http) {
        if (lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL)) return -1;
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    }
    stt_http_txn *t = calloc(1, sizeof *t);
    if (!t) return -1;
    stt_conn *c = stt_conn_new(l, NULL, 2);  // one for the shim, one for Swift (given with the request)
    if (!c) {
        free(t);
        return -1;
    }
    c->hook_data = t;
    c->wsi = wsi;
    c->is_server = 1;
    c->unclaimed_ref = 1;
    c->established = 1;
    c->fail_reported = 1;
    c->closed_reported = 1;
    const char *method = "GET";
    for (size_t i = 0; i < sizeof http_methods / sizeof http_methods[0]; i++)
        if (lws_hdr_total_length(wsi, http_methods[i].token) > 0) {
            method = http_methods[i].method;
            break;
        }
    t->req_method = stt_dup_bytes(method, strlen(method));
    t->req_path = stt_dup_bytes(uri ? uri : "/", uri ? strlen(uri) : 1);
    collect_request(s, wsi, &t->req_headers, &t->req_headers_len, &t->req_query, &t->req_query_len);
    pthread_mutex_lock(&l->mu);
    c->state = S_OPEN;
    pthread_mutex_unlock(&l->mu);
    lws_set_opaque_user_data(wsi, c);
    char length[32] = "";
    int has_body = lws_hdr_copy(wsi, length, sizeof length, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0 && atol(length) > 0;
    if (!has_body) {
        t->http_done = 1;
        deliver_http_request(s, c);
    }
    return 0;
}

static int on_http_body(stt_conn *c, const uint8_t *in, size_t len) {
    if (c->rx_len + len > (1u << 20)) {
        lws_return_http_status(c->wsi, 413, NULL);
        return -1;
    }
    if (stt_rx_append(c, in, len)) return -1;
    return 0;
}

static int on_http_writeable(stt_conn *c) {
    stt_loop *l = c->loop;
    stt_http_txn *t = c->hook_data;
    struct lws *wsi = c->wsi;
    pthread_mutex_lock(&l->mu);
    if (!t->resp_ready) {
        pthread_mutex_unlock(&l->mu);
        return 0;
    }
    int status = t->resp_status;
    char *headers = t->resp_headers;
    size_t headers_len = t->resp_headers_len;
    uint8_t *body = t->resp_body;
    size_t body_len = t->resp_body_len;
    t->resp_headers = NULL;
    t->resp_body = NULL;
    t->resp_ready = 0;
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
    stt_conn_destroyed(c);
    if (bad) return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

// ---------------------------------------------------------------------------------------------
// The hooks (service thread, except configure_vhost and vhost_created).

/// The lws callback reasons of the listening vhost, which the client dispatch hands over.
static int server_callback(stt_loop *l, stt_conn *c, struct lws *wsi, enum lws_callback_reasons reason, void *user,
                           void *in, size_t len) {
    (void)user;
    const stt_server *s = l->hook_data;
    stt_http_txn *t = c ? c->hook_data : NULL;
    switch (reason) {
    case LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED:
        // Just accepted, before TLS and the handshake: a small buffer holds little of what a
        // client sends once the host stops reading.
        if (s->receive_buffer > 0) {
            int fd = (int)lws_get_socket_fd(wsi);
            if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &s->receive_buffer, sizeof s->receive_buffer);
        }
        return 0;

    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        return on_confirm_upgrade(l, s, wsi);

    case LWS_CALLBACK_ESTABLISHED:
        if (c) {
            on_server_established(c);
            stt_conn_established(c);
        }
        return 0;

    case LWS_CALLBACK_HTTP:
        return on_http_request(l, s, wsi, (const char *)in);

    case LWS_CALLBACK_HTTP_BODY:
        return t ? on_http_body(c, (const uint8_t *)in, len) : 0;

    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (t && !t->http_done) {
            t->http_done = 1;
            deliver_http_request(s, c);
        }
        return 0;

    case LWS_CALLBACK_HTTP_WRITEABLE:
        return t ? on_http_writeable(c) : 0;

    case LWS_CALLBACK_RECEIVE:
        return c ? stt_on_receive(c, (const uint8_t *)in, len) : 0;

    case LWS_CALLBACK_RECEIVE_PONG:
        if (c) stt_peer_alive(c);
        return 0;

    case LWS_CALLBACK_SERVER_WRITEABLE:
        return c ? stt_on_writeable(c) : 0;

    case LWS_CALLBACK_CLOSED:
        if (c) stt_emit_closed(c);
        return 0;

    default:
        return 0;
    }
}

static const struct lws_protocols stt_server_protocols[] = {
    {"stt-server", stt_lws_callback, 0, STT_FRAME_MAX, 0, NULL, STT_FRAME_MAX},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void configure_vhost(stt_loop *l, struct lws_context_creation_info *vi) {
    const stt_server *s = l->hook_data;
    vi->port = s->requested_port;
    vi->iface = s->iface;
    // With IPv6 on, libwebsockets 4.1 listens on every address whatever `iface` says: an IPv4
    // interface address therefore turns IPv6 off, so that 127.0.0.1 means loopback only.
    struct in_addr v4;
    if (s->iface && inet_pton(AF_INET, s->iface, &v4) == 1) vi->options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    vi->protocols = stt_server_protocols;
    vi->vhost_name = "stt-server";
    vi->ssl_cert_filepath = s->cert_path;
    vi->ssl_private_key_filepath = s->key_path;
}

static void vhost_created(stt_loop *l) {
    stt_server *s = l->hook_data;
    s->port = lws_get_vhost_listen_port(l->vhost);
}

static const stt_loop_hooks server_hooks = {
    .configure_vhost = configure_vhost,
    .vhost_error = "could not listen (address in use, or bad certificate/key)",
    .vhost_created = vhost_created,
    .callback = server_callback,
    .free_conn_data = free_http_txn,
    .free_data = free_server,
};

// ---------------------------------------------------------------------------------------------
// The public functions.

stt_loop *stt_server_loop_create(const stt_loop_options *o, const stt_server_options *so, char *error,
                                 size_t error_len) {
    stt_server *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(error, error_len, "out of memory");
        return NULL;
    }
    s->iface = so->server_iface ? stt_dup_bytes(so->server_iface, strlen(so->server_iface)) : NULL;
    s->requested_port = so->server_port;
    s->cert_path = so->server_cert_path ? stt_dup_bytes(so->server_cert_path, strlen(so->server_cert_path)) : NULL;
    s->key_path = so->server_key_path ? stt_dup_bytes(so->server_key_path, strlen(so->server_key_path)) : NULL;
    s->on_handshake = so->on_handshake;
    s->on_http = so->on_http;
    s->user = so->server_user;
    s->receive_buffer = so->server_receive_buffer;
    if (so->server_custom_headers && so->server_custom_headers_len) {
        s->custom_headers = stt_dup_bytes(so->server_custom_headers, so->server_custom_headers_len);
        s->custom_headers_len = so->server_custom_headers_len;
    }
    return stt_loop_start(o, &server_hooks, s, error, error_len);  // s belongs to the loop now
}

int stt_loop_port(const stt_loop *l) {
    if (l->hooks.configure_vhost != configure_vhost) return 0;
    return ((const stt_server *)l->hook_data)->port;
}

void stt_conn_set_max_message_size(stt_conn *c, size_t max) {
    pthread_mutex_lock(&c->loop->mu);
    c->max_message = max;
    pthread_mutex_unlock(&c->loop->mu);
}

int stt_http_respond(stt_conn *c, int status, const char *headers, size_t headers_len, const void *body,
                     size_t body_len) {
    stt_loop *l = c->loop;
    stt_http_txn *t = c->hook_data;  // set before the host was given the connection
    char *h = headers_len ? stt_dup_bytes(headers, headers_len) : NULL;
    uint8_t *b = body_len ? malloc(body_len) : NULL;
    if (b) memcpy(b, body, body_len);
    pthread_mutex_lock(&l->mu);
    if (!t || c->state == S_DONE || t->resp_ready || t->resp_status || l->dead) {
        pthread_mutex_unlock(&l->mu);
        free(h);
        free(b);
        return -1;
    }
    t->resp_ready = 1;
    t->resp_status = status;
    t->resp_headers = h;
    t->resp_headers_len = headers_len;
    t->resp_body = b;
    t->resp_body_len = body_len;
    int need = stt_mark_dirty_locked(c, P_WRITE);
    stt_wake(l, need);
    pthread_mutex_unlock(&l->mu);
    return 0;
}
