#include "policy/cedar/value.h"

#include <algorithm>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>
#include <unordered_set>

#include "policy/cedar/extensions.h"

namespace custody::cedar {
namespace {

struct DataKeyHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view type, std::string_view id) const {
    return std::hash<std::string_view>()(type) * 31 + std::hash<std::string_view>()(id);
  }
};

// Type and attribute names looked up by their text without building a std::string (record
// fields intern every name they are given, so this lookup is on every attribute write).
struct NameHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
};

// The intern table. Entries are heap nodes that are never freed, so handles stay valid forever.
// Lookups of known uids (the common case once policies and entities are loaded) take a shared lock
// only, so request threads do not serialize on it.
class UidTable {
 public:
  const EntityUid::Data* intern(std::string_view type, std::string_view id) {
    std::size_t h = DataKeyHash()(type, id);
    {
      std::shared_lock lock(mu_);
      if (const auto* d = find_locked(h, type, id)) return d;
    }
    std::unique_lock lock(mu_);
    if (const auto* d = find_locked(h, type, id)) return d;
    auto* d = new EntityUid::Data{intern_type_locked(type), std::string(id)};
    buckets_.emplace(h, d);
    return d;
  }

  const std::string* intern_type(std::string_view type) {
    {
      std::shared_lock lock(mu_);
      auto it = types_.find(type);
      if (it != types_.end()) return &*it;
    }
    std::unique_lock lock(mu_);
    return intern_type_locked(type);
  }

 private:
  const EntityUid::Data* find_locked(std::size_t h, std::string_view type,
                                     std::string_view id) const {
    auto [lo, hi] = buckets_.equal_range(h);
    for (auto it = lo; it != hi; ++it) {
      if (*it->second->type == type && it->second->id == id) return it->second;
    }
    return nullptr;
  }
  const std::string* intern_type_locked(std::string_view type) {
    auto it = types_.find(type);
    if (it == types_.end()) it = types_.insert(std::string(type)).first;
    return &*it;  // unordered_set nodes never move
  }
  std::unordered_set<std::string, NameHash, std::equal_to<>> types_;
  std::shared_mutex mu_;
  std::unordered_multimap<std::size_t, const EntityUid::Data*> buckets_;
};

UidTable& table() {
  static auto* t = new UidTable();  // leaked on purpose: handles outlive static destruction
  return *t;
}

std::string escape_string(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\0':
        out += "\\0";
        break;
      default:
        out += c;
    }
  }
  out += '"';
  return out;
}

}  // namespace

EntityUid::EntityUid() : data_(table().intern("", "")) {}

const std::string* EntityUid::intern_type(std::string_view type) {
  return table().intern_type(type);
}

EntityUid EntityUid::intern(std::string_view type, std::string_view id) {
  return EntityUid(table().intern(type, id));
}

std::string EntityUid::to_string() const {
  return *data_->type + "::" + escape_string(data_->id);
}

std::strong_ordering EntityUid::operator<=>(const EntityUid& o) const {
  if (data_ == o.data_) return std::strong_ordering::equal;
  if (auto c = *data_->type <=> *o.data_->type; c != 0) return c;
  return data_->id <=> o.data_->id;
}

std::string_view kind_name(ValueKind kind) {
  switch (kind) {
    case ValueKind::kBool:
      return "bool";
    case ValueKind::kLong:
      return "long";
    case ValueKind::kString:
      return "string";
    case ValueKind::kEntity:
      return "entity";
    case ValueKind::kSet:
      return "set";
    case ValueKind::kRecord:
      return "record";
    case ValueKind::kExtension:
      return "extension value";
  }
  return "?";
}

Value Value::set(SetElements elements) {
  std::sort(elements.begin(), elements.end(),
            [](const Value& a, const Value& b) { return (a <=> b) < 0; });
  elements.erase(std::unique(elements.begin(), elements.end()), elements.end());
  Value v;
  v.v_ = std::make_shared<const SetElements>(std::move(elements));
  return v;
}

Value Value::record(RecordFields fields) {
  Value v;
  v.v_ = std::make_shared<const RecordFields>(std::move(fields));
  return v;
}

bool Value::operator==(const Value& o) const {
  return (*this <=> o) == 0;
}

std::strong_ordering Value::operator<=>(const Value& o) const {
  if (v_.index() != o.v_.index()) return v_.index() <=> o.v_.index();
  switch (kind()) {
    case ValueKind::kBool:
      return as_bool() <=> o.as_bool();
    case ValueKind::kLong:
      return as_long() <=> o.as_long();
    case ValueKind::kString:
      return as_string() <=> o.as_string();
    case ValueKind::kEntity:
      return as_entity() <=> o.as_entity();
    case ValueKind::kExtension:
      return as_extension() <=> o.as_extension();
    case ValueKind::kSet: {
      const auto& a = std::get<SetPtr>(v_);
      const auto& b = std::get<SetPtr>(o.v_);
      if (a == b) return std::strong_ordering::equal;
      return std::lexicographical_compare_three_way(a->begin(), a->end(), b->begin(), b->end());
    }
    case ValueKind::kRecord: {
      const auto& a = std::get<RecordPtr>(v_);
      const auto& b = std::get<RecordPtr>(o.v_);
      if (a == b) return std::strong_ordering::equal;
      return std::lexicographical_compare_three_way(a->begin(), a->end(), b->begin(), b->end());
    }
  }
  return std::strong_ordering::equal;
}

bool Value::set_contains(const Value& element) const {
  const auto& s = as_set();
  auto it = std::lower_bound(s.begin(), s.end(), element,
                             [](const Value& a, const Value& b) { return (a <=> b) < 0; });
  return it != s.end() && *it == element;
}

std::string Value::to_string() const {
  switch (kind()) {
    case ValueKind::kBool:
      return as_bool() ? "true" : "false";
    case ValueKind::kLong:
      return std::to_string(as_long());
    case ValueKind::kString:
      return escape_string(as_string());
    case ValueKind::kEntity:
      return as_entity().to_string();
    case ValueKind::kExtension:
      return extension_to_string(as_extension());
    case ValueKind::kSet: {
      std::string out = "[";
      bool first = true;
      for (const auto& e : as_set()) {
        if (!first) out += ", ";
        first = false;
        out += e.to_string();
      }
      return out + "]";
    }
    case ValueKind::kRecord: {
      std::string out = "{";
      bool first = true;
      for (const auto& [k, v] : as_record()) {
        if (!first) out += ", ";
        first = false;
        out += escape_string(*k) + ": " + v.to_string();
      }
      return out + "}";
    }
  }
  return "?";
}

}  // namespace custody::cedar
