// The command table: every verb the server knows, which handler runs it, and the generic
// checks that run before any handler (precheck: unknown verb, login, argument). FEAT and
// HELP are generated from it. Pure data and pure functions: no session, no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace ferry {

// Which handler runs a verb (aliases share one: XCWD runs cwd). The session maps each to
// its member function (session_handlers.cpp).
enum class CommandId : std::uint8_t {
  abor,
  allo,
  appe,
  auth,
  ccc,
  cdup,
  cwd,
  dele,
  eprt,
  epsv,
  feat,
  hash,
  help,
  list,
  mdtm,
  mfmt,
  mkd,
  mlsd,
  mlst,
  mode,
  nlst,
  noop,
  opts,
  pass,
  pasv,
  pbsz,
  port,
  prot,
  pwd,
  quit,
  rein,
  rest,
  retr,
  rmd,
  rnfr,
  rnto,
  site,
  size,
  stat,
  stor,
  stou,
  stru,
  syst,
  type,
  user,
  xmd5,
  xsha1,
  xsha256,
  xsha512,
};
inline constexpr std::size_t command_id_count = 49;

// none: an argument is ignored (vsftpd's answer to "PWD x", which clients and the protocol
// walk rely on); optional: the handler reads it when there; required: missing -> 501.
enum class Argument : std::uint8_t { none, optional, required };

inline constexpr bool tls_only = true;

struct CommandSpec {
  std::string_view verb;
  CommandId id;
  bool needs_login;
  Argument argument;
  std::string_view help;     // "VERB <sp> arg", shown by HELP VERB
  std::string_view feature;  // its FEAT line ("" none); {hash} and {mlst} filled per session
  bool feature_needs_tls = false;  // announced only where FTPS is configured
  bool uses_data = false;          // a transfer command: it uses up the PASV/PORT set-up (DataPlan)
};

// nullptr for a verb the server does not implement.
const CommandSpec* find_command(std::string_view verb);
std::span<const CommandSpec> all_commands();

// The reply refusing a command before its handler runs, if any: 502 for an unknown verb
// (nullptr), 530 before login, 501 for a missing argument.
struct Refusal {
  int code;
  std::string_view text;
};
std::optional<Refusal> precheck(const CommandSpec* command, bool logged_in, std::string_view argument);

// FEAT's text ("Features:\n...End") from the table's feature column: the FTPS lines first
// (where FTPS is configured), then the rest by name.
struct FeatureFacts {
  bool tls = false;             // FTPS is configured
  std::string_view hash;        // "SHA-256*;SHA-512;SHA-1;MD5": the session's choice starred
  std::string_view mlst_facts;  // "type*;size*;...": the session's selection starred
};
std::string feature_text(const FeatureFacts& facts);
// HELP's list of verbs, eight a line.
std::string help_text();

}  // namespace ferry
