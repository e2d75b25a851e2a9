#!/usr/bin/env bash
# Makes a small demo/test PKI with openssl: an issuing CA and an empty CRL
# signed by it, valid for 7 days.
#
# usage: make-demo-pki.sh DIR ["/DC=example/DC=corp/CN=Demo Issuing CA"]
# writes DIR/ca.key, DIR/ca.pem, DIR/ca.crl (DER), DIR/ca.crl.pem
set -euo pipefail
dir=${1:?usage: $0 DIR [SUBJECT]}
subject=${2:-/DC=example/DC=corp/CN=Demo Issuing CA}
mkdir -p "$dir"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
  -subj "$subject" -keyout "$dir/ca.key" -out "$dir/ca.pem" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
: > "$dir/index.txt"
echo 01 > "$dir/crlnumber"
cat > "$dir/ca.cnf" <<CNF
[ ca ]
default_ca = demo
[ demo ]
database = $dir/index.txt
crlnumber = $dir/crlnumber
default_md = sha256
default_crl_days = 7
crl_extensions = crl_ext
[ crl_ext ]
authorityKeyIdentifier = keyid:always
CNF
openssl ca -config "$dir/ca.cnf" -gencrl -keyfile "$dir/ca.key" -cert "$dir/ca.pem" \
  -out "$dir/ca.crl.pem" 2>/dev/null
openssl crl -in "$dir/ca.crl.pem" -outform DER -out "$dir/ca.crl"
