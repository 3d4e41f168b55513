#!/usr/bin/env bash
# make demo: the sandbox national portal, the gateway on conf/lienthong.yaml, and the sample city
# requests of mappings/dvcqg/examples/ sent through it with curl and the city's client certificate;
# then a signed VNPAY payment callback: acknowledged in VNPAY's dialect and delivered to the city.
# DEMO_ONCE=1 exits after the samples (non-zero if any failed); otherwise it waits for Ctrl-C.
set -u
cd "$(dirname "$0")/.."
CERTS=certs/dev
RUN=var/demo
mkdir -p "$RUN"
PY=/usr/bin/python3
PUBLIC=https://localhost:8443
ADMIN=http://127.0.0.1:9090
pids=()

bold() { printf '\n\033[1m%s\033[0m\n' "$*"; }
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for port in 8443 9090 9443 9444 9450 9451 9452 9453; do
	if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
		echo "demo: port $port is already in use (another demo running?)" >&2
		exit 1
	fi
done

bold "1. lienthong check -c conf/lienthong.yaml"
./lienthong check -c conf/lienthong.yaml || exit 1

bold "2. the sandbox national portal on https://127.0.0.1:9443/adapter (mutual TLS)"
$PY tests/sandbox/dvcqg.py --port 9443 --cert $CERTS/sandbox.crt --key $CERTS/sandbox.key \
	--client-ca $CERTS/ca.crt --username hanoi-gw --password sandbox-secret --verbose \
	>"$RUN/sandbox.log" 2>&1 &
pids+=($!)

$PY tests/sandbox/city.py --port 9444 --cert $CERTS/sandbox.crt --key $CERTS/sandbox.key \
	--client-ca $CERTS/ca.crt --verbose >"$RUN/city.log" 2>&1 &
pids+=($!)

# The e-invoice and SMS partners (FORMATS.md §4, §5), with the credentials conf/lienthong.yaml
# and the mappings default to.
for sb in vnpt_invoice:9450 viettel_sinvoice:9451 viettel_sms:9452 vnpt_sms:9453; do
	$PY tests/sandbox/${sb%%:*}.py --port ${sb##*:} --cert $CERTS/sandbox.crt --key $CERTS/sandbox.key \
		--client-ca $CERTS/ca.crt --verbose >"$RUN/${sb%%:*}.log" 2>&1 &
	pids+=($!)
done

# The sandboxes are Python: on a busy machine they can take longer to listen than the gateway
# takes to start, and the first sample would then meet a refused connection. Each says
# "listening on" once its socket is open (a probe connection would only log a failed handshake).
for log in sandbox city vnpt_invoice viettel_sinvoice viettel_sms vnpt_sms; do
	for _ in $(seq 1 100); do
		grep -q "listening on" "$RUN/$log.log" 2>/dev/null && break
		sleep 0.1
	done
	grep -q "listening on" "$RUN/$log.log" 2>/dev/null || { echo "demo: the $log sandbox did not start:"; cat "$RUN/$log.log"; exit 1; }
done

bold "3. the gateway: ./lienthong run -c conf/lienthong.yaml (log: $RUN/gateway.log)"
./lienthong run -c conf/lienthong.yaml 2>"$RUN/gateway.log" &
pids+=($!)
for _ in $(seq 1 50); do
	curl -fsS "$ADMIN/healthz" >/dev/null 2>&1 && break
	sleep 0.1
done
curl -fsS "$ADMIN/healthz" >/dev/null || { echo "demo: the gateway did not start:"; cat "$RUN/gateway.log"; exit 1; }
echo "gateway up: $(curl -sS $ADMIN/healthz)"

CURL=(curl -sS --cacert $CERTS/ca.crt --cert $CERTS/city.crt --key $CERTS/city.key
      -H 'Content-Type: application/json')
portal_last() {
	# What the portal received last, through its own control endpoint (mutual TLS as well).
	curl -sS --cacert $CERTS/ca.crt --cert $CERTS/gw-client.crt --key $CERTS/gw-client.key \
		https://127.0.0.1:9443/__sandbox/received |
		$PY -c 'import json,sys; r=[x for x in json.load(sys.stdin) if x.get("path")=="/adapter"]; print(json.dumps(r[-1]["json"], ensure_ascii=False, indent=2) if r else "(nothing)")'
}
failures=0
send() {  # path file
	local path=$1 file=$2 out status
	bold "city → gateway: POST $path  ($file)"
	$PY -m json.tool --no-ensure-ascii "$file"
	out=$("${CURL[@]}" -w '\n%{http_code}' --data-binary "@$file" "$PUBLIC$path")
	status=${out##*$'\n'}
	echo "gateway → portal (what the portal received):"
	portal_last
	echo "portal → gateway → city: HTTP $status"
	printf '%s\n' "${out%$'\n'*}" | $PY -m json.tool --no-ensure-ascii 2>/dev/null || printf '%s\n' "${out%$'\n'*}"
	[ "$status" = 200 ] || failures=$((failures + 1))
}

bold "4. sample requests from mappings/dvcqg/examples/"
for f in mappings/dvcqg/examples/dossier-*.json; do
	case $f in *.dvcqg.json|*response*|*answer*) continue;; esac
	send /v1/dvcqg/dossiers "$f"
done
for f in mappings/dvcqg/examples/progress-*.json; do
	case $f in *.dvcqg.json|*response*|*answer*) continue;; esac
	send /v1/dvcqg/progress "$f"
