// Test helper: holds a store's group-commit writer inside one work until release(), so that the
// works queued meanwhile all run in the next batch (one transaction, one savepoint each).
#pragma once

#include <cstddef>
#include <future>
#include <vector>

#include "store/store.h"

namespace custody::test_support {

class BatchGate {
 public:
  // Queues the holding work and returns once the writer runs it. Room for `works` results:
  // index 0 is the holding work's, queue(i, …) fills index i (1 ≤ i < works).
  BatchGate(store::Store& store, std::size_t works) : store_(store), results_(works) {
    store_.write(
        [this, released = release_.get_future().share()](store::Tx&) {
          started_.set_value();
          released.wait();
          return ok_status();
        },
        [this](Status st) { results_[0].set_value(st); });
    started_.get_future().wait();
  }
  BatchGate(const BatchGate&) = delete;
  BatchGate& operator=(const BatchGate&) = delete;
  ~BatchGate() {
    if (!released_) release();
  }

  void queue(std::size_t i, store::Store::Work work) {
    store_.write(std::move(work), [this, i](Status st) { results_[i].set_value(st); });
  }
  // Lets the writer go on: every queued work now runs in one batch.
  void release() {
    released_ = true;
    release_.set_value();
  }
  // The status of work i (waits for its batch to commit).
  Status result(std::size_t i) { return results_[i].get_future().get(); }

 private:
  store::Store& store_;
  std::promise<void> started_, release_;
  bool released_ = false;
  std::vector<std::promise<Status>> results_;
};

}  // namespace custody::test_support
