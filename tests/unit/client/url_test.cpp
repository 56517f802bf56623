// parse_url: the ftp:// URL forms `ferry` accepts and the ones it refuses.
#include "url.hpp"

#include <catch2/catch.hpp>

using ferry::client::mask_password;
using ferry::client::parse_url;
using ferry::client::percent_decode;
using ferry::client::UrlError;

TEST_CASE("a URL with user, host, port and path splits into its parts", "[client][url]") {
  const auto url = parse_url("ftp://demo@127.0.0.1:2121/ferry.png");
  CHECK(url.user == "demo");
  CHECK_FALSE(url.password);
  CHECK(url.host == "127.0.0.1");
  CHECK(url.port == 2121);
  CHECK(url.path == "/ferry.png");
  CHECK(url.authority() == "127.0.0.1:2121");
}

TEST_CASE("the port defaults to 21 and the path to the root", "[client][url]") {
  const auto url = parse_url("ftp://example.org");
  CHECK(url.user.empty());
  CHECK(url.host == "example.org");
  CHECK(url.port == 21);
  CHECK(url.path == "/");
  CHECK(parse_url("ftp://example.org/").path == "/");
  CHECK(parse_url("ftp://example.org:/x").port == 21);
}

TEST_CASE("the scheme is case-insensitive", "[client][url]") { CHECK(parse_url("FTP://host/a").host == "host"); }

TEST_CASE("a password in the URL is accepted", "[client][url]") {
  const auto url = parse_url("ftp://demo:s%40cret@host/x");
  CHECK(url.user == "demo");
  REQUIRE(url.password);
  CHECK(*url.password == "s@cret");
}

TEST_CASE("an empty password in the URL is kept as empty, not absent", "[client][url]") {
  const auto url = parse_url("ftp://demo:@host/x");
  REQUIRE(url.password);
  CHECK(url.password->empty());
}

TEST_CASE("an IPv6 host is written in brackets", "[client][url]") {
  const auto url = parse_url("ftp://demo@[::1]:2121/dir/file.txt");
  CHECK(url.host == "::1");
  CHECK(url.port == 2121);
  CHECK(url.path == "/dir/file.txt");
  CHECK(url.authority() == "[::1]:2121");
  CHECK(parse_url("ftp://[2001:db8::7]").port == 21);
}

TEST_CASE("user name and path are percent-decoded", "[client][url]") {
  const auto url = parse_url("ftp://jane%40example.org@host/My%20Files/r%C3%A9sum%C3%A9.pdf");
  CHECK(url.user == "jane@example.org");
  CHECK(url.path == "/My Files/r\xC3\xA9sum\xC3\xA9.pdf");
}

TEST_CASE("an unencoded @ in the user name is tolerated (the last @ ends it)", "[client][url]") {
  const auto url = parse_url("ftp://jane@example.org@host/x");
  CHECK(url.user == "jane@example.org");
  CHECK(url.host == "host");
}

TEST_CASE("URLs that are not ftp:// are refused", "[client][url]") {
  CHECK_THROWS_AS(parse_url("http://host/x"), UrlError);
  CHECK_THROWS_AS(parse_url("host/x"), UrlError);
  CHECK_THROWS_AS(parse_url(""), UrlError);
}

TEST_CASE("malformed hosts and ports are refused", "[client][url]") {
  CHECK_THROWS_AS(parse_url("ftp:///x"), UrlError);
  CHECK_THROWS_AS(parse_url("ftp://user@/x"), UrlError);
  CHECK_THROWS_AS(parse_url("ftp://host:0/x"), UrlError);
  CHECK_THROWS_AS(parse_url("ftp://host:65536/x"), UrlError);
  CHECK_THROWS_AS(parse_url("ftp://host:21a/x"), UrlError);
  CHECK_THROWS_AS(parse_url("ftp://[::1/x"), UrlError);
  CHECK_THROWS_AS(parse_url("ftp://[::1]x/x"), UrlError);
  CHECK_THROWS_WITH(parse_url("ftp://::1/x"), Catch::Contains("brackets"));
}

TEST_CASE("an encoded line break cannot smuggle a command into the path", "[client][url]") {
  CHECK_THROWS_AS(parse_url("ftp://host/a%0D%0ADELE%20b"), UrlError);
  CHECK_THROWS_AS(parse_url("ftp://host/a%00b"), UrlError);
  CHECK_THROWS_AS(parse_url("ftp://us%0Aer@host/a"), UrlError);
}

TEST_CASE("percent_decode refuses broken escapes", "[client][url]") {
  CHECK(percent_decode("a%2Fb%2f") == "a/b/");
  CHECK_THROWS_AS(percent_decode("%"), UrlError);
  CHECK_THROWS_AS(percent_decode("%4"), UrlError);
  CHECK_THROWS_AS(percent_decode("%zz"), UrlError);
}

