// C helpers for the audio code of StreamingSTT that Swift cannot express directly.
//
// ALSA reports its own errors ("ALSA lib pcm.c:2666:(snd_pcm_open_noupdate) Unknown PCM ...")
// through a C-variadic handler, which Swift can neither implement nor receive a va_list from in a
// portable way. This shim formats each message with vsnprintf and hands the finished line to a
// plain C callback with a context pointer, so the Swift side can route it into a swift-log Logger.
//
// The sink is per thread: alsa-lib calls its "local" handler (snd_lib_error_set_local, thread-local
// in alsa-lib) on the thread that made the failing call, and this shim keeps the callback and its
// context in thread-local storage too. No process-wide state is changed, so two microphones with
// different loggers, or other ALSA users in the process, do not interfere.
#ifndef STT_AUDIO_SHIM_H
#define STT_AUDIO_SHIM_H

#ifdef __cplusplus
extern "C" {
#endif

/// Receives one formatted ALSA error line. `file` and `function` may be NULL.
typedef void (*stt_alsa_log_fn)(void *user, const char *file, int line, const char *function, int err,
                                const char *message);

/// Routes ALSA's error messages raised on the calling thread to `fn(user, ...)` until
/// `stt_alsa_log_end` is called on the same thread. Calls nest: the previous sink is returned in
/// `*previous_fn`/`*previous_user` and must be passed back to `stt_alsa_log_end`.
void stt_alsa_log_begin(stt_alsa_log_fn fn, void *user, stt_alsa_log_fn *previous_fn, void **previous_user);

/// Restores the sink that was active before the matching `stt_alsa_log_begin`.
void stt_alsa_log_end(stt_alsa_log_fn previous_fn, void *previous_user);

/// A non-blocking, close-on-exec eventfd (Glibc's <sys/eventfd.h> is not visible to Swift), or
/// -1 with errno set.
int stt_audio_eventfd(void);

/// Names the calling thread (at most 15 bytes are kept); pthread_setname_np needs _GNU_SOURCE.
void stt_audio_set_thread_name(const char *name);

#ifdef __cplusplus
}
#endif

#endif
