#include "device/posture_reporter.h"

#include "posture/posture_json.h"

namespace custody::agent {

Result<std::optional<nlohmann::json>> PostureReporter::tick() {
  nlohmann::json posture = posture::posture_to_json(collector_.collect());
  nlohmann::json comparable = posture;
  comparable.erase("collected_at");
  comparable.erase("collection_ms");
  auto now = std::chrono::steady_clock::now();
  bool changed = comparable != last_reported_;
  bool due = !last_report_at_ || now - *last_report_at_ >= report_every_;
  if (!changed && !due) return std::optional<nlohmann::json>();
  CUSTODY_ASSIGN(auto verdict, client_.report_posture(posture));
  last_reported_ = std::move(comparable);
  last_report_at_ = now;
  return std::optional<nlohmann::json>(std::move(verdict));
}

}  // namespace custody::agent