TEST_CASE("ftps:// is implicit FTPS on port 990 unless the URL says otherwise", "[client][url]") {
  const auto url = parse_url("ftps://demo@127.0.0.1/dir/f.bin");
  CHECK(url.implicit_tls);
  CHECK(url.port == 990);
  CHECK(url.path == "/dir/f.bin");
  CHECK(parse_url("FTPS://host:2990/").port == 2990);
  CHECK_FALSE(parse_url("ftp://host/").implicit_tls);
  CHECK(parse_url("ftp://host/").port == 21);
}

// What parse_url's message says about `text`, which it must refuse.
static std::string refusal_of(const std::string& text) {
  try {
    (void)parse_url(text);
  } catch (const UrlError& error) {
    return error.what();
  }
  FAIL("parse_url accepted " << text);
  return {};
}

TEST_CASE("a URL quoted in a refusal shows its password as ****", "[client][url]") {
  CHECK(refusal_of("ftp://bob:S3cretPW@127.0.0.1:99999/f") == "bad port '99999' in ftp://bob:****@127.0.0.1:99999/f");
  CHECK(refusal_of("ftp://bob:S3cretPW@[::1/f") == "unterminated '[' in the host of ftp://bob:****@[::1/f");
  CHECK(refusal_of("ftp://bob:S3cretPW@[::1]x/f") == "unexpected text after ']' in ftp://bob:****@[::1]x/f");
  CHECK(refusal_of("ftp://bob:S3cretPW@::1/f") ==
        "an IPv6 address in a URL needs brackets, e.g. ftp://[::1]/ (in ftp://bob:****@::1/f)");
  CHECK(refusal_of("ftp://bob:S3cretPW@/f") == "no host in ftp://bob:****@/f");
  CHECK(refusal_of("ftp://bob:S3cretPW@a b/f") == "bad host 'a b' in ftp://bob:****@a b/f");
  CHECK(refusal_of("http://bob:S3cretPW@host/f") == "not an ftp:// or ftps:// URL: http://bob:****@host/f");
  CHECK(refusal_of("ftp://bob:S3c@re:t@host:0/f") == "bad port '0' in ftp://bob:****@host:0/f");
}

TEST_CASE("a bad percent escape in the password is reported without quoting it", "[client][url]") {
  CHECK(refusal_of("ftp://bob:S3cret%zzPW@host/f") == "bad percent escape in the password");
  CHECK(refusal_of("ftp://bob:S3cretPW%4@host/f") == "bad percent escape in the password");
  // The user name and the path are no secret: quoting them shows where the mistake is.
  CHECK(refusal_of("ftp://b%zzob:pw@host/f") == "bad percent escape in 'b%zzob'");
  CHECK(refusal_of("ftp://bob:pw@host/a%zz") == "bad percent escape in '/a%zz'");
}

TEST_CASE("mask_password hides the password of a URL and nothing else", "[client][url]") {
  CHECK(mask_password("ftp://bob:S3cretPW@127.0.0.1:2121/f") == "ftp://bob:****@127.0.0.1:2121/f");
  CHECK(mask_password("ftps://bob:pw@[::1]:990/") == "ftps://bob:****@[::1]:990/");
  CHECK(mask_password("ftp://bob:@host") == "ftp://bob:****@host");
  CHECK(mask_password("ftp://jane@example.org:p@ss@host/") == "ftp://jane@example.org:****@host/");
  CHECK(mask_password("ftp://bob:a%40b@host/") == "ftp://bob:****@host/");
  CHECK(mask_password("http://bob:pw@host/x") == "http://bob:****@host/x");
  // Nothing to hide: no password, an '@' in the path, no URL at all.
  CHECK(mask_password("ftp://bob@host:21/f") == "ftp://bob@host:21/f");
  CHECK(mask_password("ftp://host:2121/mail/a:b@c") == "ftp://host:2121/mail/a:b@c");
  CHECK(mask_password("ftp://host:2121") == "ftp://host:2121");
  CHECK(mask_password("bob:pw@host") == "bob:pw@host");
  CHECK(mask_password("") == "");
}

TEST_CASE("a URL's path is under the login directory, %2F makes it absolute", "[client][url]") {
  using ferry::client::resolve_url_path;
  CHECK(resolve_url_path("/home/u", "/f") == "/home/u/f");
  CHECK(resolve_url_path("/home/u/", "/d/") == "/home/u/d/");
  CHECK(resolve_url_path("/home/u", "/") == "/home/u");
  CHECK(resolve_url_path("/home/u", "//etc/x") == "/etc/x");
  CHECK(resolve_url_path("/", "/f") == "/f");
  CHECK(resolve_url_path("C:/ftp", "/f") == "/f");  // not a Unix path: from the root
  CHECK(resolve_url_path("", "/f") == "/f");
  CHECK(resolve_url_path("/", "//") == "/");
}
