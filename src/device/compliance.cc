#include "device/compliance.h"

#include "audit/events.h"
#include "delegation/cascade.h"
#include "ssf/emitter.h"

namespace custody::device {
namespace {

Status emit_compliance(store::Tx& tx, const Device& d, Trust before, Trust after,
                       const std::vector<std::string>& reasons, const TrustChange& change,
                       Micros now) {
  bool was = before == Trust::kTrusted;
  bool is = after == Trust::kTrusted;
  if (was == is) return ok_status();
  ssf::CaepEvent e;
  e.type = "device-compliance-change";
  e.subject = {{"format", "complex"},
               {"device", {{"format", "opaque"}, {"id", d.id}}},
               {"user", {{"format", "opaque"}, {"id", d.owner_id}}}};
  e.event_timestamp = now;
  e.initiating_entity = change.cause == "revoked" ? "admin" : "policy";
  std::string why;
  for (const auto& r : reasons) why += (why.empty() ? "" : "; ") + r;
  e.reason_admin =
      "device " + d.id + " (" + d.hostname + ") is " + std::string(trust_name(after)) + ": " + why;
  e.extra = {{"previous_status", was ? "compliant" : "not-compliant"},
             {"current_status", is ? "compliant" : "not-compliant"}};
  e.txn = change.request_id;
  return ssf::enqueue(tx, e);
}

Result<Applied> finish(store::Tx& tx, const Device& d, Trust after,
                       const std::vector<std::string>& reasons, const TrustChange& change,
                       Micros now, const std::string& action) {
  Applied out{d.trust, after, {}};
  if (after == Trust::kUntrusted && d.trust != Trust::kUntrusted) {
    std::string reason = "device " + d.id + " is untrusted";
    if (!reasons.empty()) reason += ": " + reasons.front();
    CUSTODY_ASSIGN(out.revoked, delegation::revoke_for_device(tx, d.id, std::nullopt, now,
                                                              change.actor, reason));
  }
  CUSTODY_TRY(emit_compliance(tx, d, d.trust, after, reasons, change, now));
  if (d.trust == after && action == "device.trust") return out;  // nothing new to record
  audit::Event event;
  event.time = now;
  event.actor = change.actor;
  event.action = action;
  event.target = d.id;
  event.outcome = "success";
  event.request_id = change.request_id;
  event.details = {{"cause", change.cause},      {"before", trust_name(d.trust)},
                   {"after", trust_name(after)}, {"reasons", reasons},
                   {"owner", d.owner_id},        {"revoked", out.revoked}};
  CUSTODY_TRY(audit::append(tx, event));
  return out;
}

}  // namespace

Result<Applied> apply_verdict(store::Tx& tx, const Device& device, const Verdict& verdict,
                              const nlohmann::json& posture, Micros collected_at,
                              const TrustChange& change, Micros now) {
  if (!posture.is_null()) {
    CUSTODY_TRY(store_posture(tx, device.id, posture, collected_at, now, verdict.trust,
                              verdict.reasons, now));
  } else {
    CUSTODY_TRY(set_trust(tx, device.id, verdict.trust, verdict.reasons, now));
  }
  return finish(tx, device, verdict.trust, verdict.reasons, change, now, "device.trust");
}

Result<Applied> revoke_device(store::Tx& tx, const Device& device, const std::string& reason,
                              const TrustChange& change, Micros now) {
  if (device.revoked) return Error::conflict("device " + device.id + " is already revoked");
  CUSTODY_TRY(mark_revoked(tx, device.id, now, change.actor, reason));
  return finish(tx, device, Trust::kUntrusted, {"device revoked: " + reason}, change, now,
                "device.revoke");
}

Result<int> demote_stale(store::Tx& tx, Micros max_age, Micros now, int limit) {
  CUSTODY_ASSIGN(auto stale, stale_devices(tx, now - max_age, limit));
  for (const auto& d : stale) {
    Verdict v;
    v.trust = Trust::kUntrusted;
    v.reasons = {d.posture_received_at
                     ? "the posture report is stale (no report for " +
                           std::to_string(max_age / kMicrosPerSecond) + " s)"
                     : "no posture report within " + std::to_string(max_age / kMicrosPerSecond) +
                           " s of enrolment"};
    CUSTODY_TRY(apply_verdict(tx, d, v, nullptr, 0, {"system", "", "stale"}, now));
  }
  return static_cast<int>(stale.size());
}

}  // namespace custody::device