done
for f in mappings/dvcqg/examples/lookup-*.json; do
	case $f in *.dvcqg.json|*response*|*answer*|*.city.json) continue;; esac
	send /v1/dvcqg/lookup "$f"
done

bold "5. a payment callback: VNPAY's IPN (GET, HMAC-SHA512), sent by the bank sandbox as VNPAY would"
# A new order reference per run: the store keeps the last run's, which would (rightly) be a duplicate.
ORDER="HS$(date +%s)"
BANK=($PY tests/sandbox/bank.py --url "$PUBLIC/callbacks/vnpay/ipn" --cert $CERTS/bank.crt --key $CERTS/bank.key
      --ca $CERTS/ca.crt --dialect vnpay --order "$ORDER" --amount 120000 --attempts 1)
SECRET=TESTSECRETKEY1234567890ABCDEFGHI
echo "bank → gateway → bank (answered once the notification is on disk):"
"${BANK[@]}" --secret "$SECRET" || failures=$((failures + 1))
echo "the bank sends the same IPN again:"
"${BANK[@]}" --secret "$SECRET"
echo "a forged IPN (signed with another key):"
"${BANK[@]}" --secret not-the-secret
for _ in $(seq 1 50); do
	grep -q "applied" "$RUN/city.log" 2>/dev/null && break
	sleep 0.1
done
echo "gateway → city (the city sandbox's log: once, with its Idempotency-Key):"
grep "/city/" "$RUN/city.log" || { echo "(nothing reached the city)"; failures=$((failures + 1)); }
echo "audit line of the forged IPN:"
grep '"type":"audit"' "$RUN/gateway.log" | tail -n 1

bold "6. e-receipt, e-invoice and SMS samples (mappings/{vnpt-invoice,viettel-sinvoice,viettel-sms,vnpt-sms})"
for pair in /v1/einvoice/vnpt/receipts:mappings/vnpt-invoice/examples/receipt-fee.json \
	    /v1/einvoice/viettel/invoices:mappings/viettel-sinvoice/examples/invoice-fee.json \
	    /v1/sms/viettel:mappings/viettel-sms/examples/result-notice.json \
	    /v1/sms/vnpt:mappings/vnpt-sms/examples/result-notice.json; do
	path=${pair%%:*} file=${pair#*:}
	bold "city → gateway: POST $path  ($file)"
	out=$("${CURL[@]}" -w '\n%{http_code}' --data-binary "@$file" "$PUBLIC$path")
	status=${out##*$'\n'}
	echo "partner → gateway → city: HTTP $status ${out%$'\n'*}"
	case "$status ${out%$'\n'*}" in "200 {\"ok\":true"*) ;; *) failures=$((failures + 1));; esac
done

bold "access log (one line per request):"
grep '"type":"access"' "$RUN/gateway.log" | tail -n 8

if [ "$failures" -ne 0 ]; then
	echo "demo: $failures sample(s) failed"
	[ "${DEMO_ONCE:-0}" = 1 ] && exit 1
fi
if [ "${DEMO_ONCE:-0}" = 1 ]; then
	echo "demo: all samples went through"
	exit 0
fi
bold "The gateway keeps running. Try it yourself:"
echo "  curl --cacert $CERTS/ca.crt --cert $CERTS/city.crt --key $CERTS/city.key \\"
echo "       -H 'Content-Type: application/json' \\"
echo "       --data-binary @mappings/dvcqg/examples/dossier-accepted.json $PUBLIC/v1/dvcqg/dossiers"
echo "Ctrl-C stops the gateway and the sandboxes."
wait
