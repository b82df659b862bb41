// System library target for libsoxr, the band-limited resampler (Debian: libsoxr-dev). Only
// Sources/StreamingSTT/Audio/Resampler.swift calls it.
#include <soxr.h>
