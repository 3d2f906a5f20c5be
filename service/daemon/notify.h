#pragma once
// sd_notify(3) that never blocks the loop: libsystemd's sends block while the receiver's queue
// is full (a PID 1 that hangs, a test that does not read), and the watchdog is fed from the very
// loop that would then stand still. The datagram goes to $NOTIFY_SOCKET (a path or an abstract
// "@name") with MSG_DONTWAIT; one that cannot be queued is dropped and counted, never waited for.
#include <string_view>

namespace iopslimit::daemon {

// "READY=1", "STATUS=…", "WATCHDOG=1", …; false when not under a notifying manager or dropped.
bool notify(std::string_view state);

}  // namespace iopslimit::daemon
