// Names a thread, so that `top -H`, `ps -L`, perf and gdb show what each of custodyd's threads
// is (the writer, a checkpointer, an io thread) instead of "custodyd" for all of them.
#pragma once

#include <string_view>
#include <thread>

namespace custody {

// Called by the thread's creator right after starting it, so the name is there by the time the
// creator returns (the thread itself may not have run yet). Linux keeps at most 15 bytes of a
// name; a longer `name` is cut there. Failures are ignored: a name is a diagnostic aid, never
// needed for correctness.
void set_thread_name(std::thread& thread, std::string_view name);

}  // namespace custody
