// Assertions for the shapes docs/api.md promises, and small request helpers shared by the tests.
#include "harness.h"
#include "net/url.h"

namespace custody::apitest {
namespace {

// All items of a paginated list endpoint; `base` already carries its query ("?…").
std::vector<json> all_pages(Client& client, const std::string& base) {
  std::vector<json> out;
  std::string cursor;
  for (int page = 0; page < 1000; ++page) {
    std::string target = base + (base.back() == '?' ? "" : "&") + "limit=1000";
    if (!cursor.empty()) target += "&cursor=" + net::percent_encode(cursor);
    Response r = client.get(target);
    EXPECT_EQ(r.status, 200) << target << "\n" << r.describe();
    auto j = r.json();
    if (r.status != 200 || !j.is_object() || !j["items"].is_array()) break;
    for (auto& item : j["items"]) out.push_back(item);
    if (!j["next_cursor"].is_string()) break;
    cursor = j["next_cursor"].get<std::string>();
  }
  return out;
}

}  // namespace

::testing::AssertionResult IsProblem(const Response& r, int status, std::string_view type,
                                     std::optional<std::string_view> field) {
  auto fail = [&]() { return ::testing::AssertionFailure(); };
  if (r.status != status)
    return fail() << "expected HTTP " << status << " " << type << ", got " << r.describe();
  if (r.header("Content-Type").rfind("application/problem+json", 0) != 0)
    return fail() << "expected Content-Type application/problem+json, got " << r.describe();
  auto j = r.json();
  if (!j.is_object()) return fail() << "the problem body is not a JSON object: " << r.describe();
  if (j.value("type", "") != std::string(kProblemPrefix) + std::string(type))
    return fail() << "expected type " << kProblemPrefix << type << ", got " << r.describe();
  if (j.value("status", 0) != status)
    return fail() << "the problem's status member is not " << status << ": " << r.describe();
  if (!j.contains("title") || !j.contains("detail"))
    return fail() << "the problem lacks title or detail: " << r.describe();
  if (field) {
    if (!j.contains("field") || j["field"] != std::string(*field))
      return fail() << "expected field \"" << *field << "\", got " << r.describe();
  }
  if (r.header("X-Request-Id").empty() || j.value("request_id", "") != r.header("X-Request-Id"))
    return fail() << "the problem's request_id is not the X-Request-Id header: " << r.describe();
  return ::testing::AssertionSuccess();
}

std::optional<json> find_audit_event(Client& admin, const Response& r, std::string_view outcome,
                                     std::string_view action) {
  std::string rid = r.header("X-Request-Id");
  if (rid.empty()) return std::nullopt;
  for (const auto& e : audit_events(admin, "outcome=" + net::percent_encode(outcome) +
                                               "&action=" + net::percent_encode(action))) {
    if (e.value("request_id", "") == rid) return e;
  }
  return std::nullopt;
}

::testing::AssertionResult RefusalAudited(Client& admin, const Response& r,
                                          std::string_view outcome, std::string_view action) {
  if (find_audit_event(admin, r, outcome, action)) return ::testing::AssertionSuccess();
  // Say what was recorded for this request instead, if anything.
  std::string rid = r.header("X-Request-Id");
  std::string seen;
  for (const auto& e : audit_events(admin, "limit=1000")) {
    if (e.value("request_id", "") == rid) seen += "\n  " + e.dump();
  }
  return ::testing::AssertionFailure()
         << "no audit event with outcome=" << outcome << " action=" << action << " for request "
         << rid << "; events with that request id:" << (seen.empty() ? std::string(" none") : seen)
         << "\nresponse: " << r.describe();
}

std::vector<json> all_identities(Client& client) {
  return all_pages(client, "/api/v1/identities?");
}

std::vector<json> audit_events(Client& client, const std::string& query) {
  // all_pages adds its own limit; drop a caller's.
  std::string q;
  std::size_t start = 0;
  while (start <= query.size()) {
    auto amp = query.find('&', start);
    std::string part =
        query.substr(start, amp == std::string::npos ? std::string::npos : amp - start);
    if (!part.empty() && part.rfind("limit=", 0) != 0) q += (q.empty() ? "" : "&") + part;
    if (amp == std::string::npos) break;
    start = amp + 1;
  }
  return all_pages(client, "/api/v1/audit?" + q);
}

json human_body(std::string display_name) {
  if (display_name.empty()) display_name = "Human " + random_hex(4);
  return {{"kind", "human"}, {"display_name", display_name}};
}

json owned_body(std::string_view kind, std::string_view owner_id, std::string display_name) {
  if (display_name.empty()) display_name = std::string(kind) + " " + random_hex(4);
  return {{"kind", kind}, {"display_name", display_name}, {"owner_id", owner_id}};
}

json create_identity(Client& client, const json& body) {
  Response r = client.post("/api/v1/identities", body);
  EXPECT_EQ(r.status, 201) << body.dump() << "\n" << r.describe();
  auto j = r.json();
  return j.is_object() ? j : json::object();
}

json create_human(Client& client, std::string display_name) {
  return create_identity(client, human_body(std::move(display_name)));
}

json create_agent(Client& client, std::string_view owner_id, std::string display_name) {
  return create_identity(client, owned_body("agent", owner_id, std::move(display_name)));
}

}  // namespace custody::apitest
