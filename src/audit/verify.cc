// The store-side audit verifier. See verify.h.
#include "audit/verify.h"

#include <map>

#include "audit/archive.h"
#include "audit/canonical_event.h"
#include "audit/events.h"
#include "audit/log.h"
#include "audit/merkle_tree.h"
#include "common/encoding.h"

namespace custody::audit {
namespace {

using nlohmann::json;

constexpr std::int64_t kChunk = 20'000;

// Leaf hashes held flat in memory, 32 bytes each.
class FlatLeafHashes final : public LeafHashes {
 public:
  explicit FlatLeafHashes(const std::string& flat) : flat_(flat) {}
  Result<std::string> hash(std::uint64_t index) const override {
    if ((index + 1) * merkle::kHashSize > flat_.size())
      return Error::invalid("leaf out of range", "index");
    return flat_.substr(index * merkle::kHashSize, merkle::kHashSize);
  }

 private:
  const std::string& flat_;
};

VerifyProblem problem(std::string kind, std::int64_t leaf, std::string message,
                      const Event* e = nullptr) {
  VerifyProblem p;
  p.kind = std::move(kind);
  p.leaf_index = leaf;
  p.message = std::move(message);
  if (e) {
    p.seq = e->seq;
    p.event_id = e->id;
  }
  return p;
}

std::string describe(const Event& e) {
  return "event " + e.id + " (seq " + std::to_string(e.seq) + ")";
}

class Verifier {
 public:
  Verifier(store::Tx& tx, const VerifyOptions& options, VerifyReport& report)
      : tx_(tx), options_(options), report_(report), tree_(MerkleTree::kDefaultCacheLevel) {}

  Status run() {
    // Heads and the assigned count first: a server appending meanwhile then only adds leaves
    // beyond what they cover, never a false "deleted".
    CUSTODY_ASSIGN(store::Rows count, tx_.query("SELECT leaf_count FROM audit_log_state"));
    if (!count.empty()) assigned_ = count[0].integer(0);
    CUSTODY_ASSIGN(keys_, stored_audit_keys(tx_));
    CUSTODY_ASSIGN(heads_, stored_heads(tx_));
    CUSTODY_TRY(check_segments());
    if (!report_.problem) CUSTODY_TRY(check_live());
    if (!report_.problem) CUSTODY_TRY(check_assigned_count());
    report_.leaves = tree_.size();
    report_.root_hash = tree_.root();
    if (!report_.problem) CUSTODY_TRY(check_heads());
    if (!report_.problem) check_pinned();
    return ok_status();
  }

 private:
  void add_leaf(const std::string& hash) {
    (void)tree_.append(hash);
    flat_ += hash;
  }

  Status check_segments() {
    CUSTODY_ASSIGN(store::Rows segs,
                   tx_.query("SELECT first_leaf, end_leaf, leaf_hashes, events FROM "
                             "audit_archive_segments ORDER BY first_leaf"));
    for (const auto& row : segs) {
      const std::int64_t first = row.integer(0), end = row.integer(1);
      const std::string where =
          "archive segment [" + std::to_string(first) + ", " + std::to_string(end) + ")";
      const auto expected = static_cast<std::int64_t>(tree_.size());
      if (first != expected) {
        report_.problem =
            first > expected
                ? problem("deleted", expected,
                          "leaves [" + std::to_string(expected) + ", " + std::to_string(first) +
                              ") are missing before " + where)
                : problem("inserted", first, where + " overlaps leaves already archived");
        return ok_status();
      }
      auto events = segment_events(row.text(3));
      if (!events.ok()) {
        report_.problem =
            problem("segment_corrupted", first, where + ": " + events.error().message);
        return ok_status();
      }
      const std::string& hex = row.text(2);
      if (static_cast<std::int64_t>(events->size()) != end - first ||
          hex.size() != static_cast<std::size_t>(end - first) * 64) {
        report_.problem =
            problem("segment_corrupted", first,
                    where + " holds " + std::to_string(events->size()) + " events and " +
                        std::to_string(hex.size() / 64) + " leaf hashes");
        return ok_status();
      }
      for (std::size_t i = 0; i < events->size(); ++i) {
        const Event& e = (*events)[i];
        const std::int64_t leaf = first + static_cast<std::int64_t>(i);
        auto hash = event_leaf_hash(e);
        const auto listed = hex_decode(hex.substr(i * 64, 64));
        if (e.leaf_index != leaf || !hash.ok() || *hash != e.leaf_hash || !listed ||
            *listed != *hash) {
          report_.problem = problem("segment_corrupted", leaf,
                                    where + ": " + describe(e) + " at leaf " +
                                        std::to_string(leaf) + " does not match its leaf hash",
                                    &e);
          return ok_status();
        }
        add_leaf(*hash);
      }
      ++report_.segments;
      report_.archived_leaves += events->size();
    }
    return ok_status();
  }

