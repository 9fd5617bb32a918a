#!/usr/bin/env bash
# A throwaway PostgreSQL 15 + PostGIS cluster on 127.0.0.1 for the shared store's tests, made
# from Debian's packages: initdb as the postgres user (through runuser when run as root), TLS
# with a test CA, and two factors for every network login (a SCRAM password and a client
# certificate whose CN is the user name: clientcert=verify-full). The superuser logs in only
# over the run folder's Unix socket (the tests' tamperer and crasher).
#   scripts/pg-store.sh start     start (or find running) and print KEY=VALUE lines
#   scripts/pg-store.sh crash     stop at once (pg_ctl -m immediate), as a power cut would
#   scripts/pg-store.sh stop
set -euo pipefail
cd "$(dirname "$0")/.."
RUN="${JINGWEI_PG_RUN:-${TMPDIR:-/tmp}/jingwei-pg-$(id -u)}"
STATE="$RUN/state.env"
BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
[ -x "$BIN/initdb" ] || { echo "pg-store: PostgreSQL's server is missing; run scripts/setup.sh" >&2; exit 1; }
# The test users: each gets a client certificate (the password is the name followed by -pw).
USERS="postgres admin1 auditor1 insp_east insp_west cmd_east cmd_west w1 w2 w3 w4 w5 w6 w7 w8 gw1"

mkdir -p "$(dirname "$RUN")"
exec 9>"$RUN.lock"
flock 9

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
running() { [ -f "$STATE" ] && as_pg "$BIN/pg_ctl" -D "$RUN/data" status >/dev/null 2>&1; }

case "${1:-start}" in
  stop)
    if [ -d "$RUN/data" ]; then as_pg "$BIN/pg_ctl" -D "$RUN/data" -m fast stop >/dev/null 2>&1 || true; fi
    rm -rf "$RUN" "$RUN.lock"; exit 0 ;;
  crash)
    as_pg "$BIN/pg_ctl" -D "$RUN/data" -m immediate stop >/dev/null; exit 0 ;;
  start) ;;
  *) echo "usage: $0 start|crash|stop" >&2; exit 2 ;;
esac
if running; then cat "$STATE"; exit 0; fi

if [ ! -f "$RUN/data/PG_VERSION" ]; then
  rm -rf "$RUN"; mkdir -p "$RUN/tls"
  # --- certificates: a CA, the server (localhost, 127.0.0.1), one client per user ---------
  ( cd "$RUN/tls"
    openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -days 30 \
      -subj "/CN=Jingwei test CA" -keyout ca.key -out ca.crt 2>/dev/null
    issue() { # name, subject, extensions
      openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -subj "$2" -keyout "$1.key" -out "$1.csr" 2>/dev/null
      printf '%s\n' "$3" > "$1.ext"
      openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 -extfile "$1.ext" -out "$1.crt" 2>/dev/null
      rm -f "$1.csr" "$1.ext"
    }
    issue server "/CN=localhost" "subjectAltName=DNS:localhost,IP:127.0.0.1"
    for u in $USERS; do issue "$u" "/CN=$u" "extendedKeyUsage=clientAuth"; done
    chmod 600 ./*.key )
  if [ "$(id -u)" = 0 ]; then chown -R postgres "$RUN"; chmod 755 "$RUN" "$RUN/tls"; chmod 644 "$RUN"/tls/*.key; chmod 600 "$RUN/tls/server.key"; fi
  as_pg "$BIN/initdb" -D "$RUN/data" -U postgres -E UTF8 --locale=C.UTF-8 -A reject >/dev/null
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  cat >> "$RUN/data/postgresql.conf" <<EOF
port = $PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$RUN'
ssl = on
ssl_cert_file = '$RUN/tls/server.crt'
ssl_key_file = '$RUN/tls/server.key'
ssl_ca_file = '$RUN/tls/ca.crt'
password_encryption = 'scram-sha-256'
max_connections = 60
fsync = on
synchronous_commit = on
EOF
  cat > "$RUN/data/pg_hba.conf" <<EOF
local   all  postgres                 trust
hostssl all  all       127.0.0.1/32   scram-sha-256 clientcert=verify-full
EOF
  echo "$PORT" > "$RUN/port"
fi
PORT=$(cat "$RUN/port")
as_pg "$BIN/pg_ctl" -D "$RUN/data" -l "$RUN/server.log" -w -t 60 start >/dev/null 9>&-
cat > "$STATE" <<EOF
PG_HOST=localhost
PG_HOSTADDR=127.0.0.1
PG_PORT=$PORT
PG_SOCKET=$RUN
PG_TLS=$RUN/tls
PG_LOG=$RUN/server.log
EOF
cat "$STATE"
