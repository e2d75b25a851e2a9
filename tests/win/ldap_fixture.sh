#!/usr/bin/env bash
# ctest fixture for the wine tests: an unprivileged OpenLDAP slapd on
# 127.0.0.1 standing in for an Active Directory domain controller - a
# throwaway slapd.conf and database in DIR, the core/cosine/inetorgperson
# schemas plus tests/win/ldap/ad-pki.schema, a RootDSE that publishes
# configurationNamingContext, and under CN=Enrollment Services,
# CN=Public Key Services,CN=Services,CN=Configuration,DC=pkiwatch,DC=test
# two enterprise CAs and a replication conflict copy of the first.
#
#   ldap_fixture.sh start DIR   creates DIR and starts the servers; writes
#                               DIR/port (slapd), DIR/stalled-port (accepts
#                               connections and never answers),
#                               DIR/closed-port (nothing listens) and the CA
#                               certificates DIR/ca1.cer, DIR/ca2.cer (DER)
#   ldap_fixture.sh stop DIR    stops the servers
# Both servers also stop by themselves after two hours.
set -euo pipefail
action=${1:?usage: $0 start|stop DIR}
dir=${2:?usage: $0 start|stop DIR}
here=$(cd "$(dirname "$0")" && pwd)
lifetime=7200

stop() {
  for pidfile in "$dir/slapd.pid" "$dir/stalled.pid"; do
    if [ -f "$pidfile" ]; then
      kill "$(cat "$pidfile")" 2>/dev/null || true
      rm -f "$pidfile"
    fi
  done
}

if [ "$action" = stop ]; then
  stop
  exit 0
fi
[ -d "$dir" ] && stop
rm -rf "$dir"
mkdir -p "$dir/db"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
slapd=$(command -v slapd || echo /usr/sbin/slapd)
slapadd=$(command -v slapadd || echo /usr/sbin/slapadd)
[ -x "$slapd" ] || { echo "slapd not installed (deploy/linux/install-build-deps.sh --windows)" >&2; exit 1; }

cd "$dir"
for n in 1 2; do
  openssl req -x509 -newkey rsa:2048 -nodes -days 60 -keyout "ca$n.key" \
    -subj "/O=pkiwatch test/CN=pkiwatch Issuing CA $n" -outform DER -out "ca$n.cer" 2>/dev/null
done

cat > rootdse.ldif <<'LDIF'
dn:
configurationNamingContext: CN=Configuration,DC=pkiwatch,DC=test
LDIF

cat > slapd.conf <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include $here/ldap/ad-pki.schema
pidfile $dir/slapd-own.pid
argsfile $dir/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
rootDSE $dir/rootdse.ldif
access to * by * read
database mdb
maxsize 16777216
suffix "DC=pkiwatch,DC=test"
rootdn "CN=admin,DC=pkiwatch,DC=test"
directory $dir/db
CONF

container="CN=Enrollment Services,CN=Public Key Services,CN=Services,CN=Configuration,DC=pkiwatch,DC=test"
conflict_guid=6d7c4e8a-2b1f-4a0e-9c3d-5e6f7a8b9c0d
{
  cat <<LDIF
dn: DC=pkiwatch,DC=test
objectClass: dcObject
objectClass: organization
dc: pkiwatch
o: pkiwatch test forest

dn: CN=Configuration,DC=pkiwatch,DC=test
objectClass: container
cn: Configuration

dn: CN=Services,CN=Configuration,DC=pkiwatch,DC=test
objectClass: container
cn: Services

dn: CN=Public Key Services,CN=Services,CN=Configuration,DC=pkiwatch,DC=test
objectClass: container
cn: Public Key Services

dn: $container
objectClass: container
cn: Enrollment Services

dn: CN=pkiwatch Issuing CA 1,$container
objectClass: pKIEnrollmentService
cn: pkiwatch Issuing CA 1
dNSHostName: ca1.pkiwatch.test
certificateTemplates: Machine
certificateTemplates: WebServer
certificateTemplates: pkiwatchComputer
flags: 10
cACertificate;binary:: $(base64 -w0 ca1.cer)

dn: CN=pkiwatch Issuing CA 2,$container
objectClass: pKIEnrollmentService
cn: pkiwatch Issuing CA 2
dNSHostName: ca2.pkiwatch.test
certificateTemplates: User
flags: 2
cACertificate;binary:: $(base64 -w0 ca2.cer)

LDIF
  # A replication conflict copy: AD appends "\nCNF:<objectGUID>" to the name.
  echo "dn: CN=pkiwatch Issuing CA 1\\0ACNF:$conflict_guid,$container"
  echo "objectClass: pKIEnrollmentService"
  echo "cn:: $(printf 'pkiwatch Issuing CA 1\nCNF:%s' "$conflict_guid" | base64 -w0)"
  echo "dNSHostName: ca1.pkiwatch.test"
  echo "certificateTemplates: Machine"
  echo "flags: 10"
} > data.ldif
"$slapadd" -q -f slapd.conf -l data.ldif

port=$(free_port)
# -d 0: stays in the foreground, so `timeout` bounds its life. All
# descriptors away from ctest's pipes, or ctest waits for the servers.
nohup timeout "$lifetime" "$slapd" -d 0 -f slapd.conf -h "ldap://127.0.0.1:$port/" \
  </dev/null >"$dir/slapd.log" 2>&1 &
echo $! > "$dir/slapd.pid"

# Accepts connections (the kernel completes the handshake) and never reads:
# an LDAP server that hangs.
nohup python3 - "$dir/stalled-port" "$lifetime" >"$dir/stalled.log" 2>&1 <<'PY' &
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(16)
s.settimeout(1)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
import os
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
held, end = [], time.time() + float(sys.argv[2])
while time.time() < end:
    try:
        held.append(s.accept()[0])
    except socket.timeout:
        pass
PY
echo $! > "$dir/stalled.pid"

# Nothing listens here: the port was free a moment ago and is closed again.
free_port > "$dir/closed-port"

for _ in $(seq 1 50); do
  if [ -f "$dir/stalled-port" ] && ldapsearch -x -LLL -o nettimeout=1 -H "ldap://127.0.0.1:$port" \
      -b "" -s base configurationNamingContext 2>/dev/null | grep -q '^configurationNamingContext:'; then
    echo "$port" > "$dir/port"
    echo "slapd at ldap://127.0.0.1:$port, stalled listener at port $(cat "$dir/stalled-port")"
    exit 0
  fi
  sleep 0.2
done
echo "slapd did not start; log:" >&2
cat "$dir/slapd.log" "$dir/stalled.log" >&2
stop
exit 1
