#include "store/sqlite/wal_append_buffer.h"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <new>
#include <string>
#include <vector>

namespace custody::store {
namespace {

constexpr const char* kVfsName = "custody-wal-append-buffer";
// A run longer than this is written out before it grows further: a batch of 512 token
// issuances changes about 400 pages (1.6 MiB of frames), so normal commits fit in one run.
constexpr std::size_t kMaxRun = 16u << 20;
// SQLite's unix VFS writes at most 0x1ffff bytes per call (its seekAndWriteFd masks the size,
// and a masked size of 0 fails the write as "disk full"), so a run goes out in pieces of at most
// this: one piece for a typical group commit of ~20 pages.
constexpr std::size_t kMaxPiece = 0x1f000;

std::atomic<std::uint64_t> g_appends{0}, g_block_writes{0}, g_block_failures{0};

// The file object SQLite allocates (szOsFile bytes) for a WAL opened through this VFS: our
// header, then the wrapped VFS's own file object.
struct BufferedWal {
  sqlite3_file base;  // base.pMethods = &kBufferedMethods
  sqlite3_file* real;
  std::vector<char> run;  // buffered bytes, continuing one another from run_offset
  sqlite3_int64 run_offset;
};
constexpr std::size_t kHeaderSize = (sizeof(BufferedWal) + 15) & ~std::size_t{15};

sqlite3_vfs* wrapped(sqlite3_vfs* vfs) {
  return static_cast<sqlite3_vfs*>(vfs->pAppData);
}
BufferedWal* wal(sqlite3_file* f) {
  return reinterpret_cast<BufferedWal*>(f);
}
const sqlite3_io_methods& real_methods(BufferedWal* w) {
  return *w->real->pMethods;
}

// Writes the buffered run, if any, in pieces of at most kMaxPiece; the run is empty afterwards
// either way.
int flush(BufferedWal* w) {
  int rc = SQLITE_OK;
  for (std::size_t done = 0; done < w->run.size() && rc == SQLITE_OK; done += kMaxPiece) {
    const std::size_t n = std::min(kMaxPiece, w->run.size() - done);
    rc = real_methods(w).xWrite(w->real, w->run.data() + done, static_cast<int>(n),
                                w->run_offset + static_cast<sqlite3_int64>(done));
    g_block_writes.fetch_add(1, std::memory_order_relaxed);
    if (rc != SQLITE_OK) g_block_failures.fetch_add(1, std::memory_order_relaxed);
  }
  w->run.clear();
  return rc;
}

int buffered_close(sqlite3_file* f) {
  BufferedWal* w = wal(f);
  const int flushed = flush(w);
  const int closed = real_methods(w).xClose(w->real);
  w->run.~vector();
  return flushed != SQLITE_OK ? flushed : closed;
}

int buffered_read(sqlite3_file* f, void* out, int n, sqlite3_int64 offset) {
  BufferedWal* w = wal(f);
  if (const int rc = flush(w); rc != SQLITE_OK) return rc;
  return real_methods(w).xRead(w->real, out, n, offset);
}

int buffered_write(sqlite3_file* f, const void* data, int n, sqlite3_int64 offset) {
  BufferedWal* w = wal(f);
  const auto size = static_cast<std::size_t>(n);
  const auto* bytes = static_cast<const char*>(data);
  const sqlite3_int64 run_end = w->run_offset + static_cast<sqlite3_int64>(w->run.size());
  if (!w->run.empty() && offset >= w->run_offset &&
      offset + static_cast<sqlite3_int64>(size) <= run_end) {
    // A frame of the buffered run written again: update it in place.
    std::memcpy(w->run.data() + (offset - w->run_offset), bytes, size);
    g_appends.fetch_add(1, std::memory_order_relaxed);
    return SQLITE_OK;
  }
  const bool continues = !w->run.empty() && offset == run_end;
  if (!continues || w->run.size() + size > kMaxRun || size > kMaxPiece) {
    if (const int rc = flush(w); rc != SQLITE_OK) return rc;
  }
  // Larger than one piece (SQLite's pages are at most 64 KiB, so never in practice): as is.
  if (size > kMaxPiece) return real_methods(w).xWrite(w->real, data, n, offset);
  if (w->run.empty()) w->run_offset = offset;
  try {
    w->run.insert(w->run.end(), bytes, bytes + size);
  } catch (const std::bad_alloc&) {
    if (const int rc = flush(w); rc != SQLITE_OK) return rc;
    return real_methods(w).xWrite(w->real, data, n, offset);
  }
  g_appends.fetch_add(1, std::memory_order_relaxed);
  return SQLITE_OK;
}

int buffered_truncate(sqlite3_file* f, sqlite3_int64 size) {
  BufferedWal* w = wal(f);
  if (const int rc = flush(w); rc != SQLITE_OK) return rc;
  return real_methods(w).xTruncate(w->real, size);
}

int buffered_sync(sqlite3_file* f, int flags) {
  BufferedWal* w = wal(f);
  if (const int rc = flush(w); rc != SQLITE_OK) return rc;
  return real_methods(w).xSync(w->real, flags);
}

int buffered_file_size(sqlite3_file* f, sqlite3_int64* size) {
  BufferedWal* w = wal(f);
  if (const int rc = flush(w); rc != SQLITE_OK) return rc;
  return real_methods(w).xFileSize(w->real, size);
}

int buffered_lock(sqlite3_file* f, int level) {
  return real_methods(wal(f)).xLock(wal(f)->real, level);
}
int buffered_unlock(sqlite3_file* f, int level) {
  return real_methods(wal(f)).xUnlock(wal(f)->real, level);
}
int buffered_check_reserved_lock(sqlite3_file* f, int* out) {
  return real_methods(wal(f)).xCheckReservedLock(wal(f)->real, out);
}

int buffered_file_control(sqlite3_file* f, int op, void* arg) {
  BufferedWal* w = wal(f);
  if (const int rc = flush(w); rc != SQLITE_OK) return rc;
  return real_methods(w).xFileControl(w->real, op, arg);
}

int buffered_sector_size(sqlite3_file* f) {
  return real_methods(wal(f)).xSectorSize(wal(f)->real);
}
int buffered_device_characteristics(sqlite3_file* f) {
  return real_methods(wal(f)).xDeviceCharacteristics(wal(f)->real);
}

// Shared memory and memory mapping belong to the database file, never a WAL; forwarded all the
// same so that the wrapper hides nothing the wrapped file offers.
int buffered_shm_map(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
  const auto& m = real_methods(wal(f));
  return m.iVersion >= 2 ? m.xShmMap(wal(f)->real, region, size, extend, out) : SQLITE_IOERR;
}
int buffered_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
  const auto& m = real_methods(wal(f));
  return m.iVersion >= 2 ? m.xShmLock(wal(f)->real, offset, n, flags) : SQLITE_IOERR;
}
void buffered_shm_barrier(sqlite3_file* f) {
  const auto& m = real_methods(wal(f));
  if (m.iVersion >= 2) m.xShmBarrier(wal(f)->real);
}
int buffered_shm_unmap(sqlite3_file* f, int delete_flag) {
  const auto& m = real_methods(wal(f));
  return m.iVersion >= 2 ? m.xShmUnmap(wal(f)->real, delete_flag) : SQLITE_OK;
}
int buffered_fetch(sqlite3_file* f, sqlite3_int64 offset, int n, void** out) {
  BufferedWal* w = wal(f);
  *out = nullptr;
  if (const int rc = flush(w); rc != SQLITE_OK) return rc;
  const auto& m = real_methods(w);
  return m.iVersion >= 3 ? m.xFetch(w->real, offset, n, out) : SQLITE_OK;
}
int buffered_unfetch(sqlite3_file* f, sqlite3_int64 offset, void* p) {
  const auto& m = real_methods(wal(f));
  return m.iVersion >= 3 ? m.xUnfetch(wal(f)->real, offset, p) : SQLITE_OK;
}

const sqlite3_io_methods kBufferedMethods = {
    3,
    buffered_close,
    buffered_read,
    buffered_write,
    buffered_truncate,
    buffered_sync,
    buffered_file_size,
    buffered_lock,
    buffered_unlock,
    buffered_check_reserved_lock,
    buffered_file_control,
    buffered_sector_size,
    buffered_device_characteristics,
    buffered_shm_map,
    buffered_shm_lock,
    buffered_shm_barrier,
    buffered_shm_unmap,
    buffered_fetch,
    buffered_unfetch,
};

int vfs_open(sqlite3_vfs* vfs, const char* name, sqlite3_file* f, int flags, int* out_flags) {
  sqlite3_vfs* inner = wrapped(vfs);
  // Only WAL files are wrapped; the rest open straight into SQLite's object (szOsFile covers
  // the wrapped VFS's size) and carry the wrapped VFS's own methods.
  if ((flags & SQLITE_OPEN_WAL) == 0) return inner->xOpen(inner, name, f, flags, out_flags);
  auto* w = wal(f);
  w->base.pMethods = nullptr;  // SQLite calls no xClose on a file whose open failed
  auto* real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(f) + kHeaderSize);
  std::memset(real, 0, static_cast<std::size_t>(inner->szOsFile));
  const int rc = inner->xOpen(inner, name, real, flags, out_flags);
  if (rc != SQLITE_OK) {
    if (real->pMethods != nullptr) real->pMethods->xClose(real);
    return rc;
  }
  w->real = real;
  new (&w->run) std::vector<char>();
  w->run_offset = 0;
  w->base.pMethods = &kBufferedMethods;
  return SQLITE_OK;
}

