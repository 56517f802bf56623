// The fields the client reads out of FEAT, HASH, XSHA256 and SIZE replies.
#include "reply_fields.hpp"

#include <catch2/catch.hpp>

using namespace ferry::client;

namespace {

ferry::ftp::Reply reply_of(int code, std::vector<std::string> lines) {
  ferry::ftp::Reply reply;
  reply.code = code;
  reply.lines = std::move(lines);
  return reply;
}

}  // namespace

TEST_CASE("FEAT: lists() finds an item of a keyword's parameters", "[client][feat]") {
  const auto features = parse_features(
      reply_of(211, {"Extensions supported:", " HASH SHA-1*;md5", " MLST type*;size*;sha-256;", "End"}));
  CHECK(features.lists("HASH", "SHA-1"));
  CHECK(features.lists("HASH", "MD5"));
  CHECK_FALSE(features.lists("HASH", "SHA-256"));
  CHECK_FALSE(features.lists("HASH", "SHA"));
  CHECK(features.lists("MLST", "SHA-256"));
  CHECK_FALSE(features.lists("SIZE", "SHA-256"));
  const auto sha256 = parse_features(reply_of(211, {"Features:", " HASH SHA-512;SHA-256*;MD5", "End"}));
  CHECK(sha256.lists("HASH", "SHA-256"));
}

TEST_CASE("FEAT: keywords are collected upper-case with their parameters", "[client][feat]") {
  const auto features = parse_features(reply_of(211, {"Extensions supported:", " MLST type*;size*;modify*;",
                                                      "HASH SHA-256*;SHA-512;SHA-1;MD5", " size", " UTF8", "End"}));
  CHECK(features.has("MLST"));
  CHECK(features.params("MLST") == "type*;size*;modify*;");
  CHECK(features.has("HASH"));
  CHECK(features.params("HASH") == "SHA-256*;SHA-512;SHA-1;MD5");
  CHECK(features.has("SIZE"));
  CHECK(features.has("UTF8"));
  CHECK_FALSE(features.has("End"));
  CHECK_FALSE(features.has("EXTENSIONS"));
  CHECK_FALSE(features.has("MDTM"));
}

TEST_CASE("FEAT: a refused or single-line FEAT means no features", "[client][feat]") {
  CHECK(parse_features(reply_of(502, {"Command not implemented."})).entries.empty());
  CHECK(parse_features(reply_of(211, {"No features"})).entries.empty());
}

TEST_CASE("HASH reply: algorithm, range and digest", "[client][hash]") {
  const auto hash = parse_hash_reply(
      "SHA-256 0-4096 9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08 /dir/my file.png");
  REQUIRE(hash);
  CHECK(hash->algorithm == "SHA-256");
  CHECK(hash->range_start == 0);
  CHECK(hash->range_end == 4096);
  CHECK(hash->hex == "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
}

TEST_CASE("HASH reply: malformed texts are refused", "[client][hash]") {
  CHECK_FALSE(parse_hash_reply(""));
  CHECK_FALSE(parse_hash_reply("SHA-256"));
  CHECK_FALSE(parse_hash_reply("SHA-256 0-10"));
  CHECK_FALSE(parse_hash_reply("SHA-256 010 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 f"));
  CHECK_FALSE(parse_hash_reply("SHA-256 0-10 not-a-digest f"));
}

TEST_CASE("XSHA256 reply: the first word is the digest", "[client][hash]") {
  CHECK(parse_xhash_reply("9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08") ==
        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
  CHECK(parse_xhash_reply("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 name") ==
        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
  CHECK_FALSE(parse_xhash_reply("File not found"));
}

TEST_CASE("SIZE reply: a decimal count", "[client][size]") {
  CHECK(parse_size_reply("12345") == 12345u);
  CHECK(parse_size_reply(" 0 ") == 0u);
  CHECK_FALSE(parse_size_reply("12a"));
  CHECK_FALSE(parse_size_reply(""));
}

TEST_CASE("PWD reply: the quoted directory, doubled quotes undone", "[client][pwd]") {
  CHECK(parse_pwd_reply("\"/home/u\" is the current directory") == "/home/u");
  CHECK(parse_pwd_reply("\"/\"") == "/");
  CHECK(parse_pwd_reply("\"/a \"\"b\"\"\" is current") == "/a \"b\"");
  CHECK(parse_pwd_reply("MKD and PWD: \"/x\"") == "/x");
  CHECK_FALSE(parse_pwd_reply("no name here"));
  CHECK_FALSE(parse_pwd_reply("\"/unterminated"));
}
