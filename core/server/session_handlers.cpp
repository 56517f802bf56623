// Which member function of Session runs each CommandId of the command table: the one
// place that ties the (pure) table to the session.
#include <array>

#include "server/command_table.hpp"
#include "server/session.hpp"

namespace ferry {

// Inside a member: the handlers are private, reachable only through dispatch's pre-checks.
asio::awaitable<void> Session::run_handler(CommandId id, std::string_view argument) {
  using Handler = asio::awaitable<void> (Session::*)(std::string_view);
  // In CommandId's order (alphabetical), one per id.
  static constexpr std::array<Handler, command_id_count> handlers = {
      &Session::cmd_abor,
      &Session::cmd_allo,
      &Session::cmd_appe,
      &Session::cmd_auth,
      &Session::cmd_ccc,
      &Session::cmd_cdup,
      &Session::cmd_cwd,
      &Session::cmd_dele,
      &Session::cmd_eprt,
      &Session::cmd_epsv,
      &Session::cmd_feat,
      &Session::cmd_hash,
      &Session::cmd_help,
      &Session::cmd_list,
      &Session::cmd_mdtm,
      &Session::cmd_mfmt,
      &Session::cmd_mkd,
      &Session::cmd_mlsd,
      &Session::cmd_mlst,
      &Session::cmd_mode,
      &Session::cmd_nlst,
      &Session::cmd_noop,
      &Session::cmd_opts,
      &Session::cmd_pass,
      &Session::cmd_pasv,
      &Session::cmd_pbsz,
      &Session::cmd_port,
      &Session::cmd_prot,
      &Session::cmd_pwd,
      &Session::cmd_quit,
      &Session::cmd_rein,
      &Session::cmd_rest,
      &Session::cmd_retr,
      &Session::cmd_rmd,
      &Session::cmd_rnfr,
      &Session::cmd_rnto,
      &Session::cmd_site,
      &Session::cmd_size,
      &Session::cmd_stat,
      &Session::cmd_stor,
      &Session::cmd_stou,
      &Session::cmd_stru,
      &Session::cmd_syst,
      &Session::cmd_type,
      &Session::cmd_user,
      &Session::cmd_xmd5,
      &Session::cmd_xsha1,
      &Session::cmd_xsha256,
      &Session::cmd_xsha512,
  };
  co_await (this->*handlers[static_cast<std::size_t>(id)])(argument);
}

}  // namespace ferry
