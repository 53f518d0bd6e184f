<?php
/**
 * PeerDrop signaling endpoint, contract v1.
 *
 * One drop-in file for shared PHP hosting (PHP 7.4 - 8.4, pdo_sqlite).
 * No daemon, no WebSocket, no sessions, no streaming: short polls, plus
 * "held" polls only while one of a few poll slots is free.
 *
 * Operators: upload this file to your web root, then run
 *     php signal.php check
 * from a shell on the host. Configuration is described in docs/signaling.md
 * (env PEERDROP_DATA_DIR / PEERDROP_SECRET / PEERDROP_CONFIG, or a
 * peerdrop.config.php in the directory ABOVE the one holding this file).
 *
 * Layout of this file: classes first (unit-testable, no side effects when
 * included), then a guarded dispatch at the very bottom.
 */

declare(strict_types=1);

/** Error raised for every known fault: carries HTTP status, code and a user-facing sentence. */
final class PeerDropError extends RuntimeException
{
    /** code => [HTTP status, message a user can act on]. Messages never contain request data or paths. */
    const CATALOG = array(
        'method_not_allowed' => array(405, 'This endpoint accepts only GET (health check), POST (signaling) and OPTIONS.'),
        'unsupported_media_type' => array(415, 'Send the request body as JSON with the header Content-Type: application/json.'),
        'body_too_large' => array(413, 'The request body is larger than 64 KiB; send a smaller request.'),
        'empty_body' => array(400, 'The request body is empty; send a JSON object.'),
        'invalid_utf8' => array(400, 'The request body is not valid UTF-8 text.'),
        'invalid_json' => array(400, 'The request body is not valid JSON.'),
        'json_too_deep' => array(400, 'The JSON body is nested too deeply; send a flat JSON object.'),
        'not_an_object' => array(400, 'The request body must be a JSON object.'),
        'missing_field' => array(400, 'A required field is missing from the request.'),
        'invalid_field' => array(400, 'A field in the request has the wrong type.'),
        'unsupported_version' => array(400, 'This server speaks protocol version 1: send "v": 1, or update the app.'),
        'unknown_op' => array(400, 'Unknown operation: use create, join, send, poll or leave.'),
        'invalid_room' => array(400, 'The room id must be 22 to 64 base64url characters (A-Z, a-z, 0-9, "-" and "_").'),
        'invalid_seq' => array(400, 'seq must be an integer from 1 to 9007199254740991, one new number per message.'),
        'invalid_cursor' => array(400, 'after must be an integer of 0 or more: the last cursor you received, or 0.'),
        'invalid_wait' => array(400, 'wait must be a whole number of seconds from 0 to 25.'),
        'unknown_type' => array(422, 'Unknown message type: use offer, answer, candidate, bye or sealed.'),
        'message_too_large' => array(413, 'The message data is larger than 16 KiB; split it into smaller messages.'),
        'invalid_token' => array(401, 'The token is not valid for this server; create or join the room again.'),
        'token_expired' => array(410, 'Your token has expired; start a new transfer.'),
        'room_exists' => array(409, 'A room with this id is already open; join it, or create a new one with another code.'),
        'room_not_found' => array(404, 'No open room has this id; check the code, or ask the sender to start a new transfer.'),
        'room_full' => array(409, 'This room already has two peers; ask the sender for a new code.'),
        'room_expired' => array(410, 'This room has expired; ask the sender to start a new transfer.'),
        'room_closed' => array(410, 'This room no longer exists (it expired or both peers left); start a new transfer.'),
        'peer_left' => array(410, 'A peer has left this room, so this transfer is over; start a new transfer.'),
        'seq_conflict' => array(409, 'This seq was already used for a different message; use a new seq for each new message.'),
        'queue_full' => array(429, 'Too many messages are waiting for the other peer; wait for it to catch up, then retry.'),
        'room_message_limit' => array(429, 'This room has reached its message limit; start a new transfer.'),
        'origin_not_allowed' => array(403, 'This web origin is not allowed to use this signaling server.'),
        'server_full' => array(503, 'The server has too many open rooms right now; try again in a minute.'),
        'storage_busy' => array(503, 'The server is busy; retry in a moment.'),
        'storage_full' => array(507, 'The server has run out of storage space; try again later, or tell the site operator.'),
        'storage_unavailable' => array(503, 'The server cannot use its storage; the site operator should run "php signal.php check".'),
        'misconfigured' => array(503, 'The server is misconfigured; the site operator should run "php signal.php check".'),
        'internal_error' => array(500, 'Something went wrong on the server; try again, and tell the site operator if it keeps happening.'),
    );

    /** @var int */
    private $status;
    /** @var string */
    private $errorCode;
    /** @var array<string,string> */
    private $headers;

    /**
     * @param array<string,string> $headers
     */
    public function __construct(string $errorCode, ?string $message = null, array $headers = array(), ?Throwable $previous = null)
    {
        if (!isset(self::CATALOG[$errorCode])) {
            $errorCode = 'internal_error';
        }
        $entry = self::CATALOG[$errorCode];
        parent::__construct($message !== null ? $message : $entry[1], 0, $previous);
        $this->status = $entry[0];
        $this->errorCode = $errorCode;
        if (!isset($headers['Retry-After'])) {
            if ($errorCode === 'storage_busy') {
                $headers['Retry-After'] = '1';
            } elseif ($errorCode === 'queue_full') {
                $headers['Retry-After'] = '2';
            } elseif ($entry[0] === 503) {
                $headers['Retry-After'] = $errorCode === 'server_full' ? '60' : '30';
            }
        }
        $this->headers = $headers;
    }

    public function status(): int
    {
        return $this->status;
    }

    public function errorCode(): string
    {
        return $this->errorCode;
    }

    /** @return array<string,string> */
    public function headers(): array
    {
        return $this->headers;
    }

    /** @return array<string,mixed> */
    public function body(): array
    {
        return array('error' => array('code' => $this->errorCode, 'message' => $this->getMessage()));
    }
}

/** Raised by configuration loading; the message is for the operator (may name paths), never sent to clients. */
final class PeerDropConfigError extends RuntimeException
{
}

/** Small helpers shared by the rest of the file. */
final class PeerDrop
{
    const PROTOCOL = 1;
    const MAX_BODY = 65536;
    const MAX_DATA = 16384;
    const MAX_SEQ = 9007199254740991;
    const MAX_WAIT = 25;
    const JSON_DEPTH = 8;
    const POLL_BATCH = 100;
    const MESSAGE_TYPES = array('offer', 'answer', 'candidate', 'bye', 'sealed');
    const EXAMPLE_SECRETS = array('', 'change-me', 'changeme', 'change_me', 'secret', 'example', 'peerjs', 'password',
        'replace-me', 'replace-with-a-long-random-string', 'your-secret-here');

    public static function b64uEncode(string $bytes): string
    {
        return rtrim(strtr(base64_encode($bytes), '+/', '-_'), '=');
    }

    public static function b64uDecode(string $text): ?string
    {
        if (!preg_match('/^[A-Za-z0-9_-]*$/', $text) || strlen($text) % 4 === 1) {
            return null;
        }
        $padded = str_pad(strtr($text, '-_', '+/'), (int)(ceil(strlen($text) / 4) * 4), '=', STR_PAD_RIGHT);
        $out = base64_decode($padded, true);
        return $out === false ? null : $out;
    }

    public static function isValidRoom(string $room): bool
    {
        return (bool)preg_match('/^[A-Za-z0-9_-]{22,64}$/D', $room);
    }

    /** Rooms are stored only as a keyed hash of the client-chosen id. */
    public static function roomKey(string $room): string
    {
        return hash('sha256', 'peerdrop-room-v1|' . $room);
    }

    public static function isExampleSecret(string $secret): bool
    {
        return in_array(strtolower(trim($secret)), self::EXAMPLE_SECRETS, true);
    }

    /** True when $child is $parent or inside it. Symlinks are resolved; $child need not exist yet. */
    public static function isInside(string $child, string $parent): bool
    {
        $c = self::resolve($child);
        $p = rtrim(self::resolve($parent), '/\\');
        if ($c === '' || $p === '') {
            return false;
        }
        return $c === $p || strpos($c, $p . DIRECTORY_SEPARATOR) === 0;
    }

    /** realpath() of the nearest existing ancestor, plus the part that does not exist yet. */
    public static function resolve(string $path): string
    {
        $rest = '';
        $current = rtrim($path, '/\\');
        for ($i = 0; $i < 64 && $current !== ''; $i++) {
            $real = realpath($current);
            if ($real !== false) {
                return rtrim($real, '/\\') . $rest;
            }
            $parent = dirname($current);
            if ($parent === $current) {
                break;
            }
            $rest = DIRECTORY_SEPARATOR . basename($current) . $rest;
            $current = $parent;
        }
        return '';
    }
}

