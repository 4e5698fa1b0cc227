// Cedar values: the results of evaluating Cedar expressions and the contents of entity attributes
// and contexts.
//
// Values are immutable once built. Sets and records share their contents (copying a Value copies a
// pointer), so passing values around during evaluation allocates nothing. Entity uids are interned
// (see EntityUid), so comparing two uids compares one pointer.
#pragma once

#include <algorithm>
#include <array>
#include <compare>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace custody::cedar {

// An entity type name with its namespace, e.g. "App::User", and an entity id.
//
// EntityUid is a handle to a process-wide intern table: equal (type, id) pairs always give the same
// handle, so equality and hashing are a pointer compare. Interned uids are never freed; the table
// grows with the number of distinct uids ever seen (policies, entities, requests). Thread-safe.
class EntityUid {
 public:
  EntityUid();  // the uid ("", ""), only useful as a placeholder
  static EntityUid intern(std::string_view type, std::string_view id);

  // The type name. Type names are interned too: two uids have the same type exactly when
  // &a.type() == &b.type(), and intern_type() gives the address for a name.
  const std::string& type() const { return *data_->type; }
  static const std::string* intern_type(std::string_view type);
  const std::string& id() const { return data_->id; }
  // Cedar syntax: Type::"id" with the id escaped.
  std::string to_string() const;

  bool operator==(const EntityUid& o) const { return data_ == o.data_; }
  // A total order by (type, id) text, stable across runs (used to canonicalize sets).
  std::strong_ordering operator<=>(const EntityUid& o) const;
  std::size_t hash() const { return std::hash<const void*>()(data_); }

  struct Data {
    const std::string* type;
    std::string id;
  };

 private:
  explicit EntityUid(const Data* d) : data_(d) {}
  const Data* data_;
};

struct EntityUidHash {
  std::size_t operator()(const EntityUid& u) const { return u.hash(); }
};

// The four Cedar extension types. Each is a small value kept inline.
enum class ExtensionKind : uint8_t { kIpAddr, kDecimal, kDatetime, kDuration };

struct ExtensionValue {
  ExtensionKind kind = ExtensionKind::kDecimal;
  // kDecimal: the value times 10^4. kDatetime: milliseconds since the Unix epoch (UTC).
  // kDuration: milliseconds. kIpAddr: unused.
  int64_t number = 0;
  // kIpAddr: the address (IPv4 in the first 4 bytes), whether it is IPv6, and the prefix length.
  std::array<uint8_t, 16> addr{};
  bool v6 = false;
  uint8_t prefix = 0;

  bool operator==(const ExtensionValue&) const = default;
  std::strong_ordering operator<=>(const ExtensionValue&) const = default;
};

class Value;
using SetElements = std::vector<Value>;  // sorted by Value order, no duplicates
class RecordFields;                      // attribute name → value, defined below

enum class ValueKind : uint8_t { kBool, kLong, kString, kEntity, kSet, kRecord, kExtension };

// Name of a kind for error messages ("long", "set", ...).
std::string_view kind_name(ValueKind kind);

class Value {
 public:
  Value() : v_(false) {}
  Value(bool b) : v_(b) {}                      // NOLINT(google-explicit-constructor)
  Value(int64_t n) : v_(n) {}                   // NOLINT
  Value(std::string s) : v_(std::move(s)) {}    // NOLINT
  Value(const char* s) : v_(std::string(s)) {}  // NOLINT: would otherwise convert to bool
  Value(EntityUid u) : v_(u) {}                 // NOLINT
  Value(ExtensionValue e) : v_(e) {}            // NOLINT
  // Builds a set: sorts and removes duplicates.
  static Value set(SetElements elements);
  static Value record(RecordFields fields);

  ValueKind kind() const { return static_cast<ValueKind>(v_.index()); }
  bool is_bool() const { return kind() == ValueKind::kBool; }
  bool is_long() const { return kind() == ValueKind::kLong; }
  bool is_string() const { return kind() == ValueKind::kString; }
  bool is_entity() const { return kind() == ValueKind::kEntity; }
  bool is_set() const { return kind() == ValueKind::kSet; }
  bool is_record() const { return kind() == ValueKind::kRecord; }
  bool is_extension() const { return kind() == ValueKind::kExtension; }

