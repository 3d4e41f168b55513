-- post.lua: wrk POSTs one document (the file named by $BENCH_BODY) with keep-alive, and prints one
-- machine-readable RESULT line for bench/run.py (latencies in microseconds).
local f = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = os.getenv("BENCH_CTYPE") or "application/json"

done = function(summary, latency, requests)
	local e = summary.errors
	io.write(string.format('RESULT {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,' ..
		'"write":%d,"status":%d,"timeout":%d,"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"max":%d}\n',
		summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
		e.timeout, latency.mean, latency:percentile(50), latency:percentile(90),
		latency:percentile(99), latency.max))
end
