// Durability: a 201 means committed. SIGKILL custodyd while clients are creating identities, start
// it again on the same store, and every acknowledged identity must be there with its audit event
// (the mutation and its event commit together).
#include <atomic>
#include <set>

#include "harness.h"

namespace custody::apitest {
namespace {

using std::chrono::steady_clock;

constexpr int kWriters = 8;
constexpr int kMaxPerWriter = 20'000;  // bounds the loop even on a very fast machine
constexpr Millis kKillAfter{1000};     // mid-flight
constexpr Millis kWriteFor{1500};      // writers stop by then even if the kill is late

TEST(DurabilityTest, AcknowledgedWritesSurviveSigkill) {
  Custodyd server;
  CUSTODY_START_OR_SKIP(server);
  const std::uint16_t port = server.port();
  const std::string token = server.admin_token();

  std::mutex mu;
  std::vector<std::string> acknowledged;
  std::atomic<int> refused{0};  // answered, but not 201: a bug of its own
  std::vector<std::thread> writers;
  auto start = steady_clock::now();
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      Client client(port, token);
      client.set_timeout(Millis(5000));
      for (int i = 0; i < kMaxPerWriter && steady_clock::now() - start < kWriteFor; ++i) {
        Response r = client.post("/api/v1/identities",
                                 human_body("w" + std::to_string(w) + "-" + std::to_string(i)));
        if (r.status == 0) break;  // the server is gone
        if (r.status != 201) {
          ++refused;
          continue;
        }
        std::string id = r.json().value("id", "");
        std::lock_guard lock(mu);
        acknowledged.push_back(id);
      }
    });
  }
  std::this_thread::sleep_for(kKillAfter);
  std::size_t at_kill = 0;
  {
    std::lock_guard lock(mu);
    at_kill = acknowledged.size();
  }
  server.kill9();
  for (auto& t : writers) t.join();

  ASSERT_GT(at_kill, 0u) << "no write was acknowledged before the kill";
  EXPECT_EQ(refused.load(), 0) << "some creates were answered with an error";
  std::set<std::string> unique(acknowledged.begin(), acknowledged.end());
  EXPECT_EQ(unique.size(), acknowledged.size()) << "an id was acknowledged twice";
  EXPECT_EQ(unique.count(""), 0u) << "a 201 without an id";

  ASSERT_TRUE(server.restart());
  // Check from a few threads: thousands of ids, two requests each.
  std::vector<std::string> missing, unaudited;
  std::vector<std::thread> checkers;
  std::atomic<std::size_t> next{0};
  for (int c = 0; c < 4; ++c) {
    checkers.emplace_back([&] {
      Client client(server.port(), token);
      for (std::size_t i = next++; i < acknowledged.size(); i = next++) {
        const std::string& id = acknowledged[i];
        Response got = client.get("/api/v1/identities/" + id);
        Response events = client.get("/api/v1/audit?target=" + id + "&action=identity.create");
        std::lock_guard lock(mu);
        if (got.status != 200) missing.push_back(id + " (" + std::to_string(got.status) + ")");
        auto items = events.json().is_object() ? events.json()["items"] : json();
        if (!items.is_array() || items.size() != 1)
          unaudited.push_back(id + " (" + std::to_string(events.status) + ": " +
                              std::to_string(items.is_array() ? items.size() : 0) + " events)");
      }
    });
  }
  for (auto& t : checkers) t.join();
  auto first = [](const std::vector<std::string>& v) {
    std::string out;
    for (std::size_t i = 0; i < v.size() && i < 10; ++i) out += "\n  " + v[i];
    return out;
  };
  EXPECT_TRUE(missing.empty()) << missing.size() << " of " << acknowledged.size()
                               << " acknowledged identities are gone:" << first(missing);
  EXPECT_TRUE(unaudited.empty()) << unaudited.size() << " of " << acknowledged.size()
                                 << " identities lack their identity.create event:"
                                 << first(unaudited);
  RecordProperty("acknowledged", static_cast<int>(acknowledged.size()));
}

}  // namespace
}  // namespace custody::apitest
