#include "stt_audio_shim.h"

#include <alsa/asoundlib.h>
#include <stdarg.h>
#include <stdio.h>

// Thread-local: each thread that talks to ALSA has its own sink (see the header).
static __thread stt_alsa_log_fn current_fn = NULL;
static __thread void *current_user = NULL;

static void stt_alsa_local_handler(const char *file, int line, const char *function, int err, const char *fmt,
                                   va_list arg) {
    stt_alsa_log_fn fn = current_fn;
    if (fn == NULL) {
        return;  // No sink on this thread: drop the line rather than print it.
    }
    char message[512];
    if (fmt == NULL) {
        message[0] = '\0';
    } else {
        vsnprintf(message, sizeof message, fmt, arg);
    }
    fn(current_user, file, line, function, err, message);
}

void stt_alsa_log_begin(stt_alsa_log_fn fn, void *user, stt_alsa_log_fn *previous_fn, void **previous_user) {
    *previous_fn = current_fn;
    *previous_user = current_user;
    current_fn = fn;
    current_user = user;
    snd_lib_error_set_local(stt_alsa_local_handler);
}

void stt_alsa_log_end(stt_alsa_log_fn previous_fn, void *previous_user) {
    current_fn = previous_fn;
    current_user = previous_user;
    if (previous_fn == NULL) {
        snd_lib_error_set_local(NULL);
    }
}
