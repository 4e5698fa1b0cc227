#include "gateway/approval_waits.h"

#include <algorithm>
#include <vector>

#include "common/log.h"
#include "common/thread_name.h"
#include "policy/approvals.h"

namespace custody::gateway {
namespace {

// After a decision in this process: how often to look until the commit shows, and for how long.
constexpr std::chrono::milliseconds kSoonStep{5};
constexpr std::chrono::milliseconds kSoonWatch{2000};

}  // namespace

const char* ApprovalWaits::end_name(End end) {
  switch (end) {
    case End::kApproved:
      return "approved";
    case End::kDenied:
      return "denied";
    case End::kUsed:
      return "used";
    case End::kExpired:
      return "expired";
    case End::kTimedOut:
      return "timed_out";
    case End::kStopped:
      return "stopped";
  }
  return "stopped";
}

ApprovalWaits::ApprovalWaits(store::Store& store, const custody::Clock& now, Options options)
    : store_(store), now_(now), options_(options), next_poll_(Clock::now() + options.poll) {
  listener_ = policy::add_decision_listener([this](const std::string& id) { decided(id); });
  thread_ = std::thread([this] { run(); });
  set_thread_name(thread_, "gw-approvals");
}

ApprovalWaits::~ApprovalWaits() {
  policy::remove_decision_listener(listener_);
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

ApprovalWaits::Id ApprovalWaits::add(Wait wait) {
  std::lock_guard lock(mu_);
  if (stopping_ || waits_.size() >= options_.max_waits) return 0;
  Id id = next_id_++;
  Clock::time_point heartbeat = Clock::now() + options_.heartbeat;
  waits_.emplace(id, Entry{std::move(wait), heartbeat});
  wake_.notify_all();  // its deadline may be the nearest
  return id;
}

bool ApprovalWaits::cancel(Id id) {
  std::lock_guard lock(mu_);
  return waits_.erase(id) == 1;
}

void ApprovalWaits::decided(const std::string& approval_id) {
  std::lock_guard lock(mu_);
  bool waited = std::any_of(waits_.begin(), waits_.end(), [&](const auto& w) {
    return w.second.wait.approval_id == approval_id;
  });
  if (!waited) return;
  Clock::time_point now = Clock::now();
  if (soon_.empty()) next_soon_ = now;
  soon_[approval_id] = now + kSoonWatch;
  wake_.notify_all();
}

std::size_t ApprovalWaits::size() const {
  std::lock_guard lock(mu_);
  return waits_.size();
}

void ApprovalWaits::end(Id id, End how) {
  std::function<void(End)> on_end;
  {
    std::lock_guard lock(mu_);
    auto it = waits_.find(id);
    if (it == waits_.end()) return;  // cancelled meanwhile
    on_end = std::move(it->second.wait.on_end);
    waits_.erase(it);
  }
  if (on_end) on_end(how);
}

void ApprovalWaits::check(const std::map<Id, std::string>& ids) {
  // One read for all of them; the waits themselves are only ended outside it.
  std::map<std::string, End> ended;
  Micros now = now_.now();
  Status s = store_.read([&](store::Tx& tx) -> Status {
    for (const auto& [id, approval_id] : ids) {
      if (ended.contains(approval_id)) continue;
      auto a = policy::get_approval_state(tx, approval_id);
      if (!a.ok()) {
        if (a.error().code != Code::kNotFound) return a.error();  // logged, retried at the poll
        // A vanished approval (purged) can never be decided: end as expired.
        ended[approval_id] = End::kExpired;
        continue;
      }
      bool expired = now >= a->expires_at;
      if (a->status == "approved")
        ended[approval_id] = expired ? End::kExpired : End::kApproved;
      else if (a->status == "denied")
        ended[approval_id] = End::kDenied;
      else if (a->status == "used")
        ended[approval_id] = End::kUsed;
      else if (expired)
        ended[approval_id] = End::kExpired;
    }
    return ok_status();
  });
  if (!s.ok()) {
    log::warn("approval waits: could not read approvals; trying again at the next poll",
              {{"error", s.error().message}});
    return;
  }
  for (const auto& [id, approval_id] : ids)
    if (auto e = ended.find(approval_id); e != ended.end()) end(id, e->second);
}

void ApprovalWaits::run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    Clock::time_point now = Clock::now();
    // What is due: deadlines, heartbeats, the poll, and close looks after local decisions.
    std::vector<Id> timed_out;
    std::vector<std::function<void()>> heartbeats;
    std::map<Id, std::string> to_check;
    bool poll = now >= next_poll_;
    if (poll) next_poll_ = now + options_.poll;
    for (auto it = soon_.begin(); it != soon_.end();)
      it = it->second <= now ? soon_.erase(it) : std::next(it);
    bool look_soon = !soon_.empty() && now >= next_soon_;
    if (look_soon) next_soon_ = now + kSoonStep;
    for (auto& [id, entry] : waits_) {
      if (entry.wait.deadline <= now) {
        timed_out.push_back(id);
        continue;
      }
      if (entry.next_heartbeat <= now) {
        entry.next_heartbeat = now + options_.heartbeat;
        if (entry.wait.on_heartbeat) heartbeats.push_back(entry.wait.on_heartbeat);
      }
      if (poll || (look_soon && soon_.contains(entry.wait.approval_id)))
        to_check[id] = entry.wait.approval_id;
    }
    if (!timed_out.empty() || !heartbeats.empty() || !to_check.empty()) {
      lock.unlock();
      for (Id id : timed_out) end(id, End::kTimedOut);
      for (auto& beat : heartbeats) beat();
      if (!to_check.empty()) check(to_check);
      lock.lock();
      continue;  // time has passed: work out what is due again
    }
    Clock::time_point next = next_poll_;
    if (!soon_.empty()) next = std::min(next, next_soon_);
    for (const auto& [id, entry] : waits_)
      next = std::min({next, entry.wait.deadline, entry.next_heartbeat});
    wake_.wait_until(lock, next);
  }
  // Stopping: every open wait ends, outside the lock.
  std::map<Id, Entry> open;
  open.swap(waits_);
  lock.unlock();
  for (auto& [id, entry] : open)
    if (entry.wait.on_end) entry.wait.on_end(End::kStopped);
}

}  // namespace custody::gateway
