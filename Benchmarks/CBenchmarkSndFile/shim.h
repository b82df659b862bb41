// System library target for libsndfile (Debian: libsndfile1-dev), which the benchmark uses to
// write the audio files it decodes (Benchmarks/STTBenchmark/AudioFiles.swift).
#include <sndfile.h>