  // The seq of the event holding `leaf` in audit_events, or nullopt.
  Result<std::vector<std::int64_t>> seqs_of_leaf(std::int64_t leaf) {
    CUSTODY_ASSIGN(
        store::Rows rows,
        tx_.query("SELECT seq FROM audit_events WHERE leaf_index = $1 ORDER BY seq", {leaf}));
    std::vector<std::int64_t> out;
    for (const auto& r : rows) out.push_back(r.integer(0));
    return out;
  }

  Status check_live() {
    std::int64_t after = -1;
    std::optional<Event> prev;
    for (;;) {
      CUSTODY_ASSIGN(store::Rows rows,
                     tx_.query("SELECT " + std::string(kEventColumns) +
                                   " FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2",
                               {after, kChunk}));
      for (const auto& row : rows) {
        Event e = event_without_details(row);
        after = e.seq;
        CUSTODY_TRY(check_one(e, row.text(8), prev));
        if (report_.problem) return ok_status();
        prev = std::move(e);
      }
      if (rows.size() < static_cast<std::size_t>(kChunk)) return ok_status();
    }
  }

  // The leaf hash of the stored row. Fast path: custody stores details in canonical form, so
  // the stored text is spliced in as is (any change to it changes the bytes). Rows whose text
  // is not canonical (written before migration 0003, or tampered) are parsed and canonicalised.
  static Result<std::string> row_leaf_hash(const Event& e, const std::string& details_text) {
    auto bytes = canonical_event_with_details(e, details_text);
    if (bytes.ok()) {
      std::string hash = merkle::leaf_hash(*bytes);
      if (hash == e.leaf_hash) return hash;
    }
    Event full = e;
    full.details = json::parse(details_text, nullptr, /*allow_exceptions=*/false);
    if (full.details.is_discarded()) return Error::invalid("its details are not JSON");
    return event_leaf_hash(full);
  }

  Status check_one(const Event& e, const std::string& details_text,
                   const std::optional<Event>& prev) {
    const auto p = static_cast<std::int64_t>(tree_.size());
    auto between = [&] {
      return prev ? "between " + describe(*prev) + " and " + describe(e) : "before " + describe(e);
    };
    if (e.leaf_index < 0) {
      report_.problem = problem("inserted", p,
                                describe(e) +
                                    " has no leaf: it was not appended by "
                                    "custody",
                                &e);
      return ok_status();
    }
    if (e.leaf_index > p) {
      CUSTODY_ASSIGN(auto holders, seqs_of_leaf(p));
      if (holders.empty()) {
        report_.problem =
            problem("deleted", p,
                    "the event of leaf " + std::to_string(p) + " is missing (" + between() + ")");
      } else {
        report_.problem = problem("reordered", p,
                                  "the event of leaf " + std::to_string(p) + " now has seq " +
                                      std::to_string(holders.front()) + ", after " + describe(e) +
                                      " of leaf " + std::to_string(e.leaf_index));
        report_.problem->seq = holders.front();
      }
      return ok_status();
    }
    if (e.leaf_index < p) {
      CUSTODY_ASSIGN(auto holders, seqs_of_leaf(e.leaf_index));
      report_.problem =
          holders.size() > 1
              ? problem("inserted", e.leaf_index,
                        describe(e) + " claims leaf " + std::to_string(e.leaf_index) +
                            ", which another event already holds",
                        &e)
              : problem("reordered", e.leaf_index,
                        describe(e) + " of leaf " + std::to_string(e.leaf_index) +
                            " comes after leaf " + std::to_string(p - 1) + " in seq order",
                        &e);
      return ok_status();
    }
    auto hash = row_leaf_hash(e, details_text);
    if (!hash.ok() || *hash != e.leaf_hash) {
      report_.problem = problem("modified", p,
                                describe(e) + " at leaf " + std::to_string(p) +
                                    (hash.ok() ? " no longer matches its leaf hash"
                                               : " has no canonical form: " + hash.error().message),
                                &e);
      return ok_status();
    }
    add_leaf(*hash);
    return ok_status();
  }

  // Deleting the newest events is caught by the count of leaves ever handed out.
  Status check_assigned_count() {
    const std::int64_t assigned = assigned_;
    const auto n = static_cast<std::int64_t>(tree_.size());
    if (assigned > n) {
      report_.problem =
          problem("deleted", n,
                  "custody assigned " + std::to_string(assigned) + " leaves but the store holds " +
                      std::to_string(n) + ": the newest " + std::to_string(assigned - n) +
                      " events are missing");
    }
    return ok_status();
  }

  // A head against the recomputed tree; the problem kind when it does not match.
  std::optional<VerifyProblem> compare(const TreeHead& head, const std::string& what,
                                       std::uint64_t last_good, const char* mismatch_kind) {
    FlatLeafHashes leaves(flat_);
    if (head.tree_size > tree_.size())
      return problem("deleted", static_cast<std::int64_t>(tree_.size()),
                     what + " covers " + std::to_string(head.tree_size) +
                         " leaves but the store holds " + std::to_string(tree_.size()));
    auto root = tree_.root_at(head.tree_size, &leaves);
    if (!root.ok() || *root != head.root_hash)
      return problem(mismatch_kind, static_cast<std::int64_t>(last_good),
                     what + " does not match the stored events: leaves from " +
                         std::to_string(last_good) + " to " + std::to_string(head.tree_size - 1) +
                         " were altered after it was signed (their leaf hashes were recomputed)");
    return std::nullopt;
  }

