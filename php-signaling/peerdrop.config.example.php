<?php
// PeerDrop signaling configuration (example).
//
// Copy this file to "peerdrop.config.php" in the directory ABOVE your web root (the parent of
// the folder that holds signal.php), or anywhere and point the env var PEERDROP_CONFIG at it.
// Never put it inside the web root. Every key is optional; env vars override the file:
// PEERDROP_DATA_DIR, PEERDROP_SECRET, PEERDROP_PREVIOUS_SECRET, PEERDROP_MYSQL_PASSWORD,
// PEERDROP_METRICS_TOKEN, PEERDROP_TURN_SECRET. Then run:  php signal.php check
// Recipes (cPanel, Apache, nginx + PHP-FPM, MySQL, metrics): docs/operations/deploy-php.md
return array(
    // Where the SQLite database, the generated secret and the poll-slot lock files live.
    // Relative paths are relative to this file. Default: <parent of web root>/peerdrop-data
    // 'data_dir' => 'peerdrop-data',

    // HMAC key for peer tokens: 32+ random characters, e.g. from
    //   php -r "echo bin2hex(random_bytes(32)), PHP_EOL;"
    // Leave unset to have one generated into data_dir/secret.key (mode 0600) on first use.
    // 'secret' => '',

    // Key rotation: put the old secret here when you change 'secret'. Tokens signed with it stay
    // valid until they expire (ttl_room, 1 hour by default); then remove this line.
    // 'previous_secret' => '',

    // Storage: 'sqlite' (default; one file in data_dir) or 'mysql' (MySQL/MariaDB through PDO,
    // for several web servers). In MySQL mode data_dir still holds the held-poll slot files, and
    // an unset 'secret' is generated once into the <prefix>meta table and shared.
    // 'storage' => 'mysql',
    // 'mysql_dsn' => 'mysql:host=localhost;dbname=cpuser_peerdrop;charset=utf8mb4',
    // 'mysql_user' => 'cpuser_peerdrop',
    // 'mysql_password' => '',              // or env PEERDROP_MYSQL_PASSWORD
    // 'mysql_table_prefix' => 'peerdrop_',

    // Rate limit per client address (token bucket): requests per minute and burst size.
    // 0 per minute turns it off. Defaults 600 / 120.
    // 'rate_limit_per_minute' => 600,
    // 'rate_limit_burst' => 120,

    // Per-client quotas (counted per address, IPv6 per /64, by the rate limiter's salted key):
    // open rooms one client may hold, its creates per minute, its failed joins (room_not_found,
    // room_full, room_locked, room_expired) per 10 minutes. Over one: 429 quota_exceeded. 0 turns
    // one off. Defaults 16 / 30 / 20. What they mean against an attacker: docs/security.md section 4.
    // 'quota_rooms' => 16,
    // 'quota_creates_per_minute' => 30,
    // 'quota_failed_joins' => 20,

    // The most receivers a sender may ask for in one room ("receivers" on create; a link several
    // people open at once), 1 to 32. 1 allows rooms for one only. Default 32.
    // 'max_receivers' => 32,

    // Proxies/CDNs (IPs or CIDR ranges) whose X-Forwarded-For is believed. Empty (default):
    // X-Forwarded-For is ignored and REMOTE_ADDR is the client.
    // 'trusted_proxies' => array('10.0.0.0/8'),

    // Prometheus metrics at GET signal.php?metrics with "Authorization: Bearer <token>".
    // Unset (default): metrics are off (404). 16+ characters; or env PEERDROP_METRICS_TOKEN.
    // 'metrics_token' => '',

    // Web origins (scheme://host[:port], exact) allowed to call the endpoint cross-origin.
    // Empty (default): same-origin only. Never a wildcard; credentials are never allowed.
    // 'allowed_origins' => array('https://peerdrop.example.org'),

    // STUN/TURN servers handed to clients with their room (create and join answers). Default none:
    // a STUN/TURN server sees every user's public address, so there is none unless you choose one;
    // without any, transfers work only between devices on the same network (or with a public
    // address). A page's own iceServers option still wins. coturn setup: docs/operations/turn.md
    // 'stun_urls' => array('stun:turn.example.org:3478'),
    // 'turn_urls' => array('turn:turn.example.org:3478?transport=udp', 'turn:turn.example.org:3478?transport=tcp'),
    // coturn's static-auth-secret (use-auth-secret): credentials are minted from it per room, as
    // username "<expiry>:peerdrop", credential base64(HMAC-SHA1(secret, username)). Or env PEERDROP_TURN_SECRET.
    // 'turn_secret' => '',
    // Seconds a minted TURN credential is valid (60..86400). Default 86400.
    // 'turn_ttl' => 86400,

    // Held-poll slots: how many polls may wait for messages at once (each holds one PHP
    // worker for up to 25 s). Keep well below your host's entry-process limit (often 20).
    // 0 disables held polls: clients then short-poll. Default 4.
    // 'poll_slots' => 4,

    // Longest hold for a poll in seconds (0..25). Default 25.
    // 'max_wait' => 25,

    // Room lifetimes in seconds: an unjoined room, and any room in total. Defaults 600 / 3600.
    // 'ttl_unjoined' => 600,
    // 'ttl_room' => 3600,

    // Limits: undelivered messages per recipient, messages per room over its life, open rooms.
    // 'max_queue' => 256,
    // 'max_room_messages' => 1024,
    // 'max_rooms' => 5000,

    // Cap on the live data in bytes: unread message payloads plus 256 bytes per room and per
    // message row (not the file size, which never shrinks). New rooms and messages get 507
    // storage_quota_exceeded at it; space comes back as messages are read and rooms end or
    // expire. 0 = no cap. Default 256 MiB.
    // 'max_db_bytes' => 268435456,

    // Suggested delay (ms) before the next poll when a poll returned nothing and was not held.
    // 'poll_interval_ms' => 1000,

    // How often (ms) a held poll looks for new messages (10..1000). Lower answers faster and
    // costs one small database read per check. Default 50.
    // 'poll_check_ms' => 50,

    // SQLite: 'wal' (default; falls back to 'truncate' by itself if WAL is refused) or
    // 'truncate' (use on network filesystems such as NFS, where WAL is unsafe).
    // 'journal_mode' => 'wal',
    // 'busy_timeout_ms' => 1500,

    // Expired rooms deleted per request (bounded cleanup). Default 50.
    // 'cleanup_batch' => 50,

    // Tests only: lets the env var PEERDROP_TEST_NOW set the clock. Never in production
    // ("php signal.php check" fails while it is on).
    // 'test_mode' => false,
);
