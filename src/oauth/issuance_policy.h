// The policy decision point's say in every token custody issues (docs/delegation-bounds.md).
//
// After a grant has computed an issuance within the built-in bounds (grants.h), the PDP decides
// it with the active Cedar policies, once per audience of the new token, and every question must
// be permitted:
//   client_credentials  principal = the client, action = Action::"obtain",
//                       resource = Audience::"<audience>";
//   token exchange      principal = the new actor (the delegatee), action = Action::"delegate",
//                       resource = the delegator (whose authority is passed on).
// The context carries the chain: initiator (and its kind and entitlements' audiences), every
// identity in the chain and their kinds, depth, scopes (new and the parent's), the audience and
// whether it is new, lifetime, max_hops, DPoP binding, the client and the time (`now`, a Cedar
// datetime), as declared by policies/custody.cedarschema.
//
// A deny names its bound: the @bound annotation of the first determining forbid policy, else
// "policy"; the description names the determining policies and their @reason annotations.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "oauth/grants.h"
#include "oauth/outcome.h"
#include "policy/pdp.h"
#include "store/store.h"

namespace custody::oauth {

struct IssuanceVerdict {
  std::int64_t policy_version = 0;
  std::vector<std::string> policies;  // the permitting policies, over all questions
};

// With `approved` (a human approved this issuance, CIBA), @approval policies are waived.
OAuthResult<IssuanceVerdict> authorize_issuance(store::Tx& tx, const policy::Pdp& pdp,
                                                const Issuance& issuance, Micros now,
                                                bool approved = false);

}  // namespace custody::oauth
