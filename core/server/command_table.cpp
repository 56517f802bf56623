// The one list of every verb the server implements (see command_table.hpp).
#include "server/command_table.hpp"

#include <algorithm>
#include <array>

#include "server/session.hpp"

namespace ferry {

namespace {

using S = Session;
constexpr bool login = true;
constexpr bool anyone = false;

// Sorted by verb: find_command() searches it with a binary search.
constexpr std::array commands = {
    CommandSpec{"ABOR", &S::cmd_abor, login, Argument::none, "ABOR (abort transfer)"},
    CommandSpec{"ALLO", &S::cmd_allo, login, Argument::optional, "ALLO <sp> size (not needed)"},
    CommandSpec{"APPE", &S::cmd_appe, login, Argument::required, "APPE <sp> path (append)"},
    CommandSpec{"AUTH", &S::cmd_auth, anyone, Argument::required, "AUTH <sp> TLS"},
    CommandSpec{"CCC", &S::cmd_ccc, anyone, Argument::none, "CCC (refused)"},
    CommandSpec{"CDUP", &S::cmd_cdup, login, Argument::none, "CDUP (change to parent directory)"},
    CommandSpec{"CWD", &S::cmd_cwd, login, Argument::required, "CWD <sp> path"},
    CommandSpec{"DELE", &S::cmd_dele, login, Argument::required, "DELE <sp> path"},
    CommandSpec{"EPRT", &S::cmd_eprt, login, Argument::required, "EPRT <sp> |proto|address|port|"},
    CommandSpec{"EPSV", &S::cmd_epsv, login, Argument::optional, "EPSV [<sp> 1|2|ALL]"},
    CommandSpec{"FEAT", &S::cmd_feat, anyone, Argument::none, "FEAT (list extensions)"},
    CommandSpec{"HASH", &S::cmd_hash, login, Argument::required, "HASH <sp> path"},
    CommandSpec{"HELP", &S::cmd_help, anyone, Argument::optional, "HELP [<sp> command]"},
    CommandSpec{"LIST", &S::cmd_list, login, Argument::optional, "LIST [<sp> path]"},
    CommandSpec{"MDTM", &S::cmd_mdtm, login, Argument::required, "MDTM <sp> path"},
    CommandSpec{"MFMT", &S::cmd_mfmt, login, Argument::required, "MFMT <sp> YYYYMMDDHHMMSS path"},
    CommandSpec{"MKD", &S::cmd_mkd, login, Argument::required, "MKD <sp> path"},
    CommandSpec{"MLSD", &S::cmd_mlsd, login, Argument::optional, "MLSD [<sp> path]"},
    CommandSpec{"MLST", &S::cmd_mlst, login, Argument::optional, "MLST [<sp> path]"},
    CommandSpec{"MODE", &S::cmd_mode, anyone, Argument::required, "MODE <sp> S"},
    CommandSpec{"NLST", &S::cmd_nlst, login, Argument::optional, "NLST [<sp> path]"},
    CommandSpec{"NOOP", &S::cmd_noop, anyone, Argument::none, "NOOP"},
    CommandSpec{"OPTS", &S::cmd_opts, anyone, Argument::required, "OPTS <sp> UTF8 ON | HASH alg | MLST facts"},
    CommandSpec{"PASS", &S::cmd_pass, anyone, Argument::optional, "PASS <sp> password"},
    CommandSpec{"PASV", &S::cmd_pasv, login, Argument::none, "PASV (passive mode, IPv4)"},
    CommandSpec{"PBSZ", &S::cmd_pbsz, anyone, Argument::required, "PBSZ <sp> 0"},
    CommandSpec{"PORT", &S::cmd_port, login, Argument::required, "PORT <sp> h1,h2,h3,h4,p1,p2"},
    CommandSpec{"PROT", &S::cmd_prot, anyone, Argument::required, "PROT <sp> P|C"},
    CommandSpec{"PWD", &S::cmd_pwd, login, Argument::none, "PWD (print working directory)"},
    CommandSpec{"QUIT", &S::cmd_quit, anyone, Argument::none, "QUIT (end the session)"},
    CommandSpec{"REIN", &S::cmd_rein, anyone, Argument::none, "REIN (log out, keep the connection)"},
    CommandSpec{"REST", &S::cmd_rest, login, Argument::required, "REST <sp> offset"},
    CommandSpec{"RETR", &S::cmd_retr, login, Argument::required, "RETR <sp> path"},
    CommandSpec{"RMD", &S::cmd_rmd, login, Argument::required, "RMD <sp> path"},
    CommandSpec{"RNFR", &S::cmd_rnfr, login, Argument::required, "RNFR <sp> path (rename from)"},
    CommandSpec{"RNTO", &S::cmd_rnto, login, Argument::required, "RNTO <sp> path (rename to)"},
    CommandSpec{"SITE", &S::cmd_site, login, Argument::required, "SITE <sp> CHMOD mode path | HELP"},
    CommandSpec{"SIZE", &S::cmd_size, login, Argument::required, "SIZE <sp> path"},
    CommandSpec{"STAT", &S::cmd_stat, anyone, Argument::optional, "STAT [<sp> path]"},
    CommandSpec{"STOR", &S::cmd_stor, login, Argument::required, "STOR <sp> path (upload)"},
    CommandSpec{"STOU", &S::cmd_stou, login, Argument::optional, "STOU [<sp> name] (upload, unique name)"},
    CommandSpec{"STRU", &S::cmd_stru, anyone, Argument::required, "STRU <sp> F"},
    CommandSpec{"SYST", &S::cmd_syst, anyone, Argument::none, "SYST"},
    CommandSpec{"TYPE", &S::cmd_type, anyone, Argument::required, "TYPE <sp> A|I"},
    CommandSpec{"USER", &S::cmd_user, anyone, Argument::required, "USER <sp> name"},
    CommandSpec{"XCUP", &S::cmd_cdup, login, Argument::none, "XCUP (same as CDUP)"},
    CommandSpec{"XCWD", &S::cmd_cwd, login, Argument::required, "XCWD <sp> path (same as CWD)"},
    CommandSpec{"XMD5", &S::cmd_xmd5, login, Argument::required, "XMD5 <sp> path"},
    CommandSpec{"XMKD", &S::cmd_mkd, login, Argument::required, "XMKD <sp> path (same as MKD)"},
    CommandSpec{"XPWD", &S::cmd_pwd, login, Argument::none, "XPWD (same as PWD)"},
    CommandSpec{"XRMD", &S::cmd_rmd, login, Argument::required, "XRMD <sp> path (same as RMD)"},
    CommandSpec{"XSHA1", &S::cmd_xsha1, login, Argument::required, "XSHA1 <sp> path"},
    CommandSpec{"XSHA256", &S::cmd_xsha256, login, Argument::required, "XSHA256 <sp> path"},
    CommandSpec{"XSHA512", &S::cmd_xsha512, login, Argument::required, "XSHA512 <sp> path"},
};

static_assert(std::is_sorted(commands.begin(), commands.end(),
                             [](const CommandSpec& a, const CommandSpec& b) { return a.verb < b.verb; }));

}  // namespace

const CommandSpec* find_command(std::string_view verb) {
  auto it = std::lower_bound(commands.begin(), commands.end(), verb,
                             [](const CommandSpec& spec, std::string_view v) { return spec.verb < v; });
  return it != commands.end() && it->verb == verb ? &*it : nullptr;
}

std::span<const CommandSpec> all_commands() { return commands; }

}  // namespace ferry
