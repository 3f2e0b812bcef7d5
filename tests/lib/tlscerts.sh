#!/bin/sh
# tlscerts.sh DIR: a test CA and the certificates the TLS tests use, made with the openssl
# tool into DIR (which must exist). EC P-256 keys, so that it takes well under a second.
#
#   ca.crt ca.key                 the test CA
#   server.crt server.key         CN=localhost, SAN DNS:localhost IP:127.0.0.1, by ca
#   server2.crt server2.key       the same names, another key: the rotated certificate
#   server_expired.crt (server.key)  expired a day after it began, in 2020, by ca
#   client.crt client.key         CN=scraper, SAN DNS:scraper.example
#                                 email:scraper@example.com URI:spiffe://example/scraper
#   client_expired.crt (client.key)  expired, by ca
#   other_ca.crt other_ca.key     another CA
#   other_client.crt other_client.key  CN=scraper, same SANs, by other_ca
#   stranger.crt stranger.key     CN=stranger, SAN DNS:stranger.example, by ca
set -eu
dir=$1
cd "$dir"
mkdir -p newcerts
: > index.txt
echo 1000 > serial
cat > ca.cnf <<CNF
[ ca ]
default_ca = test
[ test ]
database = index.txt
new_certs_dir = newcerts
serial = serial
default_md = sha256
policy = any
copy_extensions = copy
unique_subject = no
[ any ]
commonName = supplied
CNF

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ca() { # ca NAME CN
    key "$1.key"
    openssl req -x509 -new -key "$1.key" -subj "/CN=$2" -days 30 -out "$1.crt"
}
leaf() { # leaf NAME KEY CA CN SAN [START END]
    openssl req -new -key "$2" -subj "/CN=$4" -addext "subjectAltName=$5" -out "$1.csr"
    if [ $# -ge 7 ]; then
        dates="-startdate $6 -enddate $7"
    else
        dates="-days 30"
    fi
    # shellcheck disable=SC2086
    openssl ca -config ca.cnf -batch -notext -cert "$3.crt" -keyfile "$3.key" -in "$1.csr" \
        -out "$1.crt" $dates 2>/dev/null
}

ca ca "ustatsd test CA"
ca other_ca "another test CA"
key server.key
key server2.key
key client.key
key other_client.key
key stranger.key
leaf server server.key ca localhost "DNS:localhost,IP:127.0.0.1"
leaf server2 server2.key ca localhost "DNS:localhost,IP:127.0.0.1"
leaf server_expired server.key ca localhost "DNS:localhost,IP:127.0.0.1" \
    20200101000000Z 20200102000000Z
sans="DNS:scraper.example,email:scraper@example.com,URI:spiffe://example/scraper"
leaf client client.key ca scraper "$sans"
leaf client_expired client.key ca scraper "$sans" 20200101000000Z 20200102000000Z
leaf other_client other_client.key other_ca scraper "$sans"
leaf stranger stranger.key ca stranger "DNS:stranger.example"
