-- wrk script: POST the form body given in env WRK_BODY (headers are passed with -H); the same
-- request shape as ../shared/anchors/oidc-provider/wrk-post.lua, so the two compare directly.
wrk.method = "POST"
wrk.body = os.getenv("WRK_BODY")