/** Effective configuration: env first, then the config file, then defaults. */
final class PeerDropConfig
{
    /** @var string */
    public $dataDir = '';
    /** @var string|null secret given by env/config; null means "use the generated file" */
    public $secret = null;
    /** @var string 'env' | 'config' | 'file' */
    public $secretSource = 'file';
    /** @var string[] exact origins allowed for CORS; empty = same-origin only */
    public $allowedOrigins = array();
    /** @var int */
    public $pollSlots = 4;
    /** @var int */
    public $maxWait = PeerDrop::MAX_WAIT;
    /** @var int */
    public $ttlUnjoined = 600;
    /** @var int */
    public $ttlRoom = 3600;
    /** @var int undelivered messages per recipient */
    public $maxQueue = 256;
    /** @var int messages per room over its whole life */
    public $maxRoomMessages = 1024;
    /** @var int */
    public $maxRooms = 5000;
    /** @var string 'wal' | 'truncate' */
    public $journalMode = 'wal';
    /** @var int */
    public $pollIntervalMs = 1000;
    /** @var int */
    public $busyTimeoutMs = 1500;
    /** @var int */
    public $cleanupBatch = 50;
    /** @var bool */
    public $testMode = false;
    /** @var string|null */
    public $testNow = null;
    /** @var string|null config file actually loaded */
    public $configFile = null;
    /** @var string directory holding signal.php */
    public $scriptDir = '';

    /**
     * @param array<string,string> $env environment (getenv() plus PEERDROP_* server vars)
     * @param array<string,mixed>|null $fileConfig config array to use instead of reading a file (tests)
     */
    public static function load(array $env, string $scriptDir, ?array $fileConfig = null): self
    {
        $c = new self();
        $c->scriptDir = $scriptDir;
        $file = array();
        if ($fileConfig !== null) {
            $file = $fileConfig;
        } else {
            $path = isset($env['PEERDROP_CONFIG']) && $env['PEERDROP_CONFIG'] !== '' ? $env['PEERDROP_CONFIG'] : null;
            $required = $path !== null;
            if ($path === null) {
                $path = dirname($scriptDir) . DIRECTORY_SEPARATOR . 'peerdrop.config.php';
            }
            if (is_file($path)) {
                $loaded = (static function (string $p) {
                    return include $p;
                })($path);
                if (!is_array($loaded)) {
                    throw new PeerDropConfigError('config file ' . $path . ' must "return array(...);"');
                }
                $file = $loaded;
                $c->configFile = $path;
            } elseif ($required) {
                throw new PeerDropConfigError('PEERDROP_CONFIG points to ' . $path . ', which is not a readable file');
            }
        }
        $known = array('data_dir', 'secret', 'allowed_origins', 'poll_slots', 'max_wait', 'ttl_unjoined', 'ttl_room',
            'max_queue', 'max_room_messages', 'max_rooms', 'journal_mode', 'poll_interval_ms', 'busy_timeout_ms',
            'cleanup_batch', 'test_mode');
        foreach ($file as $k => $unused) {
            if (!in_array($k, $known, true)) {
                throw new PeerDropConfigError('unknown config key "' . $k . '" (known: ' . implode(', ', $known) . ')');
            }
        }

        $baseDir = $c->configFile !== null ? dirname($c->configFile) : $scriptDir;
        if (isset($env['PEERDROP_DATA_DIR']) && $env['PEERDROP_DATA_DIR'] !== '') {
            $c->dataDir = self::absolute($env['PEERDROP_DATA_DIR'], $scriptDir);
        } elseif (isset($file['data_dir'])) {
            if (!is_string($file['data_dir']) || $file['data_dir'] === '') {
                throw new PeerDropConfigError('data_dir must be a non-empty string');
            }
            $c->dataDir = self::absolute($file['data_dir'], $baseDir);
        } else {
            $c->dataDir = dirname($scriptDir) . DIRECTORY_SEPARATOR . 'peerdrop-data';
        }

        if (isset($env['PEERDROP_SECRET']) && $env['PEERDROP_SECRET'] !== '') {
            $c->secret = $env['PEERDROP_SECRET'];
            $c->secretSource = 'env';
        } elseif (isset($file['secret']) && $file['secret'] !== '') {
            if (!is_string($file['secret'])) {
                throw new PeerDropConfigError('secret must be a string');
            }
            $c->secret = $file['secret'];
            $c->secretSource = 'config';
        }

        if (isset($file['allowed_origins'])) {
            if (!is_array($file['allowed_origins'])) {
                throw new PeerDropConfigError('allowed_origins must be a list of origins like "https://example.org"');
            }
            foreach ($file['allowed_origins'] as $o) {
                if (!is_string($o) || !preg_match('#^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$#D', $o)) {
                    throw new PeerDropConfigError('allowed_origins entries must be exact origins like "https://example.org" (no path, no trailing slash, no "*")');
                }
                $c->allowedOrigins[] = strtolower($o);
            }
        }

        $c->pollSlots = self::intOption($file, 'poll_slots', 4, 0, 64);
        $c->maxWait = self::intOption($file, 'max_wait', PeerDrop::MAX_WAIT, 0, PeerDrop::MAX_WAIT);
        $c->ttlUnjoined = self::intOption($file, 'ttl_unjoined', 600, 10, 86400);
        $c->ttlRoom = self::intOption($file, 'ttl_room', 3600, 10, 7 * 86400);
        if ($c->ttlUnjoined > $c->ttlRoom) {
            throw new PeerDropConfigError('ttl_unjoined must not exceed ttl_room');
        }
        $c->maxQueue = self::intOption($file, 'max_queue', 256, 1, 100000);
        $c->maxRoomMessages = self::intOption($file, 'max_room_messages', 1024, 1, 1000000);
        $c->maxRooms = self::intOption($file, 'max_rooms', 5000, 1, 10000000);
        $c->pollIntervalMs = self::intOption($file, 'poll_interval_ms', 1000, 100, 60000);
        $c->busyTimeoutMs = self::intOption($file, 'busy_timeout_ms', 1500, 100, 10000);
        $c->cleanupBatch = self::intOption($file, 'cleanup_batch', 50, 1, 1000);
        if (isset($file['journal_mode'])) {
            $jm = is_string($file['journal_mode']) ? strtolower($file['journal_mode']) : '';
            if ($jm !== 'wal' && $jm !== 'truncate') {
                throw new PeerDropConfigError('journal_mode must be "wal" or "truncate"');
            }
            $c->journalMode = $jm;
        }
        if (isset($file['test_mode'])) {
            if (!is_bool($file['test_mode'])) {
                throw new PeerDropConfigError('test_mode must be true or false');
            }
            $c->testMode = $file['test_mode'];
        }
        if ($c->testMode && isset($env['PEERDROP_TEST_NOW']) && $env['PEERDROP_TEST_NOW'] !== '') {
            if (!preg_match('/^[+-]?[0-9]{1,12}$/D', $env['PEERDROP_TEST_NOW'])) {
                throw new PeerDropConfigError('PEERDROP_TEST_NOW must be unix seconds, or +N / -N seconds from now');
            }
            $c->testNow = $env['PEERDROP_TEST_NOW'];
        }
        return $c;
    }

    /** The clock: real time, or (only with test_mode) PEERDROP_TEST_NOW, absolute or "+N"/"-N" offset. */
    public function clock(): callable
    {
        $t = $this->testNow;
        if ($t === null) {
            return static function (): int {
                return time();
            };
        }
        if ($t[0] === '+' || $t[0] === '-') {
            $offset = (int)$t;
            return static function () use ($offset): int {
                return time() + $offset;
            };
        }
        $fixed = (int)$t;
        return static function () use ($fixed): int {
            return $fixed;
        };
    }

    public function isOriginAllowed(string $origin): bool
    {
        return in_array(strtolower($origin), $this->allowedOrigins, true);
    }

    /** @param array<string,mixed> $file */
    private static function intOption(array $file, string $key, int $default, int $min, int $max): int
    {
        if (!isset($file[$key])) {
            return $default;
        }
        $v = $file[$key];
        if (!is_int($v) || $v < $min || $v > $max) {
            throw new PeerDropConfigError($key . ' must be an integer from ' . $min . ' to ' . $max);
        }
        return $v;
    }

