#include "oauth/consent_page.h"

namespace custody::oauth {
namespace {

std::string document(std::string_view title, const std::string& body) {
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
         "<meta name=\"referrer\" content=\"no-referrer\"><title>" +
         html_escape(title) + "</title></head>\n<body>\n" + body + "</body></html>\n";
}

std::string list(const std::vector<std::string>& items) {
  std::string out = "<ul>";
  for (const auto& i : items) out += "<li><code>" + html_escape(i) + "</code></li>";
  return out + "</ul>";
}

}  // namespace

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string consent_page(const ConsentView& v) {
  std::string client = "<strong>" +
                       html_escape(v.client_name.empty() ? v.client_id : v.client_name) +
                       "</strong> (<code>" + html_escape(v.client_id) + "</code>";
  if (!v.client_owner.empty())
    client += ", registered by <code>" + html_escape(v.client_owner) + "</code>";
  client += ")";
  std::string body = "<h1>Authorize " +
                     html_escape(v.client_name.empty() ? v.client_id : v.client_name) + "</h1>\n";
  if (!v.message.empty())
    body += "<p role=\"alert\"><strong>" + html_escape(v.message) + "</strong></p>\n";
  body += "<p>" + client + " asks to act for you, with your authority.</p>\n";
  body += "<p>Scopes: ";
  body += v.scopes ? list(*v.scopes) : "every scope you are entitled to at the resources below";
  body += "</p>\n<p>Resources: ";
  body += v.resources.empty() ? "every resource where you hold those scopes" : list(v.resources);
  body += "</p>\n<p>After your answer you return to <code>" + html_escape(v.redirect_uri) +
          "</code>.</p>\n";
  body += "<form method=\"post\" action=\"authorize\">\n";
  for (const auto& [name, value] : v.hidden)
    body += "<input type=\"hidden\" name=\"" + html_escape(name) + "\" value=\"" +
            html_escape(value) + "\">\n";
  body +=
      "<p><label for=\"token\">Your custody owner token</label><br>"
      "<input type=\"password\" id=\"token\" name=\"token\" autocomplete=\"off\" required></p>\n"
      "<p><button type=\"submit\" name=\"decision\" value=\"approve\">Approve</button> "
      "<button type=\"submit\" name=\"decision\" value=\"deny\" formnovalidate>Deny</button></p>\n"
      "</form>\n"
      "<p><small>Sign in with an owner-role API token that acts for you "
      "(<code>custody token create --role owner --human usr_…</code>). custody checks that your "
      "entitlements cover what is asked.</small></p>\n";
  return document("Authorize " + (v.client_name.empty() ? v.client_id : v.client_name), body);
}

std::string error_page(std::string_view error, std::string_view description) {
  std::string body = "<h1>Authorization request refused</h1>\n<p><code>" + html_escape(error) +
                     "</code>: " + html_escape(description) +
                     "</p>\n<p>custody did not send you back to the application.</p>\n";
  return document("Authorization request refused", body);
}

}  // namespace custody::oauth
