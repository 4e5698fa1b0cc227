// vm_freeze_probe: how long the whole machine stood still while a benchmark ran.
//
// On a virtual machine the host may stop every vCPU at once: a cgroup CPU quota that the vCPUs
// and the host's own I/O work for the guest share (throttled until the next 100 ms period),
// steal, migration. The guest sees none of it (no steal time on some hypervisors), yet every
// request in flight waits the whole pause: a few such pauses a second decide a p99.
//
// The probe is one SCHED_FIFO thread that sleeps 1 ms at a time. A real-time thread preempts
// every normal thread at once, so when the guest runs the probe wakes within microseconds; a
// wake-up later than the threshold (default 2 ms) means no vCPU ran it: the machine was paused.
// It costs about 1,000 short wake-ups a second.
//
// Usage: vm_freeze_probe [THRESHOLD_MS]   runs until SIGINT or SIGTERM, then prints one line:
//   frozen <ms> ms in <n> pauses over <s> s (<pct>%), longest <ms> ms, <ms> ms into the 100 ms
//   period on average
// The period phase tells a quota throttle (pauses ending at the same phase of the 100 ms period)
// from noise. Exits 2 without measuring when SCHED_FIFO is not allowed (needs root or
// CAP_SYS_NICE): a normal thread's lateness would mix the machine's pauses with the load itself.
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace {

std::atomic<bool> g_stop{false};

void on_signal(int) {
  g_stop.store(true);
}

double seconds_since_epoch(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

}  // namespace

int main(int argc, char** argv) {
  const double threshold_ms = argc > 1 ? std::atof(argv[1]) : 2.0;
  if (!(threshold_ms > 0)) {
    std::fprintf(stderr, "usage: vm_freeze_probe [THRESHOLD_MS > 0]\n");
    return 1;
  }
  sched_param param{};
  param.sched_priority = 50;
  if (sched_setscheduler(0, SCHED_FIFO, &param) != 0) {
    std::fprintf(stderr, "vm_freeze_probe: SCHED_FIFO not allowed (%s); not measured\n",
                 std::strerror(errno));
    return 2;
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);

  using clock = std::chrono::steady_clock;
  constexpr auto kNap = std::chrono::milliseconds(1);
  const double threshold = threshold_ms / 1e3;
  const auto start = clock::now();
  auto last = start;
  double frozen = 0, longest = 0, phase_sum = 0;
  long pauses = 0;
  while (!g_stop.load()) {
    std::this_thread::sleep_for(kNap);
    const auto now = clock::now();
    const double late = std::chrono::duration<double>(now - last - kNap).count();
    if (late > threshold) {
      ++pauses;
      frozen += late;
      longest = std::max(longest, late);
      phase_sum += std::fmod(seconds_since_epoch(now) * 1e3, 100.0);
    }
    last = now;
  }
  const double total = std::chrono::duration<double>(clock::now() - start).count();
  std::printf(
      "frozen %.1f ms in %ld pauses over %.1f s (%.2f%%), longest %.1f ms, %.1f ms into the "
      "100 ms period on average\n",
      frozen * 1e3, pauses, total, total > 0 ? frozen / total * 100 : 0.0, longest * 1e3,
      pauses > 0 ? phase_sum / static_cast<double>(pauses) : 0.0);
  return 0;
}
