// Credentials: the .netrc parser and the lookup order URL > FERRY_PASSWORD > netrc > prompt.
#include "credentials.hpp"

#include <catch2/catch.hpp>

using namespace ferry::client;

TEST_CASE("netrc: machine entries with login and password", "[client][netrc]") {
  const auto entries = parse_netrc(
      "machine ftp.example.org login jane password s3cret\n"
      "machine 127.0.0.1\n  login demo\n  password ferry\n");
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].machine == "ftp.example.org");
  CHECK(entries[0].login == "jane");
  CHECK(entries[0].password == "s3cret");
  CHECK_FALSE(entries[1].is_default);
  CHECK(entries[1].login == "demo");
  CHECK(entries[1].password == "ferry");
}

TEST_CASE("netrc: default, comments, quoting, account and macdef", "[client][netrc]") {
  const auto entries = parse_netrc(
      "# my servers\n"
      "machine a login x password \"with space\" account acct\n"
      "macdef init\n"
      "cd /pub\n"
      "binary\n"
      "\n"
      "machine b login y password p\\\"q\n"
      "default login anonymous password guest@\n");
  REQUIRE(entries.size() == 3);
  CHECK(entries[0].password == "with space");
  CHECK(entries[1].machine == "b");
  CHECK(entries[1].password == "p\"q");
  CHECK(entries[2].is_default);
  CHECK(entries[2].login == "anonymous");
  CHECK(entries[2].password == "guest@");
}

TEST_CASE("netrc: an empty or comment-only file has no entries", "[client][netrc]") {
  CHECK(parse_netrc("").empty());
  CHECK(parse_netrc("  \n# nothing\n").empty());
}

TEST_CASE("netrc: lookup matches the host case-insensitively and respects the login", "[client][netrc]") {
  const auto entries = parse_netrc(
      "machine Host login alice password a\n"
      "machine host login bob password b\n"
      "machine host password any\n"
      "default login anonymous password guest\n");
  REQUIRE(find_netrc_entry(entries, "host", "") != nullptr);
  CHECK(find_netrc_entry(entries, "host", "")->password == "a");
  CHECK(find_netrc_entry(entries, "HOST", "bob")->password == "b");
  CHECK(find_netrc_entry(entries, "host", "carol")->password == "any");
  CHECK(find_netrc_entry(entries, "other", "")->login == "anonymous");
  CHECK(find_netrc_entry(entries, "other", "carol") == nullptr);
  CHECK(find_netrc_entry({}, "host", "") == nullptr);
}

namespace {

FtpUrl url_for(const std::string& text) { return parse_url(text); }

CredentialSources no_sources() {
  CredentialSources sources;
  sources.prompt = [](const std::string&) { return std::optional<std::string>{}; };
  return sources;
}

}  // namespace

TEST_CASE("credentials: FERRY_PASSWORD comes before .netrc", "[client][credentials]") {
  auto sources = no_sources();
  sources.env_password = "from-env";
  sources.netrc_text = "machine 127.0.0.1 login demo password from-netrc";
  const auto credentials = resolve_credentials(url_for("ftp://demo@127.0.0.1:2121/x"), sources);
  CHECK(credentials.user == "demo");
  CHECK(credentials.password == "from-env");
}

TEST_CASE("credentials: .netrc supplies the password, and the user when the URL has none", "[client][credentials]") {
  auto sources = no_sources();
  sources.netrc_text = "machine 127.0.0.1 login demo password ferry";
  auto credentials = resolve_credentials(url_for("ftp://127.0.0.1:2121/x"), sources);
  CHECK(credentials.user == "demo");
  CHECK(credentials.password == "ferry");
  credentials = resolve_credentials(url_for("ftp://demo@127.0.0.1/x"), sources);
  CHECK(credentials.password == "ferry");
}

TEST_CASE("credentials: a netrc entry for another login is not used", "[client][credentials]") {
  auto sources = no_sources();
  sources.netrc_text = "machine 127.0.0.1 login other password nope";
  CHECK_THROWS_WITH(resolve_credentials(url_for("ftp://demo@127.0.0.1/x"), sources),
                    "no password: set FERRY_PASSWORD or add ~/.netrc entry");
}

TEST_CASE("credentials: the prompt is the last resort", "[client][credentials]") {
  auto sources = no_sources();
  std::string asked;
  sources.prompt = [&asked](const std::string& prompt) {
    asked = prompt;
    return std::optional<std::string>("typed");
  };
  const auto credentials = resolve_credentials(url_for("ftp://demo@host/x"), sources);
  CHECK(credentials.password == "typed");
  CHECK(asked == "Password for demo@host: ");
}

TEST_CASE("credentials: a password in the URL wins over everything", "[client][credentials]") {
  auto sources = no_sources();
  sources.env_password = "from-env";
  CHECK(resolve_credentials(url_for("ftp://demo:inurl@host/x"), sources).password == "inurl");
}

TEST_CASE("credentials: no user anywhere is an error", "[client][credentials]") {
  auto sources = no_sources();
  sources.env_password = "pw";
  CHECK_THROWS_AS(resolve_credentials(url_for("ftp://host/x"), sources), CredentialError);
}

TEST_CASE("credentials: no password and no terminal is an error naming the remedies", "[client][credentials]") {
  CHECK_THROWS_WITH(resolve_credentials(url_for("ftp://demo@host/x"), no_sources()),
                    "no password: set FERRY_PASSWORD or add ~/.netrc entry");
}
