#!/bin/bash
# make_ca.sh DIR — throwaway TLS material for tests (recipe: shared/reference/testinfra.md §5).
#   DIR/ca.pem, ca.key               test CA
#   DIR/server.pem, server.key       signed by ca.pem, SAN DNS:localhost, IP:127.0.0.1
#   DIR/other-ca.pem, other-ca.key   an unrelated CA (wrong-CA tests: trust this, talk to server.pem)
#   DIR/wronghost.pem, wronghost.key signed by ca.pem, SAN DNS:wrong-host.invalid only (wrong-host tests)
# Valid for 2 days.  Prints nothing on success; exits non-zero on any failure.
set -euo pipefail
dir=${1:?usage: make_ca.sh DIR}
mkdir -p "$dir"
cd "$dir"
q() { "$@" >/dev/null 2>&1 || { echo "make_ca.sh: failed: $*" >&2; "$@"; exit 1; }; }

mkca() { # name CN
	q openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$2" -keyout "$1.key" -out "$1.pem" \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
}
mkleaf() { # name CA SAN
	local first=${3%%,*}
	q openssl req -newkey rsa:2048 -nodes -subj "/CN=${first#*:}" -keyout "$1.key" -out "$1.csr"
	printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' "$3" >"$1.ext"
	q openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -days 2 \
		-extfile "$1.ext" -out "$1.pem"
	q openssl verify -CAfile "$2.pem" "$1.pem"
	rm -f "$1.csr" "$1.ext"
}

mkca ca "jobwatchd Test CA"
mkca other-ca "Unrelated Test CA"
mkleaf server ca "DNS:localhost,IP:127.0.0.1"
mkleaf wronghost ca "DNS:wrong-host.invalid"
chmod 644 ./*.key
