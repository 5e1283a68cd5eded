-- wrk script: POST /mcp tools/call get_system_status with a bearer token.
-- BENCH_TOKEN (env) holds the token; the headers are the ones a Streamable
-- HTTP client sends (see /work/shared/PERF-NOTES.md).
local token = os.getenv("BENCH_TOKEN") or ""
wrk.method = "POST"
wrk.path = "/mcp"
wrk.body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_system_status","arguments":{}}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["Authorization"] = "Bearer " .. token
