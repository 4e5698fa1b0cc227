// A SQLite VFS that turns a transaction's WAL appends into one write(2).
//
// SQLite writes each WAL frame with two pwrite(2) calls (24-byte frame header, then the page):
// under token load the group-commit writer made 55 of them per commit, a third of its thread's
// time (docs/benchmarks.md, "The writer's system calls"). custody opens the writer connection
// through this VFS, which wraps the default one ("unix") and, for WAL files only, keeps appends
// that continue one another in memory, and writes the run with one write(2) per 124 KiB (the
// most SQLite's unix VFS writes at once; a commit of ~20 pages is one write):
//  - before every xSync (with synchronous=FULL SQLite syncs the WAL at each commit, before it
//    publishes the commit in the wal-index, so readers and the checkpointer only ever look for
//    frames that are on the file: durability and visibility are unchanged);
//  - before any other operation on the file (read, truncate, size, file control, close), so
//    the wrapped file always shows what SQLite wrote when it looks;
//  - when a write does not continue the buffered run (a WAL restart at offset 0) or the run
//    would pass the cap: the run is written first, in order.
// A write that falls entirely inside the buffered run (SQLite rewriting a frame of the same
// transaction) updates the buffer. A failed write of the run is returned to SQLite from the
// operation that triggered it (the commit's xSync: the commit fails and is rolled back) and the
// run is dropped: its frames belong to that failed transaction, which SQLite does not reuse.
// Database, journal and other files pass straight to the wrapped VFS, unwrapped.
//
// One file object is used by one thread at a time (SQLite's contract for a connection), so the
// buffer has no lock. It keeps its capacity between commits (at most the 16 MiB cap). Registration
// is process-wide, once, thread-safe; the wrapped VFS is the default at the time of the first call.
#pragma once

#include <cstdint>

#include "common/result.h"

namespace custody::store {

// Registers the VFS on first use and returns its name for sqlite3_open_v2.
Result<const char*> wal_append_buffer_vfs();

// Process-wide counters, for tests and /metrics.
struct WalAppendBufferStats {
  std::uint64_t appends = 0;         // WAL writes SQLite asked for and the buffer took
  std::uint64_t block_writes = 0;    // write calls for buffered runs (≤ 124 KiB each)
  std::uint64_t block_failures = 0;  // of those, failed (the run was dropped)
};
WalAppendBufferStats wal_append_buffer_stats();

}  // namespace custody::store
