#!/bin/sh
# gen.sh OUTDIR: the development PKI of lienthong (tests, demo, conf/lienthong.yaml).
#
# Owns every file it writes in OUTDIR; certs/README.md says what each one is. EC P-256 keys,
# SHA-256 signatures, 90 days of validity. Running it again is free: when OUTDIR already holds a
# complete, consistent set that is valid for at least 31 more days, nothing is touched, so a test
# run or `make demo` never pulls certificates from under a running gateway. Otherwise the whole set
# is made again in a scratch folder and only then moved in, so an interrupted run never leaves a
# CA that does not match its leaves. These keys are for development only: certs/dev/ is git-ignored.
set -eu

DAYS=90          # longer than the 30 days within which `lienthong check` warns
MIN_LEFT=2678400        # 31 days: a kept set never makes `lienthong check` warn about expiry

# name issuer: every certificate of the set, with the CA that signs it ("self" for a root).
SET="ca:self gateway:ca gw-client:ca city:ca other-client:ca sandbox:ca other-sandbox:ca
bank:ca momo:ca keypay:ca rogue-ca:self rogue-client:rogue-ca rogue-sandbox:rogue-ca"
PINS="sandbox other-sandbox"

die() {
	echo "gen.sh: $*" >&2
	exit 1
}

[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
out=$1
command -v openssl >/dev/null 2>&1 || die "the openssl command is needed (apt-get install openssl)"

# The public key of a certificate and of a private key, to tell whether they belong together.
cert_pub() { openssl x509 -in "$1" -noout -pubkey 2>/dev/null; }
key_pub() { openssl pkey -in "$1" -pubout 2>/dev/null; }

spki_pin() {
	printf 'sha256//%s\n' "$(openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform der |
		openssl dgst -sha256 -binary | openssl base64 -A)"
}

# True when $1 holds the whole set: every key matches its certificate, every certificate is
# signed by its CA and still valid for MIN_LEFT seconds, and the pins match the certificates.
set_is_whole() {
	for entry in $SET; do
		n=${entry%%:*}
		issuer=${entry#*:}
		[ "$issuer" = self ] && issuer=$n
		[ -s "$1/$n.crt" ] && [ -s "$1/$n.key" ] || return 1
		openssl x509 -in "$1/$n.crt" -noout -checkend "$MIN_LEFT" >/dev/null 2>&1 || return 1
		[ "$(cert_pub "$1/$n.crt")" = "$(key_pub "$1/$n.key")" ] || return 1
		openssl verify -CAfile "$1/$issuer.crt" "$1/$n.crt" >/dev/null 2>&1 || return 1
	done
	for n in $PINS; do
		[ -s "$1/$n.pin" ] || return 1
		[ "$(cat "$1/$n.pin")" = "$(spki_pin "$1/$n.crt")" ] || return 1
	done
}

if [ -d "$out" ] && set_is_whole "$out"; then
	echo "gen.sh: $out: development PKI is complete and valid, left as is"
	exit 0
fi

mkdir -p "$out"
tmp=$(mktemp -d "$out/.gen.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM HUP
umask 077

# One config for every `openssl req` and `openssl x509` call, so the result does not depend on
# the system openssl.cnf (Debian's adds extensions of its own to self-signed certificates).
cat >"$tmp/openssl.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
[root]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EOF

newkey() {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/$1.key" 2>/dev/null ||
		die "cannot make the key $1.key"
}

# root NAME "SUBJECT CN"
root() {
	newkey "$1"
	openssl req -new -x509 -config "$tmp/openssl.cnf" -extensions root -key "$tmp/$1.key" \
		-subj "/CN=$2" -days "$DAYS" -sha256 -out "$tmp/$1.crt" || die "cannot make $1.crt"
}

# leaf NAME ISSUER "SUBJECT CN" EXTENDED-KEY-USAGE SUBJECT-ALT-NAMES
leaf() {
	newkey "$1"
	openssl req -new -config "$tmp/openssl.cnf" -key "$tmp/$1.key" -subj "/CN=$3" \
		-out "$tmp/$1.csr" || die "cannot make the request for $1.crt"
	cat >"$tmp/$1.ext" <<EOF
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = $4
subjectAltName = $5
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
	# A random 128-bit serial: two runs must never issue two certificates with one serial.
	openssl x509 -req -in "$tmp/$1.csr" -CA "$tmp/$2.crt" -CAkey "$tmp/$2.key" \
		-set_serial "0x$(openssl rand -hex 16)" -days "$DAYS" -sha256 \
		-extfile "$tmp/$1.ext" -out "$tmp/$1.crt" 2>/dev/null || die "cannot sign $1.crt"
}

root ca "lienthong dev CA"
leaf gateway ca localhost serverAuth "DNS:localhost, IP:127.0.0.1"
leaf gw-client ca lienthong-gateway clientAuth "DNS:lienthong-gateway"
leaf city ca hanoi-dossier-system clientAuth "DNS:hanoi-dossier-system"
leaf other-client ca some-other-system clientAuth "DNS:some-other-system"
leaf sandbox ca localhost serverAuth "DNS:localhost, IP:127.0.0.1"
leaf other-sandbox ca localhost serverAuth "DNS:localhost, IP:127.0.0.1"
# The payment platforms that call the gateway back (tests/sandbox/bank.py).
leaf bank ca vnpay-ipn clientAuth "DNS:vnpay-ipn"
leaf momo ca momo-ipn clientAuth "DNS:momo-ipn"
leaf keypay ca keypay-ipn clientAuth "DNS:keypay-ipn"

root rogue-ca "rogue CA"
leaf rogue-client rogue-ca hanoi-dossier-system clientAuth "DNS:hanoi-dossier-system"
leaf rogue-sandbox rogue-ca localhost serverAuth "DNS:localhost, IP:127.0.0.1"

for n in $PINS; do
	spki_pin "$tmp/$n.crt" >"$tmp/$n.pin"
done

set_is_whole "$tmp" || die "the new set does not verify (openssl $(openssl version))"

for entry in $SET; do
	n=${entry%%:*}
	chmod 600 "$tmp/$n.key"
	chmod 644 "$tmp/$n.crt"
	mv -f "$tmp/$n.key" "$tmp/$n.crt" "$out/"
done
for n in $PINS; do
	chmod 644 "$tmp/$n.pin"
	mv -f "$tmp/$n.pin" "$out/"
done
echo "gen.sh: $out: new development PKI, valid $DAYS days"
