// swift-streaming-stt: test certificates with OpenSSL's C API, so that tests and the offline
// demo can run a TLS server without the `openssl` command-line tool.

#include "stt_test_server.h"

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

static EVP_PKEY *make_key(void) { return EVP_EC_gen("P-256"); }

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ext) return -1;
    int ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok ? 0 : -1;
}

static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key, long serial, int is_ca,
                       const char *san) {
    X509 *x = X509_new();
    if (!x) return NULL;
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 60L * 60 * 24 * 365);
    X509_set_pubkey(x, key);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"swift-streaming-stt test", -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
    X509 *iss = issuer ? issuer : x;
    int bad = 0;
    if (is_ca) {
        bad |= add_ext(x, iss, NID_basic_constraints, "critical,CA:TRUE");
        bad |= add_ext(x, iss, NID_key_usage, "critical,keyCertSign,cRLSign");
        bad |= add_ext(x, iss, NID_subject_key_identifier, "hash");
    } else {
        bad |= add_ext(x, iss, NID_basic_constraints, "critical,CA:FALSE");
        bad |= add_ext(x, iss, NID_key_usage, "critical,digitalSignature,keyEncipherment");
        bad |= add_ext(x, iss, NID_ext_key_usage, "serverAuth");
        bad |= add_ext(x, iss, NID_authority_key_identifier, "keyid");
        if (san && *san) bad |= add_ext(x, iss, NID_subject_alt_name, san);
    }
    if (bad || !X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256())) {
        X509_free(x);
        return NULL;
    }
    return x;
}

static int write_pem(const char *dir, const char *file, X509 *cert, EVP_PKEY *key) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    int ok = cert ? PEM_write_X509(f, cert) : PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

int stt_generate_test_certificates(const char *dir, const char *names, size_t names_len, char *error,
                                   size_t error_len) {
    char san[4096] = "";
    size_t used = 0;
    const char *first = NULL;
    for (size_t off = 0; off < names_len;) {
        const char *n = names + off;
        size_t nl = strlen(n);
        off += nl + 1;
        if (!nl) continue;
        if (!first) first = n;
        unsigned char buf[16];
        int ip = inet_pton(AF_INET, n, buf) == 1 || inet_pton(AF_INET6, n, buf) == 1;
        int w = snprintf(san + used, sizeof san - used, "%s%s:%s", used ? "," : "", ip ? "IP" : "DNS", n);
        if (w < 0 || (size_t)w >= sizeof san - used) {
            snprintf(error, error_len, "too many names");
            return -1;
        }
        used += (size_t)w;
    }
    EVP_PKEY *ca_key = make_key(), *key = make_key();
    X509 *ca = NULL, *cert = NULL;
    int rc = -1;
    if (!ca_key || !key) {
        snprintf(error, error_len, "key generation failed");
        goto out;
    }
    ca = make_cert(ca_key, "swift-streaming-stt test CA", NULL, NULL, 1, 1, NULL);
    if (!ca) {
        snprintf(error, error_len, "CA certificate creation failed");
        goto out;
    }
    cert = make_cert(key, first ? first : "localhost", ca, ca_key, 2, 0, san);
    if (!cert) {
        snprintf(error, error_len, "server certificate creation failed");
        goto out;
    }
    if (write_pem(dir, "ca.pem", ca, NULL) || write_pem(dir, "server.pem", cert, NULL) ||
        write_pem(dir, "server.key", NULL, key)) {
        snprintf(error, error_len, "could not write the certificate files");
        goto out;
    }
    rc = 0;
out:
    X509_free(cert);
    X509_free(ca);
    EVP_PKEY_free(key);
    EVP_PKEY_free(ca_key);
    return rc;
}