    private static function absolute(string $path, string $base): string
    {
        if ($path[0] === '/' || $path[0] === '\\' || preg_match('#^[A-Za-z]:[\\\\/]#', $path)) {
            return $path;
        }
        return rtrim($base, '/\\') . DIRECTORY_SEPARATOR . $path;
    }
}

/** Data directory bootstrap and the token secret. */
final class PeerDropDataDir
{
    /** Create the data dir (0700) with deny-all guards, if missing. Throws PeerDropError on failure. */
    public static function ensure(string $dir): void
    {
        if (!is_dir($dir)) {
            if (!@mkdir($dir, 0700, true) && !is_dir($dir)) {
                throw new PeerDropError('storage_unavailable');
            }
            // Defence in depth in case an operator points the data dir into the web root.
            @file_put_contents($dir . '/.htaccess', "Require all denied\nDeny from all\n");
            @file_put_contents($dir . '/index.html', '');
        }
        if (!is_writable($dir)) {
            throw new PeerDropError('storage_unavailable');
        }
    }

    /** Secret bytes for token HMACs. */
    public static function secret(PeerDropConfig $config): string
    {
        if ($config->secret !== null) {
            if (strlen($config->secret) < 16 || PeerDrop::isExampleSecret($config->secret)) {
                throw new PeerDropError('misconfigured');
            }
            return $config->secret;
        }
        $path = $config->dataDir . '/secret.key';
        $existing = self::readSecretFile($path);
        if ($existing !== null) {
            return $existing;
        }
        self::ensure($config->dataDir);
        $hex = bin2hex(random_bytes(32));
        $tmp = $config->dataDir . '/secret.key.' . bin2hex(random_bytes(6)) . '.tmp';
        $old = umask(0077);
        try {
            $ok = @file_put_contents($tmp, $hex . "\n", LOCK_EX);
            if ($ok === false) {
                throw new PeerDropError('storage_unavailable');
            }
            @chmod($tmp, 0600);
            // link() fails if the target exists: the first writer wins, everyone reads the same secret.
            if (!@link($tmp, $path) && !is_file($path)) {
                @rename($tmp, $path);
            }
        } finally {
            umask($old);
            if (is_file($tmp)) {
                @unlink($tmp);
            }
        }
        $final = self::readSecretFile($path);
        if ($final === null) {
            throw new PeerDropError('storage_unavailable');
        }
        return $final;
    }

    private static function readSecretFile(string $path): ?string
    {
        if (!is_file($path)) {
            return null;
        }
        $raw = @file_get_contents($path);
        if (!is_string($raw)) {
            return null;
        }
        $raw = trim($raw);
        if (!preg_match('/^[0-9a-f]{64}$/D', $raw)) {
            return null;
        }
        return (string)hex2bin($raw);
    }
}

/** HMAC peer tokens: base64url(payload) "." base64url(HMAC-SHA256(secret, payload)). */
final class PeerDropToken
{
    public static function sign(string $secret, int $roomId, string $roomKey, int $peer, int $expires): string
    {
        $payload = PeerDrop::b64uEncode('1.' . $roomId . '.' . substr($roomKey, 0, 32) . '.' . $peer . '.' . $expires);
        return $payload . '.' . self::mac($secret, $payload);
    }

    /**
     * @return array{room_id:int,key:string,peer:int,exp:int}
     * @throws PeerDropError invalid_token (401) or token_expired (410)
     */
    public static function verify(string $secret, string $token, int $now): array
    {
        if (strlen($token) > 512 || !preg_match('/^([A-Za-z0-9_-]{1,256})\.([A-Za-z0-9_-]{43})$/D', $token, $m)) {
            throw new PeerDropError('invalid_token');
        }
        if (!hash_equals(self::mac($secret, $m[1]), $m[2])) {
            throw new PeerDropError('invalid_token');
        }
        $payload = PeerDrop::b64uDecode($m[1]);
        if ($payload === null || !preg_match('/^1\.([0-9]{1,18})\.([0-9a-f]{32})\.([01])\.([0-9]{1,12})$/D', $payload, $p)) {
            throw new PeerDropError('invalid_token');
        }
        $exp = (int)$p[4];
        if ($exp <= $now) {
            throw new PeerDropError('token_expired');
        }
        return array('room_id' => (int)$p[1], 'key' => $p[2], 'peer' => (int)$p[3], 'exp' => $exp);
    }

    private static function mac(string $secret, string $payloadB64): string
    {
        return PeerDrop::b64uEncode(hash_hmac('sha256', 'peerdrop-token-v1|' . $payloadB64, $secret, true));
    }
}

/** SQLite storage: one PDO connection, schema in PRAGMA user_version, BEGIN IMMEDIATE writes. */
final class PeerDropStore
{
    const SCHEMA_VERSION = 1;
    const DB_FILE = 'peerdrop.sqlite';
    const FALLBACK_MARKER = 'journal-fallback-truncate';

    /** version => statements that bring the schema from version-1 to version. */
    const MIGRATIONS = array(
        1 => array(
            'CREATE TABLE rooms (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                room_key TEXT NOT NULL UNIQUE,
                created_at INTEGER NOT NULL,
                joined_at INTEGER,
                expires_at INTEGER NOT NULL,
                left0 INTEGER NOT NULL DEFAULT 0,
                left1 INTEGER NOT NULL DEFAULT 0,
                msg_count INTEGER NOT NULL DEFAULT 0
            )',
            'CREATE INDEX rooms_expires ON rooms (expires_at)',
            'CREATE TABLE messages (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                room_id INTEGER NOT NULL,
                to_peer INTEGER NOT NULL,
                from_peer INTEGER NOT NULL,
                seq INTEGER,
                type TEXT NOT NULL,
                data TEXT NOT NULL,
                digest TEXT,
                acked INTEGER NOT NULL DEFAULT 0
            )',
            'CREATE UNIQUE INDEX messages_seq ON messages (room_id, from_peer, seq)',
            'CREATE INDEX messages_inbox ON messages (room_id, to_peer, acked, id)',
        ),
    );

    /** @var PDO */
    private $pdo;
    /** @var string */
    private $dir;
    /** @var string */
    private $journalMode;
    /** @var bool */
    private $inTx = false;

    private function __construct(PDO $pdo, string $dir, string $journalMode)
    {
        $this->pdo = $pdo;
        $this->dir = $dir;
        $this->journalMode = $journalMode;
    }

    /**
     * Open (creating/migrating on first use). Per request this costs the connection pragmas and
     * one "PRAGMA user_version" read; DDL runs only when user_version is behind.
     */
    public static function open(string $dir, string $journalMode = 'wal', int $busyTimeoutMs = 1500): self
    {
        if (!extension_loaded('pdo_sqlite')) {
            throw new PeerDropError('storage_unavailable');
        }
        PeerDropDataDir::ensure($dir);
        $effective = $journalMode;
        if ($journalMode === 'wal' && is_file($dir . '/' . self::FALLBACK_MARKER)) {
            $effective = 'truncate';
        }
        try {
            $pdo = new PDO('sqlite:' . $dir . '/' . self::DB_FILE, null, null, array(
                PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION,
                PDO::ATTR_DEFAULT_FETCH_MODE => PDO::FETCH_ASSOC,
                PDO::ATTR_TIMEOUT => max(1, (int)ceil($busyTimeoutMs / 1000)),
            ));
            // Connection-local settings only (no file I/O, no locks).
            $pdo->exec('PRAGMA busy_timeout = ' . $busyTimeoutMs);
            $pdo->exec('PRAGMA secure_delete = ON');
            $pdo->exec('PRAGMA synchronous = NORMAL');
            if ($effective === 'truncate') {
                // Rollback journal modes other than DELETE do not persist: set per connection.
                try {
                    $pdo->exec('PRAGMA journal_mode = TRUNCATE');
                } catch (PDOException $e) {
                    // A busy database keeps its current mode; correctness does not depend on it.
                }
            }
        } catch (PDOException $e) {
            throw self::mapException($e);
        }
        $store = new self($pdo, $dir, $effective);
        $store->ensureSchema();
        return $store;
    }

    public function pdo(): PDO
    {
        return $this->pdo;
    }

    public function journalMode(): string
    {
        return $this->journalMode;
    }

    public function schemaVersion(): int
    {
        try {
            return (int)$this->pdo->query('PRAGMA user_version')->fetchColumn();
        } catch (PDOException $e) {
            throw self::mapException($e);
        }
    }

    public function ensureSchema(): void
    {
        $v = $this->schemaVersion();
        if ($v === self::SCHEMA_VERSION) {
            return;
        }
        if ($v > self::SCHEMA_VERSION) {
            // Created by a newer signal.php: refuse rather than corrupt.
            throw new PeerDropError('storage_unavailable');
        }
        try {
            if ($this->journalMode === 'wal') {
                $mode = strtolower((string)$this->pdo->query('PRAGMA journal_mode = WAL')->fetchColumn());
                if ($mode !== 'wal') {
                    // WAL refused (e.g. no shared memory on this filesystem): remember and use TRUNCATE.
                    @file_put_contents($this->dir . '/' . self::FALLBACK_MARKER, "WAL was refused by SQLite on this filesystem\n");
                    $this->pdo->exec('PRAGMA journal_mode = TRUNCATE');
                    $this->journalMode = 'truncate';
                }
            }
        } catch (PDOException $e) {
            throw self::mapException($e);
        }
        $this->write(function (PDO $pdo) {
            $current = (int)$pdo->query('PRAGMA user_version')->fetchColumn();
            foreach (self::MIGRATIONS as $version => $statements) {
                if ($version <= $current) {
                    continue;
                }
                foreach ($statements as $sql) {
                    $pdo->exec($sql);
                }
                $pdo->exec('PRAGMA user_version = ' . (int)$version);
            }
            return null;
        });
    }

    /**
     * Run $fn inside BEGIN IMMEDIATE ... COMMIT (rolled back on any exception).
     * @return mixed whatever $fn returns
     */
    public function write(callable $fn)
    {
        if ($this->inTx) {
            return $fn($this->pdo);
        }
        try {
            $this->pdo->exec('BEGIN IMMEDIATE');
        } catch (PDOException $e) {
            throw self::mapException($e);
        }
        $this->inTx = true;
        try {
            $result = $fn($this->pdo);
            $this->pdo->exec('COMMIT');
            $this->inTx = false;
            return $result;
        } catch (Throwable $e) {
            $this->inTx = false;
            try {
                $this->pdo->exec('ROLLBACK');
            } catch (PDOException $ignored) {
                // SQLite may already have rolled back (e.g. SQLITE_FULL).
            }
            if ($e instanceof PDOException) {
                throw self::mapException($e);
            }
            throw $e;
        }
    }

    /**
     * Run a read query.
     * @param array<int|string,mixed> $params
     * @return array<int,array<string,mixed>>
     */
    public function select(string $sql, array $params = array()): array
    {
        try {
            $st = $this->pdo->prepare($sql);
            $st->execute($params);
            return $st->fetchAll(PDO::FETCH_ASSOC);
        } catch (PDOException $e) {
            throw self::mapException($e);
        }
    }

    /** Translate a PDO/SQLite failure into a known error; never a 500 for a known fault. */
    public static function mapException(Throwable $e): PeerDropError
    {
        if ($e instanceof PeerDropError) {
            return $e;
        }
        $code = 0;
        if ($e instanceof PDOException && is_array($e->errorInfo) && isset($e->errorInfo[1])) {
            $code = ((int)$e->errorInfo[1]) & 0xff;
        }
        $msg = strtolower($e->getMessage());
        if ($code === 5 || $code === 6 || strpos($msg, 'database is locked') !== false || strpos($msg, 'database table is locked') !== false) {
            return new PeerDropError('storage_busy', null, array(), $e);
        }
        if ($code === 13 || strpos($msg, 'disk is full') !== false || strpos($msg, 'disk full') !== false) {
            return new PeerDropError('storage_full', null, array(), $e);
        }
        if (in_array($code, array(8, 10, 11, 14, 23, 26), true) || strpos($msg, 'unable to open') !== false
            || strpos($msg, 'readonly') !== false || strpos($msg, 'disk i/o') !== false) {
            return new PeerDropError('storage_unavailable', null, array(), $e);
        }
        return new PeerDropError('internal_error', null, array(), $e);
    }
}

