// The gateway's per-request store lookups on both backends: find_gateway_route (the route, its
// server and the gateway's identity in one statement) answers as find_route and gateway_identity
// do, suspensions included; find_tool_status reads a tool's status without its definition.
#include <gtest/gtest.h>

#include <algorithm>

#include "directory_fixture.h"
#include "gateway/inventory.h"
#include "gateway/route.h"

namespace custody::gateway {
namespace {

using directory::Identity;
using directory::Kind;
using directory::State;
using directory::testing::DirectoryTest;
using directory::testing::kT0;

constexpr const char* kIssuer = "https://custody.test";

class GatewayRouteTest : public DirectoryTest {
 protected:
  Identity labelled(Kind kind, const std::string& owner,
                    std::map<std::string, std::string> labels) {
    auto input = spec(kind, "labelled", owner, State::kActive);
    input.labels = std::move(labels);
    auto r = create(admin_, input);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? r.value() : Identity{};
  }
  Identity server(const std::string& owner, const std::string& route) {
    return labelled(
        Kind::kMcpServer, owner,
        {{std::string(kRouteLabel), route}, {std::string(kUrlLabel), "http://127.0.0.1:9/mcp"}});
  }
  Identity gateway(const std::string& owner) {
    return labelled(Kind::kService, owner, {{std::string(kRoleLabel), "mcp-gateway"}});
  }
  Result<RouteLookup> lookup(const std::string& name, const std::string& configured = "") {
    return read([&](store::Tx& tx) { return find_gateway_route(tx, kIssuer, name, configured); });
  }
  // What the two separate lookups answer, for comparison.
  Result<std::optional<Route>> route_alone(const std::string& name) {
    return read([&](store::Tx& tx) { return find_route(tx, kIssuer, name); });
  }
  Result<std::optional<std::string>> gateway_alone(const std::string& configured = "") {
    return read([&](store::Tx& tx) { return gateway_identity(tx, configured); });
  }
};

TEST_P(GatewayRouteTest, OneStatementAnswersAsTheTwoLookups) {
  Identity ada = human();
  Identity files = server(ada.id, "files");
  Identity gw = gateway(ada.id);

  auto found = lookup("files");
  ASSERT_TRUE(found.ok()) << found.error().message;
  ASSERT_TRUE(found->route.has_value());
  EXPECT_EQ(found->route->server.id, files.id);
  EXPECT_EQ(found->route->public_url, std::string(kIssuer) + "/mcp/files");
  EXPECT_EQ(found->route->upstream_url, "http://127.0.0.1:9/mcp");
  EXPECT_EQ(found->route->scope, "mcp");
  EXPECT_EQ(found->gateway_id, gw.id);
  EXPECT_FALSE(found->gateway_error.has_value());
  auto alone = route_alone("files");
  ASSERT_TRUE(alone.ok() && alone->has_value());
  EXPECT_EQ((*alone)->server.id, files.id);
  EXPECT_EQ((*alone)->server.labels, found->route->server.labels);
  EXPECT_EQ(*gateway_alone(), gw.id);

  // No such route, or a name that is no route name: no route (and no gateway lookup).
  auto none = lookup("other");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->route.has_value());
  EXPECT_FALSE(lookup("Not A Name")->route.has_value());

