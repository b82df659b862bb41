// System library target for libsndfile, the audio file decoder (Debian: libsndfile1-dev). Only
// Sources/StreamingSTT/Audio/SoundFile.swift calls it.
#include <sndfile.h>
