// LIST and MLSx formatting (server) and parsing (client); see listing.hpp.
#include "ftp/listing.hpp"

#include <array>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <utility>
#include <vector>

namespace ferry::ftp {

namespace {

constexpr std::array<const char*, 12> month_names = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
constexpr std::int64_t six_months = 183LL * 24 * 3600;

char type_char(FileType type) {
  switch (type) {
    case FileType::directory: return 'd';
    case FileType::symlink: return 'l';
    case FileType::other: return '-';
    case FileType::file: return '-';
  }
  return '-';
}

std::tm to_utc(std::int64_t seconds) {
  std::tm tm{};
  auto t = static_cast<std::time_t>(seconds);
  gmtime_r(&t, &tm);
  return tm;
}

template <class T>
std::optional<T> to_number(std::string_view text) {
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

std::vector<std::string_view> split_fields(std::string_view line, std::size_t max_fields, std::string_view& rest) {
  std::vector<std::string_view> fields;
  while (fields.size() < max_fields) {
    while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    if (line.empty()) break;
    std::size_t end = line.find(' ');
    fields.push_back(line.substr(0, end));
    line = end == std::string_view::npos ? std::string_view() : line.substr(end);
  }
  if (!line.empty() && line.front() == ' ') line.remove_prefix(1);
  rest = line;
  return fields;
}

}  // namespace

bool listable_name(std::string_view name) { return name.find_first_of("\r\n") == std::string_view::npos; }

void append_list_line(std::string& out, const FileInfo& info, std::time_t now) {
  char perms[11];
  perms[0] = type_char(info.type);
  static constexpr char letters[] = "rwxrwxrwx";
  for (int i = 0; i < 9; ++i) perms[1 + i] = (info.mode & (0400u >> i)) ? letters[i] : '-';
  perms[10] = 0;
  std::tm tm = to_utc(info.mtime);
  char when[48];
  // As ls -l: the time for the last six months, the year otherwise, the future included. A
  // future date with a time would be read back as last year's (wget, lftp and our own client
  // take a month ahead of now to be from last year).
  if (info.mtime > now - six_months && info.mtime <= now) {
    std::snprintf(when, sizeof when, "%s %2d %02d:%02d", month_names[static_cast<std::size_t>(tm.tm_mon)], tm.tm_mday,
                  tm.tm_hour, tm.tm_min);
  } else {
    std::snprintf(when, sizeof when, "%s %2d  %4d", month_names[static_cast<std::size_t>(tm.tm_mon)], tm.tm_mday,
                  tm.tm_year + 1900);
  }
  char head[160];
  std::snprintf(head, sizeof head, "%s %3d ferry    ferry    %12llu %s ", perms,
                info.type == FileType::directory ? 2 : 1, static_cast<unsigned long long>(info.size), when);
  out += head;
  out += info.name;
  out += "\r\n";
}

namespace {
constexpr std::array<std::pair<MlstFact, std::string_view>, 5> mlst_fact_names = {{
    {fact_type, "type"}, {fact_size, "size"}, {fact_modify, "modify"}, {fact_perm, "perm"}, {fact_unique, "unique"}}};
}  // namespace

unsigned parse_mlst_facts(std::string_view list) {
  unsigned facts = 0;
  while (!list.empty()) {
    std::size_t semi = list.find(';');
    std::string_view name = list.substr(0, semi);
    list = semi == std::string_view::npos ? std::string_view() : list.substr(semi + 1);
    for (const auto& [fact, fact_name] : mlst_fact_names) {
      if (iequals(name, fact_name)) facts |= fact;
    }
  }
  return facts;
}

std::string format_mlst_facts(unsigned selected, bool all) {
  std::string out;
  for (const auto& [fact, name] : mlst_fact_names) {
    if (!all && !(selected & fact)) continue;
    out += name;
    if (all && (selected & fact)) out += '*';
    out += ';';
  }
  return out;
}

void append_mlsx_line(std::string& out, const FileInfo& info, unsigned facts) {
  if (facts & fact_type) out += info.type == FileType::directory ? "type=dir;" : "type=file;";
  if ((facts & fact_size) && info.type != FileType::directory) {
    out += "size=";
    out += std::to_string(info.size);
    out += ';';
  }
  if (facts & fact_modify) {
    out += "modify=";
    out += format_timeval(info.mtime);
    out += ';';
  }
  if (facts & fact_perm) {
    out += "perm=";
    if (info.type == FileType::directory) {
      if (info.readable) out += "el";
      if (info.writable) out += "cmpf";
    } else {
      if (info.readable) out += 'r';
      if (info.writable) out += "awdf";
    }
    out += ';';
  }
  if ((facts & fact_unique) && info.unique_id != 0) {
    char id[32];
    std::snprintf(id, sizeof id, "unique=%llx;", static_cast<unsigned long long>(info.unique_id));
    out += id;
  }
  out += ' ';
  out += info.name;
}

std::string format_timeval(std::int64_t unix_seconds) {
  std::tm tm = to_utc(unix_seconds);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d%02d%02d%02d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                tm.tm_min, tm.tm_sec);
  return buf;
}

std::optional<std::int64_t> parse_timeval(std::string_view text) {
  std::size_t dot = text.find('.');
  if (dot != std::string_view::npos) {
    std::string_view frac = text.substr(dot + 1);
    if (frac.empty() || frac.size() > 9 || !to_number<unsigned>(frac)) return std::nullopt;
    text = text.substr(0, dot);
  }
  if (text.size() != 14) return std::nullopt;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  std::tm tm{};
  tm.tm_year = *to_number<int>(text.substr(0, 4)) - 1900;
  tm.tm_mon = *to_number<int>(text.substr(4, 2)) - 1;
  tm.tm_mday = *to_number<int>(text.substr(6, 2));
  tm.tm_hour = *to_number<int>(text.substr(8, 2));
  tm.tm_min = *to_number<int>(text.substr(10, 2));
  tm.tm_sec = *to_number<int>(text.substr(12, 2));
  if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
      tm.tm_sec > 60) {
    return std::nullopt;
  }
  return static_cast<std::int64_t>(timegm(&tm));
}

