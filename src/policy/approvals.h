// Human checkpoints (docs/approvals.md): approval requests for questions that @approval policies
// hold for a human, bound to the exact question, decided once, used once, expiring.
//
// Binding. An approval is for the SHA-256 digest of the canonical question: subject, action,
// resource (types and ids, properties included) and the context without its approval_id. A
// repeated question (the same digest) while one is pending finds that one; an altered question
// (another digest) needs its own approval.
//
// Routing. The approver is the subject's owner when the subject is a directory identity with one,
// else any admin ("admins"). Separation of duties: nobody decides an approval whose subject,
// initiator or requester they are (an owner-role token acts as its human).
//
// Lifecycle: pending → approved | denied; approved → used (by the one decision it permits).
// Expiry is derived from expires_at, so an unanswered request simply stops being usable.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "directory/principal.h"
#include "policy/pdp.h"
#include "store/store.h"

namespace custody::policy {

struct Approval {
  std::string id;      // apr_…
  std::string status;  // pending | approved | denied | used
  std::string digest;
  nlohmann::json question;
  std::vector<std::string> labels;
  std::string subject_id;
  std::string initiator;
  std::string requested_by;
  std::string approver;  // a human id, or "admins"
  Micros created_at = 0;
  Micros expires_at = 0;
  std::optional<std::string> decided_by;
  std::optional<Micros> decided_at;
  std::optional<std::string> decision_reason;
  std::optional<Micros> used_at;

  bool expired(Micros now) const { return now >= expires_at; }
};

// The digest a question's approval is bound to (hex SHA-256 of its canonical JSON).
std::string question_digest(const Question& question);
nlohmann::json question_json(const Question& question);

// The pending, unexpired approval for this digest, or a new one (with `approver` resolved from the
// directory), stored in `tx`; a new one also queues the approver's webhook
// (approval_notifications.h).
Result<Approval> request_approval(store::Tx& tx, const Question& question,
                                  const std::vector<std::string>& labels,
                                  const std::string& requested_by, Micros now, Micros ttl);

Result<Approval> get_approval(store::Tx& tx, std::string_view id);

// Only what a waiter needs of approval `id` (gateway/approval_waits.h): its stored status and
// expiry, without reading and parsing the question. kNotFound when there is none.
struct ApprovalState {
  std::string status;  // pending | approved | denied | used
  Micros expires_at = 0;
};
Result<ApprovalState> get_approval_state(store::Tx& tx, std::string_view id);

// Newest first; `status` "pending" lists only unexpired pending ones.
Result<std::vector<Approval>> list_approvals(store::Tx& tx,
                                             const std::optional<std::string>& status, int limit,
                                             const std::optional<std::string>& before);

// Approves or denies a pending, unexpired approval as `who` (see the file comment for who may).
// kConflict when it is not pending or has expired; kPermissionDenied for the wrong person. The
// approval's held notifications (CIBA pings) are released to be sent after the commit.
Result<Approval> decide_approval(store::Tx& tx, std::string_view id, bool approve,
                                 const directory::Principal& who, const std::string& reason,
                                 Micros now);

// Whether `id` approves `question` now: approved, unused, unexpired and the same digest.
Result<bool> approval_valid(store::Tx& tx, std::string_view id, const Question& question,
                            Micros now);
// An approved, unused, unexpired approval of exactly this question (the same digest), for
// enforcement points whose clients cannot carry an approval id (the MCP gateway: an approved
// retry with the same arguments goes through once).
Result<std::optional<std::string>> find_approved(store::Tx& tx, const Question& question,
                                                 Micros now);
// Marks it used; kConflict when another decision used it first (single use).
Status consume_approval(store::Tx& tx, std::string_view id, Micros now);

nlohmann::json to_json(const Approval& approval, Micros now);

// Listeners told that an approval is being decided in this process, so that whoever waits for it
// (the MCP gateway's held calls, gateway/approval_waits.h) looks again at once instead of at its
// next poll. decide_approval calls them on the deciding thread, inside its transaction, before
// the commit: a listener only takes note (it must not touch the store) and reads the outcome
// after the commit is visible. Returns the listener's handle for remove_decision_listener.
std::uint64_t add_decision_listener(std::function<void(const std::string& approval_id)> listener);
void remove_decision_listener(std::uint64_t handle);

}  // namespace custody::policy
