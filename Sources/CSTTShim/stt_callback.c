// swift-streaming-stt: the libwebsockets protocol callback. It finds the loop (the thread-local
// set by the service thread) and the connection (the wsi's opaque user data), and hands each
// client callback reason to the file that handles it; the reasons of a listening vhost go to the
// loop's hooks (CSTTTestServer), so the client shim contains no server code.
//
// Ownership: the callback takes no reference of its own. A wsi's opaque user data points at its
// connection from the connect (client) or the accepted handshake (server) until WSI_DESTROY,
// which clears it before `stt_conn_destroyed` drops the shim's reference.
//
// Threading: service thread only (lws calls it from `lws_service`, from
// `lws_client_connect_via_info` and from `lws_context_destroy`, all on the service thread).
// `stt_current_conn` is set around each connection's callback so that lws log lines reach that
// connection's logger.

#include "stt_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static stt_conn *conn_of(struct lws *wsi) { return wsi ? (stt_conn *)lws_get_opaque_user_data(wsi) : NULL; }

/// CLIENT_APPEND_HANDSHAKE_HEADER: the connection's extra headers and, for an HTTP request with
/// a body, its length.
static int append_handshake_headers(stt_conn *c, struct lws *wsi, unsigned char **p, unsigned char *end) {
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
                                            (int)vl, p, end))
                return -1;
        }
    }
    if (c && c->method && c->body) {
        char length[32];
        int n = snprintf(length, sizeof length, "%zu", c->body_len);
        if (lws_add_http_header_by_name(wsi, (const unsigned char *)"content-length:", (const unsigned char *)length, n,
                                        p, end))
            return -1;
        c->body_pending = 1;
        lws_client_http_body_pending(wsi, 1);
        lws_callback_on_writable(wsi);
    }
    return 0;
}

/// CLIENT_CONNECTION_ERROR: reports the failure with its kind.
static void on_connection_error(stt_conn *c, struct lws *wsi, const char *message) {
    const char *s = message ? message : "";
    int kind = STT_FAIL_OTHER;
    if (!c->method && c->http_status && c->http_status != 101) kind = STT_FAIL_HTTP_STATUS;
    else if (stt_tls_failed(c, wsi, s)) kind = STT_FAIL_TLS;
    // A failed TCP connect (refused, unreachable, no socket to be had) is known only by its text,
    // "Unable to connect": libwebsockets 4.1 gives no code for it. It reads the connect error
    // itself (getsockopt SO_ERROR into a local variable) and closes the socket before it
    // reports, so lws_get_socket_fd is -1 and errno still holds the EINPROGRESS of the
    // non-blocking connect.
    else if (strstr(s, "nable to connect")) kind = STT_FAIL_REFUSED;
    stt_emit_connect_failed(c, kind, s);
}

/// CLIENT_HTTP_WRITEABLE: sends the request body.
static int write_request_body(stt_conn *c, struct lws *wsi) {
    c->body_pending = 0;
    uint8_t *out = malloc(LWS_PRE + c->body_len + 1);
    if (!out) return -1;
    if (c->body_len) memcpy(out + LWS_PRE, c->body, c->body_len);
    int n = lws_write(wsi, out + LWS_PRE, c->body_len, LWS_WRITE_HTTP_FINAL);
    free(out);
    lws_client_http_body_pending(wsi, 0);
    return n < 0 ? -1 : 0;
}

/// The client connection has reached its peer (TLS has begun, or the request is being written):
/// tells the host once.
static void peer_reached(stt_conn *c) {
    if (!c || c->reached_peer) return;
    c->reached_peer = 1;
    stt_event ev = {0};
    ev.kind = STT_EV_PEER_REACHED;
    stt_emit(c, &ev);
}

int stt_lws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len) {
    stt_loop *l = stt_current_loop;
    stt_conn *c = NULL;
    int ret = 0;
    switch (reason) {
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        // Sent once per protocol per vhost with a fake wsi: act on the main vhost only.
        if (l && lws_get_vhost(wsi) == l->vhost) stt_process_dirty(l);
        return 0;  // never nonzero here

    case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_CLIENT_VERIFY_CERTS:
        stt_tls_load_client_certs(l, user);  // user: the new client SSL_CTX
        return 0;

    case LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION:
        // user: X509_STORE_CTX*, len: preverify_ok. Called once per chain depth.
        c = conn_of(wsi);
        peer_reached(c);
        stt_tls_verify(c, user, (int)len);
        return 0;

    default:
        break;
    }

    c = conn_of(wsi);
    stt_conn *prev = stt_current_conn;
    stt_current_conn = c;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
        unsigned char **p = (unsigned char **)in;
        peer_reached(c);
        ret = append_handshake_headers(c, wsi, p, *p + len);
        break;
    }

    case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
        if (c) c->http_status = (int)lws_http_client_http_response(wsi);
        break;

    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (c) on_connection_error(c, wsi, (const char *)in);
        break;

    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        if (c) {
            c->http_status = 101;
            stt_conn_established(c);
            stt_event ev = {0};
            ev.kind = STT_EV_ESTABLISHED;
            ev.status = 101;
            stt_emit(c, &ev);
        }
        break;

    case LWS_CALLBACK_CLIENT_HTTP_WRITEABLE:
        if (c && c->body_pending) ret = write_request_body(c, wsi);
        break;

    case LWS_CALLBACK_RECEIVE_CLIENT_HTTP: {
        char buffer[LWS_PRE + 4096];
        char *px = buffer + LWS_PRE;
        int lenx = (int)sizeof buffer - LWS_PRE;
        if (lws_http_client_read(wsi, &px, &lenx) < 0) ret = -1;
        break;
    }

    case LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ:
        if (c) ret = stt_client_http_read(c, (const uint8_t *)in, len);
        break;

    case LWS_CALLBACK_COMPLETED_CLIENT_HTTP:
        if (c) stt_client_http_completed(c);
        break;

    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (c) ret = stt_on_receive(c, (const uint8_t *)in, len);
        break;

    case LWS_CALLBACK_CLIENT_RECEIVE_PONG:
        if (c) stt_peer_alive(c);
        break;

    case LWS_CALLBACK_CLIENT_WRITEABLE:
        if (c) ret = stt_on_writeable(c);
        break;

    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        if (c) stt_on_peer_close(c, (const uint8_t *)in, len);
        break;

    case LWS_CALLBACK_CLIENT_CLOSED:
        if (c) stt_emit_closed(c);
        break;

    case LWS_CALLBACK_WSI_DESTROY:
        if (c) {
            lws_set_opaque_user_data(wsi, NULL);
            stt_conn_destroyed(c);
        }
        break;

    default:
        // Reasons of a listening vhost (handshakes, server connections, HTTP): the hooks'.
        if (l && l->hooks.callback) ret = l->hooks.callback(l, c, wsi, reason, user, in, len);
        break;
    }
    stt_current_conn = prev;
    return ret;
}

const struct lws_protocols stt_client_protocols[] = {
    {"stt-client", stt_lws_callback, 0, STT_FRAME_MAX, 0, NULL, STT_FRAME_MAX},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};
