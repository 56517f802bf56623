// fs_local: paths and reserved names (see names.hpp).
#include "names.hpp"

#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <ctime>

namespace fs_local {

using ferry::Error;
using ferry::Result;
using ferry::Status;

std::string_view relative_of(std::string_view path) {
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  return path;
}

Result<Split> split_last(std::string_view rel, std::string_view display) {
  if (rel.empty()) return Error{Status::permission_denied, "the root directory cannot be changed"};
  const auto slash = rel.rfind('/');
  Split s;
  if (slash != std::string_view::npos) {
    s.parent = std::string(rel.substr(0, slash));
    s.base = std::string(rel.substr(slash + 1));
  } else {
    s.base = std::string(rel);
  }
  if (s.base.empty() || s.base == "." || s.base == "..") {
    return Error{Status::bad_name, "not a usable file name: " + std::string(display)};
  }
  return s;
}

std::vector<std::string> components_of(std::string_view path) {
  std::vector<std::string> parts;
  std::size_t i = 0;
  while (i <= path.size()) {
    const std::size_t j = std::min(path.find('/', i), path.size());
    if (j > i) parts.emplace_back(path.substr(i, j - i));
    i = j + 1;
  }
  return parts;
}

namespace {

std::string random_suffix() {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  unsigned char bytes[6] = {};
  if (::getrandom(bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes)) {
    // Practically never: fall back to something that still differs between attempts.
    static std::atomic<unsigned> counter{0};
    unsigned v = counter.fetch_add(1) ^ static_cast<unsigned>(::getpid()) ^ static_cast<unsigned>(::time(nullptr));
    for (auto& b : bytes) {
      b = static_cast<unsigned char>(v);
      v = v * 1103515245u + 12345u;
    }
  }
  std::string s;
  for (unsigned char b : bytes) s += alphabet[b % (sizeof alphabet - 1)];
  return s;
}

}  // namespace

std::string temp_name_for(const std::string& base) {
  constexpr std::size_t overhead = 1 + 7 + 6;  // "." ".ferry-" "XXXXXX"
  constexpr std::size_t name_max = 255;
  std::string stem = base.size() + overhead > name_max ? base.substr(0, name_max - overhead) : base;
  return "." + stem + ".ferry-" + random_suffix();
}

bool is_temp_name(std::string_view name) {
  constexpr std::string_view marker = ".ferry-";
  constexpr std::size_t suffix = 6;
  if (name.size() < 1 + 1 + marker.size() + suffix || name.front() != '.') return false;
  if (name.substr(name.size() - suffix - marker.size(), marker.size()) != marker) return false;
  return std::all_of(name.end() - suffix, name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  });
}

bool names_a_temp_file(std::string_view path) {
  for (const auto& part : components_of(path)) {
    if (is_temp_name(part)) return true;
  }
  return false;
}

bool safe_user_component(std::string_view user) {
  if (user.empty() || user == "." || user == "..") return false;
  return user.find('/') == std::string_view::npos && user.find('\0') == std::string_view::npos;
}

std::string replace_all(std::string text, std::string_view from, std::string_view to) {
  for (std::size_t pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos + to.size())) {
    text.replace(pos, from.size(), to);
  }
  return text;
}

}  // namespace fs_local
