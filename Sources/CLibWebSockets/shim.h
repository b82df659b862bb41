// System library target for libwebsockets (Debian: libwebsockets-dev). Only the C shim
// (CSTTShim) includes it; Swift code never calls libwebsockets directly.
#include <libwebsockets.h>
