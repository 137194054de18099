#!/usr/bin/env bash
# Prepares this machine for @courier/kafka's tests. Idempotent.
#
# 1. Installs (apt-get) the libraries that @confluentinc/kafka-javascript
#    builds against: its prebuilt binary cannot be downloaded here, so
#    `npm ci` builds it from source, which needs CKJS_LINKING=dynamic in the
#    environment and these -dev packages installed BEFORE `npm ci`.
# 2. After `npm ci`: proves the client's native binding loads (rebuilding it
#    once if it does not), and builds the mock Kafka cluster launcher
#    (packages/testkit/kafka-mock) that the tests start.
#
# CI runs it twice:  bash packages/kafka/ci/setup.sh   (before npm ci)
#                    export CKJS_LINKING=dynamic; npm ci
#                    bash packages/kafka/ci/setup.sh   (after: binding + mock)
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
cd "$root"

packages=(librdkafka-dev libssl-dev zlib1g-dev libzstd-dev liblz4-dev libsasl2-dev libcurl4-openssl-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} > 0)); then
  echo "== kafka: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -qq "${missing[@]}" >/tmp/kafka-apt.log 2>&1; then
    apt-get update -qq >>/tmp/kafka-apt.log 2>&1
    apt-get install -y -qq "${missing[@]}" >>/tmp/kafka-apt.log 2>&1 || {
      echo "kafka: apt-get install ${missing[*]} failed; see /tmp/kafka-apt.log" >&2
      exit 1
    }
  fi
else
  echo "== kafka: build libraries present"
fi

client="$root/node_modules/@confluentinc/kafka-javascript"
if [[ ! -d "$client" ]]; then
  echo "== kafka: node_modules not installed yet; run: export CKJS_LINKING=dynamic; npm ci; then this script again"
  exit 0
fi

loads() { node -e "require('@confluentinc/kafka-javascript')" >/dev/null 2>&1; }
if ! loads; then
  echo "== kafka: native binding missing or broken; rebuilding from source (about 2 minutes)"
  CKJS_LINKING=dynamic npm rebuild @confluentinc/kafka-javascript >/tmp/kafka-rebuild.log 2>&1 || true
  if ! loads; then
    echo "kafka: @confluentinc/kafka-javascript's native binding does not load even after a rebuild; see /tmp/kafka-rebuild.log:" >&2
    node -e "require('@confluentinc/kafka-javascript')" 2>&1 | head -5 >&2 || true
    exit 1
  fi
fi
echo "== kafka: native binding loads (librdkafka $(node -p "require('@confluentinc/kafka-javascript').librdkafkaVersion"))"

bash "$root/packages/testkit/kafka-mock/build.sh"
# Prove the mock serves: it prints its bootstrap address and exits when stdin closes.
address="$("$root/packages/testkit/kafka-mock/bin/mock-cluster" </dev/null | head -1)"
if [[ ! "$address" =~ ^[0-9.]+:[0-9]+$ ]]; then
  echo "kafka: the mock cluster launcher did not start (printed: $address)" >&2
  exit 1
fi
echo "== kafka: mock cluster launcher works (it listened on $address)"
