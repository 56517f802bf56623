// config.toml validation: the schema, positions in every error, plugin tables passed on.
#include <catch2/catch.hpp>

#include "server/config.hpp"

using ferry::parse_config;

namespace {

// The [auth] table and the [[mount]] tables, as the kind table files them.
const ferry::PluginConfig& auth_of(const ferry::Config& c) {
  return *c.plugins_of(ferry::PluginKind::authenticator).at(0);
}
std::vector<const ferry::PluginConfig*> mounts_of(const ferry::Config& c) {
  return c.plugins_of(ferry::PluginKind::file_provider);
}

const char* minimal = R"(
[auth]
plugin = "auth_file"
users = "users.passwd"

[[mount]]
path = "/"
plugin = "send_png"
image = "ferry.png"
)";

std::string with_server(const std::string& server_table) { return "[server]\n" + server_table + "\n" + minimal; }

}  // namespace

TEST_CASE("a minimal config gets the documented defaults", "[config]") {
  auto r = parse_config(minimal, "/etc/ferry/config.toml");
  REQUIRE(r.config);
  const ferry::Config& c = *r.config;
  CHECK(c.dir == "/etc/ferry");
  REQUIRE(c.listen.size() == 1);
  CHECK(ferry::to_string(c.listen[0]) == "127.0.0.1:2121");
  CHECK(c.max_sessions == 1000);
  CHECK(c.max_sessions_per_ip == 32);
  CHECK(c.passive_port_min == 50000);
  CHECK(c.passive_port_max == 50999);
  CHECK(auth_of(c).plugin == "auth_file");
  REQUIRE(auth_of(c).options.values.size() == 1);
  CHECK(auth_of(c).options.values[0].key == "users");
  CHECK(auth_of(c).options.config_dir == "/etc/ferry");
  REQUIRE(mounts_of(c).size() == 1);
  CHECK(mounts_of(c)[0]->path == "/");
  CHECK(mounts_of(c)[0]->options.values[0].line == 9);
}

TEST_CASE("server keys are read with their types", "[config]") {
  auto r = parse_config(with_server(R"(listen = ["[::1]:0", "127.0.0.1:21"]
workers = 3
busy_poll_us = 0
passive_ports = [40000, 40010]
passive_address = "192.0.2.7"
banner = "hello")"),
                        "c.toml");
  REQUIRE(r.config);
  CHECK(r.config->listen.size() == 2);
  CHECK(r.config->listen[0].host == "::1");
  CHECK(r.config->workers == 3);
  CHECK(r.config->busy_poll_us == 0);
  CHECK(r.config->passive_port_max == 40010);
  CHECK(r.config->banner == "hello");
}

TEST_CASE("errors name file, line and column", "[config]") {
  auto unknown = parse_config(with_server("colour = \"blue\""), "c.toml");
  REQUIRE_FALSE(unknown.config);
  CHECK(unknown.error == "c.toml:2:1: unknown key 'server.colour'");

  auto wrong_type = parse_config(with_server("workers = \"many\""), "c.toml");
  REQUIRE_FALSE(wrong_type.config);
  CHECK(wrong_type.error.starts_with("c.toml:2:"));
  CHECK(wrong_type.error.find("'workers' must be an integer") != std::string::npos);

  auto syntax = parse_config("[server\nlisten = 1", "c.toml");
  REQUIRE_FALSE(syntax.config);
  CHECK(syntax.error.starts_with("c.toml:1:"));
}

TEST_CASE("bad values are refused", "[config]") {
  CHECK_FALSE(parse_config(with_server("listen = [\"localhost:21\"]"), "c").config);
  CHECK_FALSE(parse_config(with_server("listen = [\"127.0.0.1:70000\"]"), "c").config);
  CHECK_FALSE(parse_config(with_server("listen = []"), "c").config);
  CHECK_FALSE(parse_config(with_server("passive_ports = [50010, 50000]"), "c").config);
  CHECK_FALSE(parse_config(with_server("passive_ports = [80, 90]"), "c").config);
  CHECK_FALSE(parse_config(with_server("passive_address = \"nat.example\""), "c").config);
  CHECK_FALSE(parse_config(with_server("max_sessions = 0"), "c").config);
  CHECK_FALSE(parse_config(with_server("banner = \"two\\nlines\""), "c").config);
}

