#!/usr/bin/env bash
# Prepares this machine for @courier/amqp10's tests, idempotently:
#  1. enables RabbitMQ's AMQP 1.0 plugin (RabbitMQ itself is shared: never
#     stopped or restarted here; enabling a plugin does not restart it);
#  2. installs Qpid Proton's C examples from Debian and builds their example
#     broker (broker.c) into $COURIER_PROTON_BROKER (default
#     /tmp/courier-amqp10/proton-broker), out of the git tree. The tests start
#     one private broker per test file on a free port; nothing is left running.
set -euo pipefail

BIN="${COURIER_PROTON_BROKER:-/tmp/courier-amqp10/proton-broker}"
RABBIT_HOST=127.0.0.1
RABBIT_PORT=5672

fail() {
  echo "amqp10 setup: $*" >&2
  exit 1
}

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# 1. RabbitMQ's AMQP 1.0 plugin.
command -v rabbitmq-plugins >/dev/null || fail "rabbitmq-plugins not found; install RabbitMQ (apt-get install rabbitmq-server) and start it on ${RABBIT_PORT}"
if ! as_root rabbitmq-plugins list -e -m 2>/dev/null | grep -qx rabbitmq_amqp1_0; then
  echo "amqp10 setup: enabling rabbitmq_amqp1_0"
  as_root rabbitmq-plugins enable rabbitmq_amqp1_0 >/dev/null || fail "rabbitmq-plugins enable rabbitmq_amqp1_0 failed; is RabbitMQ running?"
fi
for _ in $(seq 1 50); do
  if (exec 3<>"/dev/tcp/${RABBIT_HOST}/${RABBIT_PORT}") 2>/dev/null; then break; fi
  sleep 0.2
done
(exec 3<>"/dev/tcp/${RABBIT_HOST}/${RABBIT_PORT}") 2>/dev/null || fail "RabbitMQ does not listen on ${RABBIT_HOST}:${RABBIT_PORT}; start it (the tests do not start it)"

# 2. The Qpid Proton example broker, built from the Debian-shipped source.
EXAMPLES=/usr/share/proton/examples/c
find_source() { dpkg -L libqpid-proton11-dev-examples 2>/dev/null | grep -m1 '/c/broker\.c$' || true; }
SRC="$(find_source)"
if [ -z "$SRC" ] || ! dpkg -s libqpid-proton11-dev >/dev/null 2>&1 || ! command -v cc >/dev/null; then
  echo "amqp10 setup: installing Qpid Proton (libqpid-proton11-dev, libqpid-proton11-dev-examples) and a C compiler"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get install -y -q libqpid-proton11-dev libqpid-proton11-dev-examples gcc libc6-dev >/dev/null ||
    { as_root apt-get update -q >/dev/null && as_root apt-get install -y -q libqpid-proton11-dev libqpid-proton11-dev-examples gcc libc6-dev >/dev/null; } ||
    fail "could not install libqpid-proton11-dev-examples with apt-get"
  SRC="$(find_source)"
fi
[ -n "$SRC" ] || fail "broker.c not found in libqpid-proton11-dev-examples (looked under ${EXAMPLES})"
DIR="$(dirname "$SRC")"
if [ ! -x "$BIN" ] || [ "$SRC" -nt "$BIN" ]; then
  echo "amqp10 setup: building the Proton example broker into ${BIN}"
  mkdir -p "$(dirname "$BIN")"
  BUILD="$(mktemp -d)"
  trap 'rm -rf "$BUILD"' EXIT
  # Debian may ship the sources gzipped.
  for f in "$DIR"/*; do
    case "$f" in
    *.gz) gunzip -c "$f" >"$BUILD/$(basename "${f%.gz}")" ;;
    *) [ -f "$f" ] && cp "$f" "$BUILD/" ;;
    esac
  done
  cc -O2 -std=c99 -D_POSIX_C_SOURCE=200809L -o "$BIN.tmp" "$BUILD/broker.c" -lqpid-proton -lqpid-proton-proactor -lpthread 2>"$BUILD/cc.log" ||
    cc -O2 -o "$BIN.tmp" "$BUILD/broker.c" -lqpid-proton -lpthread 2>"$BUILD/cc.log" ||
    { cat "$BUILD/cc.log" >&2; fail "could not compile ${SRC}"; }
  mv "$BIN.tmp" "$BIN"
fi

# Prove it runs: start it on a free port, wait until it listens, stop it.
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 56720)"
"$BIN" 127.0.0.1 "$PORT" >/dev/null 2>&1 &
PID=$!
ok=0
for _ in $(seq 1 50); do
  if (exec 3<>"/dev/tcp/127.0.0.1/${PORT}") 2>/dev/null; then ok=1; break; fi
  sleep 0.1
done
kill "$PID" 2>/dev/null || true
wait "$PID" 2>/dev/null || true
[ "$ok" = 1 ] || fail "the Proton example broker at ${BIN} did not listen on 127.0.0.1:${PORT}"
echo "amqp10 setup: ok (RabbitMQ AMQP 1.0 on ${RABBIT_HOST}:${RABBIT_PORT}, Proton broker at ${BIN})"
