// The audit API: events with filters and cursor pagination (GET /api/v1/audit and its alias
// /api/v1/audit/events), the latest signed tree head, and inclusion and consistency proofs
// (docs/api.md, docs/audit-integrity.md). Admin and auditor tokens only.
#include <charconv>

#include "api/operation.h"
#include "api/query.h"
#include "api/routes.h"
#include "audit/archive.h"
#include "audit/events.h"
#include "audit/log.h"
#include "common/encoding.h"
#include "http/problem.h"

namespace custody::api {
namespace {

using http::Request;
using http::Responder;
using http::Response;
using nlohmann::json;

Result<audit::EventFilter> parse_filter(const Request& req, const Config& config) {
  audit::EventFilter f;
  std::optional<std::string> cursor, order;
  CUSTODY_ASSIGN(auto query, http::parse_query(req.query));
  for (const auto& [name, value] : query) {
    if (name == "actor")
      f.actor = value;
    else if (name == "target")
      f.target = value;
    else if (name == "action" || name == "type")
      f.action = value;
    else if (name == "outcome")
      f.outcome = value;
    else if (name == "chain_root")
      f.chain_root = value;
    else if (name == "delegation_id")
      f.delegation_id = value;
    else if (name == "since") {
      CUSTODY_ASSIGN(f.since, parse_time(value, "since"));
    } else if (name == "until") {
      CUSTODY_ASSIGN(f.until, parse_time(value, "until"));
    } else if (name == "limit") {
      CUSTODY_ASSIGN(f.limit, parse_limit(value, config));
    } else if (name == "cursor") {
      cursor = value;
    } else if (name == "order") {
      if (value != "asc" && value != "desc")
        return Error::invalid("order must be asc or desc", "order");
      order = value;
    } else
      return Error::invalid("unknown query parameter \"" + name + "\"", name);
  }
  if (f.since && f.until && *f.since > *f.until)
    return Error::invalid("since is after until", "since");
  f.ascending = order == "asc";
  if (cursor) {
    audit::EventFilter c;
    CUSTODY_TRY(audit::apply_cursor(*cursor, c));
    if (order && c.ascending != f.ascending)
      return Error::invalid("the cursor belongs to the other order", "cursor");
    f.ascending = c.ascending;
    f.before_seq = c.before_seq;
    f.after_seq = c.after_seq;
  }
  return f;
}

// A positive integer query parameter (1 .. 2^53).
Result<std::int64_t> parse_size(std::string_view text, const char* name) {
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size())
    return Error::invalid(std::string(name) + " must be a positive integer", name);
  if (v < 1 || v > (std::int64_t{1} << 53))
    return Error::invalid(std::string(name) + " must be between 1 and 2^53", name);
  return v;
}

Status refuse_owner(const directory::OpContext& ctx) {
  if (ctx.who.role == directory::Role::kOwner)
    return Error::denied("owner tokens may not read the audit log");
  return ok_status();
}

Result<audit::AuditLog*> running_log(ApiContext& api) {
  if (!api.audit_log) return Error::unavailable("the audit log is not running");
  return api.audit_log;
}

// A size within the log; kInvalidArgument naming `field` otherwise.
Status check_in_log(std::int64_t size, std::uint64_t log_size, const char* field) {
  if (static_cast<std::uint64_t>(size) > log_size)
    return Error::invalid(std::string(field) + " " + std::to_string(size) +
                              " is beyond the log, which has " + std::to_string(log_size) +
                              " leaves",
                          field)
        .with("reason", "size_out_of_range");
  return ok_status();
}

json hex_list(const std::vector<std::string>& hashes) {
  json out = json::array();
  for (const auto& h : hashes) out.push_back(hex_encode(h));
  return out;
}

void list_events(ApiContext& api, Request& req, Responder respond) {
  auto filter = std::make_shared<audit::EventFilter>();
  auto validate = [&api, &req, filter]() -> Status {
    CUSTODY_ASSIGN(*filter, parse_filter(req, api.config));
    return ok_status();
  };
  read_operation(api, req, respond, "audit.list", "", validate,
                 [filter](store::Tx& tx, const directory::OpContext& ctx) -> Result<Response> {
                   CUSTODY_TRY(refuse_owner(ctx));
                   CUSTODY_ASSIGN(auto page, audit::list(tx, *filter));
                   json items = json::array();
                   for (const auto& e : page.items) items.push_back(audit::to_json(e));
                   json body = {{"items", std::move(items)}, {"next_cursor", nullptr}};
                   if (page.next_cursor) body["next_cursor"] = *page.next_cursor;
                   return http::json_response(200, body);
                 });
}

}  // namespace