TEST_CASE("listen addresses that could not all be bound are refused", "[config]") {
  auto twice = parse_config(with_server(R"(listen = ["127.0.0.1:2121", "127.0.0.1:2121"])"), "c.toml");
  CHECK(twice.error == "c.toml:2:29: 127.0.0.1:2121 overlaps 127.0.0.1:2121 (line 2): only one of them can listen");
  // The wildcard takes every address of its family; ::1 spelt out is still ::1.
  CHECK_FALSE(parse_config(with_server(R"(listen = ["0.0.0.0:21", "127.0.0.1:21"])"), "c").config);
  CHECK_FALSE(parse_config(with_server(R"(listen = ["[::1]:21", "[0:0:0:0:0:0:0:1]:21"])"), "c").config);
  CHECK_FALSE(parse_config(with_server(R"(listen = ["127.0.0.1:21", "[::]:21"]
[tls]
certificate = "c"
private_key = "k"
implicit_listen = ["[::1]:21"])"),
                           "c")
                  .config);
  auto against_default =
      parse_config(std::string(minimal) + R"([tls]
certificate = "c"
private_key = "k"
implicit_listen = ["127.0.0.1:2121"]
)",
                   "c");
  CHECK(against_default.error.find("overlaps the default listen address 127.0.0.1:2121") != std::string::npos);
  // Different ports, families (IPv6 sockets are v6-only) or port 0 (a free one each) are fine.
  CHECK(parse_config(with_server(R"(listen = ["127.0.0.1:21", "127.0.0.1:2121", "[::]:21", "0.0.0.0:0", "0.0.0.0:0"])"), "c")
            .config);
}

TEST_CASE("auth and mounts are required and checked", "[config]") {
  CHECK(parse_config("[server]\n", "c").error.find("missing [auth]") != std::string::npos);
  CHECK(parse_config("[auth]\nplugin = \"auth_file\"\n", "c").error.find("no [[mount]]") != std::string::npos);
  auto no_plugin = parse_config("[auth]\nusers = \"u\"\n[[mount]]\npath = \"/\"\nplugin = \"send_png\"\n", "c");
  CHECK(no_plugin.error.find("needs a 'plugin' key") != std::string::npos);
  auto relative = parse_config(std::string(minimal) + "[[mount]]\npath = \"x\"\nplugin = \"send_png\"\n", "c");
  CHECK(relative.error.find("must start with '/'") != std::string::npos);
  auto twice = parse_config(std::string(minimal) + "[[mount]]\npath = \"/./\"\nplugin = \"send_png\"\n", "c");
  CHECK(twice.error.find("mounted twice") != std::string::npos);
}

TEST_CASE("plugin options keep their values and positions", "[config][plugin]") {
  auto r = parse_config(std::string(minimal) + R"([[mount]]
path = "/files/"
plugin = "fs_local"
root = "/srv/%u"
writable = true
quota = 5
hosts = ["a", "b"]
)",
                        "c");
  REQUIRE(r.config);
  const auto& mount = *mounts_of(*r.config)[1];
  CHECK(mount.path == "/files");
  ferry::OptionReader reader(mount.options);
  CHECK(reader.required_string("root") == "/srv/%u");
  CHECK(reader.optional_bool("writable", false));
  CHECK(reader.optional_int("quota", 0) == 5);
  CHECK_FALSE(reader.finish());  // "hosts" was never read
  CHECK(reader.error() == "c:16:1: key 'hosts' unknown key");
}

TEST_CASE("OptionReader reports wrong types and missing keys", "[config][plugin]") {
  auto r = parse_config(minimal, "c");
  REQUIRE(r.config);
  ferry::OptionReader reader(mounts_of(*r.config)[0]->options);
  CHECK(reader.optional_bool("image", false) == false);
  CHECK(reader.error() == "c:9:1: key 'image' must be a boolean (true or false)");
  ferry::OptionReader missing(auth_of(*r.config).options);
  missing.required_string("nope");
  CHECK(missing.error() == "c: missing required key 'nope'");
}

