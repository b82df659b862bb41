// swift-streaming-stt: the event loop. One libwebsockets context, its service thread, the
// cross-thread wake-up, the host's idle work (`on_idle`) and the commands queued by `stt_conn_*`.
//
// Ownership: `stt_loop_start` returns a loop holding one reference, the creator's, which
// `stt_loop_destroy` drops after joining the service thread. Each connection holds one more
// until it is freed (see stt_conn.c), so a loop outlives its last connection; the last
// `stt_loop_unref` frees it, its message pool, its CA vhost list and its hooks' data.
//
// Threading:
// - Any thread except the service thread: `stt_loop_create`, `stt_loop_start`, `stt_loop_destroy`.
// - Any thread: `stt_loop_wake`, `stt_loop_connection_count`, `stt_loop_is_service_thread`,
//   `stt_loop_unref`, `stt_wake` (holding loop->mu). The only lws call they make is
//   `lws_cancel_service`, and only while `loop->dead` is 0 under loop->mu.
// - Service thread only: `service_main` and everything it calls (`lws_service`, `on_idle`,
//   `stt_process_dirty`, `stt_fail_unstarted`), and the destruction of the context.

#include "stt_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__thread stt_loop *stt_current_loop;
__thread stt_conn *stt_current_conn;

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
    stt_conn *c = stt_current_conn;
    stt_loop *l = stt_current_loop;
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

void stt_log_line(int level, const char *line) { _lws_log(level, "%s", line); }

// ---------------------------------------------------------------------------------------------
// References and helpers.

void stt_loop_unref(stt_loop *l) {
    if (atomic_fetch_sub(&l->refs, 1) != 1) return;
    pthread_mutex_destroy(&l->mu);
    while (l->pool) {
        stt_msg *m = l->pool;
        l->pool = m->next;
        free(m);
    }
    for (int i = 0; i < l->nvhosts; i++) free(l->vhosts[i].pem);
    free(l->vhosts);
    if (l->hook_data && l->hooks.free_data) l->hooks.free_data(l->hook_data);
    free(l);
}

char *stt_dup_bytes(const char *s, size_t n) {
    if (!s) return NULL;
    char *d = malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

// ---------------------------------------------------------------------------------------------
// Commands from the dirty list (service thread, from EVENT_WAIT_CANCELLED and after on_idle).

void stt_process_dirty(stt_loop *l) {
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
            if (p & P_CONNECT) stt_start_connect(c);
            if (c->wsi && !c->destroyed) {
                if ((p & P_ABORT) && !c->established) {
                    c->aborted = 1;
                    stt_kill_wsi(c);
                } else if (c->established) {
                    if (p & P_RXFLOW) lws_rx_flow_control(c->wsi, !paused);
                    if ((p & P_ABORT) && c->local_close_code) {
                        // Already waiting for the peer's close reply: drop it now.
                        c->aborted = 1;
                        stt_kill_wsi(c);
                    } else if (p & (P_WRITE | P_ABORT)) {
                        lws_callback_on_writable(c->wsi);
                        // The drop happens in the next WRITEABLE callback; a socket the peer no
                        // longer reads never gets one, so it is killed after a second anyway.
                        if (p & P_ABORT) lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, 1);
                    }
                }
            }
        }
        stt_conn_unref(c);
    }
}

void stt_fail_unstarted(stt_loop *l) {
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
        if ((p & P_CONNECT) && !c->destroyed) stt_conn_destroyed(c);
        stt_conn_unref(c);
    }
}

// ---------------------------------------------------------------------------------------------
// Loop lifecycle.

static void *service_main(void *arg) {
    stt_loop *l = arg;
    stt_current_loop = l;
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
            if (dirty) stt_process_dirty(l);
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
    stt_fail_unstarted(l);
    lws_context_destroy(l->ctx);
    l->ctx = NULL;
    stt_current_loop = NULL;
    return NULL;
}

stt_loop *stt_loop_start(const stt_loop_options *o, const stt_loop_hooks *hooks, void *hook_data, char *error,
                         size_t error_len) {
    pthread_once(&log_once, install_log);
    stt_loop *l = calloc(1, sizeof *l);
    if (!l) {
        if (hook_data && hooks && hooks->free_data) hooks->free_data(hook_data);
        snprintf(error, error_len, "out of memory");
        return NULL;
    }
    atomic_init(&l->refs, 1);
    atomic_init(&l->stop, 0);
    pthread_mutex_init(&l->mu, NULL);
    l->mask_used = sizeof(l->mask_pool);  // no masks drawn yet: the first frame draws a block
    l->opts = *o;
    if (hooks) l->hooks = *hooks;
    l->hook_data = hook_data;
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

    stt_loop *prev = stt_current_loop;
    stt_current_loop = l;
    l->ctx = lws_create_context(&ci);
    if (!l->ctx) {
        if (first) ssl_init_done = 0;
        pthread_mutex_unlock(&ssl_init_mu);
        stt_current_loop = prev;
        snprintf(error, error_len, "libwebsockets context creation failed");
        stt_loop_unref(l);
        return NULL;
    }
    struct lws_context_creation_info vi;
    memset(&vi, 0, sizeof vi);
    vi.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS;
    if (l->hooks.configure_vhost) {
        l->hooks.configure_vhost(l, &vi);
    } else {
        vi.port = CONTEXT_PORT_NO_LISTEN;
        vi.protocols = stt_client_protocols;
        vi.vhost_name = "stt-client";
    }
    l->vhost = lws_create_vhost(l->ctx, &vi);
    pthread_mutex_unlock(&ssl_init_mu);
    if (!l->vhost) {
        snprintf(error, error_len, "%s",
                 l->hooks.vhost_error ? l->hooks.vhost_error : "could not create the client vhost");
        lws_context_destroy(l->ctx);
        stt_current_loop = prev;
        stt_loop_unref(l);
        return NULL;
    }
    stt_current_loop = prev;
    if (l->hooks.vhost_created) l->hooks.vhost_created(l);
    if (pthread_create(&l->thread, NULL, service_main, l)) {
        snprintf(error, error_len, "could not start the service thread");
        stt_current_loop = l;
        lws_context_destroy(l->ctx);
        stt_current_loop = prev;
        stt_loop_unref(l);
        return NULL;
    }
    return l;
}

stt_loop *stt_loop_create(const stt_loop_options *o, char *error, size_t error_len) {
    return stt_loop_start(o, NULL, NULL, error, error_len);
}

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
    stt_loop_unref(l);
}

int stt_loop_wake(stt_loop *l) {
    pthread_mutex_lock(&l->mu);
    int alive = !l->dead && !atomic_load(&l->stop);
    if (!l->dead) lws_cancel_service(l->ctx);
    pthread_mutex_unlock(&l->mu);
    return alive;
}

int stt_loop_is_service_thread(const stt_loop *l) { return stt_current_loop == l; }

void stt_wake(stt_loop *l, int need) {
    // On the service thread (a Swift job running between two passes, see on_idle) the dirty
    // list is processed right after the jobs; waking the poll would cost two syscalls per command.
    if (need && !l->dead && stt_current_loop != l) lws_cancel_service(l->ctx);
}
