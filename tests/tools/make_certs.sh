#!/usr/bin/env bash
# make_certs.sh DIR — create a throw-away PKI for the kube emulator (tests only).
#
# Creates in DIR:
#   ca.crt ca.key              test CA
#   server.crt server.key      server cert signed by ca (SAN DNS:localhost, IP:127.0.0.1)
#   client.crt client.key      client cert signed by ca (CN=system:node:test-node, O=system:nodes, clientAuth)
#   other-ca.crt other-ca.key  an unrelated CA ("wrong CA" tests)
#   token                      random bearer token (hex, no trailing newline)
# EC P-256 keys (PKCS#8 PEM). Idempotent: if every file exists and the certs verify, nothing changes;
# otherwise the whole set is regenerated. Silent on success; message + non-zero exit on failure.
set -euo pipefail

die() { echo "make_certs.sh: $*" >&2; exit 1; }

if [ $# -ne 1 ] || [ -z "$1" ]; then die "usage: make_certs.sh DIR"; fi
DIR=$1
command -v openssl >/dev/null 2>&1 || die "openssl not found in PATH"
mkdir -p "$DIR" || die "cannot create $DIR"

FILES=(ca.crt ca.key server.crt server.key client.crt client.key other-ca.crt other-ca.key token)

all_present() {
    local f
    for f in "${FILES[@]}"; do [ -s "$DIR/$f" ] || return 1; done
    openssl verify -CAfile "$DIR/ca.crt" "$DIR/server.crt" "$DIR/client.crt" >/dev/null 2>&1
}
if all_present; then exit 0; fi

TMP=$(mktemp -d "$DIR/.make_certs.XXXXXX") || die "mktemp failed in $DIR"
trap 'rm -rf "$TMP"' EXIT

# run CMD...: run quietly, on failure print the command and its output.
run() {
    local out
    out=$("$@" 2>&1) || die "failed: $*"$'\n'"$out"
}

cat >"$TMP/openssl.cnf" <<'EOF'
[ req ]
distinguished_name = dn
prompt             = no
[ dn ]
CN = unused
[ v3_ca ]
basicConstraints       = critical,CA:TRUE
keyUsage               = critical,keyCertSign,cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
[ v3_server ]
basicConstraints       = critical,CA:FALSE
keyUsage               = critical,digitalSignature
extendedKeyUsage       = serverAuth
subjectAltName         = DNS:localhost,IP:127.0.0.1
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid
[ v3_client ]
basicConstraints       = critical,CA:FALSE
keyUsage               = critical,digitalSignature
extendedKeyUsage       = clientAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid
EOF
export OPENSSL_CONF="$TMP/openssl.cnf"

genkey() { run openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$TMP/$1.key"; }

# make_ca NAME SUBJECT
make_ca() {
    genkey "$1"
    run openssl req -new -x509 -config "$TMP/openssl.cnf" -extensions v3_ca -days 3650 \
        -key "$TMP/$1.key" -subj "$2" -out "$TMP/$1.crt"
}

# make_leaf NAME SUBJECT EXTENSION_SECTION (signed by ca)
make_leaf() {
    genkey "$1"
    run openssl req -new -config "$TMP/openssl.cnf" -key "$TMP/$1.key" -subj "$2" -out "$TMP/$1.csr"
    run openssl x509 -req -in "$TMP/$1.csr" -CA "$TMP/ca.crt" -CAkey "$TMP/ca.key" \
        -set_serial "0x$(openssl rand -hex 16)" -days 3650 \
        -extfile "$TMP/openssl.cnf" -extensions "$3" -out "$TMP/$1.crt"
}

make_ca ca "/CN=iops-limit test CA"
make_ca other-ca "/CN=iops-limit unrelated test CA"
make_leaf server "/CN=localhost" v3_server
make_leaf client "/O=system:nodes/CN=system:node:test-node" v3_client
run openssl verify -CAfile "$TMP/ca.crt" "$TMP/server.crt" "$TMP/client.crt"

TOKEN=$(openssl rand -hex 32) || die "openssl rand failed"
printf '%s' "$TOKEN" >"$TMP/token"

chmod 600 "$TMP"/*.key "$TMP/token"
chmod 644 "$TMP"/*.crt
for f in "${FILES[@]}"; do
    mv -f "$TMP/$f" "$DIR/$f" || die "cannot move $f into $DIR"
done