TEST_CASE("[tls] keys are read, paths resolved, mistakes refused", "[config][tls]") {
  auto r = parse_config(std::string(minimal) + R"([tls]
certificate = "cert.pem"
private_key = "/etc/ferry/key.pem"
require = true
require_session_reuse = false
implicit_listen = ["127.0.0.1:990"]
)",
                        "/srv/ferry/config.toml");
  REQUIRE(r.config);
  REQUIRE(r.config->tls);
  CHECK(r.config->tls->certificate == "/srv/ferry/cert.pem");
  CHECK(r.config->tls->private_key == "/etc/ferry/key.pem");
  CHECK(r.config->tls->require);
  CHECK_FALSE(r.config->tls->require_session_reuse);
  REQUIRE(r.config->tls->implicit_listen.size() == 1);
  CHECK(r.config->tls->implicit_listen[0].port == 990);

  CHECK_FALSE(parse_config(minimal, "c").config->tls);
  CHECK(parse_config(std::string(minimal) + "[tls]\ncertificate = \"c.pem\"\n", "c").error.find("needs 'private_key'") !=
        std::string::npos);
  CHECK(parse_config(std::string(minimal) + "[tls]\ncertificate = \"c\"\nprivate_key = \"k\"\nrequire = 1\n", "c")
            .error.find("'require' must be true or false") != std::string::npos);
  CHECK(parse_config(std::string(minimal) + "[tls]\ncertificate = \"c\"\nprivate_key = \"k\"\nciphers = \"x\"\n", "c")
            .error.find("unknown key 'tls.ciphers'") != std::string::npos);
}

TEST_CASE("who to run as and the [log] table", "[config]") {
  auto defaults = parse_config(minimal, "/etc/ferry/config.toml");
  REQUIRE(defaults.config);
  CHECK(defaults.config->user.empty());
  CHECK_FALSE(defaults.config->allow_root);
  CHECK(defaults.config->log.format == ferry::LogFormat::text);
  CHECK(defaults.config->log.xferlog.empty());

  auto r = parse_config("[server]\nuser = \"ftp\"\ngroup = \"nogroup\"\nallow_root = true\n"
                        "[log]\nformat = \"json\"\nxferlog = \"xfer.log\"\n" + std::string(minimal),
                        "/etc/ferry/config.toml");
  REQUIRE(r.config);
  CHECK(r.config->user == "ftp");
  CHECK(r.config->group == "nogroup");
  CHECK(r.config->allow_root);
  CHECK(r.config->log.format == ferry::LogFormat::json);
  CHECK(r.config->log.xferlog == "/etc/ferry/xfer.log");  // relative to the config's directory

  CHECK(parse_config(with_server("allow_root = 1"), "c").error == "c:2:14: 'allow_root' must be true or false");
  CHECK(parse_config("[log]\nformat = \"xml\"\n" + std::string(minimal), "c").error ==
        "c:2:10: 'format' must be \"text\" or \"json\"");
  CHECK(parse_config("[log]\nlevel = \"debug\"\n" + std::string(minimal), "c").error == "c:2:1: unknown key 'log.level'");
}

TEST_CASE("server.confine is on by default, false turns it off, and anything else is refused", "[config]") {
  auto defaults = parse_config(minimal, "c");
  REQUIRE(defaults.config);
  CHECK(defaults.config->confine);
  auto off = parse_config(with_server("confine = false\npassive_ports = [40000, 40009]\nplugin_dir = \"p\""), "c");
  REQUIRE(off.config);
  CHECK_FALSE(off.config->confine);
  // Where a reload under confinement points when it refuses them.
  CHECK(off.config->passive_ports_at == "c:3:17");
  CHECK(off.config->plugin_dir_at == "c:4:14");
  CHECK(parse_config(with_server("confine = \"yes\""), "c").error == "c:2:11: 'confine' must be true or false");
}

