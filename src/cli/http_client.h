// The CLI talks to custodyd through the shared client (src/net/http_client.h, src/net/url.h),
// under the names its commands have always used.
#pragma once

#include "net/http_client.h"
#include "net/url.h"

namespace custody::cli {

using net::api_path;
using net::build_query;
using net::Headers;
using net::HttpClient;
using net::HttpClientOptions;
using net::HttpRequest;
using net::HttpResponse;
using net::Method;
using net::method_name;
using net::parse_server_url;
using net::percent_encode;
using net::Query;
using net::ServerUrl;

}  // namespace custody::cli
