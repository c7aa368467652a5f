#!/bin/bash
# Health check at the path apache/kafka has it: exit 0 when the broker at --bootstrap-server
# (HOST:PORT) answers an ApiVersions request. Speaks the protocol from bash (no JVM start every
# few seconds on a small machine).
set -u
server=localhost:9092
while [[ $# -gt 0 ]]; do
  case $1 in
    --bootstrap-server) server=$2; shift 2 ;;
    *) shift ;;
  esac
done
host=${server%:*} port=${server##*:}
exec 3<>"/dev/tcp/$host/$port" || exit 1
# size=15 | api_key=18 (ApiVersions) | version=0 | correlation_id=7 | client_id="probe"
printf '\x00\x00\x00\x0f\x00\x12\x00\x00\x00\x00\x00\x07\x00\x05probe' >&3
answer=$(timeout 5 head -c 10 <&3 | od -An -v -tx1 | tr -d ' \n')
# size (4 bytes) | correlation_id 7 | error_code 0
[[ ${#answer} -eq 20 && ${answer:8:12} == 000000070000 ]]
