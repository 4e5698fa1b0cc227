// Calls held for a human's approval whose callers keep their event stream open while the
// approver decides (docs/mcp-gateway.md, "Waiting for the approver").
//
// One thread per gateway watches every waiting call. It reads the waited approvals from the store
// every `poll` (a decision taken on another node, or by any path at all), and within
// milliseconds of a decision taken in this process (policy::add_decision_listener tells it while
// the decision commits; it then looks again at short steps until the commit is visible). Each
// wait ends exactly once, through its on_end:
//  - kApproved / kDenied: the approver decided;
//  - kUsed: the approval was approved and then used by another call before this one looked;
//  - kExpired: the approval expired unanswered;
//  - kTimedOut: the wait reached its deadline (the approval may still be decided later);
//  - kStopped: the gateway is shutting down.
// cancel() ends a wait without calling on_end (the caller went away). While a wait lasts,
// on_heartbeat runs every `heartbeat` so that the caller's stream shows it is alive.
//
// Callbacks run on the watcher's thread, never under its lock: they may call cancel() and may
// read and write the store. A store read that fails is retried at the next poll (the waits do
// not end on it; their deadlines still hold).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "common/clock.h"
#include "store/store.h"

namespace custody::gateway {

class ApprovalWaits {
 public:
  using Clock = std::chrono::steady_clock;

  struct Options {
    std::chrono::milliseconds poll{1000};
    std::chrono::milliseconds heartbeat{10'000};
    std::size_t max_waits = 1000;
  };

  enum class End { kApproved, kDenied, kUsed, kExpired, kTimedOut, kStopped };
  static const char* end_name(End end);  // "approved", "denied", "used", "expired", ...

  struct Wait {
    std::string approval_id;
    Clock::time_point deadline;
    std::function<void(End)> on_end;
    std::function<void()> on_heartbeat;  // may be empty
  };
  using Id = std::uint64_t;

  // `now` gives wall-clock time for approval expiry (the approvals' own clock).
  ApprovalWaits(store::Store& store, const custody::Clock& now, Options options);
  // Ends every wait still open with kStopped, then joins the thread.
  ~ApprovalWaits();
  ApprovalWaits(const ApprovalWaits&) = delete;
  ApprovalWaits& operator=(const ApprovalWaits&) = delete;

  // Starts watching; 0 when `max_waits` calls already wait (the caller then answers at once).
  Id add(Wait wait);
  // The caller went away: forget the wait, without on_end. Returns whether it was still open
  // (false when it had ended, or its on_end is running).
  bool cancel(Id id);
  // A decision of `approval_id` is committing in this process: look again within milliseconds.
  void decided(const std::string& approval_id);

  std::size_t size() const;

 private:
  struct Entry {
    Wait wait;
    Clock::time_point next_heartbeat;
  };
  void run();
  // Reads the approvals of `ids` and ends the waits on the decided ones.
  void check(const std::map<Id, std::string>& ids);
  // Removes `id` and runs its on_end(end) unless it was cancelled first.
  void end(Id id, End end);

  store::Store& store_;
  const custody::Clock& now_;
  Options options_;
  std::uint64_t listener_ = 0;

  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  Id next_id_ = 1;
  std::map<Id, Entry> waits_;
  // Approvals decided in this process, watched closely until this time point.
  std::map<std::string, Clock::time_point> soon_;
  Clock::time_point next_soon_;
  Clock::time_point next_poll_;
  std::thread thread_;
};

}  // namespace custody::gateway
