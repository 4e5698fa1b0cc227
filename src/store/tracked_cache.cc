// The cache of tracked-table reads. See tracked_cache.h.
#include "store/tracked_cache.h"

#include <algorithm>
#include <cctype>
#include <vector>

namespace custody::store {
namespace {

bool is_word_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
}

bool equals_ci(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// The statement as words and single punctuation characters; string literals are one token.
std::vector<std::string_view> tokens(std::string_view sql) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < sql.size()) {
    const char c = sql[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (is_word_char(c)) {
      std::size_t j = i;
      while (j < sql.size() && is_word_char(sql[j])) ++j;
      out.push_back(sql.substr(i, j - i));
      i = j;
    } else if (c == '\'') {
      std::size_t j = sql.find('\'', i + 1);
      j = j == std::string_view::npos ? sql.size() : j + 1;
      out.push_back(sql.substr(i, j - i));
      i = j;
    } else {
      out.push_back(sql.substr(i, 1));
      ++i;
    }
  }
  return out;
}

bool is_tracked(std::string_view table) {
  return std::any_of(std::begin(kTrackedTables), std::end(kTrackedTables),
                     [&](std::string_view t) { return equals_ci(t, table); });
}

}  // namespace

Status check_reads_tracked_tables_only(std::string_view sql) {
  const auto t = tokens(sql);
  std::vector<std::string_view> tables;  // every table named after FROM or JOIN
  for (std::size_t i = 0; i + 1 < t.size(); ++i) {
    if (!equals_ci(t[i], "FROM") && !equals_ci(t[i], "JOIN")) continue;
    // FROM a [alias] [, b [alias] ...]: every name of the list is a table. A "(" opens a
    // subquery, whose own FROM is checked when the scan reaches it.
    for (std::size_t j = i + 1; j < t.size() && t[j] != "(";) {
      if (!is_word_char(t[j][0]))
        return Error::internal("tracked read: cannot tell the tables of: " + std::string(sql));
      if (!is_tracked(t[j]))
        return Error::internal("tracked read names table " + std::string(t[j]) +
                               ", which migration 0019 does not track");
      tables.push_back(t[j]);
      ++j;
      if (j < t.size() && is_word_char(t[j][0]) && !equals_ci(t[j], "WHERE") &&
          !equals_ci(t[j], "LEFT") && !equals_ci(t[j], "JOIN") && !equals_ci(t[j], "INNER") &&
          !equals_ci(t[j], "ORDER") && !equals_ci(t[j], "ON") && !equals_ci(t[j], "GROUP") &&
          !equals_ci(t[j], "LIMIT"))
        ++j;  // an alias
      if (j < t.size() && t[j] == ",") {
        ++j;
        continue;
      }
      break;
    }
  }
  if (tables.empty()) return Error::internal("tracked read names no table: " + std::string(sql));
  // A column whose changes leave n alone must not be read, not even through "*".
  for (const UnwatchedColumn& u : kUnwatchedColumns) {
    if (std::none_of(tables.begin(), tables.end(),
                     [&](std::string_view table) { return equals_ci(table, u.table); }))
      continue;
    for (std::string_view token : t) {
      if (token == "*" || equals_ci(token, u.column))
        return Error::internal("tracked read of " + std::string(u.table) + " reads " +
                               (token == "*" ? "every column" : std::string(u.column)) + ", and " +
                               std::string(u.table) + "." + std::string(u.column) +
                               " changes without moving the version (migration 0020)");
    }
  }
  return ok_status();
}

std::string TrackedCache::key_of(std::string_view sql, std::span<const Value> params) {
  // Length-prefixed, so that no two (sql, params) lists share a key.
  std::string key;
  key.reserve(sql.size() + 16 * params.size() + 8);
  key.append(std::to_string(sql.size())).push_back(':');
  key.append(sql);
  for (const Value& v : params) {
    if (std::holds_alternative<Null>(v)) {
      key.push_back('N');
    } else if (const auto* i = std::get_if<std::int64_t>(&v)) {
      key.push_back('I');
      key.append(std::to_string(*i)).push_back(';');
    } else {
      const std::string& s = std::get<std::string>(v);
      key.push_back('T');
      key.append(std::to_string(s.size())).push_back(':');
      key.append(s);
    }
  }
  return key;
}

std::shared_ptr<const Rows> TrackedCache::find(std::int64_t version, std::string_view sql,
                                               std::span<const Value> params) {
  const std::string key = key_of(sql, params);
  {
    std::shared_lock lk(mu_);
    if (version == version_) {
      if (auto it = entries_.find(key); it != entries_.end()) {
        hits_.fetch_add(1, std::memory_order_relaxed);
        return it->second;
      }
    }
  }
  misses_.fetch_add(1, std::memory_order_relaxed);
  return nullptr;
}

void TrackedCache::put(std::int64_t version, std::string_view sql, std::span<const Value> params,
                       Rows rows) {
  auto entry = std::make_shared<const Rows>(std::move(rows));
  std::string key = key_of(sql, params);
  std::unique_lock lk(mu_);
  if (version < version_) return;  // an older snapshot: its rows may be outdated already
  if (version > version_ || entries_.size() >= max_entries_) {
    if (!entries_.empty()) resets_.fetch_add(1, std::memory_order_relaxed);
    entries_.clear();
    version_ = version;
  }
  entries_.insert_or_assign(std::move(key), std::move(entry));
}

TrackedCache::Stats TrackedCache::stats() const {
  Stats s;
  s.hits = hits_.load(std::memory_order_relaxed);
  s.misses = misses_.load(std::memory_order_relaxed);
  s.resets = resets_.load(std::memory_order_relaxed);
  return s;
}

Result<Rows> TrackedReadTx::query_tracked(std::string_view sql, std::span<const Value> params) {
  if (!cache_.enabled()) return inner_.query(sql, params);
  if (!version_) {
    CUSTODY_ASSIGN(Rows v, inner_.query("SELECT n FROM directory_version WHERE id = 1"));
    // Without its row nothing can tell a change: read through (fail closed on staleness).
    if (v.empty()) return inner_.query(sql, params);
    version_ = v[0].integer(0);
  }
  if (auto hit = cache_.find(*version_, sql, params)) return *hit;
  CUSTODY_TRY(check_reads_tracked_tables_only(sql));
  CUSTODY_ASSIGN(Rows rows, inner_.query(sql, params));
  cache_.put(*version_, sql, params, rows);
  return rows;
}

}  // namespace custody::store