/** Held-poll slots: non-blocking flock on one of N files. No free slot = no held poll. */
final class PeerDropSlots
{
    /** @var string */
    private $dir;
    /** @var int */
    private $count;

    public function __construct(string $dir, int $count)
    {
        $this->dir = $dir;
        $this->count = $count;
    }

    /** @return resource|null a locked handle, or null when every slot is busy (or locking is unsupported) */
    public function acquire()
    {
        if ($this->count <= 0) {
            return null;
        }
        $start = random_int(0, $this->count - 1);
        for ($i = 0; $i < $this->count; $i++) {
            $n = ($start + $i) % $this->count;
            $fh = @fopen($this->dir . '/poll-slot-' . $n . '.lock', 'c');
            if ($fh === false) {
                continue;
            }
            $wouldBlock = 0;
            if (@flock($fh, LOCK_EX | LOCK_NB, $wouldBlock)) {
                return $fh;
            }
            fclose($fh);
        }
        return null;
    }

    /** @param resource $fh */
    public function release($fh): void
    {
        @flock($fh, LOCK_UN);
        @fclose($fh);
    }
}

/** The signaling operations, independent of HTTP. Every method returns [status, body]. */
final class PeerDropService
{
    /** @var PeerDropStore */
    private $store;
    /** @var PeerDropConfig */
    private $config;
    /** @var string */
    private $secret;
    /** @var callable(): int */
    private $clock;
    /** @var callable(int): void microseconds */
    private $sleep;
    /** @var callable(): float */
    private $monotonic;
    /** @var PeerDropSlots */
    private $slots;

    public function __construct(PeerDropStore $store, PeerDropConfig $config, string $secret, callable $clock,
                                ?PeerDropSlots $slots = null, ?callable $sleep = null, ?callable $monotonic = null)
    {
        $this->store = $store;
        $this->config = $config;
        $this->secret = $secret;
        $this->clock = $clock;
        $this->slots = $slots !== null ? $slots : new PeerDropSlots($config->dataDir, $config->pollSlots);
        $this->sleep = $sleep !== null ? $sleep : static function (int $us): void {
            usleep($us);
        };
        $this->monotonic = $monotonic !== null ? $monotonic : static function (): float {
            return microtime(true);
        };
    }

    public function now(): int
    {
        return (int)call_user_func($this->clock);
    }

    public function store(): PeerDropStore
    {
        return $this->store;
    }

    /** @return array{0:int,1:array<string,mixed>} */
    public function create(string $room): array
    {
        if (!PeerDrop::isValidRoom($room)) {
            throw new PeerDropError('invalid_room');
        }
        $now = $this->now();
        $key = PeerDrop::roomKey($room);
        $cfg = $this->config;
        $id = $this->store->write(function (PDO $pdo) use ($key, $now, $cfg) {
            $st = $pdo->prepare('SELECT id, expires_at FROM rooms WHERE room_key = ?');
            $st->execute(array($key));
            $row = $st->fetch(PDO::FETCH_ASSOC);
            if ($row !== false) {
                if ((int)$row['expires_at'] > $now) {
                    throw new PeerDropError('room_exists');
                }
                self::deleteRoom($pdo, (int)$row['id']);
            }
            $count = (int)$pdo->query('SELECT COUNT(*) FROM rooms')->fetchColumn();
            if ($count >= $cfg->maxRooms) {
                throw new PeerDropError('server_full');
            }
            $ins = $pdo->prepare('INSERT INTO rooms (room_key, created_at, expires_at) VALUES (?, ?, ?)');
            $ins->execute(array($key, $now, $now + $cfg->ttlUnjoined));
            return (int)$pdo->lastInsertId();
        });
        $token = PeerDropToken::sign($this->secret, $id, $key, 0, $now + $cfg->ttlRoom);
        return array(201, array('peer' => 0, 'token' => $token, 'cursor' => 0, 'expires_in' => $cfg->ttlUnjoined));
    }

    /** @return array{0:int,1:array<string,mixed>} */
    public function join(string $room): array
    {
        if (!PeerDrop::isValidRoom($room)) {
            throw new PeerDropError('invalid_room');
        }
        $now = $this->now();
        $key = PeerDrop::roomKey($room);
        $cfg = $this->config;
        // The whole check-and-claim runs under BEGIN IMMEDIATE: concurrent joiners are serialized,
        // and the conditional UPDATE makes the claim itself atomic as well.
        $row = $this->store->write(function (PDO $pdo) use ($key, $now, $cfg) {
            $st = $pdo->prepare('SELECT id, created_at, joined_at, expires_at, left0 FROM rooms WHERE room_key = ?');
            $st->execute(array($key));
            $row = $st->fetch(PDO::FETCH_ASSOC);
            if ($row === false) {
                throw new PeerDropError('room_not_found');
            }
            if ((int)$row['expires_at'] <= $now) {
                throw new PeerDropError('room_expired');
            }
            if ($row['joined_at'] !== null || (int)$row['left0'] === 1) {
                throw new PeerDropError('room_full');
            }
            $expires = (int)$row['created_at'] + $cfg->ttlRoom;
            $up = $pdo->prepare('UPDATE rooms SET joined_at = ?, expires_at = ? WHERE id = ? AND joined_at IS NULL');
            $up->execute(array($now, $expires, (int)$row['id']));
            if ($up->rowCount() !== 1) {
                throw new PeerDropError('room_full');
            }
            self::insertServerMessage($pdo, (int)$row['id'], 0, 1, 'peer-joined');
            return array('id' => (int)$row['id'], 'expires' => $expires);
        });
        $token = PeerDropToken::sign($this->secret, $row['id'], $key, 1, $row['expires']);
        return array(200, array('peer' => 1, 'token' => $token, 'cursor' => 0, 'expires_in' => max(0, $row['expires'] - $now)));
    }

