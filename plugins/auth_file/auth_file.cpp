// auth_file: an Authenticator backed by a users file of crypt(3) hashes ("name:hash" lines,
// optionally "name:hash:home" and "name:hash:home:ro" for a home and a read-only account).
// The file is loaded once at start-up into an immutable snapshot that a later reload can
// swap atomically while logins are in flight.
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "ferry/export.hpp"
#include "ferry/plugin.hpp"
#include "passwd/password_hash.hpp"
#include "passwd/users_file.hpp"

namespace {

// A yescrypt hash (default cost, same as `ferryd passwd` writes) of a random password
// nobody knows. An unknown user is checked against it, so that a refusal takes as long
// whether or not the user exists.
constexpr const char* dummy_hash = "$y$j9T$nX6MSWQXAITd.DuOrok3f1$38kQMlpdgA8CzzHGD87q/xqIL1xvVP.MyDLuSE9fBY/";

// One loaded users file. Never changed after construction; shared by concurrent logins.
struct UsersSnapshot {
  std::string path;
  ferry::passwd::UsersFile users;
};

class FileAuthenticator final : public ferry::Authenticator {
 public:
  explicit FileAuthenticator(std::shared_ptr<const UsersSnapshot> users) : users_(std::move(users)) {}

  // Thread-safe: reads one snapshot; the hashing itself touches no shared state.
  ferry::Result<ferry::Identity> authenticate(const ferry::LoginRequest& request) noexcept override {
    try {
      const std::shared_ptr<const UsersSnapshot> users = snapshot();
      const ferry::passwd::UserEntry* entry =
          ferry::passwd::valid_user_name(request.user) ? users->users.find(request.user) : nullptr;
      if (entry == nullptr) {
        (void)ferry::passwd::verify_password(request.password, dummy_hash);
        // Only a well-formed name is echoed into the log; anything else could hold control bytes.
        return ferry::Error{ferry::Status::permission_denied,
                            ferry::passwd::valid_user_name(request.user)
                                ? "unknown user " + std::string(request.user)
                                : std::string("unknown user (invalid user name)")};
      }
      if (!ferry::passwd::verify_password(request.password, entry->hash)) {
        return ferry::Error{ferry::Status::permission_denied, "wrong password for " + entry->name};
      }
      ferry::Identity identity;
      identity.name = entry->name;
      identity.home = entry->home;
      identity.read_only = entry->read_only;
      return identity;
    } catch (const std::exception& e) {
      return ferry::Error{ferry::Status::io_error, std::string("auth_file: ") + e.what()};
    } catch (...) {
      return ferry::Error{ferry::Status::io_error, "auth_file: unexpected failure"};
    }
  }

  // For the reload to come: installs a freshly loaded file; logins in flight keep the old one.
  void replace_users(std::shared_ptr<const UsersSnapshot> users) {
    const std::lock_guard lock(mutex_);
    users_ = std::move(users);
  }

 private:
  std::shared_ptr<const UsersSnapshot> snapshot() const {
    const std::lock_guard lock(mutex_);
    return users_;
  }

  mutable std::mutex mutex_;
  std::shared_ptr<const UsersSnapshot> users_;
};

ferry::PluginObject* create(const ferry::PluginOptions& options, std::string* error) noexcept {
  std::string ignored;
  if (error == nullptr) error = &ignored;
  try {
    ferry::OptionReader reader(options);
    const std::string path = reader.required_path("users");
    if (!reader.finish()) {
      *error = reader.error();
      return nullptr;
    }
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      const int e = errno;
      reader.fail_key("users", (e == ENOENT ? "names no such file: " : "names a file that cannot be read: ") +
                                   path + (e == ENOENT ? "" : std::string(": ") + std::strerror(e)));
      *error = reader.error();
      return nullptr;
    }
    ferry::passwd::UsersFileResult loaded = ferry::passwd::load_users_file(path);
    if (!loaded.file) {
      reader.fail_key("users", "names an invalid users file: " + loaded.error);
      *error = reader.error();
      return nullptr;
    }
    auto snapshot = std::make_shared<const UsersSnapshot>(UsersSnapshot{path, std::move(*loaded.file)});
    return new FileAuthenticator(std::move(snapshot));
  } catch (const std::exception& e) {
    *error = std::string("auth_file: ") + e.what();
  } catch (...) {
    *error = "auth_file: unexpected failure";
  }
  return nullptr;
}

// Once ferryd is confined: the users file, read again on reload.
std::vector<ferry::PathNeed> confinement_paths(const ferry::PluginOptions& options) noexcept {
  try {
    ferry::OptionReader reader(options);
    const std::string path = reader.optional_string("users", "");
    if (path.empty()) return {};
    return {ferry::PathNeed{reader.resolve(path), ferry::path_read, "users"}};
  } catch (...) {
    return {};
  }
}

const ferry::PluginDescriptor descriptor{ferry::plugin_api_version, ferry::PluginKind::authenticator, "auth_file",
                                         "0.1.0", &create, &confinement_paths};

const ferry::PluginDescriptor* entry() { return &descriptor; }

}  // namespace

FERRY_PLUGIN(entry)
