#!/usr/bin/env bash
# ctest fixture for the wine tests: a test PKI made with openssl and served
# by python3's http.server on 127.0.0.1.
#
#   http_fixture.sh start DIR   creates DIR (root CA, leaf certificates
#                               with CDP/AIA URLs on the server and Windows
#                               certificate template extensions, a CRL that
#                               revokes some), starts the server, writes
#                               DIR/port. good/revoked.cer are for the
#                               gtests, e2e-good/e2e-revoked.cer for the diag
#                               end-to-end test.
#   http_fixture.sh stop DIR    stops the server
set -euo pipefail
action=${1:?usage: $0 start|stop DIR}
dir=${2:?usage: $0 start|stop DIR}

if [ "$action" = stop ]; then
  if [ -f "$dir/server.pid" ]; then
    kill "$(cat "$dir/server.pid")" 2>/dev/null || true
    rm -f "$dir/server.pid"
  fi
  exit 0
fi

if [ -f "$dir/server.pid" ]; then kill "$(cat "$dir/server.pid")" 2>/dev/null || true; fi
rm -rf "$dir"
mkdir -p "$dir/www" "$dir/ca"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"

cd "$dir/ca"
: > index.txt
# Fresh serial numbers each run: revocation results are cached by issuer
# and serial number (wine keeps them in the prefix across runs).
openssl rand -hex 8 | sed 's/^./1/' > serial
echo 01 > crlnumber
cat > ca.cnf <<CNF
[ ca ]
default_ca = test
[ test ]
database = index.txt
serial = serial
crlnumber = crlnumber
new_certs_dir = .
default_md = sha256
default_days = 30
default_crl_days = 7
policy = any
copy_extensions = none
[ any ]
commonName = supplied
[ leaf_v2 ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth,serverAuth
crlDistributionPoints = URI:$base/root.crl
authorityInfoAccess = caIssuers;URI:$base/root.crt
# certificateTemplate: SEQUENCE { templateID, majorVersion 100, minorVersion 4 }
1.3.6.1.4.1.311.21.7 = ASN1:SEQUENCE:template_v2
[ template_v2 ]
id = OID:1.3.6.1.4.1.311.21.8.1111.2222.3333.4444.5555.6666.77.88
major = INTEGER:100
minor = INTEGER:4
[ leaf_v1 ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
crlDistributionPoints = URI:$base/root.crl
# enrollCertTypeExtension: the v1 template name as a BMPString
1.3.6.1.4.1.311.20.2 = ASN1:BMPSTRING:Machine
[ crl_ext ]
authorityKeyIdentifier = keyid:always
CNF
openssl req -x509 -newkey rsa:2048 -nodes -days 60 -subj "/O=pkiwatch test/CN=pkiwatch Test Root" \
  -keyout root.key -out root.pem \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -addext "subjectKeyIdentifier=hash" 2>/dev/null
for leaf in good:leaf_v2 revoked:leaf_v1 e2e-good:leaf_v2 e2e-revoked:leaf_v1; do
  name=${leaf%%:*}
  ext=${leaf##*:}
  openssl req -newkey rsa:2048 -nodes -subj "/CN=pkiwatch-$name.test" -keyout "$name.key" \
    -out "$name.csr" 2>/dev/null
  openssl ca -batch -config ca.cnf -extensions "$ext" -cert root.pem -keyfile root.key \
    -in "$name.csr" -out "$name.pem" 2>/dev/null
  openssl x509 -in "$name.pem" -outform DER -out "../$name.cer"
done
for name in revoked e2e-revoked; do
  openssl ca -config ca.cnf -revoke "$name.pem" -cert root.pem -keyfile root.key 2>/dev/null
done
openssl ca -config ca.cnf -gencrl -crlexts crl_ext -cert root.pem -keyfile root.key \
  -out root.crl.pem 2>/dev/null
openssl crl -in root.crl.pem -outform DER -out ../www/root.crl
openssl x509 -in root.pem -outform DER -out ../www/root.crt
cp ../www/root.crt ../root.cer
printf 'hello from the pkiwatch wine tests\n' > ../www/hello.txt

cd "$dir"
# All descriptors away from ctest's pipes, or ctest waits for the server.
nohup python3 -m http.server "$port" --bind 127.0.0.1 --directory "$dir/www" \
  </dev/null >"$dir/server.log" 2>&1 &
echo $! > "$dir/server.pid"
for _ in $(seq 1 50); do
  if python3 -c "import urllib.request; urllib.request.urlopen('$base/hello.txt', timeout=1)" \
      2>/dev/null; then
    echo "$port" > "$dir/port"
    echo "test PKI served at $base from $dir/www"
    exit 0
  fi
  sleep 0.1
done
echo "http.server did not start; log:" >&2
cat "$dir/server.log" >&2
exit 1
