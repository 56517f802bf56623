// Tells systemd how the service is doing (sd_notify(3)), for Type=notify units: READY=1
// once listening, RELOADING=1 / READY=1 around a SIGHUP reload, STOPPING=1 at shutdown.
// The protocol is spoken directly (one datagram to the unix socket named in
// $NOTIFY_SOCKET), so ferryd does not link libsystemd. Without $NOTIFY_SOCKET it does
// nothing. Thread-safe; never blocks for long (a datagram to a local socket).
#pragma once

#include <string>
#include <string_view>

namespace ferry {

// Sends `state` ("KEY=VALUE" lines, e.g. "READY=1\nSTATUS=serving") to $NOTIFY_SOCKET.
// Returns "" when sent or when there is no socket to send to, else why it failed.
std::string systemd_notify(std::string_view state);

// systemd_notify, with a warning in the log when it fails (the service then still runs;
// systemd gives up waiting for READY=1 after TimeoutStartSec=).
void tell_systemd(std::string_view state);

// "RELOADING=1\nMONOTONIC_USEC=<now>": what systemd (253 and later) wants with RELOADING=1.
std::string systemd_reloading_state();

}  // namespace ferry
