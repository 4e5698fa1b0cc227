// Archive segments. See archive.h.
#include "audit/archive.h"

#include <zlib.h>

#include "audit/leaf_seq.h"
#include "common/encoding.h"

namespace custody::audit {

std::string compress_segment(const std::string& jsonl) {
  uLongf size = compressBound(static_cast<uLong>(jsonl.size()));
  std::string out(size, '\0');
  // compress2 only fails for lack of memory or a bad level; neither can happen here.
  (void)compress2(reinterpret_cast<Bytef*>(out.data()), &size,
                  reinterpret_cast<const Bytef*>(jsonl.data()), static_cast<uLong>(jsonl.size()),
                  Z_BEST_COMPRESSION);
  out.resize(size);
  return out;
}

Result<std::string> decompress_segment(const std::string& compressed) {
  z_stream zs{};
  if (inflateInit(&zs) != Z_OK) return Error::internal("inflateInit failed");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  zs.avail_in = static_cast<uInt>(compressed.size());
  std::string out;
  char buf[64 * 1024];
  int rc = Z_OK;
  while (rc == Z_OK) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buf, sizeof buf - zs.avail_out);
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) break;  // truncated input
  }
  inflateEnd(&zs);
  if (rc != Z_STREAM_END)
    return Error::unprocessable("segment data is not a complete zlib stream (" +
                                std::string(zs.msg ? zs.msg : "truncated") + ")");
  return out;
}

Result<std::vector<Event>> segment_events(const std::string& events_column) {
  auto compressed = base64_decode(events_column);
  if (!compressed) return Error::unprocessable("segment data is not base64");
  CUSTODY_ASSIGN(std::string jsonl, decompress_segment(*compressed));
  std::vector<Event> out;
  std::size_t pos = 0;
  while (pos < jsonl.size()) {
    std::size_t nl = jsonl.find('\n', pos);
    if (nl == std::string::npos) nl = jsonl.size();
    auto j = nlohmann::json::parse(jsonl.substr(pos, nl - pos), nullptr, false);
    if (j.is_discarded())
      return Error::unprocessable("segment line " + std::to_string(out.size() + 1) +
                                  " is not JSON");
    auto e = from_stored_json(j);
    if (!e.ok())
      return Error::unprocessable("segment line " + std::to_string(out.size() + 1) + ": " +
                                  e.error().message);
    out.push_back(std::move(e).value());
    pos = nl + 1;
  }
  return out;
}

Result<Event> find_event(store::Tx& tx, std::int64_t seq) {
  auto live = get_by_seq(tx, seq);
  if (live.ok() || live.error().code != Code::kNotFound) return live;
  CUSTODY_ASSIGN(store::Rows segs,
                 tx.query("SELECT events FROM audit_archive_segments WHERE first_seq <= $1 AND "
                          "last_seq >= $1",
                          {seq}));
  for (const auto& row : segs) {
    CUSTODY_ASSIGN(auto events, segment_events(row.text(0)));
    for (auto& e : events)
      if (e.seq == seq) return std::move(e);
  }
  return live.error();
}

Result<std::int64_t> archive_expired(store::Store& store, Micros cutoff, std::uint64_t max_leaf,
                                     std::int64_t segment_events, Micros now) {
  std::int64_t moved = 0;
  for (;;) {
    std::int64_t this_round = 0;
    CUSTODY_TRY(store.write_sync([&](store::Tx& tx) -> Status {
      this_round = 0;
      CUSTODY_ASSIGN(store::Rows bound,
                     tx.query("SELECT COALESCE(MAX(end_leaf), 0) FROM audit_archive_segments"));
      const std::int64_t first = bound[0].integer(0);
      if (first >= static_cast<std::int64_t>(max_leaf)) return ok_status();
      // No index on leaf_index: the leaves are read in seq order from their lowest possible seq.
      CUSTODY_ASSIGN(const LeafSeqBounds seqs, leaf_seq_bounds(tx));
      CUSTODY_ASSIGN(store::Rows rows,
                     tx.query("SELECT " + std::string(kEventColumns) +
                                  " FROM audit_events WHERE seq >= $1 AND leaf_index >= $2 AND "
                                  "leaf_index < $3 ORDER BY seq LIMIT $4",
                              {seqs.first_seq(first), first, static_cast<std::int64_t>(max_leaf),
                               segment_events}));
      std::string jsonl, hashes;
      std::int64_t next = first, first_seq = 0, last_seq = 0;
      Micros first_time = 0, last_time = 0;
      for (const auto& row : rows) {
        CUSTODY_ASSIGN(Event e, event_from_row(row));
        if (e.leaf_index != next || e.time >= cutoff) break;
        if (next == first) {
          first_seq = e.seq;
          first_time = e.time;
        }
        last_seq = e.seq;
        last_time = e.time;
        jsonl += to_stored_json(e).dump() + "\n";
        hashes += hex_encode(e.leaf_hash);
        ++next;
      }
      if (next == first) return ok_status();
      CUSTODY_TRY(
          tx.exec("INSERT INTO audit_archive_segments (first_leaf, end_leaf, first_seq, "
                  "last_seq, first_time, last_time, leaf_hashes, events, created_at) "
                  "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                  {first, next, first_seq, last_seq, first_time, last_time, hashes,
                   base64_encode(compress_segment(jsonl)), now}));
      CUSTODY_TRY(
          tx.exec("DELETE FROM audit_events WHERE seq >= $1 AND seq <= $2 AND "
                  "leaf_index >= $3 AND leaf_index < $4",
                  {first_seq, last_seq, first, next}));
      this_round = next - first;
      return ok_status();
    }));
    moved += this_round;
    if (this_round < segment_events) return moved;
  }
}

}  // namespace custody::audit
