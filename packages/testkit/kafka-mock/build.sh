#!/usr/bin/env bash
# Builds the mock Kafka cluster launcher (mock-cluster.c) into bin/mock-cluster.
# Links the librdkafka that @confluentinc/kafka-javascript built for itself
# when it is there (the same version as the client, and a mock whose group
# join delay can be set to zero), otherwise Debian's librdkafka-dev.
# Idempotent: rebuilds only when the source or the library is newer.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
out="$here/bin/mock-cluster"
bundled="$root/node_modules/@confluentinc/kafka-javascript/build/deps"
if [[ -f "$bundled/include/librdkafka/rdkafka_mock.h" && -f "$bundled/librdkafka.so" ]]; then
  flags=(-I"$bundled/include" -L"$bundled" -Wl,-rpath,"$bundled" -lrdkafka)
  lib="$bundled/librdkafka.so"
elif [[ -f /usr/include/librdkafka/rdkafka_mock.h ]]; then
  flags=(-lrdkafka)
  lib=/usr/include/librdkafka/rdkafka_mock.h
else
  echo "kafka-mock: no librdkafka to build against; run packages/kafka/ci/setup.sh (installs librdkafka-dev)" >&2
  exit 1
fi
if [[ -x "$out" && "$out" -nt "$here/mock-cluster.c" && "$out" -nt "$lib" ]]; then exit 0; fi
mkdir -p "$here/bin"
tmp="$(mktemp "$here/bin/.mock-cluster.XXXXXX")"
cc -O2 -Wall -o "$tmp" "$here/mock-cluster.c" "${flags[@]}"
mv -f "$tmp" "$out"
echo "kafka-mock: built $out"
