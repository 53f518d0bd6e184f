# Private MariaDB for tests: own datadir, socket and port under a temp dir; never the system one.
# Source this file, then:  mariadb_start DIR   (sets MARIADB_PORT, MARIADB_SOCKET, MARIADB_PID)
#                          mariadb_stop        (stops only the server this shell started)
# Needs: mariadb-server (Debian: apt-get install -y mariadb-server). Runs as the current user;
# as root it runs mariadbd with --user=root (the datadir is private and temporary).

mariadb_start() {
  local dir="$1"
  MARIADB_DIR="$dir"
  MARIADB_SOCKET="$dir/mysqld.sock"
  MARIADB_PORT="$(php -r '$s = stream_socket_server("tcp://127.0.0.1:0"); $n = stream_socket_get_name($s, false); echo substr($n, strrpos($n, ":") + 1);')"
  mkdir -p "$dir/data" "$dir/tmp"
  local user_opt=()
  [ "$(id -u)" = "0" ] && user_opt=(--user=root)
  mariadb-install-db --no-defaults "${user_opt[@]}" --datadir="$dir/data" --auth-root-authentication-method=normal \
    --skip-test-db >"$dir/install.log" 2>&1 || { cat "$dir/install.log" >&2; return 1; }
  # Small buffers: this is a test server on a 2-core machine that others share.
  mariadbd --no-defaults "${user_opt[@]}" --datadir="$dir/data" --socket="$MARIADB_SOCKET" --port="$MARIADB_PORT" \
    --bind-address=127.0.0.1 --pid-file="$dir/mariadbd.pid" --tmpdir="$dir/tmp" --log-error="$dir/error.log" \
    --innodb-buffer-pool-size=32M --innodb-log-file-size=16M --skip-name-resolve --max-connections=200 \
    --innodb-flush-log-at-trx-commit=2 &
  MARIADB_PID=$!
  local i
  for i in $(seq 1 100); do
    if mariadb --no-defaults -S "$MARIADB_SOCKET" -uroot -e 'SELECT 1' >/dev/null 2>&1; then
      mariadb --no-defaults -S "$MARIADB_SOCKET" -uroot -e "CREATE DATABASE peerdrop CHARACTER SET utf8mb4;
        CREATE USER 'peerdrop'@'127.0.0.1' IDENTIFIED BY 'peerdrop-test-pw'; GRANT ALL ON peerdrop.* TO 'peerdrop'@'127.0.0.1';" \
        || return 1
      return 0
    fi
    kill -0 "$MARIADB_PID" 2>/dev/null || { cat "$dir/error.log" >&2; return 1; }
    sleep 0.2
  done
  echo "mariadb did not start; see $dir/error.log" >&2
  return 1
}

mariadb_stop() {
  [ -n "${MARIADB_PID:-}" ] || return 0
  kill -TERM "$MARIADB_PID" 2>/dev/null || true
  local i
  for i in $(seq 1 50); do kill -0 "$MARIADB_PID" 2>/dev/null || break; sleep 0.2; done
  kill -KILL "$MARIADB_PID" 2>/dev/null || true
  MARIADB_PID=
}
