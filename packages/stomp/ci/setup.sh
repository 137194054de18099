#!/usr/bin/env bash
# Installs what the @courier/stomp tests need: Debian's ActiveMQ Classic
# (5.17) and the two jars its JSON advisory transformation needs (xstream,
# jettison; the private test broker links them into its own lib/). The tests
# start and stop their own private brokers on free ports, so nothing is
# started here. Idempotent; exits non-zero with a reason on failure.
set -euo pipefail

need=()
[ -f /usr/share/activemq/bin/activemq.jar ] || need+=(activemq)
[ -f /usr/share/java/xstream.jar ] || need+=(libxstream-java)
[ -f /usr/share/java/jettison.jar ] || need+=(libjettison-java)
command -v java >/dev/null 2>&1 || need+=(default-jre-headless)

if [ ${#need[@]} -gt 0 ]; then
  echo "== installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -q --no-install-recommends "${need[@]}" >/tmp/courier-stomp-apt.log 2>&1; then
    apt-get update -q >>/tmp/courier-stomp-apt.log 2>&1 || true
    apt-get install -y -q --no-install-recommends "${need[@]}" >>/tmp/courier-stomp-apt.log 2>&1 || {
      echo "could not install ${need[*]} (see /tmp/courier-stomp-apt.log); the @courier/stomp tests need ActiveMQ" >&2
      tail -20 /tmp/courier-stomp-apt.log >&2
      exit 1
    }
  fi
fi

for f in /usr/share/activemq/bin/activemq.jar /usr/share/java/xstream.jar /usr/share/java/jettison.jar; do
  [ -f "$f" ] || { echo "missing $f after install" >&2; exit 1; }
done
command -v java >/dev/null 2>&1 || { echo "java is missing after install" >&2; exit 1; }
echo "== ActiveMQ $(unzip -p /usr/share/activemq/lib/activemq-broker.jar META-INF/MANIFEST.MF 2>/dev/null | sed -n 's/^Implementation-Version: //p' | tr -d '\r' || true) ready for @courier/stomp (tests start private brokers)"
