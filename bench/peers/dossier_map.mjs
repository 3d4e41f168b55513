/* dossier_map.mjs: mappings/dvcqg/dossier-sync.yaml written by hand in JavaScript, for the
 * benchmark's peers (nginx + njs and the Node.js gateway load this same file).
 *
 * It does the work the YAML asks of lienthong, rule by rule — required fields, types, trims,
 * patterns, enum maps, ISO 8601 dates rewritten as yyyyMMddHHmmss in +07:00, phone numbers in
 * their national form, defaults, and the answer mapped back — so the peers are compared doing the
 * same job, not a lighter one. bench/run.py checks each peer's output against `lienthong map` on
 * the same dossier before it times anything.
 *
 * Plain ES5-style code on purpose: njs 0.7.9 (Debian bookworm) has no destructuring, optional
 * chaining or spread. A rule failure throws {status: 422, code, field}. */

function fail(code, field, msg) {
	throw { status: 422, code: code, field: field, message: msg };
}

function get(obj, path) {
	var parts = path.split('.');
	for (var i = 0; i < parts.length; i++) {
		if (obj === null || typeof obj !== 'object')
			return undefined;
		obj = obj[parts[i]];
	}
	return obj;
}

/* The value as text, the way `type: string` converts scalars. */
function text(v, field) {
	if (typeof v === 'string')
		return v;
	if (typeof v === 'number' || typeof v === 'boolean')
		return String(v);
	fail('mapping.type', field, 'expected a string');
}

function str(src, path, field, o) {
	var v = get(src, path);
	if (v === undefined || v === null) {
		if (o.required)
			fail('mapping.required', field, path + ' is required');
		return o.dflt;
	}
	v = text(v, field);
	if (o.trim)
		v = v.trim();
	if (o.pattern && !o.pattern.test(v))
		fail('mapping.pattern', field, path + ' does not match the pattern');
	if (o.max && v.length > o.max)
		fail('mapping.max_length', field, path + ' is too long');
	return v;
}

function enumv(src, path, field, table, dflt, required) {
	var v = get(src, path);
	if (v === undefined || v === null) {
		if (required)
			fail('mapping.required', field, path + ' is required');
		return dflt;
	}
	var k = String(v);
	if (!Object.prototype.hasOwnProperty.call(table, k))
		fail('mapping.map', field, path + ' has no mapping for ' + k);
	return table[k];
}

var ISO = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(Z|([+-])(\d{2}):(\d{2}))$/;

function pad(n, w) {
	var s = String(n);
	while (s.length < w)
		s = '0' + s;
	return s;
}

/* ISO 8601 with an offset -> yyyyMMddHHmmss in +07:00 (Hà Nội). */
function date(src, path, field, required) {
	var v = get(src, path);
	if (v === undefined || v === null || v === '') {
		if (required)
			fail('mapping.required', field, path + ' is required');
		return '';
	}
	var m = typeof v === 'string' ? ISO.exec(v) : null;
	if (!m)
		fail('mapping.date', field, path + ' is not an ISO 8601 date');
	var t = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
	if (m[7] !== 'Z')
		t -= (m[8] === '-' ? -1 : 1) * ((+m[9]) * 60 + (+m[10])) * 60000;
	var d = new Date(t + 7 * 3600000);
	return pad(d.getUTCFullYear(), 4) + pad(d.getUTCMonth() + 1, 2) + pad(d.getUTCDate(), 2) +
		pad(d.getUTCHours(), 2) + pad(d.getUTCMinutes(), 2) + pad(d.getUTCSeconds(), 2);
}

/* A Vietnamese phone number in its national form (0912345678). */
function phone(src, path, field) {
	var v = get(src, path);
	if (v === undefined || v === null)
		fail('mapping.required', field, path + ' is required');
	v = text(v, field);
	var plus = false, d = '';
	for (var i = 0; i < v.length; i++) {
		var c = v.charAt(i);
		if (c >= '0' && c <= '9')
			d += c;
		else if (c === '+' && d === '' && !plus)
			plus = true;
		else if (' .-()'.indexOf(c) < 0)
			fail('mapping.phone', field, path + ' is not a Vietnamese phone number');
	}
	var nat = null;
	if (d.length > 2 && d.charAt(0) === '8' && d.charAt(1) === '4')
		nat = '0' + d.substring(2);
	else if (!plus && d.charAt(0) === '0')
		nat = d;
	if (nat === null || !((nat.length === 10 && '35789'.indexOf(nat.charAt(1)) >= 0) ||
			      (nat.length === 11 && nat.charAt(1) === '2')))
		fail('mapping.phone', field, path + ' is not a Vietnamese phone number');
	return nat;
}

function each(src, path, field, required, fn) {
	var v = get(src, path);
	if (v === undefined || v === null) {
		if (required)
			fail('mapping.required', field, path + ' is required');
		return [];
	}
	if (!Array.isArray(v))
		fail('mapping.type', field, path + ' is not a list');
	var out = [];
	for (var i = 0; i < v.length; i++)
		out.push(fn(v[i], field + '[' + i + ']'));
	return out;
}

var BOOL = { 'true': 'True', 'false': 'False' };
var KIND = { citizen: '1', business: '2' };
var STATUS = { submitted: '1', accepted: '2', rejected: '3', processing: '4', supplement: '5',
	       payment: '6', withdrawn: '7', stopped: '8', done: '9', returned: '10' };