    /** @return array{0:int,1:array<string,mixed>} */
    public function send(string $token, int $seq, string $type, string $data): array
    {
        if ($seq < 1 || $seq > PeerDrop::MAX_SEQ) {
            throw new PeerDropError('invalid_seq');
        }
        if (!in_array($type, PeerDrop::MESSAGE_TYPES, true)) {
            throw new PeerDropError('unknown_type');
        }
        if (strlen($data) > PeerDrop::MAX_DATA) {
            throw new PeerDropError('message_too_large');
        }
        $now = $this->now();
        $t = PeerDropToken::verify($this->secret, $token, $now);
        $cfg = $this->config;
        $digest = hash('sha256', $type . "\0" . $data);
        return $this->store->write(function (PDO $pdo) use ($t, $now, $seq, $type, $data, $digest, $cfg) {
            $room = self::loadRoom($pdo, $t, $now);
            $peer = $t['peer'];
            $other = 1 - $peer;
            $st = $pdo->prepare('SELECT id, digest FROM messages WHERE room_id = ? AND from_peer = ? AND seq = ?');
            $st->execute(array((int)$room['id'], $peer, $seq));
            $dup = $st->fetch(PDO::FETCH_ASSOC);
            if ($dup !== false) {
                if (!hash_equals((string)$dup['digest'], $digest)) {
                    throw new PeerDropError('seq_conflict');
                }
                return array(200, array('id' => (int)$dup['id']));
            }
            if ((int)$room['left' . $peer] === 1 || (int)$room['left' . $other] === 1) {
                throw new PeerDropError('peer_left');
            }
            if ((int)$room['msg_count'] >= $cfg->maxRoomMessages) {
                throw new PeerDropError('room_message_limit');
            }
            $q = $pdo->prepare('SELECT COUNT(*) FROM messages WHERE room_id = ? AND to_peer = ? AND acked = 0');
            $q->execute(array((int)$room['id'], $other));
            if ((int)$q->fetchColumn() >= $cfg->maxQueue) {
                throw new PeerDropError('queue_full');
            }
            $ins = $pdo->prepare('INSERT INTO messages (room_id, to_peer, from_peer, seq, type, data, digest) VALUES (?, ?, ?, ?, ?, ?, ?)');
            $ins->execute(array((int)$room['id'], $other, $peer, $seq, $type, $data, $digest));
            $id = (int)$pdo->lastInsertId();
            $pdo->prepare('UPDATE rooms SET msg_count = msg_count + 1 WHERE id = ?')->execute(array((int)$room['id']));
            return array(201, array('id' => $id));
        });
    }

    /** @return array{0:int,1:array<string,mixed>} */
    public function poll(string $token, int $after, int $wait): array
    {
        if ($after < 0 || $after > PeerDrop::MAX_SEQ) {
            throw new PeerDropError('invalid_cursor');
        }
        if ($wait < 0 || $wait > PeerDrop::MAX_WAIT) {
            throw new PeerDropError('invalid_wait');
        }
        $now = $this->now();
        $t = PeerDropToken::verify($this->secret, $token, $now);
        $rows = $this->store->select('SELECT * FROM rooms WHERE id = ?', array($t['room_id']));
        $room = self::checkRoom($rows ? $rows[0] : null, $t, $now);
        if ((int)$room['left' . $t['peer']] === 1) {
            throw new PeerDropError('peer_left');
        }
        $roomId = (int)$room['id'];
        $peer = $t['peer'];

        // "after" acknowledges everything up to it: wipe delivered payloads (write only when needed).
        if ($after > 0 && $this->store->select('SELECT 1 FROM messages WHERE room_id = ? AND to_peer = ? AND acked = 0 AND id <= ? LIMIT 1',
                array($roomId, $peer, $after))) {
            $this->store->write(function (PDO $pdo) use ($roomId, $peer, $after) {
                $pdo->prepare("UPDATE messages SET data = '', acked = 1 WHERE room_id = ? AND to_peer = ? AND acked = 0 AND id <= ?")
                    ->execute(array($roomId, $peer, $after));
                return null;
            });
        }

        $messages = $this->fetch($roomId, $peer, $after);
        $held = false;
        $wait = min($wait, $this->config->maxWait, max(0, (int)$room['expires_at'] - $now));
        if (!$messages && $wait > 0) {
            $slot = $this->slots->acquire();
            if ($slot !== null) {
                $held = true;
                try {
                    $deadline = call_user_func($this->monotonic) + $wait;
                    while (true) {
                        call_user_func($this->sleep, 150000);
                        $messages = $this->fetch($roomId, $peer, $after);
                        if ($messages || call_user_func($this->monotonic) >= $deadline) {
                            break;
                        }
                    }
                } finally {
                    $this->slots->release($slot);
                }
            }
        }
        $cursor = $after;
        foreach ($messages as $m) {
            $cursor = max($cursor, $m['id']);
        }
        if ($messages || $held) {
            $hint = 0;
        } else {
            $hint = $this->config->pollIntervalMs;
        }
        return array(200, array('messages' => $messages, 'cursor' => $cursor, 'poll_after_ms' => $hint));
    }

    /** @return array{0:int,1:array<string,mixed>} */
    public function leave(string $token): array
    {
        $now = $this->now();
        $t = PeerDropToken::verify($this->secret, $token, $now);
        $this->store->write(function (PDO $pdo) use ($t, $now) {
            $st = $pdo->prepare('SELECT * FROM rooms WHERE id = ?');
            $st->execute(array($t['room_id']));
            $room = $st->fetch(PDO::FETCH_ASSOC);
            if ($room === false || substr((string)$room['room_key'], 0, 32) !== $t['key']) {
                return null; // already gone: leaving is idempotent
            }
            $roomId = (int)$room['id'];
            $peer = $t['peer'];
            $other = 1 - $peer;
            if ((int)$room['left' . $peer] === 1) {
                return null;
            }
            $otherPresent = $other === 0
                ? (int)$room['left0'] === 0
                : ($room['joined_at'] !== null && (int)$room['left1'] === 0);
            if (!$otherPresent || (int)$room['expires_at'] <= $now) {
                self::deleteRoom($pdo, $roomId);
                return null;
            }
            $pdo->prepare('UPDATE rooms SET left' . $peer . ' = 1 WHERE id = ?')->execute(array($roomId));
            // Nothing more will be read by the leaver: drop its undelivered payloads now.
            $pdo->prepare("UPDATE messages SET data = '', acked = 1 WHERE room_id = ? AND to_peer = ? AND acked = 0")
                ->execute(array($roomId, $peer));
            self::insertServerMessage($pdo, $roomId, $other, $peer, 'peer-left');
            return null;
        });
        return array(200, array('ok' => true));
    }

    /** @return array{0:int,1:array<string,mixed>} */
    public function health(): array
    {
        // Proves the database accepts a write lock without writing anything.
        $this->store->write(function (PDO $pdo) {
            return null;
        });
        return array(200, array('ok' => true, 'version' => PeerDrop::PROTOCOL, 'schema' => $this->store->schemaVersion(), 'storage' => 'sqlite'));
    }

