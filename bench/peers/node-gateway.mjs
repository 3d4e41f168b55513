/* node-gateway.mjs: the Node.js peer. node's http server, and an http.Agent with keep-alive for
 * the upstream, mapping with dossier_map.mjs (the same hand-written mapping njs uses). It logs in
 * once at start (POST /adapter/auth) and caches the session, as lienthong does.
 *
 *   node node-gateway.mjs LISTEN_PORT UPSTREAM_URL     (UPSTREAM_URL like http://127.0.0.1:19001/adapter) */
import http from 'node:http';
import map from './dossier_map.mjs';

const port = +process.argv[2];
const upstream = new URL(process.argv[3]);
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

function call(path, body) {
	return new Promise((resolve, reject) => {
		const req = http.request({ host: upstream.hostname, port: upstream.port, path, method: 'POST', agent,
					   headers: { 'Content-Type': 'application/json',
						      'Content-Length': Buffer.byteLength(body) } }, (res) => {
			const chunks = [];
			res.on('data', (c) => chunks.push(c));
			res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
			res.on('error', reject);
		});
		req.on('error', reject);
		req.end(body);
	});
}

function reply(res, status, obj) {
	const body = JSON.stringify(obj);
	res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
	res.end(body);
}

const login = await call(upstream.pathname + '/auth', JSON.stringify({ username: 'hanoi-gw', password: 'bench' }));
const session = JSON.parse(login.body).session;

const server = http.createServer((req, res) => {
	if (req.method !== 'POST' || req.url !== '/v1/dvcqg/dossiers')
		return reply(res, 404, { error: { code: 'route.none', message: 'no route' } });
	const chunks = [];
	req.on('data', (c) => chunks.push(c));
	req.on('end', async () => {
		let out;
		try {
			out = map.request(JSON.parse(Buffer.concat(chunks).toString('utf8')), session);
		} catch (e) {
			return reply(res, e.status || 400, { error: { code: e.code || 'json.invalid',
								      message: e.message || String(e), field: e.field || '' } });
		}
		try {
			const up = await call(upstream.pathname, JSON.stringify(out));
			if (up.status < 200 || up.status > 299)
				return reply(res, 502, { error: { code: 'upstream.status', message: 'HTTP ' + up.status } });
			reply(res, 200, map.response(JSON.parse(up.body)));
		} catch (e) {
			reply(res, 502, { error: { code: 'upstream.connect', message: String(e) } });
		}
	});
});
server.keepAliveTimeout = 60000;
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
