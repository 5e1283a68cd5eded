-- wrk script: POST /mcp tools/list with a bearer token (BENCH_TOKEN).
local token = os.getenv("BENCH_TOKEN") or ""
wrk.method = "POST"
wrk.path = "/mcp"
wrk.body = '{"jsonrpc":"2.0","id":1,"method":"tools/list"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["Authorization"] = "Bearer " .. token
