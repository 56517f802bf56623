// The command table: the prechecks every command passes before its handler, and FEAT and
// HELP made from the table (their text is what ferryd has always answered).
#include <catch2/catch.hpp>

#include "server/command_table.hpp"

using namespace ferry;

TEST_CASE("prechecks: unknown 502, login 530, missing argument 501, in that order", "[commands]") {
  auto refusal = [](std::string_view verb, bool logged_in, std::string_view argument) {
    auto r = precheck(find_command(verb), logged_in, argument);
    return r ? r->code : 0;
  };
  CHECK(refusal("XYZZY", true, "") == 502);
  CHECK(refusal("SMNT", false, "x") == 502);
  CHECK(refusal("RETR", false, "") == 530);  // login before the argument
  CHECK(refusal("RETR", true, "") == 501);
  CHECK(refusal("RETR", true, "a.txt") == 0);
  CHECK(refusal("USER", false, "") == 501);
  CHECK(refusal("USER", false, "alice") == 0);
  CHECK(refusal("LIST", true, "") == 0);   // optional
  CHECK(refusal("PWD", true, "ignored") == 0);  // none: an argument is ignored, as vsftpd does
  CHECK(refusal("FEAT", false, "") == 0);
  CHECK(refusal("PASV", false, "") == 530);
}

TEST_CASE("every verb is found, aliases share their handler", "[commands]") {
  for (const CommandSpec& spec : all_commands()) {
    REQUIRE(find_command(spec.verb) == &spec);
    CHECK(static_cast<std::size_t>(spec.id) < command_id_count);
    CHECK_FALSE(spec.help.empty());
  }
  CHECK(find_command("XCWD")->id == find_command("CWD")->id);
  CHECK(find_command("XPWD")->id == find_command("PWD")->id);
  CHECK(find_command("retr") == nullptr);  // the parser upper-cases verbs first
}

TEST_CASE("FEAT is made from the table's feature column", "[commands]") {
  const std::string mlst = "type*;size*;modify*;perm*;unique*;";
  CHECK(feature_text({.tls = true, .hash = "SHA-256*;SHA-512;SHA-1;MD5", .mlst_facts = mlst}) ==
        "Features:\nAUTH TLS\nPBSZ\nPROT\nEPSV\nHASH SHA-256*;SHA-512;SHA-1;MD5\nMDTM\nMFMT\nMLST " + mlst +
            "\nPASV\nREST STREAM\nSIZE\nTVFS\nUTF8\nEnd");
  const std::string plain = feature_text({.tls = false, .hash = "SHA-256;SHA-512*;SHA-1;MD5", .mlst_facts = "size*;"});
  CHECK(plain == "Features:\nEPSV\nHASH SHA-256;SHA-512*;SHA-1;MD5\nMDTM\nMFMT\nMLST size*;\nPASV\nREST STREAM\nSIZE\n"
                 "TVFS\nUTF8\nEnd");
}

TEST_CASE("HELP lists every verb, eight a line", "[commands]") {
  const std::string help = help_text();
  CHECK(help.rfind("The following commands are recognized:\nABOR    ALLO    APPE    AUTH    ", 0) == 0);
  CHECK(help.size() > 200);
  CHECK(help.substr(help.size() - 9) == "\nHelp OK.");
  for (const CommandSpec& spec : all_commands()) CHECK(help.find(std::string(spec.verb)) != std::string::npos);
}

TEST_CASE("the transfer commands are the ones that use up a PASV or PORT set-up", "[commands]") {
  std::string users;
  for (const CommandSpec& spec : all_commands()) {
    if (spec.uses_data) users += std::string(spec.verb) + " ";
  }
  CHECK(users == "APPE LIST MLSD NLST RETR STOR STOU ");
}
