// A fixed set of threads running submitted jobs, with a bounded queue: when it is full, submit()
// says so at once instead of letting work pile up behind a stalled dependency.
// Thread-safe. The destructor stops the threads after the running jobs finish; queued jobs that
// never started are dropped (destroyed without running).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace custody::workload {

class WorkerPool {
 public:
  WorkerPool(std::size_t threads, std::size_t max_queued);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `job`; false (job not taken) when max_queued jobs are already waiting or the pool is
  // stopping.
  bool submit(std::function<void()> job);
  // Stops taking jobs and joins the threads. Idempotent, but call it from one thread at a time.
  void stop();

 private:
  void loop();

  std::size_t max_queued_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace custody::workload