TEST_CASE("[admin] is off unless it listens, and checked like the rest", "[config][admin]") {
  auto off = parse_config(minimal, "/etc/ferry/config.toml");
  REQUIRE(off.config);
  CHECK_FALSE(off.config->admin.enabled());
  auto on = parse_config(std::string(minimal) + R"(
[admin]
listen = ["127.0.0.1:2180", "[::1]:2180"]
operators = "operators.passwd"
metrics_public = true
)",
                         "/etc/ferry/config.toml");
  REQUIRE(on.config);
  const ferry::AdminConfig& a = on.config->admin;
  CHECK(a.enabled());
  REQUIRE(a.listen.size() == 2);
  CHECK(ferry::to_string(a.listen[1]) == "[::1]:2180");
  CHECK(a.operators == "/etc/ferry/operators.passwd");
  CHECK(a.operators_at == "/etc/ferry/config.toml:13:13");
  CHECK(a.metrics_public);
  CHECK_FALSE(a.tls);

  auto error_of = [](const std::string& admin) {
    auto r = parse_config(std::string(minimal) + "\n[admin]\n" + admin, "c.toml");
    REQUIRE_FALSE(r.config);
    return r.error;
  };
  CHECK(error_of("listen = [\"127.0.0.1:2180\"]\n") == "c.toml:11:1: [admin] needs 'operators' (a file of name:hash lines, as the users file) when it listens");
  CHECK(error_of("listen = [\"127.0.0.1:2180\"]\noperators = \"o\"\ntls = true\n") == "c.toml:14:7: 'admin.tls' needs a [tls] table (its certificate)");
  CHECK(error_of("port = 1\n") == "c.toml:12:1: unknown key 'admin.port'");
  CHECK(error_of("listen = \"x\"\n") == "c.toml:12:10: 'listen' must be an array of \"host:port\" strings");
  CHECK(error_of("listen = [\"127.0.0.1:2121\"]\noperators = \"o\"\n").find("overlaps") != std::string::npos);
  // No listen: off, and operators need not be named.
  auto quiet = parse_config(std::string(minimal) + "\n[admin]\nlisten = []\n", "c.toml");
  REQUIRE(quiet.config);
  CHECK_FALSE(quiet.config->admin.enabled());
}

TEST_CASE("server.proxy_protocol_from takes addresses and CIDR blocks", "[config]") {
  auto none = parse_config(minimal, "c.toml");
  REQUIRE(none.config);
  CHECK(none.config->proxy_protocol_from.empty());

  auto r = parse_config(with_server(R"(proxy_protocol_from = ["127.0.0.10", "10.0.0.0/8", "fd00::/8", "::1"])"), "c.toml");
  REQUIRE(r.config);
  const auto& from = r.config->proxy_protocol_from;
  REQUIRE(from.size() == 4);
  CHECK(from[0].to_string() == "127.0.0.10/32");
  CHECK(from[1].to_string() == "10.0.0.0/8");
  CHECK(from[2].to_string() == "fd00::/8");
  CHECK(from[3].to_string() == "::1/128");

  for (const char* bad : {R"(proxy_protocol_from = ["10.0.0.1/8"])", R"(proxy_protocol_from = ["haproxy"])",
                          R"(proxy_protocol_from = ["10.0.0.0/33"])", R"(proxy_protocol_from = "10.0.0.1")",
                          R"(proxy_protocol_from = [10])"}) {
    INFO(bad);
    auto refused = parse_config(with_server(bad), "c.toml");
    CHECK_FALSE(refused.config);
    CHECK(refused.error.find("c.toml:2:") == 0);
    CHECK(refused.error.find("proxy_protocol_from") != std::string::npos);
  }
}

TEST_CASE("[cluster] takes this node's name and the shared database", "[config]") {
  auto none = parse_config(minimal, "c.toml");
  REQUIRE(none.config);
  CHECK_FALSE(none.config->cluster);
  auto r = parse_config(std::string(minimal) + "\n[cluster]\nnode = \"a\"\ndatabase = \"host=/run/postgresql dbname=ferry\"\n",
                        "c.toml");
  REQUIRE(r.config);
  REQUIRE(r.config->cluster);
  CHECK(r.config->cluster->node == "a");
  CHECK(r.config->cluster->database == "host=/run/postgresql dbname=ferry");
  for (const char* bad : {"[cluster]\nnode = \"a\"\n", "[cluster]\ndatabase = \"x\"\n",
                          "[cluster]\nnode = \"a b\"\ndatabase = \"x\"\n", "[cluster]\nnode = \"a\"\ndatabase = \"x\"\npeers = 2\n"}) {
    INFO(bad);
    auto refused = parse_config(std::string(minimal) + "\n" + bad, "c.toml");
    CHECK_FALSE(refused.config);
    CHECK(refused.error.find("c.toml:") == 0);
    CHECK(refused.error.find("cluster") != std::string::npos);
  }
}
