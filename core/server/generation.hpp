// One generation of the server: the configuration and what is made from it (plugin
// objects, mount table, TLS context). Made at start-up, and again on SIGHUP.
#pragma once

#include <memory>
#include <string>

#include "server/config.hpp"
#include "server/server_state.hpp"

namespace ferry {

// Loads the plugins `config` names and creates their objects. nullptr, with `error` set,
// when a plugin or the TLS files cannot be used; nothing is half-made then.
std::shared_ptr<ServerState> build_generation(Config config, std::shared_ptr<ServerRuntime> runtime,
                                              std::string& error);

// SIGHUP: reads running.config.file again and builds the next generation from it. What a
// running server cannot change (bound sockets, I/O threads, identity) keeps its running
// value, with a warning naming the key when the file changed it since `previous` (the file
// as last loaded, updated on success).
std::shared_ptr<ServerState> reload_generation(const ServerState& running, Config& previous, std::string& error);

}  // namespace ferry
