// Names the calling thread, so that `top -H`, `ps -L`, perf and gdb show what each of custodyd's
// threads is (the writer, a checkpointer, an io thread) instead of "custodyd" for all of them.
#pragma once

#include <string_view>

namespace custody {

// Linux keeps at most 15 bytes of a thread's name; a longer `name` is cut there. Failures are
// ignored: a name is a diagnostic aid, never needed for correctness.
void set_thread_name(std::string_view name);

}  // namespace custody