    /**
     * Delete expired rooms and their messages, a bounded batch per call (rooms <= batch, messages <= 10 x batch).
     * A room whose messages were not all deleted stays (still expired) for the next call.
     * @return int rooms deleted
     */
    public function cleanup(?int $now = null): int
    {
        $now = $now !== null ? $now : $this->now();
        $batch = $this->config->cleanupBatch;
        $ids = $this->store->select('SELECT id FROM rooms WHERE expires_at <= ? ORDER BY expires_at LIMIT ' . $batch, array($now));
        if (!$ids) {
            return 0;
        }
        $list = implode(',', array_map(static function (array $r): int {
            return (int)$r['id'];
        }, $ids));
        return (int)$this->store->write(function (PDO $pdo) use ($list, $batch, $now) {
            $pdo->exec('DELETE FROM messages WHERE id IN (SELECT id FROM messages WHERE room_id IN (' . $list . ') LIMIT ' . ($batch * 10) . ')');
            $st = $pdo->prepare('DELETE FROM rooms WHERE id IN (' . $list . ') AND expires_at <= ?'
                . ' AND NOT EXISTS (SELECT 1 FROM messages WHERE messages.room_id = rooms.id)');
            $st->execute(array($now));
            return $st->rowCount();
        });
    }

    /** @return array<int,array{id:int,type:string,data:string,seq:int}> */
    private function fetch(int $roomId, int $peer, int $after): array
    {
        $rows = $this->store->select('SELECT id, type, data, seq FROM messages WHERE room_id = ? AND to_peer = ? AND acked = 0 AND id > ? ORDER BY id LIMIT '
            . PeerDrop::POLL_BATCH, array($roomId, $peer, $after));
        $out = array();
        foreach ($rows as $r) {
            $out[] = array('id' => (int)$r['id'], 'type' => (string)$r['type'], 'data' => (string)$r['data'], 'seq' => (int)$r['seq']);
        }
        return $out;
    }

    /**
     * @param array{room_id:int,key:string,peer:int,exp:int} $t
     * @return array<string,mixed>
     */
    private static function loadRoom(PDO $pdo, array $t, int $now): array
    {
        $st = $pdo->prepare('SELECT * FROM rooms WHERE id = ?');
        $st->execute(array($t['room_id']));
        $row = $st->fetch(PDO::FETCH_ASSOC);
        return self::checkRoom($row === false ? null : $row, $t, $now);
    }

    /**
     * @param array<string,mixed>|null $row
     * @param array{room_id:int,key:string,peer:int,exp:int} $t
     * @return array<string,mixed>
     */
    private static function checkRoom(?array $row, array $t, int $now): array
    {
        if ($row === null || substr((string)$row['room_key'], 0, 32) !== $t['key']) {
            throw new PeerDropError('room_closed');
        }
        if ((int)$row['expires_at'] <= $now) {
            throw new PeerDropError('room_expired');
        }
        return $row;
    }

    private static function insertServerMessage(PDO $pdo, int $roomId, int $to, int $from, string $type): void
    {
        $pdo->prepare("INSERT INTO messages (room_id, to_peer, from_peer, seq, type, data) VALUES (?, ?, ?, NULL, ?, '')")
            ->execute(array($roomId, $to, $from, $type));
    }

    private static function deleteRoom(PDO $pdo, int $roomId): void
    {
        $pdo->prepare('DELETE FROM messages WHERE room_id = ?')->execute(array($roomId));
        $pdo->prepare('DELETE FROM rooms WHERE id = ?')->execute(array($roomId));
    }
}

/** A response: status, extra headers, JSON body. */
final class PeerDropResponse
{
    /** @var int */
    public $status;
    /** @var array<string,string> */
    public $headers;
    /** @var array<string,mixed> */
    public $body;

    /**
     * @param array<string,mixed> $body
     * @param array<string,string> $headers
     */
    public function __construct(int $status, array $body, array $headers = array())
    {
        $this->status = $status;
        $this->body = $body;
        $this->headers = $headers;
    }

    public function json(): string
    {
        $out = json_encode($this->body, JSON_UNESCAPED_SLASHES);
        return $out === false ? '{"error":{"code":"internal_error","message":"The response could not be encoded."}}' : $out;
    }
}

/** HTTP layer: method, media type, size limits, JSON parsing, field validation, CORS, headers. */
final class PeerDropHttp
{
    const ALLOW = 'GET, POST, OPTIONS';

    /** @var callable(): PeerDropConfig */
    private $configFactory;
    /** @var callable(PeerDropConfig): PeerDropService */
    private $serviceFactory;
    /** @var PeerDropConfig|null */
    private $config = null;
    /** @var PeerDropService|null */
    private $service = null;

    public function __construct(callable $configFactory, callable $serviceFactory)
    {
        $this->configFactory = $configFactory;
        $this->serviceFactory = $serviceFactory;
    }

    /**
     * @param array<string,string> $headers lower-case names: content-type, content-length, origin
     * @param callable(int): string $readBody reads at most N bytes of the request body
     */
    public function handle(string $method, array $headers, callable $readBody): PeerDropResponse
    {
        $cors = array();
        try {
            $config = $this->config();
            $origin = isset($headers['origin']) ? $headers['origin'] : null;
            if ($origin !== null && $config->allowedOrigins && $config->isOriginAllowed($origin)) {
                $cors = array('Access-Control-Allow-Origin' => $origin, 'Vary' => 'Origin',
                    'Access-Control-Expose-Headers' => 'Retry-After');
            } elseif ($config->allowedOrigins) {
                $cors = array('Vary' => 'Origin');
            }
            $method = strtoupper($method);
            if ($method === 'OPTIONS') {
                if ($origin !== null && !isset($cors['Access-Control-Allow-Origin'])) {
                    throw new PeerDropError('origin_not_allowed');
                }
                $extra = array('Allow' => self::ALLOW);
                if (isset($cors['Access-Control-Allow-Origin'])) {
                    $extra['Access-Control-Allow-Methods'] = self::ALLOW;
                    $extra['Access-Control-Allow-Headers'] = 'Content-Type';
                    $extra['Access-Control-Max-Age'] = '600';
                }
                $response = new PeerDropResponse(200, array('ok' => true), $extra);
            } elseif ($method === 'GET') {
                list($status, $body) = $this->service()->health();
                $response = new PeerDropResponse($status, $body);
            } elseif ($method === 'POST') {
                $response = $this->post($headers, $readBody);
            } else {
                throw new PeerDropError('method_not_allowed', null, array('Allow' => self::ALLOW));
            }
        } catch (Throwable $e) {
            $err = PeerDropStore::mapException($e);
            if ($err->errorCode() === 'internal_error') {
                $root = $err->getPrevious() !== null ? $err->getPrevious() : $e;
                if ($root instanceof PeerDropConfigError) {
                    $err = new PeerDropError('misconfigured', null, array(), $root);
                }
                // Details go to the server log only, never to the client.
                error_log('peerdrop: ' . get_class($root) . ': ' . $root->getMessage());
            }
            $response = new PeerDropResponse($err->status(), $err->body(), $err->headers());
        }
        $response->headers = array_merge(self::baseHeaders(), $cors, $response->headers);
        return $response;
    }

    /** Work to do after the response is sent (bounded expired-row cleanup). Never throws. */
    public function afterResponse(): void
    {
        if ($this->service === null) {
            return;
        }
        try {
            $this->service->cleanup();
        } catch (Throwable $e) {
            // Busy or full: the next request will try again.
        }
    }

    /** @return array<string,string> */
    public static function baseHeaders(): array
    {
        return array(
            'Content-Type' => 'application/json',
            'Cache-Control' => 'no-store',
            'Referrer-Policy' => 'no-referrer',
            'X-Content-Type-Options' => 'nosniff',
            'Content-Security-Policy' => "default-src 'none'; frame-ancestors 'none'",
        );
    }

    /**
     * Parse and validate a request body into an associative array of the top-level fields.
     * @return array<string,mixed>
     */
    public static function parseBody(string $raw): array
    {
        if ($raw === '') {
            throw new PeerDropError('empty_body');
        }
        if (strlen($raw) > PeerDrop::MAX_BODY) {
            throw new PeerDropError('body_too_large');
        }
        if (!preg_match('//u', $raw)) {
            throw new PeerDropError('invalid_utf8');
        }
        $decoded = json_decode($raw, false, PeerDrop::JSON_DEPTH);
        $err = json_last_error();
        if ($err === JSON_ERROR_DEPTH) {
            throw new PeerDropError('json_too_deep');
        }
        if ($err === JSON_ERROR_UTF8 || $err === JSON_ERROR_UTF16) {
            throw new PeerDropError('invalid_utf8');
        }
        if ($err !== JSON_ERROR_NONE) {
            throw new PeerDropError('invalid_json');
        }
        if (!($decoded instanceof stdClass)) {
            throw new PeerDropError('not_an_object');
        }
        return get_object_vars($decoded);
    }