void add_audit_routes(http::Router& router, ApiContext& api) {
  router.add("GET", "/api/v1/audit",
             [&api](Request& req, Responder respond) { list_events(api, req, respond); });
  router.add("GET", "/api/v1/audit/events",
             [&api](Request& req, Responder respond) { list_events(api, req, respond); });

  router.add("GET", "/api/v1/audit/sth", [&api](Request& req, Responder respond) {
    auto validate = [&req]() -> Status {
      if (!req.query.empty()) return Error::invalid("this endpoint takes no query parameters");
      return ok_status();
    };
    read_operation(api, req, respond, "audit.sth", "", validate,
                   [&api](store::Tx& tx, const directory::OpContext& ctx) -> Result<Response> {
                     CUSTODY_TRY(refuse_owner(ctx));
                     CUSTODY_ASSIGN(auto* log, running_log(api));
                     CUSTODY_ASSIGN(auto head, log->latest_head(tx));
                     if (!head)
                       return Error::not_found("no tree head has been signed yet (empty log)");
                     json body = audit::to_json(*head);
                     body["public_jwk"] = log->key().public_json();
                     return http::json_response(200, body);
                   });
  });

  router.add("GET", "/api/v1/audit/proof/inclusion", [&api](Request& req, Responder respond) {
    struct Args {
      std::int64_t seq = 0;
      std::optional<std::int64_t> size;
    };
    auto args = std::make_shared<Args>();
    auto validate = [&req, args]() -> Status {
      CUSTODY_ASSIGN(auto query, http::parse_query(req.query));
      bool have_seq = false;
      for (const auto& [name, value] : query) {
        if (name == "seq") {
          CUSTODY_ASSIGN(args->seq, parse_size(value, "seq"));
          have_seq = true;
        } else if (name == "size") {
          CUSTODY_ASSIGN(args->size, parse_size(value, "size"));
        } else {
          return Error::invalid("unknown query parameter \"" + name + "\"", name);
        }
      }
      if (!have_seq) return Error::invalid("seq is required", "seq");
      return ok_status();
    };
    read_operation(
        api, req, respond, "audit.proof", "", validate,
        [&api, args](store::Tx& tx, const directory::OpContext& ctx) -> Result<Response> {
          CUSTODY_TRY(refuse_owner(ctx));
          CUSTODY_ASSIGN(auto* log, running_log(api));
          std::int64_t size = 0;
          std::optional<audit::TreeHead> head;
          if (args->size) {
            size = *args->size;
          } else {
            CUSTODY_ASSIGN(head, log->latest_head(tx));
            if (!head) return Error::not_found("no tree head has been signed yet");
            size = static_cast<std::int64_t>(head->tree_size);
          }
          CUSTODY_TRY(check_in_log(size, log->size(), "size"));
          CUSTODY_ASSIGN(auto event, audit::find_event(tx, args->seq));
          if (event.leaf_index < 0)
            return Error::unprocessable("event seq " + std::to_string(event.seq) +
                                        " has no leaf in the log");
          if (event.leaf_index >= size)
            return Error::invalid("event seq " + std::to_string(event.seq) + " is leaf " +
                                      std::to_string(event.leaf_index) +
                                      ", outside the tree of size " + std::to_string(size),
                                  "size")
                .with("reason", "index_out_of_range");
          const auto index = static_cast<std::uint64_t>(event.leaf_index);
          const auto n = static_cast<std::uint64_t>(size);
          CUSTODY_ASSIGN(auto path, log->inclusion_proof(tx, index, n));
          CUSTODY_ASSIGN(auto root, log->root_at(tx, n));
          json body = {{"seq", event.seq},
                       {"event_id", event.id},
                       {"leaf_index", event.leaf_index},
                       {"leaf_hash", hex_encode(event.leaf_hash)},
                       {"tree_size", size},
                       {"root_hash", hex_encode(root)},
                       {"inclusion_path", hex_list(path)}};
          if (head) body["tree_head"] = audit::to_json(*head);
          return http::json_response(200, body);
        });
  });

  router.add("GET", "/api/v1/audit/proof/consistency", [&api](Request& req, Responder respond) {
    struct Args {
      std::int64_t from = 0, to = 0;
    };
    auto args = std::make_shared<Args>();
    auto validate = [&req, args]() -> Status {
      CUSTODY_ASSIGN(auto query, http::parse_query(req.query));
      bool have_from = false, have_to = false;
      for (const auto& [name, value] : query) {
        if (name == "from") {
          CUSTODY_ASSIGN(args->from, parse_size(value, "from"));
          have_from = true;
        } else if (name == "to") {
          CUSTODY_ASSIGN(args->to, parse_size(value, "to"));
          have_to = true;
        } else {
          return Error::invalid("unknown query parameter \"" + name + "\"", name);
        }
      }
      if (!have_from) return Error::invalid("from is required", "from");
      if (!have_to) return Error::invalid("to is required", "to");
      if (args->from > args->to)
        return Error::invalid("from is larger than to (reversed range)", "from")
            .with("reason", "old_size_exceeds_new_size");
      return ok_status();
    };
    read_operation(
        api, req, respond, "audit.proof", "", validate,
        [&api, args](store::Tx& tx, const directory::OpContext& ctx) -> Result<Response> {
          CUSTODY_TRY(refuse_owner(ctx));
          CUSTODY_ASSIGN(auto* log, running_log(api));
          CUSTODY_TRY(check_in_log(args->to, log->size(), "to"));
          const auto from = static_cast<std::uint64_t>(args->from);
          const auto to = static_cast<std::uint64_t>(args->to);
          CUSTODY_ASSIGN(auto path, log->consistency_proof(tx, from, to));
          CUSTODY_ASSIGN(auto from_root, log->root_at(tx, from));
          CUSTODY_ASSIGN(auto to_root, log->root_at(tx, to));
          return http::json_response(200, json{{"from", args->from},
                                               {"to", args->to},
                                               {"from_root", hex_encode(from_root)},
                                               {"to_root", hex_encode(to_root)},
                                               {"consistency_path", hex_list(path)}});
        });
  });
}

}  // namespace custody::api
