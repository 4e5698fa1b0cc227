#include "http/message.h"

#include <optional>

#include "common/encoding.h"

namespace custody::http {

std::string_view Request::header(std::string_view name) const {
  auto it = raw.find(name);
  if (it == raw.end()) return {};
  return it->value();
}

std::string_view Request::param(std::string_view name) const {
  for (const auto& [k, v] : path_params)
    if (k == name) return v;
  return {};
}

void Responder::operator()(Response response) const {
  bool expected = false;
  if (state_->done.compare_exchange_strong(expected, true)) state_->send(std::move(response));
}

std::optional<std::string> url_decode(std::string_view text) {
  return form_decode(text);
}

Result<std::vector<std::pair<std::string, std::string>>> parse_query(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    auto name = url_decode(part.substr(0, eq));
    auto value =
        url_decode(eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1));
    std::string raw_name(part.substr(0, eq));
    if (!name || !value)
      return Error::invalid("query parameter \"" + raw_name + "\" has a malformed %-escape",
                            name ? *name : raw_name);
    out.emplace_back(std::move(*name), std::move(*value));
  }
  return out;
}

}  // namespace custody::http