    /**
     * Validate fields and run the operation.
     * @param array<string,mixed> $req
     * @return array{0:int,1:array<string,mixed>}
     */
    public static function dispatch(PeerDropService $service, array $req): array
    {
        if (!array_key_exists('v', $req)) {
            throw self::missing('v');
        }
        if (!is_int($req['v'])) {
            throw self::wrongType('v', 'the integer 1');
        }
        if ($req['v'] !== PeerDrop::PROTOCOL) {
            throw new PeerDropError('unsupported_version');
        }
        $op = self::field($req, 'op', 'string');
        switch ($op) {
            case 'create':
                return $service->create(self::field($req, 'room', 'string'));
            case 'join':
                return $service->join(self::field($req, 'room', 'string'));
            case 'send':
                $token = self::field($req, 'token', 'string');
                $seq = self::field($req, 'seq', 'int');
                $type = self::field($req, 'type', 'string');
                $data = self::field($req, 'data', 'string');
                return $service->send($token, $seq, $type, $data);
            case 'poll':
                $token = self::field($req, 'token', 'string');
                if (!array_key_exists('after', $req)) {
                    throw self::missing('after');
                }
                if (!is_int($req['after'])) {
                    throw new PeerDropError('invalid_cursor');
                }
                $wait = 0;
                if (array_key_exists('wait', $req) && $req['wait'] !== null) {
                    if (!is_int($req['wait'])) {
                        throw new PeerDropError('invalid_wait');
                    }
                    $wait = $req['wait'];
                }
                return $service->poll($token, $req['after'], $wait);
            case 'leave':
                return $service->leave(self::field($req, 'token', 'string'));
            default:
                throw new PeerDropError('unknown_op');
        }
    }

    /**
     * @param array<string,string> $headers
     * @param callable(int): string $readBody
     */
    private function post(array $headers, callable $readBody): PeerDropResponse
    {
        $type = isset($headers['content-type']) ? $headers['content-type'] : '';
        if (!self::isJsonMediaType($type)) {
            throw new PeerDropError('unsupported_media_type');
        }
        if (isset($headers['content-length']) && $headers['content-length'] !== '') {
            $len = trim($headers['content-length']);
            if (!ctype_digit($len)) {
                throw new PeerDropError('invalid_json');
            }
            if (strlen($len) > 12 || (int)$len > PeerDrop::MAX_BODY) {
                throw new PeerDropError('body_too_large');
            }
        }
        $raw = (string)call_user_func($readBody, PeerDrop::MAX_BODY + 1);
        $req = self::parseBody($raw);
        list($status, $body) = self::dispatch($this->service(), $req);
        return new PeerDropResponse($status, $body);
    }

    public static function isJsonMediaType(string $value): bool
    {
        $parts = explode(';', strtolower($value));
        if (trim($parts[0]) !== 'application/json') {
            return false;
        }
        for ($i = 1; $i < count($parts); $i++) {
            $kv = explode('=', $parts[$i], 2);
            if (trim($kv[0]) === 'charset' && isset($kv[1]) && trim(trim($kv[1]), '"') !== 'utf-8') {
                return false;
            }
        }
        return true;
    }

    /**
     * @param array<string,mixed> $req
     * @return mixed
     */
    private static function field(array $req, string $name, string $type)
    {
        if (!array_key_exists($name, $req)) {
            throw self::missing($name);
        }
        $v = $req[$name];
        if ($type === 'string' && !is_string($v)) {
            throw self::wrongType($name, 'a string');
        }
        if ($type === 'int' && !is_int($v)) {
            if ($name === 'seq') {
                throw new PeerDropError('invalid_seq');
            }
            throw self::wrongType($name, 'an integer');
        }
        return $v;
    }

    private static function missing(string $name): PeerDropError
    {
        return new PeerDropError('missing_field', 'The field "' . $name . '" is required for this request.');
    }

    private static function wrongType(string $name, string $expected): PeerDropError
    {
        return new PeerDropError('invalid_field', 'The field "' . $name . '" must be ' . $expected . '.');
    }

    private function config(): PeerDropConfig
    {
        if ($this->config === null) {
            $this->config = call_user_func($this->configFactory);
        }
        return $this->config;
    }

    private function service(): PeerDropService
    {
        if ($this->service === null) {
            $this->service = call_user_func($this->serviceFactory, $this->config());
        }
        return $this->service;
    }
}

/** Deployment check for "php signal.php check". */
final class PeerDropCheck
{
    /**
     * @param array<string,string> $env
     * @return array<int,array{0:string,1:string}> list of [level, message], level in ok|warn|fail
     */
    public static function run(array $env, string $scriptDir, string $phpVersion = PHP_VERSION, ?string $webRoot = null): array
    {
        $out = array();
        $out[] = version_compare($phpVersion, '7.4.0', '>=')
            ? array('ok', 'PHP ' . $phpVersion)
            : array('fail', 'PHP ' . $phpVersion . ' is too old: PeerDrop needs PHP 7.4 or newer');
        if (!extension_loaded('pdo_sqlite')) {
            $out[] = array('fail', 'the pdo_sqlite extension is missing: enable it in your hosting control panel (PHP extensions)');
            return $out;
        }
        $out[] = array('ok', 'pdo_sqlite is available');
        try {
            $config = PeerDropConfig::load($env, $scriptDir);
        } catch (Throwable $e) {
            $out[] = array('fail', 'configuration error: ' . $e->getMessage());
            return $out;
        }
        $out[] = array('ok', $config->configFile !== null ? 'config file: ' . $config->configFile : 'no config file (looked in ' . dirname($scriptDir) . '); using env and defaults');
        if ($config->testMode) {
            $out[] = array('fail', 'test_mode is enabled: it lets PEERDROP_TEST_NOW move the clock; remove it in production');
        }
        $dir = $config->dataDir;
        $roots = array($scriptDir);
        if ($webRoot !== null) {
            $roots[] = $webRoot;
        }
        foreach ($roots as $root) {
            if (PeerDrop::isInside($dir, $root)) {
                $out[] = array('fail', 'data dir ' . $dir . ' is inside ' . $root . ', which the web server serves: move it outside the web root (set data_dir or PEERDROP_DATA_DIR)');
                return $out;
            }
        }
        if ($webRoot === null && preg_match('#[/\\\\](public_html|htdocs|httpdocs|wwwroot|www|html|web|public)([/\\\\]|$)#i', PeerDrop::resolve($dir))) {
            $out[] = array('warn', 'data dir ' . $dir . ' has a web-root-like folder in its path: make sure it is not served (give the web root as "php signal.php check WEB_ROOT" to verify)');
        }
        try {
            PeerDropDataDir::ensure($dir);
        } catch (Throwable $e) {
            $out[] = array('fail', 'data dir ' . $dir . ' is not writable or cannot be created: create it (mode 0700) and make it writable by the PHP user');
            return $out;
        }
        $out[] = array('ok', 'data dir ' . $dir . ' is writable and outside ' . implode(' and ', $roots));
        if ($config->secret !== null) {
            $src = $config->secretSource === 'env' ? 'PEERDROP_SECRET' : 'the config "secret"';
            if (PeerDrop::isExampleSecret($config->secret)) {
                $out[] = array('fail', $src . ' is an example value: set a long random string (e.g. output of: php -r "echo bin2hex(random_bytes(32));")');
            } elseif (strlen($config->secret) < 32) {
                $out[] = array('fail', $src . ' is shorter than 32 characters: use a long random string');
            } else {
                $out[] = array('ok', 'secret from ' . $src);
            }
        } else {
            try {
                PeerDropDataDir::secret($config);
                $perms = @fileperms($dir . '/secret.key');
                if ($perms !== false && ($perms & 0077) !== 0) {
                    $out[] = array('warn', 'secret file ' . $dir . '/secret.key is readable by others: chmod 600 it');
                } else {
                    $out[] = array('ok', 'secret generated in ' . $dir . '/secret.key (mode 0600)');
                }
            } catch (Throwable $e) {
                $out[] = array('fail', 'cannot create the secret file in ' . $dir);
            }
        }
        if ($config->secret !== null && is_file($config->dataDir . '/secret.key')) {
            $out[] = array('warn', 'a generated secret.key exists but is ignored because a secret is configured');
        }
        try {
            $store = PeerDropStore::open($dir, $config->journalMode, $config->busyTimeoutMs);
            $store->write(function (PDO $pdo) {
                return null;
            });
            $out[] = array('ok', 'database ready: schema ' . $store->schemaVersion() . ', journal ' . $store->journalMode());
            if ($config->journalMode === 'wal' && $store->journalMode() !== 'wal') {
                $out[] = array('warn', 'SQLite refused WAL on this filesystem; using TRUNCATE journal (slower under load)');
            }
        } catch (Throwable $e) {
            $code = $e instanceof PeerDropError ? $e->errorCode() : 'error';
            $out[] = array('fail', 'database in ' . $dir . ' cannot be opened for writing (' . $code . ')');
        }
        $slots = new PeerDropSlots($dir, $config->pollSlots);
        if ($config->pollSlots > 0) {
            $fh = $slots->acquire();
            if ($fh === null) {
                $out[] = array('warn', 'could not lock a poll slot file (flock unsupported?): held polls will be disabled, clients short-poll');
            } else {
                $slots->release($fh);
                $out[] = array('ok', $config->pollSlots . ' held-poll slot(s); keep this well below your host\'s entry-process limit');
            }
        } else {
            $out[] = array('ok', 'held polls disabled (poll_slots = 0)');
        }
        $out[] = array('ok', 'CORS: ' . ($config->allowedOrigins ? 'allowed origins ' . implode(', ', $config->allowedOrigins) : 'same-origin only'));
        return $out;
    }
}