  // A configured gateway identity: used while it is an active service.
  auto configured = lookup("files", gw.id);
  ASSERT_TRUE(configured.ok());
  EXPECT_EQ(configured->gateway_id, gw.id);
  auto not_a_service = lookup("files", ada.id);
  ASSERT_TRUE(not_a_service.ok());
  EXPECT_FALSE(not_a_service->gateway_id.has_value());
  EXPECT_FALSE(not_a_service->gateway_error.has_value());
  EXPECT_FALSE(lookup("files", "svc_missing")->gateway_id.has_value());
}

TEST_P(GatewayRouteTest, SuspensionsTakeEffectOnTheNextLookup) {
  Identity ada = human();
  Identity files = server(ada.id, "files");
  Identity gw = gateway(ada.id);
  ASSERT_TRUE(lookup("files")->gateway_id.has_value());

  ASSERT_TRUE(move(admin_, gw.id, State::kSuspended).ok());
  auto labelled_gone = lookup("files");
  ASSERT_TRUE(labelled_gone.ok());
  ASSERT_TRUE(labelled_gone->route.has_value());
  EXPECT_FALSE(labelled_gone->gateway_id.has_value());
  auto configured_gone = lookup("files", gw.id);
  ASSERT_TRUE(configured_gone.ok());
  EXPECT_FALSE(configured_gone->gateway_id.has_value());
  EXPECT_FALSE(gateway_alone(gw.id)->has_value());

  ASSERT_TRUE(move(admin_, gw.id, State::kActive).ok());
  EXPECT_EQ(lookup("files")->gateway_id, gw.id);

  ASSERT_TRUE(move(admin_, files.id, State::kSuspended).ok());
  auto server_gone = lookup("files");
  ASSERT_TRUE(server_gone.ok());
  EXPECT_FALSE(server_gone->route.has_value());
  EXPECT_FALSE(route_alone("files")->has_value());
}

TEST_P(GatewayRouteTest, AdminErrorsAreNamed) {
  Identity ada = human();
  Identity files = server(ada.id, "files");
  Identity one = gateway(ada.id);
  Identity two = gateway(ada.id);

  auto twice = lookup("files");
  ASSERT_TRUE(twice.ok()) << twice.error().message;
  ASSERT_TRUE(twice->route.has_value());
  EXPECT_FALSE(twice->gateway_id.has_value());
  ASSERT_TRUE(twice->gateway_error.has_value());
  EXPECT_NE(twice->gateway_error->message.find(one.id), std::string::npos);
  EXPECT_NE(twice->gateway_error->message.find(two.id), std::string::npos);
  EXPECT_FALSE(gateway_alone().ok());
  // A configured identity settles it.
  EXPECT_EQ(lookup("files", one.id)->gateway_id, one.id);

  Identity clash = server(ada.id, "files");
  auto claimed = lookup("files", one.id);
  ASSERT_FALSE(claimed.ok());
  EXPECT_NE(claimed.error().message.find(files.id), std::string::npos);
  EXPECT_NE(claimed.error().message.find(clash.id), std::string::npos);
  EXPECT_FALSE(route_alone("files").ok());
}

TEST_P(GatewayRouteTest, AClaimedRouteNamesItsTwoLeastServers) {
  // The statement has no ORDER BY: the message picks the two least ids itself, however many
  // servers claim the route and whatever order the store returns them in.
  Identity ada = human();
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(server(ada.id, "files").id);
  std::sort(ids.begin(), ids.end());
  std::string expected =
      "two active MCP servers claim the route \"files\" (" + ids[0] + ", " + ids[1] + ")";
  auto claimed = lookup("files");
  ASSERT_FALSE(claimed.ok());
  EXPECT_EQ(claimed.error().message, expected);
  auto alone = route_alone("files");
  ASSERT_FALSE(alone.ok());
  EXPECT_EQ(alone.error().message, expected);
}

TEST_P(GatewayRouteTest, ToolStatusWithoutTheDefinition) {
  Identity ada = human();
  Identity files = server(ada.id, "files");
  auto status = [&](const std::string& name) {
    return read([&](store::Tx& tx) { return find_tool_status(tx, files.id, name); });
  };
  auto apply = [&](const nlohmann::json& tools) {
    auto current = read([&](store::Tx& tx) { return read_inventory(tx, files.id); });
    ASSERT_TRUE(current.ok());
    InventoryChange change = diff_inventory(*current, files.id, tools, kT0);
    ASSERT_TRUE(write([&](store::Tx& tx) { return apply_inventory_change(tx, change); }).ok());
  };
  EXPECT_FALSE(status("read")->has_value());

  apply(nlohmann::json::array({{{"name", "read"}, {"description", "reads"}}}));
  EXPECT_EQ(*status("read"), ToolStatus::kApproved);

  apply(nlohmann::json::array(
      {{{"name", "read"}, {"description", "reads more"}}, {{"name", "write"}}}));
  EXPECT_EQ(*status("read"), ToolStatus::kChanged);
  EXPECT_EQ(*status("write"), ToolStatus::kPending);
  for (const char* name : {"read", "write"}) {
    auto full = read([&](store::Tx& tx) { return find_tool(tx, files.id, name); });
    ASSERT_TRUE(full.ok() && full->has_value());
    EXPECT_EQ((*full)->status(), **status(name));
  }

  ASSERT_TRUE(
      write([&](store::Tx& tx) { return approve_tool(tx, files.id, "read", ada.id, kT0); }).ok());
  EXPECT_EQ(*status("read"), ToolStatus::kApproved);
}

CUSTODY_ON_BOTH_BACKENDS(GatewayRouteTest);

}  // namespace
}  // namespace custody::gateway
