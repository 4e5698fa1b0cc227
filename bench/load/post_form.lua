-- wrk script: POST the body given in env WRK_BODY (headers, e.g. the media type, are passed with
-- -H). For forms it is the same
-- request shape as ../shared/anchors/oidc-provider/wrk-post.lua, so the two compare directly.
wrk.method = "POST"
wrk.body = os.getenv("WRK_BODY")