// The rest of the VFS is the wrapped one's, called with the wrapped VFS object (its methods
// read their own pAppData).
int vfs_delete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
  return wrapped(vfs)->xDelete(wrapped(vfs), name, sync_dir);
}
int vfs_access(sqlite3_vfs* vfs, const char* name, int flags, int* out) {
  return wrapped(vfs)->xAccess(wrapped(vfs), name, flags, out);
}
int vfs_full_pathname(sqlite3_vfs* vfs, const char* name, int n, char* out) {
  return wrapped(vfs)->xFullPathname(wrapped(vfs), name, n, out);
}
void* vfs_dl_open(sqlite3_vfs* vfs, const char* name) {
  return wrapped(vfs)->xDlOpen(wrapped(vfs), name);
}
void vfs_dl_error(sqlite3_vfs* vfs, int n, char* out) {
  wrapped(vfs)->xDlError(wrapped(vfs), n, out);
}
void (*vfs_dl_sym(sqlite3_vfs* vfs, void* lib, const char* sym))(void) {
  return wrapped(vfs)->xDlSym(wrapped(vfs), lib, sym);
}
void vfs_dl_close(sqlite3_vfs* vfs, void* lib) {
  wrapped(vfs)->xDlClose(wrapped(vfs), lib);
}
int vfs_randomness(sqlite3_vfs* vfs, int n, char* out) {
  return wrapped(vfs)->xRandomness(wrapped(vfs), n, out);
}
int vfs_sleep(sqlite3_vfs* vfs, int micros) {
  return wrapped(vfs)->xSleep(wrapped(vfs), micros);
}
int vfs_current_time(sqlite3_vfs* vfs, double* out) {
  return wrapped(vfs)->xCurrentTime(wrapped(vfs), out);
}
int vfs_get_last_error(sqlite3_vfs* vfs, int n, char* out) {
  return wrapped(vfs)->xGetLastError ? wrapped(vfs)->xGetLastError(wrapped(vfs), n, out) : 0;
}
int vfs_current_time_int64(sqlite3_vfs* vfs, sqlite3_int64* out) {
  return wrapped(vfs)->xCurrentTimeInt64(wrapped(vfs), out);
}

