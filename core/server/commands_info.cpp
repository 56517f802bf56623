// Information handlers: NOOP, SYST, FEAT, OPTS, HELP, STAT.
#include <cctype>

#include "digest/digest.hpp"
#include "ftp/command.hpp"
#include "ftp/listing.hpp"
#include "server/command_table.hpp"
#include "server/session.hpp"

namespace ferry {

asio::awaitable<void> Session::cmd_noop(std::string_view) { co_await reply(200, "NOOP ok."); }

asio::awaitable<void> Session::cmd_syst(std::string_view) { co_await reply(215, "UNIX Type: L8"); }

asio::awaitable<void> Session::cmd_feat(std::string_view) {
  std::string hash;
  for (auto a : {digest::Algorithm::sha256, digest::Algorithm::sha512, digest::Algorithm::sha1, digest::Algorithm::md5}) {
    if (a != digest::Algorithm::sha256) hash += ';';
    hash += digest::algorithm_name(a);
    if (a == hash_algorithm_) hash += '*';
  }
  const std::string mlst = ftp::format_mlst_facts(mlst_facts_, true);
  co_await reply(211, feature_text({.tls = state_->tls != nullptr, .hash = hash, .mlst_facts = mlst}));
}

asio::awaitable<void> Session::cmd_opts(std::string_view arg) {
  std::string_view option = arg.substr(0, arg.find(' '));
  std::string_view value = option.size() < arg.size() ? arg.substr(option.size() + 1) : std::string_view();
  std::string name = ftp::to_upper(option);
  if (name == "UTF8" || name == "UTF-8") {
    std::string v = ftp::to_upper(value);
    if (v == "ON" || v.empty()) {
      co_await reply(200, "Always in UTF8 mode.");
    } else {
      co_await reply(504, "UTF8 cannot be turned off.");
    }
  } else if (name == "HASH") {
    if (value.empty()) {
      co_await reply(200, std::string(digest::algorithm_name(hash_algorithm_)));
    } else if (auto algorithm = digest::algorithm_from_name(value)) {
      hash_algorithm_ = *algorithm;
      digest_uploads_ = true;
      co_await reply(200, std::string(digest::algorithm_name(*algorithm)));
    } else {
      co_await reply(501, "Unknown algorithm; choose SHA-256, SHA-512, SHA-1 or MD5.");
    }
  } else if (name == "MLST") {
    // RFC 3659 7.9: the list replaces the selection (an empty one selects no facts), and
    // the reply names the facts MLST and MLSD will show from now on.
    mlst_facts_ = ftp::parse_mlst_facts(value);
    std::string text = "MLST OPTS";
    if (mlst_facts_ != 0) text += " " + ftp::format_mlst_facts(mlst_facts_, false);
    co_await reply(200, text);
  } else {
    co_await reply(501, "Option not understood.");
  }
}

asio::awaitable<void> Session::cmd_help(std::string_view arg) {
  if (!arg.empty()) {
    const CommandSpec* spec = find_command(ftp::to_upper(arg));
    if (!spec) {
      co_await reply(502, "Unknown command " + ftp::to_upper(arg) + ".");
    } else {
      co_await reply(214, "Syntax: " + std::string(spec->help));
    }
    co_return;
  }
  co_await reply(214, help_text());
}

asio::awaitable<void> Session::cmd_stat(std::string_view arg) {
  if (arg.empty()) {
    std::string text = "ferry FTP server status:\nConnected to " + peer_text_ + "\n";
    text += fs_ ? "Logged in as " + fs_->user() + "\n" : std::string("Not logged in\n");
    text += binary_ ? "TYPE: BINARY\n" : "TYPE: ASCII\n";
    text += "No data connection\nEnd of status";
    co_await reply(211, text);
    co_return;
  }
  if (!fs_) {
    co_await reply(530, "Please login with USER and PASS.");
    co_return;
  }
  co_await send_listing(arg, ListingFormat::list, true);  // STAT path: listing on the control connection
}

}  // namespace ferry
