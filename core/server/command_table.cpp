// The one list of every verb the server implements (see command_table.hpp).
#include "server/command_table.hpp"

#include <algorithm>
#include <array>
#include <string>
#include <vector>

namespace ferry {

namespace {

constexpr bool login = true;
constexpr bool anyone = false;
constexpr bool uses_data = true;

// Sorted by verb: find_command() searches it with a binary search.
constexpr std::array commands = {
    CommandSpec{"ABOR", CommandId::abor, login, Argument::none, "ABOR (abort transfer)", {}},
    CommandSpec{"ALLO", CommandId::allo, login, Argument::optional, "ALLO <sp> size (not needed)", {}},
    CommandSpec{"APPE", CommandId::appe, login, Argument::required, "APPE <sp> path (append)", {}, false, uses_data},
    CommandSpec{"AUTH", CommandId::auth, anyone, Argument::required, "AUTH <sp> TLS", "AUTH TLS", tls_only},
    CommandSpec{"CCC", CommandId::ccc, anyone, Argument::none, "CCC (refused)", {}},
    CommandSpec{"CDUP", CommandId::cdup, login, Argument::none, "CDUP (change to parent directory)", {}},
    CommandSpec{"CWD", CommandId::cwd, login, Argument::required, "CWD <sp> path", {}},
    CommandSpec{"DELE", CommandId::dele, login, Argument::required, "DELE <sp> path", {}},
    CommandSpec{"EPRT", CommandId::eprt, login, Argument::required, "EPRT <sp> |proto|address|port|", {}},
    CommandSpec{"EPSV", CommandId::epsv, login, Argument::optional, "EPSV [<sp> 1|2|ALL]", "EPSV"},
    CommandSpec{"FEAT", CommandId::feat, anyone, Argument::none, "FEAT (list extensions)", {}},
    CommandSpec{"HASH", CommandId::hash, login, Argument::required, "HASH <sp> path", "HASH {hash}"},
    CommandSpec{"HELP", CommandId::help, anyone, Argument::optional, "HELP [<sp> command]", {}},
    CommandSpec{"LIST", CommandId::list, login, Argument::optional, "LIST [<sp> path]", {}, false, uses_data},
    CommandSpec{"MDTM", CommandId::mdtm, login, Argument::required, "MDTM <sp> path", "MDTM"},
    CommandSpec{"MFMT", CommandId::mfmt, login, Argument::required, "MFMT <sp> YYYYMMDDHHMMSS path", "MFMT"},
    CommandSpec{"MKD", CommandId::mkd, login, Argument::required, "MKD <sp> path", {}},
    CommandSpec{"MLSD", CommandId::mlsd, login, Argument::optional, "MLSD [<sp> path]", {}, false, uses_data},
    CommandSpec{"MLST", CommandId::mlst, login, Argument::optional, "MLST [<sp> path]", "MLST {mlst}"},
    CommandSpec{"MODE", CommandId::mode, anyone, Argument::required, "MODE <sp> S", {}},
    CommandSpec{"NLST", CommandId::nlst, login, Argument::optional, "NLST [<sp> path]", {}, false, uses_data},
    CommandSpec{"NOOP", CommandId::noop, anyone, Argument::none, "NOOP", {}},
    CommandSpec{"OPTS", CommandId::opts, anyone, Argument::required, "OPTS <sp> UTF8 ON | HASH alg | MLST facts", "UTF8"},
    CommandSpec{"PASS", CommandId::pass, anyone, Argument::optional, "PASS <sp> password", {}},
    CommandSpec{"PASV", CommandId::pasv, login, Argument::none, "PASV (passive mode, IPv4)", "PASV"},
    CommandSpec{"PBSZ", CommandId::pbsz, anyone, Argument::required, "PBSZ <sp> 0", "PBSZ", tls_only},
    CommandSpec{"PORT", CommandId::port, login, Argument::required, "PORT <sp> h1,h2,h3,h4,p1,p2", {}},
    CommandSpec{"PROT", CommandId::prot, anyone, Argument::required, "PROT <sp> P|C", "PROT", tls_only},
    CommandSpec{"PWD", CommandId::pwd, login, Argument::none, "PWD (print working directory)", {}},
    CommandSpec{"QUIT", CommandId::quit, anyone, Argument::none, "QUIT (end the session)", {}},
    CommandSpec{"REIN", CommandId::rein, anyone, Argument::none, "REIN (log out, keep the connection)", {}},
    CommandSpec{"REST", CommandId::rest, login, Argument::required, "REST <sp> offset", "REST STREAM"},
    CommandSpec{"RETR", CommandId::retr, login, Argument::required, "RETR <sp> path", {}, false, uses_data},
    CommandSpec{"RMD", CommandId::rmd, login, Argument::required, "RMD <sp> path", {}},
    CommandSpec{"RNFR", CommandId::rnfr, login, Argument::required, "RNFR <sp> path (rename from)", {}},
    CommandSpec{"RNTO", CommandId::rnto, login, Argument::required, "RNTO <sp> path (rename to)", {}},
    CommandSpec{"SITE", CommandId::site, login, Argument::required, "SITE <sp> CHMOD mode path | HELP", {}},
    CommandSpec{"SIZE", CommandId::size, login, Argument::required, "SIZE <sp> path", "SIZE"},
    CommandSpec{"STAT", CommandId::stat, anyone, Argument::optional, "STAT [<sp> path]", {}},
    CommandSpec{"STOR", CommandId::stor, login, Argument::required, "STOR <sp> path (upload)", {}, false, uses_data},
    CommandSpec{"STOU", CommandId::stou, login, Argument::optional, "STOU [<sp> name] (upload, unique name)", {}, false, uses_data},
    CommandSpec{"STRU", CommandId::stru, anyone, Argument::required, "STRU <sp> F", {}},
    CommandSpec{"SYST", CommandId::syst, anyone, Argument::none, "SYST", {}},
    CommandSpec{"TYPE", CommandId::type, anyone, Argument::required, "TYPE <sp> A|I", {}},
    CommandSpec{"USER", CommandId::user, anyone, Argument::required, "USER <sp> name", {}},
    CommandSpec{"XCUP", CommandId::cdup, login, Argument::none, "XCUP (same as CDUP)", {}},
    CommandSpec{"XCWD", CommandId::cwd, login, Argument::required, "XCWD <sp> path (same as CWD)", {}},
    CommandSpec{"XMD5", CommandId::xmd5, login, Argument::required, "XMD5 <sp> path", {}},
    CommandSpec{"XMKD", CommandId::mkd, login, Argument::required, "XMKD <sp> path (same as MKD)", {}},
    CommandSpec{"XPWD", CommandId::pwd, login, Argument::none, "XPWD (same as PWD)", {}},
    CommandSpec{"XRMD", CommandId::rmd, login, Argument::required, "XRMD <sp> path (same as RMD)", {}},
    CommandSpec{"XSHA1", CommandId::xsha1, login, Argument::required, "XSHA1 <sp> path", {}},
    CommandSpec{"XSHA256", CommandId::xsha256, login, Argument::required, "XSHA256 <sp> path", {}},
    CommandSpec{"XSHA512", CommandId::xsha512, login, Argument::required, "XSHA512 <sp> path", {}},
};

static_assert(std::is_sorted(commands.begin(), commands.end(),
                             [](const CommandSpec& a, const CommandSpec& b) { return a.verb < b.verb; }));

// FEAT lines that belong to no one command: paths are one tree with "/" (RFC 3659 TVFS).
constexpr std::array<std::string_view, 1> server_features = {"TVFS"};

bool is_ftps_feature(const std::string& line) { return line == "AUTH TLS" || line == "PBSZ" || line == "PROT"; }

void fill(std::string& line, std::string_view placeholder, std::string_view value) {
  if (auto at = line.find(placeholder); at != std::string::npos) line.replace(at, placeholder.size(), value);
}

}  // namespace

const CommandSpec* find_command(std::string_view verb) {
  auto it = std::lower_bound(commands.begin(), commands.end(), verb,
                             [](const CommandSpec& spec, std::string_view v) { return spec.verb < v; });
  return it != commands.end() && it->verb == verb ? &*it : nullptr;
}

std::span<const CommandSpec> all_commands() { return commands; }

std::optional<Refusal> precheck(const CommandSpec* command, bool logged_in, std::string_view argument) {
  if (command == nullptr) return Refusal{502, "Command not implemented."};
  if (command->needs_login && !logged_in) return Refusal{530, "Please login with USER and PASS."};
  if (command->argument == Argument::required && argument.empty()) {
    return Refusal{501, "Syntax error in parameters or arguments."};
  }
  return std::nullopt;
}

std::string feature_text(const FeatureFacts& facts) {
  std::vector<std::string> lines;
  for (const CommandSpec& spec : commands) {
    if (spec.feature.empty() || (spec.feature_needs_tls && !facts.tls)) continue;
    std::string line(spec.feature);
    fill(line, "{hash}", facts.hash);
    fill(line, "{mlst}", facts.mlst_facts);
    lines.push_back(std::move(line));
  }
  lines.insert(lines.end(), server_features.begin(), server_features.end());
  std::sort(lines.begin(), lines.end(), [](const std::string& a, const std::string& b) {
    return is_ftps_feature(a) != is_ftps_feature(b) ? is_ftps_feature(a) : a < b;
  });
  std::string text = "Features:\n";
  for (const std::string& line : lines) text += line + "\n";
  return text + "End";
}

std::string help_text() {
  std::string text = "The following commands are recognized:\n";
  int column = 0;
  for (const CommandSpec& spec : commands) {
    text += spec.verb;
    text.append(8 - spec.verb.size(), ' ');
    if (++column % 8 == 0) text += '\n';
  }
  if (column % 8 != 0) text += '\n';
  return text + "Help OK.";
}

}  // namespace ferry