Result<const char*> register_vfs() {
  sqlite3_vfs* inner = sqlite3_vfs_find(nullptr);
  if (inner == nullptr) return Error::internal("sqlite: no default VFS to wrap");
  if (inner->iVersion < 2 || inner->xCurrentTimeInt64 == nullptr) {
    return Error::internal(std::string("sqlite: default VFS ") + inner->zName +
                           " is too old to wrap");
  }
  static sqlite3_vfs vfs{};
  vfs.iVersion = 2;
  vfs.szOsFile = static_cast<int>(kHeaderSize) + inner->szOsFile;
  vfs.mxPathname = inner->mxPathname;
  vfs.zName = kVfsName;
  vfs.pAppData = inner;
  vfs.xOpen = vfs_open;
  vfs.xDelete = vfs_delete;
  vfs.xAccess = vfs_access;
  vfs.xFullPathname = vfs_full_pathname;
  vfs.xDlOpen = vfs_dl_open;
  vfs.xDlError = vfs_dl_error;
  vfs.xDlSym = vfs_dl_sym;
  vfs.xDlClose = vfs_dl_close;
  vfs.xRandomness = vfs_randomness;
  vfs.xSleep = vfs_sleep;
  vfs.xCurrentTime = vfs_current_time;
  vfs.xGetLastError = vfs_get_last_error;
  vfs.xCurrentTimeInt64 = vfs_current_time_int64;
  if (const int rc = sqlite3_vfs_register(&vfs, /*makeDflt=*/0); rc != SQLITE_OK) {
    return Error::internal(std::string("sqlite: cannot register the WAL append buffer VFS: ") +
                           sqlite3_errstr(rc));
  }
  return kVfsName;
}

}  // namespace

Result<const char*> wal_append_buffer_vfs() {
  static const Result<const char*> registered = register_vfs();
  return registered;
}

WalAppendBufferStats wal_append_buffer_stats() {
  WalAppendBufferStats s;
  s.appends = g_appends.load(std::memory_order_relaxed);
  s.block_writes = g_block_writes.load(std::memory_order_relaxed);
  s.block_failures = g_block_failures.load(std::memory_order_relaxed);
  return s;
}

}  // namespace custody::store