  // Accessors; calling one of the wrong kind is a bug (checked by std::get).
  bool as_bool() const { return std::get<bool>(v_); }
  int64_t as_long() const { return std::get<int64_t>(v_); }
  const std::string& as_string() const { return std::get<std::string>(v_); }
  const EntityUid& as_entity() const { return std::get<EntityUid>(v_); }
  const SetElements& as_set() const { return *std::get<SetPtr>(v_); }
  const RecordFields& as_record() const { return *std::get<RecordPtr>(v_); }
  const ExtensionValue& as_extension() const { return std::get<ExtensionValue>(v_); }

  // Cedar equality: same kind and same contents (sets as sets, decimals by value).
  bool operator==(const Value& o) const;
  // A total order over all values: by kind, then contents. Used for canonical sets only; it is not
  // Cedar's `<`.
  std::strong_ordering operator<=>(const Value& o) const;

  // True when a set contains the value (binary search).
  bool set_contains(const Value& element) const;

  // Cedar-like rendering for messages and tests.
  std::string to_string() const;

 private:
  using SetPtr = std::shared_ptr<const SetElements>;
  using RecordPtr = std::shared_ptr<const RecordFields>;
  std::variant<bool, int64_t, std::string, EntityUid, SetPtr, RecordPtr, ExtensionValue> v_;
};

// A record's fields: a vector kept sorted by name. Records are small and read far more often than
// built. Names are interned (EntityUid::intern_type's table), so a lookup with an interned name
// compares pointers; lookups by text compare text. Large records use binary search.
class RecordFields {
 public:
  using value_type = std::pair<const std::string*, Value>;
  using const_iterator = std::vector<value_type>::const_iterator;

  const_iterator begin() const { return items_.begin(); }
  const_iterator end() const { return items_.end(); }
  std::size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }

  // Lookup by an interned name (from EntityUid::intern_type).
  const_iterator find(const std::string* key) const {
    if (items_.size() <= 8) {
      for (auto it = items_.begin(); it != items_.end(); ++it) {
        if (it->first == key) return it;
      }
      return items_.end();
    }
    return find(std::string_view(*key));
  }
  const_iterator find(std::string_view key) const {
    auto it = lower_bound(key);
    return it != items_.end() && *it->first == key ? it : items_.end();
  }
  std::size_t count(const std::string* key) const { return find(key) != end() ? 1 : 0; }
  std::size_t count(std::string_view key) const { return find(key) != end() ? 1 : 0; }

  // The value under `key`, inserted (as false) when absent. Appending in key order is O(1).
  Value& operator[](std::string_view key) {
    if (items_.empty() || *items_.back().first < key) {
      return items_.emplace_back(EntityUid::intern_type(key), Value()).second;
    }
    auto it = lower_bound(key);
    auto pos = items_.begin() + (it - items_.begin());
    if (it != items_.end() && *it->first == key) return pos->second;
    return items_.emplace(pos, EntityUid::intern_type(key), Value())->second;
  }

  bool operator==(const RecordFields& o) const {
    if (items_.size() != o.items_.size()) return false;
    for (std::size_t i = 0; i < items_.size(); ++i) {
      if (items_[i].first != o.items_[i].first || !(items_[i].second == o.items_[i].second))
        return false;
    }
    return true;
  }
  // By names (as text), then values.
  std::strong_ordering operator<=>(const RecordFields& o) const {
    std::size_t n = std::min(items_.size(), o.items_.size());
    for (std::size_t i = 0; i < n; ++i) {
      if (items_[i].first != o.items_[i].first) {
        if (auto c = *items_[i].first <=> *o.items_[i].first; c != 0) return c;
      }
      if (auto c = items_[i].second <=> o.items_[i].second; c != 0) return c;
    }
    return items_.size() <=> o.items_.size();
  }

 private:
  const_iterator lower_bound(std::string_view key) const {
    return std::lower_bound(items_.begin(), items_.end(), key,
                            [](const value_type& a, std::string_view k) { return *a.first < k; });
  }
  std::vector<value_type> items_;
};

}  // namespace custody::cedar
