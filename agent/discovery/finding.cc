#include "discovery/finding.h"

namespace custody::discovery {

std::string_view scope_name(Scope s) {
  switch (s) {
    case Scope::kUser:
      return "user";
    case Scope::kProject:
      return "project";
    case Scope::kLocal:
      return "local";
    case Scope::kManaged:
      return "managed";
    case Scope::kExtension:
      return "extension";
    case Scope::kProcess:
      return "process";
  }
  return "unknown";
}

std::string_view transport_name(Transport t) {
  switch (t) {
    case Transport::kStdio:
      return "stdio";
    case Transport::kStreamableHttp:
      return "streamable-http";
    case Transport::kSse:
      return "sse";
    case Transport::kBuiltin:
      return "builtin";
    case Transport::kA2a:
      return "a2a";
    case Transport::kUnknown:
      return "unknown";
  }
  return "unknown";
}

std::string_view secret_class_name(SecretClass c) {
  switch (c) {
    case SecretClass::kLiteral:
      return "literal";
    case SecretClass::kReference:
      return "reference";
    case SecretClass::kEmpty:
      return "empty";
  }
  return "unknown";
}

}  // namespace custody::discovery
