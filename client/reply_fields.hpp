// The fields inside particular FTP replies the client relies on: FEAT's feature list,
// HASH / XSHA256 digests, SIZE and MDTM values. Pure functions over reply text.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "ftp/reply.hpp"

namespace ferry::client {

// The features a server announced in its FEAT reply (RFC 2389): upper-case keyword ->
// its parameters ("" when none), e.g. "MLST" -> "type*;size*;modify*;".
struct Features {
  std::map<std::string, std::string, std::less<>> entries;

  bool has(std::string_view keyword) const;  // keyword in upper case
  std::string_view params(std::string_view keyword) const;
  // Whether the keyword's ';'-separated parameters name `item`, case-insensitively and
  // without the '*' that marks the current choice: lists("HASH", "SHA-256") for
  // "HASH SHA-1*;SHA-256;MD5".
  bool lists(std::string_view keyword, std::string_view item) const;
};

// A 211 multi-line FEAT reply; any other reply (500/502: no FEAT) gives no features.
Features parse_features(const ftp::Reply& reply);

// The text of a 213 HASH reply (draft-bryan-ftpext-hash): "SHA-256 0-49 HEX name".
struct HashReply {
  std::string algorithm;  // as the server wrote it, e.g. "SHA-256"
  std::uint64_t range_start = 0;
  std::uint64_t range_end = 0;
  std::string hex;  // lower-cased
};
std::optional<HashReply> parse_hash_reply(std::string_view text);

// The text of a 213 XSHA256 (XSHA512, XSHA1, XMD5) reply: "HEX" optionally followed by
// the file name. The digest lower-cased, or nullopt when the first word is not hex.
std::optional<std::string> parse_xhash_reply(std::string_view text);

// The text of a 213 SIZE reply: a decimal byte count.
std::optional<std::uint64_t> parse_size_reply(std::string_view text);

// The directory in a 257 PWD reply: "\"/home/u\" is the current directory", a quote
// inside it doubled (RFC 959 appendix II). nullopt when there is no quoted name.
std::optional<std::string> parse_pwd_reply(std::string_view text);

}  // namespace ferry::client
