#!/bin/bash
# Starts a KRaft broker configured like the apache/kafka image: every KAFKA_FOO_BAR variable
# becomes the property foo.bar (`__` -> `_`, `___` -> `-`), log.dirs defaults to
# /var/lib/kafka/data and CLUSTER_ID to apache/kafka's default. Formats the storage on the first
# start, then runs kafka.Kafka in the foreground.
set -euo pipefail
config=/opt/kafka/config/server.properties
: >"$config"
while IFS='=' read -r name value; do
  case $name in
    KAFKA_HEAP_OPTS|KAFKA_JVM_PERFORMANCE_OPTS|KAFKA_OPTS|KAFKA_LOG4J_OPTS) continue ;;
    KAFKA_*) ;;
    *) continue ;;
  esac
  key=${name#KAFKA_}
  key=$(printf '%s' "$key" | tr '[:upper:]' '[:lower:]' | sed -e 's/___/-/g' -e 's/__/@/g' -e 's/_/./g' -e 's/@/_/g')
  printf '%s=%s\n' "$key" "$value" >>"$config"
done < <(env)
grep -q '^log\.dirs=' "$config" || echo "log.dirs=/var/lib/kafka/data" >>"$config"
data=$(sed -n 's/^log\.dirs=//p' "$config" | cut -d, -f1)
if [[ ! -f "$data/meta.properties" ]]; then
  java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp '/opt/kafka/libs/*' kafka.tools.StorageTool \
    format -t "${CLUSTER_ID:-5L6g3nShT-eMCtK--X86sw}" -c "$config" --ignore-formatted
fi
# shellcheck disable=SC2086  # the options are lists of words
exec java ${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m} ${KAFKA_JVM_PERFORMANCE_OPTS:--XX:+UseSerialGC -XX:TieredStopAtLevel=1} \
  ${KAFKA_OPTS:-} -Djava.awt.headless=true -cp '/opt/kafka/libs/*' kafka.Kafka "$config"
