// The HTTP server around the API: operations endpoints, request ids, keep-alive, the connection
// limits and timeouts (src/http/server.h), graceful shutdown and configuration errors.
#include <signal.h>

#include "harness.h"

namespace custody::apitest {
namespace {

using std::chrono::steady_clock;

Millis since(steady_clock::time_point t) {
  return std::chrono::duration_cast<Millis>(steady_clock::now() - t);
}

const std::string kHealthz = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

class ServerTest : public SharedCustodydTest {};

TEST_F(ServerTest, HealthAndReadinessNeedNoToken) {
  Client anonymous(server().port());
  Response health = anonymous.get("/healthz");
  ASSERT_EQ(health.status, 200) << health.describe();
  EXPECT_EQ(health.json()["status"], "ok");
  Response ready = anonymous.get("/readyz");
  ASSERT_EQ(ready.status, 200) << ready.describe();
  EXPECT_EQ(ready.json()["store"], test_backend()) << ready.describe();
}

TEST_F(ServerTest, MetricsLabelRoutesByTemplate) {
  json h = create_human(admin());
  std::string id = h.value("id", "missing");
  ASSERT_EQ(admin().get("/api/v1/identities/" + id).status, 200);

  // The counter is bumped once the response is written, which may trail the client by a moment.
  const std::string line =
      R"(custody_http_requests_total{route="/api/v1/identities/{id}",method="GET",status="200"})";
  Client anonymous(server().port());
  Response metrics;
  auto deadline = steady_clock::now() + Millis(3000);
  do {
    metrics = anonymous.get("/metrics");
    ASSERT_EQ(metrics.status, 200) << metrics.describe();
    if (metrics.body.find(line) != std::string::npos) break;
    std::this_thread::sleep_for(Millis(20));
  } while (steady_clock::now() < deadline);
  EXPECT_NE(metrics.body.find(line), std::string::npos) << metrics.body;
  EXPECT_EQ(metrics.body.find(id), std::string::npos) << "a raw id became a label value";
  EXPECT_NE(metrics.body.find("custody_http_request_duration_seconds_bucket"), std::string::npos);
  EXPECT_NE(metrics.body.find("custody_store_"), std::string::npos);
  EXPECT_EQ(metrics.header("Content-Type").rfind("text/plain", 0), 0u) << metrics.describe();
}

TEST_F(ServerTest, RequestIdIsEchoedOrGenerated) {
  Client anonymous(server().port());
  Response echoed =
      anonymous.request("GET", "/healthz", std::nullopt, {{"X-Request-Id", "trace-4f2a.9:x_y"}});
  EXPECT_EQ(echoed.header("X-Request-Id"), "trace-4f2a.9:x_y");

  Response a = anonymous.get("/healthz");
  Response b = anonymous.get("/healthz");
  EXPECT_FALSE(a.header("X-Request-Id").empty());
  EXPECT_FALSE(b.header("X-Request-Id").empty());
  EXPECT_NE(a.header("X-Request-Id"), b.header("X-Request-Id"));

  // A value that is not sane (here: with spaces and quotes) is replaced, not echoed.
  Response insane =
      anonymous.request("GET", "/healthz", std::nullopt, {{"X-Request-Id", "a b\"<script>"}});
  EXPECT_FALSE(insane.header("X-Request-Id").empty());
  EXPECT_NE(insane.header("X-Request-Id"), "a b\"<script>");

  // Problems carry the same id, so a user's report can be found in the logs and the audit log.
  Response problem = admin().request("GET", "/api/v1/identities/usr_01JD0000000000000000000000",
                                     std::nullopt, {{"X-Request-Id", "trace-404"}});
  EXPECT_TRUE(IsProblem(problem, 404, "not_found"));
  EXPECT_EQ(problem.json()["request_id"], "trace-404");
}

TEST_F(ServerTest, KeepAliveServesManyRequestsOnOneConnection) {
  Client client(server().port(), server().admin_token());
  for (int i = 0; i < 100; ++i) {
    Response r = i % 2 ? client.get("/healthz") : client.get("/api/v1/identities?limit=1");
    ASSERT_EQ(r.status, 200) << "request " << i << "\n" << r.describe();
  }
  EXPECT_EQ(client.connects(), 1);
}

TEST(ServerLimitsTest, SlowLorisIsCutOffAndOthersAreServed) {
  Custodyd server(Custodyd::Env{{"CUSTODY_LIMITS_READ_TIMEOUT_MS", "500"}});
  CUSTODY_START_OR_SKIP(server);
  RawConnection loris(server.port());
  ASSERT_TRUE(loris.connected());
  const std::string request =
      "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + std::string(64, 's') + "\r\n\r\n";
  auto first_byte = steady_clock::now();
  bool closed = false;
  for (std::size_t i = 0; i < request.size() && since(first_byte) < Millis(4000); ++i) {
    if (!loris.send(request.substr(i, 1))) {
      closed = true;
      break;
    }
    if (i == 2) {
      // The server keeps serving others meanwhile.
      Client other(server.port());
      EXPECT_EQ(other.get("/healthz").status, 200);
    }
    if (loris.wait_closed(Millis(200))) {
      closed = true;
      break;
    }
  }
  Millis took = since(first_byte);
  EXPECT_TRUE(closed) << "the server kept a slow-loris connection open for " << took.count()
                      << " ms";
  EXPECT_LT(took, Millis(1500)) << "limits.read_timeout_ms is 500";
  EXPECT_EQ(loris.received().find("200 OK"), std::string::npos) << loris.received();

  Client other(server.port());
  EXPECT_EQ(other.get("/healthz").status, 200);
}

TEST(ServerLimitsTest, IdleKeepAliveConnectionIsClosed) {
  Custodyd server(Custodyd::Env{{"CUSTODY_LIMITS_IDLE_TIMEOUT_MS", "300"}});
  CUSTODY_START_OR_SKIP(server);
  RawConnection conn(server.port());
  ASSERT_TRUE(conn.send(kHealthz));
  std::string response = conn.read_response(Millis(3000));
  ASSERT_EQ(response.rfind("HTTP/1.1 200", 0), 0u) << response;
  auto idle_since = steady_clock::now();
  EXPECT_TRUE(conn.wait_closed(Millis(3000))) << "an idle connection stayed open";
  Millis took = since(idle_since);
  EXPECT_GE(took, Millis(200)) << "closed before the idle timeout";
  EXPECT_LT(took, Millis(1500)) << "limits.idle_timeout_ms is 300";
}

TEST(ServerLimitsTest, ConnectionsBeyondTheLimitAreClosedWithoutAnswer) {
  Custodyd server(Custodyd::Env{{"CUSTODY_LIMITS_MAX_CONNECTIONS", "4"}});
  CUSTODY_START_OR_SKIP(server);
  std::vector<std::unique_ptr<RawConnection>> held;
  for (int i = 0; i < 4; ++i) {
    held.push_back(std::make_unique<RawConnection>(server.port()));
    ASSERT_TRUE(held.back()->send(kHealthz));
    std::string response = held.back()->read_response(Millis(3000));
    ASSERT_EQ(response.rfind("HTTP/1.1 200", 0), 0u) << "connection " << i << ": " << response;
  }

  RawConnection fifth(server.port());
  ASSERT_TRUE(fifth.connected()) << "the kernel accepts; custodyd then closes";
  fifth.send(kHealthz);
  EXPECT_TRUE(fifth.wait_closed(Millis(3000))) << "the 5th connection was kept open";
  EXPECT_TRUE(fifth.received().empty()) << "the 5th connection got an answer: " << fifth.received();

  // The held ones still work; once one goes, a new connection is served again.
  ASSERT_TRUE(held[0]->send(kHealthz));
  EXPECT_EQ(held[0]->read_response(Millis(3000)).rfind("HTTP/1.1 200", 0), 0u);
  held.pop_back();
  bool served = false;
  auto deadline = steady_clock::now() + Millis(3000);
  while (!served && steady_clock::now() < deadline) {
    RawConnection again(server.port());
    again.send(kHealthz);
    served = again.read_response(Millis(500)).rfind("HTTP/1.1 200", 0) == 0;
    if (!served) std::this_thread::sleep_for(Millis(50));
  }
  EXPECT_TRUE(served) << "a freed connection slot was not reused";
}

TEST(ServerLifecycleTest, GracefulShutdownFinishesTheRequestInFlight) {
  Custodyd server(Custodyd::Env{{"CUSTODY_SHUTDOWN_DRAIN_MS", "5000"}});
  CUSTODY_START_OR_SKIP(server);
  std::string body = R"({"kind":"human","display_name":"In flight"})";
  // The head is sent but for its final CRLF: the request is being read when SIGTERM comes.
  RawConnection conn(server.port());
  ASSERT_TRUE(
      conn.send("POST /api/v1/identities HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                "Authorization: Bearer " +
                server.admin_token() +
                "\r\nContent-Type: application/json\r\n"
                "Content-Length: " +
                std::to_string(body.size()) + "\r\n"));
  std::this_thread::sleep_for(Millis(200));
  server.signal(SIGTERM);
  ASSERT_TRUE(server.wait_for_log("shutting down", Millis(5000))) << server.logs();
  ASSERT_TRUE(conn.send("\r\n" + body));
  std::string response = conn.read_response(Millis(5000));
  EXPECT_EQ(response.rfind("HTTP/1.1 201", 0), 0u)
      << "the in-flight request was dropped: " << response;
  auto code = server.wait_exit(Millis(10'000));
  ASSERT_TRUE(code) << "custodyd did not exit after SIGTERM\n" << server.logs();
  EXPECT_EQ(*code, 0) << server.logs();
  EXPECT_NE(server.logs().find("shutting down"), std::string::npos) << server.logs();
  EXPECT_NE(server.logs().find("\"stopped\""), std::string::npos) << server.logs();

  // Same data directory and store: the acknowledged write is there.
  auto body_at = response.find("\r\n\r\n");
  json created =
      json::parse(response.substr(body_at == std::string::npos ? 0 : body_at + 4), nullptr, false);
  ASSERT_TRUE(created.is_object() && created.contains("id")) << response;
  ASSERT_TRUE(server.restart());
  auto admin = server.admin();
  Response got = admin->get("/api/v1/identities/" + created["id"].get<std::string>());
  EXPECT_EQ(got.status, 200) << got.describe();
  EXPECT_EQ(got.json()["display_name"], "In flight");
  EXPECT_EQ(server.stop(), 0) << server.logs();
}

TEST(ServerLifecycleTest, InvalidConfigurationStopsStartUpNamingTheKey) {
  Custodyd server(Custodyd::Env{{"CUSTODY_LIMITS_MAX_BODY_BYTES", "abc"}});
  std::string why = backend_skip_reason();
  if (!why.empty()) GTEST_SKIP() << why;
  ASSERT_TRUE(server.launch());
  auto code = server.wait_exit(Millis(10'000));
  ASSERT_TRUE(code) << "custodyd kept running with an invalid configuration\n" << server.logs();
  EXPECT_NE(*code, 0);
  EXPECT_NE(server.logs().find("limits.max_body_bytes"), std::string::npos) << server.logs();
  EXPECT_EQ(server.logs().find("listening on"), std::string::npos) << server.logs();
}

}  // namespace
}  // namespace custody::apitest
