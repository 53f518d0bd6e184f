# Private Apache 2.4 + mod_php (prefork) for tests and the benchmark: own ServerRoot, port and
# pidfile under a temp dir; never the system instance.
#   apache_start DIR PORT WORKERS [KEEPALIVE]
#                                   DocumentRoot is DIR/www (AllowOverride All); the config file
#                                   peerdrop.config.php is found in DIR (the parent of the web root).
#                                   KEEPALIVE On|Off (default On). With prefork + mod_php an idle
#                                   keep-alive connection pins a worker, so the benchmark uses Off.
#                                   APACHE_TIMING_LOG=FILE logs each request's server time (%D, us).
#                                   APACHE_EXTRA_CONF=TEXT is appended to the server config.
#   apache_stop                     stops only the server this shell started
# Needs: apache2 libapache2-mod-php (Debian).

apache_start() {
  local dir="$1" port="$2" workers="$3" keepalive="${4:-On}"
  local mods=/usr/lib/apache2/modules
  local php_so
  php_so="$(ls "$mods"/libphp*.so 2>/dev/null | head -n1)"
  [ -n "$php_so" ] || { echo "apache_start: libapache2-mod-php is not installed" >&2; return 1; }
  local user=www-data
  id "$user" >/dev/null 2>&1 || user=nobody
  APACHE_CONF="$dir/httpd.conf"
  cat >"$APACHE_CONF" <<CONF
ServerRoot "$dir"
ServerName 127.0.0.1
Listen 127.0.0.1:$port
PidFile "$dir/httpd.pid"
ErrorLog "$dir/error.log"
LogLevel warn
LoadModule mpm_prefork_module $mods/mod_mpm_prefork.so
LoadModule authz_core_module $mods/mod_authz_core.so
LoadModule authz_host_module $mods/mod_authz_host.so
LoadModule access_compat_module $mods/mod_access_compat.so
LoadModule dir_module $mods/mod_dir.so
LoadModule mime_module $mods/mod_mime.so
LoadModule rewrite_module $mods/mod_rewrite.so
LoadModule setenvif_module $mods/mod_setenvif.so
LoadModule php_module $php_so
$( [ -n "${APACHE_TIMING_LOG:-}" ] && printf 'LogFormat "%%D %%>s" timing\nCustomLog "%s" timing\n' "$APACHE_TIMING_LOG" )
$( [ "$(id -u)" = "0" ] && printf 'User %s\nGroup %s\n' "$user" "$(id -gn "$user")" )
StartServers $workers
MinSpareServers 2
MaxSpareServers $workers
ServerLimit $workers
MaxRequestWorkers $workers
MaxConnectionsPerChild 0
ListenBacklog 511
KeepAlive $keepalive
KeepAliveTimeout 2
Timeout 60
TypesConfig /etc/mime.types
DocumentRoot "$dir/www"
DirectoryIndex index.html
<Directory />
  AllowOverride None
  Require all denied
</Directory>
<Directory "$dir/www">
  AllowOverride All
  Require all granted
</Directory>
# As in every distribution's stock apache2.conf.
<FilesMatch "^\.ht">
  Require all denied
</FilesMatch>
<FilesMatch "\.php$">
  SetHandler application/x-httpd-php
</FilesMatch>
php_admin_flag display_errors off
php_admin_flag log_errors on
php_admin_value error_log "$dir/php-error.log"
${APACHE_EXTRA_CONF:-}
CONF
  # setsid: on shutdown prefork signals its whole process group, which must not be the caller's.
  setsid apache2 -f "$APACHE_CONF" -DFOREGROUND >"$dir/stdout.log" 2>&1 &
  APACHE_PID=$!
}

apache_stop() {
  [ -n "${APACHE_PID:-}" ] || return 0
  # SIGTERM to the parent stops its children too (graceful-stop would wait for held polls).
  kill -TERM "$APACHE_PID" 2>/dev/null || true
  local i
  for i in $(seq 1 50); do kill -0 "$APACHE_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$APACHE_PID" 2>/dev/null || true
  APACHE_PID=
}
