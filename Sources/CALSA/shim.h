// System library target for ALSA (Debian: libasound2-dev). Only the audio files of StreamingSTT
// (Sources/StreamingSTT/Audio/ALSA*.swift) call it.
#include <alsa/asoundlib.h>