/** @return array<string,string> */
function peerdrop_env(): array
{
    $env = getenv();
    $env = is_array($env) ? $env : array();
    foreach (array('PEERDROP_CONFIG', 'PEERDROP_DATA_DIR', 'PEERDROP_SECRET', 'PEERDROP_TEST_NOW') as $k) {
        if (!isset($env[$k]) && isset($_SERVER[$k]) && is_string($_SERVER[$k])) {
            $env[$k] = $_SERVER[$k];
        } elseif (!isset($env[$k]) && isset($_SERVER['REDIRECT_' . $k]) && is_string($_SERVER['REDIRECT_' . $k])) {
            $env[$k] = $_SERVER['REDIRECT_' . $k];
        }
    }
    return $env;
}

/** Build the HTTP handler for this deployment. */
function peerdrop_http(array $env, string $scriptDir, ?string $documentRoot = null): PeerDropHttp
{
    return new PeerDropHttp(
        static function () use ($env, $scriptDir, $documentRoot): PeerDropConfig {
            $config = PeerDropConfig::load($env, $scriptDir);
            // Never serve the database: refuse a data dir inside the web server's document root.
            if ($documentRoot !== null && $documentRoot !== '' && PeerDrop::isInside($config->dataDir, $documentRoot)) {
                throw new PeerDropConfigError('data dir ' . $config->dataDir . ' is inside the document root ' . $documentRoot);
            }
            return $config;
        },
        static function (PeerDropConfig $config): PeerDropService {
            $secret = PeerDropDataDir::secret($config);
            $store = PeerDropStore::open($config->dataDir, $config->journalMode, $config->busyTimeoutMs);
            return new PeerDropService($store, $config, $secret, $config->clock());
        }
    );
}

/** Send a response (status, headers, JSON body). */
function peerdrop_emit(PeerDropResponse $response): void
{
    $body = $response->json();
    if (!headers_sent()) {
        if (function_exists('header_remove')) {
            header_remove('X-Powered-By');
        }
        http_response_code($response->status);
        foreach ($response->headers as $name => $value) {
            header($name . ': ' . $value);
        }
        header('Content-Length: ' . strlen($body));
    }
    echo $body;
}

function peerdrop_serve(): void
{
    @ini_set('display_errors', '0');
    @ini_set('html_errors', '0');
    if (function_exists('set_time_limit')) {
        // A held poll lasts up to 25 s plus queries; sleeping does not count on Linux, but be safe.
        @set_time_limit(60);
    }
    $GLOBALS['peerdrop_done'] = false;
    set_error_handler(static function (int $severity, string $message, string $file = '', int $line = 0): bool {
        if (!(error_reporting() & $severity)) {
            return false;
        }
        throw new ErrorException($message, 0, $severity, $file, $line);
    });
    register_shutdown_function(static function (): void {
        if ($GLOBALS['peerdrop_done']) {
            return;
        }
        $err = error_get_last();
        if ($err !== null && !headers_sent()) {
            $e = new PeerDropError('internal_error');
            peerdrop_emit(new PeerDropResponse($e->status(), $e->body(), PeerDropHttp::baseHeaders()));
        }
    });
    $headers = array(
        'content-type' => isset($_SERVER['CONTENT_TYPE']) ? (string)$_SERVER['CONTENT_TYPE'] : (isset($_SERVER['HTTP_CONTENT_TYPE']) ? (string)$_SERVER['HTTP_CONTENT_TYPE'] : ''),
        'content-length' => isset($_SERVER['CONTENT_LENGTH']) ? (string)$_SERVER['CONTENT_LENGTH'] : '',
    );
    if (isset($_SERVER['HTTP_ORIGIN'])) {
        $headers['origin'] = (string)$_SERVER['HTTP_ORIGIN'];
    }
    $method = isset($_SERVER['REQUEST_METHOD']) ? (string)$_SERVER['REQUEST_METHOD'] : 'GET';
    $docRoot = isset($_SERVER['DOCUMENT_ROOT']) && is_string($_SERVER['DOCUMENT_ROOT']) ? $_SERVER['DOCUMENT_ROOT'] : null;
    $http = peerdrop_http(peerdrop_env(), __DIR__, $docRoot);
    $response = $http->handle($method, $headers, static function (int $max): string {
        $in = @fopen('php://input', 'rb');
        if ($in === false) {
            return '';
        }
        $data = '';
        while (!feof($in) && strlen($data) < $max) {
            $chunk = fread($in, min(8192, $max - strlen($data)));
            if ($chunk === false || $chunk === '') {
                break;
            }
            $data .= $chunk;
        }
        fclose($in);
        return $data;
    });
    peerdrop_emit($response);
    $GLOBALS['peerdrop_done'] = true;
    if (function_exists('fastcgi_finish_request')) {
        @fastcgi_finish_request();
    }
    $http->afterResponse();
}

/** @param string[] $argv */
function peerdrop_cli(array $argv): int
{
    $cmd = isset($argv[1]) ? $argv[1] : 'help';
    if ($cmd === 'check') {
        $webRoot = isset($argv[2]) && $argv[2] !== '' ? $argv[2] : null;
        if ($webRoot !== null && !is_dir($webRoot)) {
            fwrite(STDERR, "usage: php signal.php check [WEB_ROOT]  (WEB_ROOT must be an existing directory)\n");
            return 2;
        }
        $results = PeerDropCheck::run(peerdrop_env(), __DIR__, PHP_VERSION, $webRoot);
        $failed = 0;
        foreach ($results as $r) {
            fwrite($r[0] === 'fail' ? STDERR : STDOUT, str_pad(strtoupper($r[0]), 5) . ' ' . $r[1] . "\n");
            if ($r[0] === 'fail') {
                $failed++;
            }
        }
        fwrite($failed ? STDERR : STDOUT, $failed ? $failed . " problem(s) found: fix them before going live.\n" : "All checks passed.\n");
        return $failed ? 1 : 0;
    }
    if ($cmd === 'purge') {
        try {
            $config = PeerDropConfig::load(peerdrop_env(), __DIR__);
            $store = PeerDropStore::open($config->dataDir, $config->journalMode, $config->busyTimeoutMs);
            $service = new PeerDropService($store, $config, PeerDropDataDir::secret($config), $config->clock());
            $total = 0;
            do {
                $n = $service->cleanup();
                $total += $n;
            } while ($n > 0);
            fwrite(STDOUT, 'Deleted ' . $total . " expired room(s).\n");
            return 0;
        } catch (Throwable $e) {
            fwrite(STDERR, 'purge failed: ' . $e->getMessage() . "\n");
            return 1;
        }
    }
    fwrite(STDOUT, "PeerDrop signaling endpoint (protocol v1)\n"
        . "  php signal.php check [WEB_ROOT]   validate this deployment (exit 1 on problems)\n"
        . "  php signal.php purge              delete all expired rooms now (e.g. from cron)\n");
    return $cmd === 'help' || $cmd === '--help' || $cmd === '-h' ? 0 : 2;
}

// ---------------------------------------------------------------------------------------------
// Dispatch. Skipped when included as a library (PHPUnit defines PEERDROP_LIBRARY before including).
if (!defined('PEERDROP_LIBRARY')) {
    if (PHP_SAPI === 'cli' || PHP_SAPI === 'phpdbg') {
        if (isset($_SERVER['SCRIPT_FILENAME']) && realpath((string)$_SERVER['SCRIPT_FILENAME']) === __FILE__) {
            exit(peerdrop_cli(isset($_SERVER['argv']) && is_array($_SERVER['argv']) ? $_SERVER['argv'] : array()));
        }
    } else {
        peerdrop_serve();
    }
}
