// ferry plugin API: a plugin's own TOML table, flattened into plain values with their
// source positions, and a reader that validates it (types, required keys, unknown keys).
// No toml++ type crosses the plugin boundary.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace ferry {

// One key of the plugin's table. Arrays are limited to strings (enough for every plugin
// so far); nested tables are reported as unsupported by the core before the plugin sees them.
struct OptionValue {
  std::string key;
  std::variant<std::string, std::int64_t, bool, double, std::vector<std::string>> value;
  std::uint32_t line = 0;
  std::uint32_t column = 0;
};

struct PluginOptions {
  std::string config_file;    // path of config.toml, for messages
  std::string config_dir;     // relative paths in options resolve against this directory
  std::vector<OptionValue> values;
};

// Reads typed values out of PluginOptions and collects the first error with its position.
// Usage: OptionReader r(opts); auto img = r.required_string("image"); ...; if (!r.finish()) ...
class OptionReader {
 public:
  explicit OptionReader(const PluginOptions& options) : options_(options), used_(options.values.size(), false) {}

  std::string required_string(std::string_view key) { return string_value(key, nullptr, true); }
  std::string optional_string(std::string_view key, std::string fallback) {
    return string_value(key, &fallback, false);
  }
  bool optional_bool(std::string_view key, bool fallback) {
    const OptionValue* v = find(key);
    if (!v) return fallback;
    if (auto* b = std::get_if<bool>(&v->value)) return *b;
    fail(*v, "must be a boolean (true or false)");
    return fallback;
  }
  std::int64_t optional_int(std::string_view key, std::int64_t fallback) {
    const OptionValue* v = find(key);
    if (!v) return fallback;
    if (auto* i = std::get_if<std::int64_t>(&v->value)) return *i;
    fail(*v, "must be an integer");
    return fallback;
  }

  // A path option, resolved against the config file's directory when relative.
  std::string required_path(std::string_view key) { return resolve(required_string(key)); }
  std::string resolve(const std::string& path) const {
    if (path.empty() || path.front() == '/' || options_.config_dir.empty()) return path;
    return options_.config_dir + "/" + path;
  }

  // Report an error about a key the plugin validated itself (e.g. a file that is missing).
  void fail_key(std::string_view key, std::string_view what) {
    if (const OptionValue* v = find(key)) {
      fail(*v, what);
    } else if (error_.empty()) {
      error_ = options_.config_file + ": " + std::string(key) + ": " + std::string(what);
    }
  }

  // Checks for unknown keys; true when every key was understood and valid.
  bool finish() {
    for (std::size_t i = 0; i < options_.values.size() && error_.empty(); ++i) {
      if (!used_[i]) fail(options_.values[i], "unknown key");
    }
    return error_.empty();
  }
  const std::string& error() const noexcept { return error_; }

 private:
  const OptionValue* find(std::string_view key) {
    for (std::size_t i = 0; i < options_.values.size(); ++i) {
      if (options_.values[i].key == key) {
        used_[i] = true;
        return &options_.values[i];
      }
    }
    return nullptr;
  }
  std::string string_value(std::string_view key, const std::string* fallback, bool required) {
    const OptionValue* v = find(key);
    if (!v) {
      if (required && error_.empty()) {
        error_ = options_.config_file + ": missing required key '" + std::string(key) + "'";
      }
      return fallback ? *fallback : std::string();
    }
    if (auto* s = std::get_if<std::string>(&v->value)) return *s;
    fail(*v, "must be a string");
    return fallback ? *fallback : std::string();
  }
  void fail(const OptionValue& v, std::string_view what) {
    if (!error_.empty()) return;
    error_ = options_.config_file + ":" + std::to_string(v.line) + ":" + std::to_string(v.column) + ": key '" +
             v.key + "' " + std::string(what);
  }

  const PluginOptions& options_;
  std::vector<bool> used_;
  std::string error_;
};

}  // namespace ferry