std::optional<FileInfo> parse_mlsx_line(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  if (!line.empty() && line.front() == ' ') line.remove_prefix(1);  // MLST's reply lines are indented
  std::size_t space = line.find(' ');
  if (space == std::string_view::npos || space + 1 >= line.size()) return std::nullopt;
  FileInfo info;
  info.name.assign(line.substr(space + 1));
  info.readable = false;
  std::string_view facts = line.substr(0, space);
  bool have_type = false;
  while (!facts.empty()) {
    std::size_t semi = facts.find(';');
    std::string_view fact = facts.substr(0, semi);
    facts = semi == std::string_view::npos ? std::string_view() : facts.substr(semi + 1);
    std::size_t eq = fact.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view key = fact.substr(0, eq);
    std::string_view value = fact.substr(eq + 1);
    if (iequals(key, "type")) {
      have_type = true;
      if (iequals(value, "dir") || iequals(value, "cdir") || iequals(value, "pdir")) {
        if (!iequals(value, "dir")) return std::nullopt;  // "." and ".." entries are not children
        info.type = FileType::directory;
      } else if (iequals(value, "file")) {
        info.type = FileType::file;
      } else if (iequals(value.substr(0, std::min<std::size_t>(value.size(), 7)), "OS.unix")) {
        info.type = FileType::symlink;
      } else {
        info.type = FileType::other;
      }
    } else if (iequals(key, "size")) {
      if (auto size = to_number<std::uint64_t>(value)) info.size = *size;
    } else if (iequals(key, "modify")) {
      if (auto t = parse_timeval(value)) info.mtime = *t;
    } else if (iequals(key, "unique")) {
      // Opaque per RFC 3659: ours is hex; any other form is reduced to 64 bits (FNV-1a).
      std::uint64_t id = 0;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), id, 16);
      if (value.size() > 16 || ec != std::errc{} || end != value.data() + value.size()) {
        id = 0xcbf29ce484222325ull;
        for (unsigned char c : value) id = (id ^ c) * 0x100000001b3ull;
      }
      info.unique_id = id == 0 && !value.empty() ? 1 : id;
    } else if (iequals(key, "perm")) {
      for (char c : value) {
        char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (l == 'r' || l == 'l' || l == 'e') info.readable = true;
        if (l == 'w' || l == 'a' || l == 'c' || l == 'd' || l == 'f' || l == 'm') info.writable = true;
      }
    }
  }
  if (!have_type) return std::nullopt;
  return info;
}

std::optional<FileInfo> parse_list_line(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  // perms links owner group size month day time-or-year name
  std::string_view name;
  auto fields = split_fields(line, 8, name);
  if (fields.size() < 8 || name.empty() || fields[0].size() < 10) return std::nullopt;
  FileInfo info;
  switch (fields[0][0]) {
    case 'd': info.type = FileType::directory; break;
    case 'l': info.type = FileType::symlink; break;
    case '-': info.type = FileType::file; break;
    default: info.type = FileType::other; break;
  }
  info.mode = 0;
  for (int i = 0; i < 9; ++i) {
    if (fields[0][static_cast<std::size_t>(1 + i)] != '-') info.mode |= 0400u >> i;
  }
  auto size = to_number<std::uint64_t>(fields[4]);
  if (!size) return std::nullopt;
  info.size = *size;
  int month = -1;
  for (std::size_t m = 0; m < month_names.size(); ++m) {
    if (iequals(fields[5], month_names[m])) month = static_cast<int>(m);
  }
  auto day = to_number<int>(fields[6]);
  if (month < 0 || !day) return std::nullopt;
  std::tm tm{};
  tm.tm_mon = month;
  tm.tm_mday = *day;
  std::string_view when = fields[7];
  std::time_t now = std::time(nullptr);
  std::tm now_tm = to_utc(now);
  if (std::size_t colon = when.find(':'); colon != std::string_view::npos) {
    auto hour = to_number<int>(when.substr(0, colon));
    auto minute = to_number<int>(when.substr(colon + 1));
    if (!hour || !minute) return std::nullopt;
    tm.tm_hour = *hour;
    tm.tm_min = *minute;
    tm.tm_year = now_tm.tm_year;
    // "Recent" means within the last six months: a date ahead of now is last year's.
    if (timegm(&tm) > now + 24 * 3600) tm.tm_year -= 1;
  } else {
    auto year = to_number<int>(when);
    // ls -l prints four digits; any other number is refused (and "year - 1900" cannot overflow).
    if (!year || *year < 0 || *year > 9999) return std::nullopt;
    tm.tm_year = *year - 1900;
  }
  info.mtime = static_cast<std::int64_t>(timegm(&tm));
  if (info.type == FileType::symlink) {
    std::size_t arrow = name.find(" -> ");
    if (arrow != std::string_view::npos) name = name.substr(0, arrow);
    if (name.empty()) return std::nullopt;  // " -> target" names nothing
  }
  info.name.assign(name);
  info.readable = true;
  return info;
}

}  // namespace ferry::ftp
