/* njs_gateway.js: the nginx + njs peer's request handler (js_content). Maps the city's dossier with
 * dossier_map.mjs, forwards it with a subrequest to the internal /_up location (proxy_pass over
 * the keep-alive upstream: njs 0.7.9's ngx.fetch opens a new connection per call), and maps the
 * answer back. njs 0.7.9 gives every request a fresh VM and has no shared dictionary, so it cannot
 * cache a login across requests: the session token comes from the $bench_session variable. */
import map from 'dossier_map.mjs';

function reply(r, status, obj) {
	r.headersOut['Content-Type'] = 'application/json';
	r.return(status, JSON.stringify(obj));
}

function dossier(r) {
	var out;
	try {
		out = map.request(JSON.parse(r.requestText), r.variables.bench_session);
	} catch (e) {
		var st = e.status || 400;
		return reply(r, st, { error: { code: e.code || 'json.invalid', message: e.message || String(e),
					       field: e.field || '' } });
	}
	r.subrequest('/_up', { method: 'POST', body: JSON.stringify(out) }, function (res) {
		if (res.status < 200 || res.status > 299)
			return reply(r, 502, { error: { code: 'upstream.status', message: 'HTTP ' + res.status } });
		var answer;
		try {
			answer = map.response(JSON.parse(res.responseText));
		} catch (e) {
			return reply(r, 502, { error: { code: 'upstream.invalid', message: String(e) } });
		}
		reply(r, 200, answer);
	});
}

export default { dossier };
