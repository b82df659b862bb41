// swift-streaming-stt: the test server. A loop of the client shim (CSTTShim) that listens for
// WebSocket handshakes and plain HTTP requests, and throwaway test certificates. Only the test
// support library (StreamingSTTTesting) links this target, so client programs carry none of it.
//
// Threading contract (in addition to stt_shim.h's):
// - `stt_server_loop_create` is called from any thread except a service thread; the loop it
//   returns is destroyed with `stt_loop_destroy`.
// - `on_handshake` and `on_http` run on the service thread, synchronously; they must not block.
// - `stt_http_respond`, `stt_conn_set_max_message_size`, `stt_loop_port` and
//   `stt_generate_test_certificates` may be called from any thread.
//
// Every exported symbol is prefixed `stt_`.

#ifndef STT_TEST_SERVER_H
#define STT_TEST_SERVER_H

#include "stt_shim.h"

#ifdef __cplusplus
extern "C" {
#endif

/// A handshake the server received, given to `stt_handshake_fn`.
typedef struct stt_handshake {
    /// Path without the query string.
    const char *path;
    /// The query arguments, URL-decoded, one "key=value" per entry: "k=v\0k=v\0".
    const char *query;
    size_t query_len;
    /// Headers as "name\0value\0name\0value\0", lowercase names.
    const char *headers;
    size_t headers_len;
} stt_handshake;

/// Decides on a handshake. Return 0 and set `*conn_user` to accept (the pointer is bound to the
/// connection once it is established), or return an HTTP status to reject.
typedef int (*stt_handshake_fn)(void *server_user, const stt_handshake *handshake, void **conn_user);

/// A plain HTTP request the server received, given to `stt_http_fn`.
typedef struct stt_http_request {
    const char *method;
    const char *path;
    /// URL-decoded "k=v\0k=v\0" arguments.
    const char *query;
    size_t query_len;
    /// "name\0value\0..." with lowercase names.
    const char *headers;
    size_t headers_len;
    const uint8_t *body;
    size_t body_len;
} stt_http_request;

/// A complete HTTP request arrived on `conn`. The receiver owns one reference to `conn`; it
/// answers with `stt_http_respond` (from any thread, at any time) and then releases it.
typedef void (*stt_http_fn)(void *server_user, stt_conn *conn, const stt_http_request *request);

/// What `stt_server_loop_create` listens on and whom it tells. Strings are copied.
typedef struct stt_server_options {
    /// Listen on `server_iface`:`server_port` (0 = pick one).
    const char *server_iface;
    int server_port;
    /// PEM certificate chain and key files; both NULL for plain ws.
    const char *server_cert_path;
    const char *server_key_path;
    stt_handshake_fn on_handshake;
    void *server_user;
    /// Plain HTTP requests (NULL: answer 404).
    stt_http_fn on_http;
    /// Names of non-standard headers to record ("x-a\0x-b\0"), lowercase.
    const char *server_custom_headers;
    size_t server_custom_headers_len;
    /// SO_RCVBUF of each accepted socket, set as it is accepted (0: the system's default).
    int server_receive_buffer;
} stt_server_options;

/// Creates a listening loop: a context whose one vhost accepts WebSocket handshakes (each
/// accepted connection reports STT_EV_ESTABLISHED to `loop_options->on_event`, see stt_shim.h)
/// and plain HTTP requests, and starts its service thread. Returns NULL and fills `error` on
/// failure. Destroy it with `stt_loop_destroy`.
stt_loop *stt_server_loop_create(const stt_loop_options *loop_options, const stt_server_options *server,
                                 char *error, size_t error_len);
/// The port a loop made by `stt_server_loop_create` listens on (0 for any other loop).
int stt_loop_port(const stt_loop *loop);
/// Server connections: sets the maximum inbound message size.
void stt_conn_set_max_message_size(stt_conn *conn, size_t max);

/// Answers the HTTP request on `conn` ("name\0value\0" headers; a "content-type" among them
/// replaces the default application/json). Returns -1 if the request was already answered or its
/// connection is gone.
int stt_http_respond(stt_conn *conn, int status, const char *headers, size_t headers_len, const void *body,
                     size_t body_len);

/// Writes a new CA (`ca.pem`), and a server certificate and key signed by it
/// (`server.pem`, `server.key`) valid for the given DNS names and IP addresses, into `directory`.
/// `names` is "name\0name\0"; entries that parse as IPv4/IPv6 become IP SANs. Returns 0 on success.
int stt_generate_test_certificates(const char *directory, const char *names, size_t names_len,
                                   char *error, size_t error_len);

#ifdef __cplusplus
}
#endif

#endif