  Status check_heads() {
    std::map<std::string, crypto::Jwk> by_kid;
    for (auto& k : keys_) by_kid.emplace(k.kid(), k);
    FlatLeafHashes leaves(flat_);
    const TreeHead* prev = nullptr;
    for (const auto& head : heads_) {
      const std::string what = "signed head of size " + std::to_string(head.tree_size) + " at " +
                               format_rfc3339(head.time);
      auto key = by_kid.find(head.key_id);
      if (key == by_kid.end()) {
        report_.problem = problem("unknown_key", -1, what + " names unknown key " + head.key_id);
        return ok_status();
      }
      if (Status s = verify_tree_head(head, key->second); !s.ok()) {
        report_.problem = problem("bad_signature", -1, what + ": " + s.error().message);
        return ok_status();
      }
      if (auto m = compare(head, what, prev ? prev->tree_size : 0, "head_mismatch")) {
        report_.problem = *m;
        return ok_status();
      }
      // Both heads match the recomputed tree here, so this fails only if a head's own size or
      // root was forged consistently with a valid signature; kept as the documented check.
      if (prev) {
        auto proof = tree_.consistency_proof(prev->tree_size, head.tree_size, &leaves);
        Status c = proof.ok() ? merkle::verify_consistency(prev->tree_size, head.tree_size,
                                                           prev->root_hash, head.root_hash, *proof)
                              : proof.error();
        if (!c.ok()) {
          report_.problem =
              problem("inconsistent_heads", static_cast<std::int64_t>(prev->tree_size),
                      what + " is not consistent with the head of size " +
                          std::to_string(prev->tree_size) + ": " + c.error().message);
          return ok_status();
        }
      }
      ++report_.heads;
      prev = &head;
    }
    return ok_status();
  }

  void check_pinned() {
    for (const auto& pin : options_.pinned) {
      const std::string what = "external head of size " + std::to_string(pin.head.tree_size) +
                               " at " + format_rfc3339(pin.head.time);
      if (Status s = verify_tree_head(pin.head, pin.key); !s.ok()) {
        report_.problem = problem("bad_signature", -1, what + ": " + s.error().message);
        return;
      }
      if (auto m = compare(pin.head, what, 0, "witness_mismatch")) {
        if (m->kind == "witness_mismatch")
          m->message += "; the store (events, leaf hashes, heads or key) was rewritten";
        report_.problem = *m;
        return;
      }
      ++report_.pinned;
    }
  }

  store::Tx& tx_;
  const VerifyOptions& options_;
  VerifyReport& report_;
  MerkleTree tree_;
  std::string flat_;
  std::int64_t assigned_ = 0;
  std::vector<crypto::Jwk> keys_;
  std::vector<TreeHead> heads_;
};

}  // namespace

json VerifyReport::to_json() const {
  json j{{"ok", ok()},
         {"leaves", leaves},
         {"archived_leaves", archived_leaves},
         {"segments", segments},
         {"signed_heads", heads},
         {"external_heads", pinned},
         {"root_hash", hex_encode(root_hash)},
         {"problem", nullptr}};
  if (problem) {
    j["problem"] = {{"kind", problem->kind}, {"message", problem->message}};
    if (problem->leaf_index >= 0) j["problem"]["leaf_index"] = problem->leaf_index;
    if (problem->seq >= 0) j["problem"]["seq"] = problem->seq;
    if (!problem->event_id.empty()) j["problem"]["event_id"] = problem->event_id;
  }
  return j;
}

Result<std::vector<PinnedHead>> parse_pinned_heads(const std::string& text) {
  std::vector<PinnedHead> out;
  std::size_t pos = 0, line_no = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = "line " + std::to_string(line_no);
    auto j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return Error::invalid(where + " is not a JSON object");
    auto head = tree_head_from_json(j);
    if (!head.ok()) return Error::invalid(where + ": " + head.error().message);
    if (!j.contains("public_jwk")) return Error::invalid(where + " lacks \"public_jwk\"");
    auto key = crypto::Jwk::parse_public(j["public_jwk"], "public_jwk");
    if (!key.ok()) return Error::invalid(where + ": " + key.error().message);
    out.push_back(PinnedHead{std::move(head).value(), std::move(key).value()});
  }
  if (out.empty()) return Error::invalid("no tree head in the file");
  return out;
}

Result<VerifyReport> verify_log(store::Store& store, const VerifyOptions& options) {
  VerifyReport report;
  // One read connection: on PostgreSQL each statement sees committed data; a server appending
  // meanwhile only adds leaves after the ones already read, and the leaf count is read last.
  CUSTODY_TRY(store.read([&](store::Tx& tx) { return Verifier(tx, options, report).run(); }));
  return report;
}

}  // namespace custody::audit
