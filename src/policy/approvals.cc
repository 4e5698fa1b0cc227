#include "policy/approvals.h"

#include <map>
#include <mutex>

#include "common/encoding.h"
#include "common/ids.h"
#include "common/jcs.h"
#include "crypto/keyed_hash.h"
#include "directory/identity_rows.h"
#include "policy/approval_notifications.h"

namespace custody::policy {
namespace {

constexpr const char* kColumns =
    "id, status, digest, question, labels, subject_id, initiator, requested_by, approver, "
    "created_at, expires_at, decided_by, decided_at, decision_reason, used_at";

Result<Approval> from_row(const store::Row& r) {
  Approval a;
  a.id = r.text(0);
  a.status = r.text(1);
  a.digest = r.text(2);
  a.question = nlohmann::json::parse(r.text(3), nullptr, false);
  auto labels = nlohmann::json::parse(r.text(4), nullptr, false);
  if (a.question.is_discarded() || !labels.is_array())
    return Error::internal("approval " + a.id + " is not valid JSON");
  for (const auto& l : labels)
    if (l.is_string()) a.labels.push_back(l.get<std::string>());
  a.subject_id = r.text(5);
  a.initiator = r.text(6);
  a.requested_by = r.text(7);
  a.approver = r.text(8);
  a.created_at = r.integer(9);
  a.expires_at = r.integer(10);
  a.decided_by = r.opt_text(11);
  a.decided_at = r.opt_integer(12);
  a.decision_reason = r.opt_text(13);
  a.used_at = r.opt_integer(14);
  return a;
}

nlohmann::json ref_json(const EntityRef& ref) {
  nlohmann::json j = {{"type", ref.type}, {"id", ref.id}};
  if (ref.properties.is_object() && !ref.properties.empty()) j["properties"] = ref.properties;
  return j;
}

std::mutex listeners_mu;
std::map<std::uint64_t, std::function<void(const std::string&)>> listeners;
std::uint64_t next_listener = 1;

void tell_listeners(const std::string& approval_id) {
  std::lock_guard lock(listeners_mu);
  for (const auto& [handle, listener] : listeners) listener(approval_id);
}

}  // namespace

std::uint64_t add_decision_listener(std::function<void(const std::string&)> listener) {
  std::lock_guard lock(listeners_mu);
  std::uint64_t handle = next_listener++;
  listeners.emplace(handle, std::move(listener));
  return handle;
}

void remove_decision_listener(std::uint64_t handle) {
  std::lock_guard lock(listeners_mu);
  listeners.erase(handle);
}

nlohmann::json question_json(const Question& q) {
  nlohmann::json context = q.context.is_object() ? q.context : nlohmann::json::object();
  context.erase("approval_id");
  return {{"subject", ref_json(q.subject)},
          {"action", q.action},
          {"resource", ref_json(q.resource)},
          {"context", context}};
}

std::string question_digest(const Question& q) {
  nlohmann::json j = question_json(q);
  auto canonical = jcs::canonicalize(j);
  // Canonicalization refuses only non-I-JSON numbers; their plain dump is still deterministic.
  return hex_encode(crypto::sha256(canonical.ok() ? *canonical : j.dump()));
}

Result<Approval> request_approval(store::Tx& tx, const Question& q,
                                  const std::vector<std::string>& labels,
                                  const std::string& requested_by, Micros now, Micros ttl) {
  std::string digest = question_digest(q);
  CUSTODY_ASSIGN(auto rows, tx.query(std::string("SELECT ") + kColumns +
                                         " FROM approvals WHERE digest = $1 AND status = "
                                         "'pending' AND expires_at > $2 ORDER BY id LIMIT 1",
                                     {digest, now}));
  if (!rows.empty()) return from_row(rows[0]);

  Approval a;
  a.id = new_id("apr", now);
  a.status = "pending";
  a.digest = digest;
  a.question = question_json(q);
  a.labels = labels;
  a.subject_id = q.subject.id;
  if (q.context.is_object() && q.context.contains("initiator") &&
      q.context["initiator"].is_string())
    a.initiator = q.context["initiator"].get<std::string>();
  a.requested_by = requested_by;
  a.approver = "admins";
  if (directory::kind_of_id(q.subject.id)) {
    CUSTODY_ASSIGN(auto subject, directory::rows::find_identity(tx, q.subject.id));
    if (subject && subject->owner_id) a.approver = *subject->owner_id;
  }
  a.created_at = now;
  a.expires_at = now + ttl;
  CUSTODY_TRY(tx.exec(
      "INSERT INTO approvals (id, status, digest, question, labels, subject_id, initiator, "
      "requested_by, approver, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
      "$9, $10, $11)",
      {a.id, a.status, a.digest, a.question.dump(), nlohmann::json(a.labels).dump(), a.subject_id,
       a.initiator, a.requested_by, a.approver, a.created_at, a.expires_at}));
  // The approver hears of it through their webhook, once this commits.
  CUSTODY_TRY(queue_approver_webhook(tx, a.id, now));
  return a;
}

Result<Approval> get_approval(store::Tx& tx, std::string_view id) {
  CUSTODY_ASSIGN(auto rows,
                 tx.query(std::string("SELECT ") + kColumns + " FROM approvals WHERE id = $1",
                          {std::string(id)}));
  if (rows.empty()) return Error::not_found("approval " + std::string(id) + " not found");
  return from_row(rows[0]);
}

Result<ApprovalState> get_approval_state(store::Tx& tx, std::string_view id) {
  CUSTODY_ASSIGN(auto rows, tx.query("SELECT status, expires_at FROM approvals WHERE id = $1",
                                     {std::string(id)}));
  if (rows.empty()) return Error::not_found("approval " + std::string(id) + " not found");
  return ApprovalState{rows[0].text(0), rows[0].integer(1)};
}

Result<std::vector<Approval>> list_approvals(store::Tx& tx,
                                             const std::optional<std::string>& status, int limit,
                                             const std::optional<std::string>& before) {
  std::string sql = std::string("SELECT ") + kColumns + " FROM approvals WHERE id < $1";
  std::vector<store::Value> params = {before.value_or("~"), std::int64_t{limit}};
  if (status) {
    sql += " AND status = $3";
    params.emplace_back(*status);
  }
  sql += " ORDER BY id DESC LIMIT $2";
  CUSTODY_ASSIGN(auto rows, tx.query(sql, params));
  std::vector<Approval> out;
  for (const auto& r : rows) {
    CUSTODY_ASSIGN(auto a, from_row(r));
    out.push_back(std::move(a));
  }
  return out;
}

Result<Approval> decide_approval(store::Tx& tx, std::string_view id, bool approve,
                                 const directory::Principal& who, const std::string& reason,
                                 Micros now) {
  CUSTODY_ASSIGN(auto a, get_approval(tx, id));
  if (a.status != "pending")
    return std::move(Error::conflict("approval " + a.id + " is already " + a.status))
        .with("current_status", a.status);
  if (a.expired(now)) return Error::conflict("approval " + a.id + " has expired");
  // Who may decide: an admin, or the routed approver acting through an owner-role token.
  std::string person = who.actor();
  if (who.role == directory::Role::kOwner) {
    if (!who.human_id || *who.human_id != a.approver)
      return Error::denied("approval " + a.id + " is routed to " + a.approver);
  } else if (who.role != directory::Role::kAdmin) {
    return Error::denied("only admins and the routed approver decide approvals");
  }
  // Separation of duties: nobody approves a request about themselves or made by themselves.
  if (person == a.subject_id || (!a.initiator.empty() && person == a.initiator) ||
      person == a.requested_by)
    return Error::denied("separation of duties: " + person +
                         " is the subject, initiator or requester of approval " + a.id);
  a.status = approve ? "approved" : "denied";
  a.decided_by = person;
  a.decided_at = now;
  a.decision_reason = reason;
  CUSTODY_ASSIGN(auto changed,
                 tx.exec("UPDATE approvals SET status = $2, decided_by = $3, decided_at = $4, "
                         "decision_reason = $5 WHERE id = $1 AND status = 'pending'",
                         {a.id, a.status, person, now, reason}));
  if (changed != 1) return Error::conflict("approval " + a.id + " was decided concurrently");
  // Whoever waits to be told (a CIBA ping client) is told once this commits.
  CUSTODY_TRY(release_held_notifications(tx, a.id, now));
  tell_listeners(a.id);
  return a;
}

Result<bool> approval_valid(store::Tx& tx, std::string_view id, const Question& q, Micros now) {
  CUSTODY_ASSIGN(auto rows,
                 tx.query("SELECT status, digest, expires_at FROM approvals WHERE id = $1",
                          {std::string(id)}));
  if (rows.empty()) return false;
  return rows[0].text(0) == "approved" && rows[0].text(1) == question_digest(q) &&
         now < rows[0].integer(2);
}

Result<std::optional<std::string>> find_approved(store::Tx& tx, const Question& q, Micros now) {
  CUSTODY_ASSIGN(auto rows, tx.query("SELECT id FROM approvals WHERE digest = $1 AND status = "
                                     "'approved' AND expires_at > $2 ORDER BY id LIMIT 1",
                                     {question_digest(q), now}));
  if (rows.empty()) return std::optional<std::string>();
  return std::optional<std::string>(rows[0].text(0));
}

Status consume_approval(store::Tx& tx, std::string_view id, Micros now) {
  CUSTODY_ASSIGN(auto changed,
                 tx.exec("UPDATE approvals SET status = 'used', used_at = $2 WHERE id = $1 AND "
                         "status = 'approved' AND expires_at > $2",
                         {std::string(id), now}));
  if (changed != 1) return Error::conflict("approval " + std::string(id) + " was already used");
  return ok_status();
}

nlohmann::json to_json(const Approval& a, Micros now) {
  nlohmann::json j = {{"id", a.id},
                      {"status", a.status == "pending" && a.expired(now) ? "expired" : a.status},
                      {"question", a.question},
                      {"labels", a.labels},
                      {"subject_id", a.subject_id},
                      {"requested_by", a.requested_by},
                      {"approver", a.approver},
                      {"created_at", format_rfc3339(a.created_at)},
                      {"expires_at", format_rfc3339(a.expires_at)}};
  if (!a.initiator.empty()) j["initiator"] = a.initiator;
  if (a.decided_by) j["decided_by"] = *a.decided_by;
  if (a.decided_at) j["decided_at"] = format_rfc3339(*a.decided_at);
  if (a.decision_reason && !a.decision_reason->empty()) j["decision_reason"] = *a.decision_reason;
  if (a.used_at) j["used_at"] = format_rfc3339(*a.used_at);
  return j;
}

}  // namespace custody::policy
