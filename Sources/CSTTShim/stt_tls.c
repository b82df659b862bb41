// swift-streaming-stt: TLS for client connections. One client vhost (and so one OpenSSL
// SSL_CTX) per distinct set of extra CA certificates, the system's root certificates, and the
// per-connection record of why certificate verification failed.
//
// Ownership: the CA vhosts belong to the loop's context and are destroyed with it; the loop keeps
// a copy of each vhost's PEM (`loop->vhosts`) to find it again, freed with the loop. `pending_ca`
// only borrows the connection's PEM for the duration of `lws_create_vhost`.
//
// Threading: service thread only. OpenSSL's global set-up is decided at context creation, under
// the lock in stt_loop.c.

#include "stt_internal.h"

#include <ctype.h>
#include <dirent.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// ---------------------------------------------------------------------------------------------
// Trust: system roots and extra CAs.

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

void stt_tls_load_client_certs(stt_loop *l, void *ssl_ctx) {
    SSL_CTX *ctx = (SSL_CTX *)ssl_ctx;
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
        if (!added) l->pending_ca = NULL;  // tells stt_vhost_for_ca the PEM was unusable
    }
}

struct lws_vhost *stt_vhost_for_ca(stt_loop *l, const char *pem, size_t len) {
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
    nv[l->nvhosts].pem = stt_dup_bytes(pem, len);
    nv[l->nvhosts].len = len;
    nv[l->nvhosts].vhost = vh;
    l->nvhosts++;
    return vh;
}

// ---------------------------------------------------------------------------------------------
// Verification and failures.

void stt_tls_verify(stt_conn *c, void *x509_store_ctx, int preverify_ok) {
    if (!c || preverify_ok) return;
    X509_STORE_CTX *store = (X509_STORE_CTX *)x509_store_ctx;
    if (c->tls_insecure) {
        // Explicitly insecure connection: overrule every verification error.
        X509_STORE_CTX_set_error(store, X509_V_OK);
    } else if (!c->tls_error) {
        c->tls_error = X509_STORE_CTX_get_error(store);
    }
}

int stt_tls_failed(stt_conn *c, struct lws *wsi, const char *message) {
    // A certificate that failed verification: the X509_V_ERR_* code stt_tls_verify recorded.
    if (c->tls_error) return 1;
    // Any other TLS failure (a protocol error such as TLS to a plain port, lws' own timeout in
    // the TLS handshake, a redirect from https to http) is known only by its text, on a
    // connection that has an SSL object: libwebsockets 4.1 gives no code for it. It puts
    // SSL_get_error's result only into the text ("connect SSL err 1: ..."), after draining
    // OpenSSL's error queue itself (lws_ssl_get_error); SSL_get_verify_result is X509_V_OK; and
    // an unfinished handshake (SSL_is_init_finished) is also what a peer that hangs up during it
    // leaves, which lws reports as a failure of another kind.
    return lws_get_ssl(wsi) && (strstr(message, "SSL") || strstr(message, "ssl") || strstr(message, "tls"));
}
