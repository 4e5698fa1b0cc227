#include "app/demo_data.h"

#include "directory/entitlements.h"
#include "directory/identities.h"

namespace custody::app {

Result<bool> seed_demo_data(store::Store& store, const Clock& clock) {
  bool empty = false;
  CUSTODY_TRY(store.read([&](store::Tx& tx) -> Status {
    CUSTODY_ASSIGN(auto rows, tx.query("SELECT COUNT(*) FROM identities"));
    empty = rows.at(0).integer(0) == 0;
    return ok_status();
  }));
  if (!empty) return false;
  directory::Principal system = directory::system_principal();
  CUSTODY_TRY(store.write_sync([&](store::Tx& tx) -> Status {
    directory::OpContext ctx{system, "demo", clock.now()};
    using directory::Kind;
    CUSTODY_ASSIGN(auto ada,
                   directory::create_identity(tx, ctx,
                                              {.kind = Kind::kHuman,
                                               .display_name = "Ada Lovelace",
                                               .description = "Head of platform engineering",
                                               .labels = {{"team", "platform"}}}));
    CUSTODY_ASSIGN(auto agent,
                   directory::create_identity(tx, ctx,
                                              {.kind = Kind::kAgent,
                                               .display_name = "Billing assistant",
                                               .description = "Answers invoice questions",
                                               .labels = {{"team", "billing"}},
                                               .owner_id = ada.id,
                                               .state = directory::State::kActive}));
    CUSTODY_ASSIGN(auto mcp, directory::create_identity(tx, ctx,
                                                        {.kind = Kind::kMcpServer,
                                                         .display_name = "Invoices MCP server",
                                                         .labels = {{"team", "billing"}},
                                                         .owner_id = ada.id,
                                                         .state = directory::State::kActive}));
    CUSTODY_ASSIGN(auto ci, directory::create_identity(tx, ctx,
                                                       {.kind = Kind::kService,
                                                        .display_name = "CI pipeline",
                                                        .labels = {{"team", "platform"}},
                                                        .owner_id = ada.id}));
    (void)ci;
    CUSTODY_TRY(directory::grant_entitlement(
        tx, ctx, agent.id,
        {.scope = "invoices:read",
         .resource = "https://invoices.example.com/mcp",
         .tools = std::vector<std::string>{"invoice.lookup", "invoice.list"},
         .justification = "demo: the assistant looks invoices up"}));
    // Agents act only within their owner's entitlements (policies/custody.cedar): Ada holds
    // the invoice tools too, so the default policies permit the assistant's calls.
    CUSTODY_TRY(directory::grant_entitlement(
        tx, ctx, ada.id,
        {.scope = "invoices:read",
         .resource = "https://invoices.example.com/mcp",
         .justification = "demo: the owner of the billing assistant reads invoices"}));
    CUSTODY_TRY(
        directory::grant_entitlement(tx, ctx, mcp.id,
                                     {.scope = "ledger:read",
                                      .resource = "https://ledger.example.com",
                                      .justification = "demo: the MCP server reads the ledger"}));
    return ok_status();
  }));
  return true;
}

}  // namespace custody::app