var DELIVERY = { direct: '0', postal: '1' };
var FEE_KIND = { fee: '1', charge: '2' };
var RE_CODE = /^[0-9A-Z]{3}\.[0-9A-Z]{2}\.[0-9A-Z]{2}\.H26-[0-9]{6}-[0-9]{4,}$/;
var RE_PROC = /^[0-9]\.[0-9]{6}$/;
var RE_AMOUNT = /^[0-9]+$/;
var REQ = { required: true };
var REQ_TRIM = { required: true, trim: true };
var EMPTY = { dflt: '' };

function dossier(s, f) {
	return {
		MaHoSo: str(s, 'code', f + '.MaHoSo', { required: true, pattern: RE_CODE }),
		MaTTHC: str(s, 'procedure.code', f + '.MaTTHC', { required: true, pattern: RE_PROC }),
		TenTTHC: str(s, 'procedure.name', f + '.TenTTHC', REQ_TRIM),
		MaLinhVuc: str(s, 'sector.code', f + '.MaLinhVuc', REQ),
		TenLinhVuc: str(s, 'sector.name', f + '.TenLinhVuc', REQ_TRIM),
		SoBienNhan: str(s, 'receipt_no', f + '.SoBienNhan', EMPTY),
		ChuHoSo: str(s, 'applicant.full_name', f + '.ChuHoSo', { trim: true, max: 200, dflt: '' }),
		LoaiDoiTuong: enumv(s, 'applicant.kind', f + '.LoaiDoiTuong', KIND, '1', false),
		MaDoiTuong: '',
		ThongTinKhac: '',
		Email: str(s, 'applicant.email', f + '.Email', REQ_TRIM),
		Fax: '',
		SoDienThoai: phone(s, 'applicant.phone', f + '.SoDienThoai'),
		TrichYeuHoSo: str(s, 'summary', f + '.TrichYeuHoSo', REQ_TRIM),
		NgayTiepNhan: date(s, 'received_at', f + '.NgayTiepNhan', true),
		NgayHenTra: date(s, 'due_at', f + '.NgayHenTra', true),
		TrangThaiHoSo: enumv(s, 'status', f + '.TrangThaiHoSo', STATUS, undefined, true),
		NgayTra: date(s, 'returned_at', f + '.NgayTra', false),
		ThongTinTra: '',
		HinhThuc: enumv(s, 'delivery', f + '.HinhThuc', DELIVERY, undefined, true),
		NgayKetThucXuLy: date(s, 'finished_at', f + '.NgayKetThucXuLy', false),
		DonViXuLy: str(s, 'agency', f + '.DonViXuLy', REQ_TRIM),
		GhiChu: str(s, 'note', f + '.GhiChu', EMPTY),
		TaiLieuNop: each(s, 'documents', f + '.TaiLieuNop', false, function (d, g) {
			return {
				TepDinhKemId: str(d, 'id', g + '.TepDinhKemId', REQ),
				TenTepDinhKem: str(d, 'name', g + '.TenTepDinhKem', REQ),
				IsDeleted: enumv(d, 'deleted', g + '.IsDeleted', BOOL, 'False', false),
				MaThanhPhanHoSo: '',
				DuongDanTaiTepTin: str(d, 'url', g + '.DuongDanTaiTepTin', REQ)
			};
		}),
		DanhSachLePhi: each(s, 'fees', f + '.DanhSachLePhi', false, function (d, g) {
			return {
				TenPhiLePhi: str(d, 'name', g + '.TenPhiLePhi', REQ),
				MaPhiLePhi: str(d, 'code', g + '.MaPhiLePhi', REQ),
				HinhThucThu: '',
				Gia: str(d, 'amount', g + '.Gia', { required: true, pattern: RE_AMOUNT }),
				LoaiPhiLePhi: enumv(d, 'kind', g + '.LoaiPhiLePhi', FEE_KIND, '1', false)
			};
		}),
		DanhSachTepDinhKemKhac: [],
		DanhSachHoSoBoSung: [],
		DanhSachGiayToKetQua: each(s, 'results', f + '.DanhSachGiayToKetQua', false, function (d, g) {
			return {
				TenGiayTo: str(d, 'name', g + '.TenGiayTo', REQ),
				MaThanhPhanHoSo: '',
				GiayToId: str(d, 'id', g + '.GiayToId', REQ),
				DuongDanTepTinKetQua: str(d, 'url', g + '.DuongDanTepTinKetQua', REQ)
			};
		})
	};
}

/* The city's request document -> the DVCQG DongBoHoSoMC body. */
function request(doc, session) {
	if (doc === null || typeof doc !== 'object' || Array.isArray(doc))
		fail('mapping.type', '', 'the request is not a JSON object');
	return {
		session: session,
		madonvi: '000.00.00.H26',
		service: 'DongBoHoSoMC',
		isUpdating: enumv(doc, 'is_update', 'isUpdating', BOOL, 'False', false),
		data: each(doc, 'dossiers', 'data', true, dossier)
	};
}

/* DVCQG's answer -> the city's answer. */
function response(doc) {
	var code = doc && doc.error_code !== undefined && doc.error_code !== null ? String(doc.error_code) : undefined;
	return {
		accepted: code === '0' || code === '00',
		code: code === undefined ? '' : code,
		message: doc && typeof doc.message === 'string' ? doc.message : ''
	};
}

export default { request: request, response: response };
