#define _GNU_SOURCE
#include "stt_audio_shim.h"

#include <pthread.h>
#include <string.h>
#include <sys/eventfd.h>

int stt_audio_eventfd(void) { return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); }

void stt_audio_set_thread_name(const char *name) {
    char short_name[16];
    strncpy(short_name, name, sizeof short_name - 1);
    short_name[sizeof short_name - 1] = '\0';
    pthread_setname_np(pthread_self(), short_name);
}
