// The client's shared TLS contexts (see tls_context.hpp for why they are shared).
#include "tls_context.hpp"

#include <openssl/ssl.h>
#include <sys/stat.h>

#include <map>
#include <mutex>
#include <utility>

#include "client_error.hpp"

namespace ferry::client {

namespace {

// Which file a context read: a replaced or rewritten CA file makes a new context.
struct FileIdentity {
  dev_t device = 0;
  ino_t inode = 0;
  off_t size = 0;
  long long modified_ns = 0;
  auto operator<=>(const FileIdentity&) const = default;
};

FileIdentity identify(const std::string& path) {
  struct stat st {};
  if (path.empty() || ::stat(path.c_str(), &st) != 0) return {};
  return {st.st_dev, st.st_ino, st.st_size, st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec};
}

std::shared_ptr<asio::ssl::context> build(const TlsOptions& options) {
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  SSL_CTX* ctx = context->native_handle();
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  if (!options.verify) {
    context->set_verify_mode(asio::ssl::verify_none);
    return context;
  }
  std::error_code ec;
  context->set_default_verify_paths(ec);  // no system store is fine when --ca-file names one
  if (!options.ca_file.empty()) {
    context->load_verify_file(options.ca_file, ec);
    if (ec) {
      throw ClientError(ErrorKind::local, "TLS: cannot load the CA file " + options.ca_file + ": " + ec.message());
    }
  }
  context->set_verify_mode(asio::ssl::verify_peer);
  return context;
}

}  // namespace

std::shared_ptr<asio::ssl::context> client_tls_context(const TlsOptions& options) {
  // One entry per (verify, CA file): a changed file replaces its entry, so a long-running
  // GUI does not keep a context per version of the file it ever read.
  struct Entry {
    FileIdentity file;
    std::shared_ptr<asio::ssl::context> context;
  };
  static std::mutex mutex;
  static std::map<std::pair<bool, std::string>, Entry> contexts;
  const std::string ca_file = options.verify ? options.ca_file : std::string{};
  const FileIdentity file = identify(ca_file);
  std::lock_guard lock(mutex);
  Entry& entry = contexts[{options.verify, ca_file}];
  // A file that will not load throws here and leaves the entry as it was: tried again next time.
  if (!entry.context || entry.file != file) entry = Entry{file, build(options)};
  return entry.context;
}

}  // namespace ferry::client
