// The command table: every verb the server knows, its handler, and the generic checks
// that run before any handler (login required, argument required). FEAT and HELP are
// generated from it.
#pragma once

#include <asio/awaitable.hpp>
#include <span>
#include <string_view>

namespace ferry {

class Session;

enum class Argument { none, optional, required };

struct CommandSpec {
  std::string_view verb;
  asio::awaitable<void> (Session::*handler)(std::string_view);
  bool needs_login;
  Argument argument;
  std::string_view help;  // "VERB <sp> arg", shown by HELP VERB
};

// nullptr for a verb the server does not implement.
const CommandSpec* find_command(std::string_view verb);
std::span<const CommandSpec> all_commands();

}  // namespace ferry
