#include "device/discovery_upload.h"

#include "discovery/report_json.h"

namespace custody::agent {

Result<nlohmann::json> upload_report(const DeviceClient& client, const nlohmann::json& report) {
  CUSTODY_ASSIGN(auto jwt,
                 client.sign("custody-device+jwt", {{"req", "discovery"}, {"report", report}}));
  return client.post_signed("/api/v1/devices/" + client.state().device_id + "/discovery", jwt);
}

Result<nlohmann::json> scan_and_upload(const DeviceClient& client,
                                       const discovery::ScanOptions& options) {
  discovery::Report report = discovery::scan(options);
  return upload_report(client, discovery::report_to_json(report));
}

}  // namespace custody::agent
