<?php
declare(strict_types=1);

/** SQLite storage: schema versioning, journal modes, error mapping, the join race. */
final class StoreTest extends PeerDropTestCase
{
    private function data(): string
    {
        return $this->dir . '/data';
    }

    public function testFreshStoreHasSchemaAndWal(): void
    {
        $store = PeerDropStore::open($this->data());
        $this->assertSame(PeerDropStore::SCHEMA_VERSION, $store->schemaVersion());
        $this->assertSame('wal', strtolower((string)$store->pdo()->query('PRAGMA journal_mode')->fetchColumn()));
        $this->assertSame('wal', $store->journalMode());
        $this->assertSame(1500, (int)$store->pdo()->query('PRAGMA busy_timeout')->fetchColumn());
        $tables = $store->pdo()->query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")->fetchAll(PDO::FETCH_COLUMN);
        $this->assertSame(array('counters', 'messages', 'rate_limits', 'rooms'), $tables);
        $this->assertSame(0700, fileperms($this->data()) & 0777);
        $this->assertFileExists($this->data() . '/.htaccess');
    }

    public function testNoDdlWhenSchemaIsCurrent(): void
    {
        $store = PeerDropStore::open($this->data());
        // Sabotage: drop a table but keep user_version. If open() ran DDL per request it would recreate it.
        $store->pdo()->exec('DROP TABLE messages');
        $again = PeerDropStore::open($this->data());
        $n = (int)$again->pdo()->query("SELECT COUNT(*) FROM sqlite_master WHERE name = 'messages'")->fetchColumn();
        $this->assertSame(0, $n, 'open() only checks user_version when it is current');
    }

    public function testMigratesFromVersionZeroOnce(): void
    {
        mkdir($this->data(), 0700);
        $pdo = new PDO('sqlite:' . $this->data() . '/' . PeerDropStore::DB_FILE);
        $pdo->exec('CREATE TABLE unrelated (x INTEGER)');
        $this->assertSame(0, (int)$pdo->query('PRAGMA user_version')->fetchColumn());
        $store = PeerDropStore::open($this->data());
        $this->assertSame(PeerDropStore::SCHEMA_VERSION, $store->schemaVersion());
        $this->assertSame(1, (int)$pdo->query("SELECT COUNT(*) FROM sqlite_master WHERE name = 'rooms'")->fetchColumn());
    }

    public function testNewerSchemaIsRefused(): void
    {
        $store = PeerDropStore::open($this->data());
        $store->pdo()->exec('PRAGMA user_version = 99');
        $this->assertPeerDropError('storage_unavailable', function () {
            PeerDropStore::open($this->data());
        });
    }

    public function testTruncateJournalModeFromConfig(): void
    {
        $store = PeerDropStore::open($this->data(), 'truncate');
        $this->assertSame('truncate', strtolower((string)$store->pdo()->query('PRAGMA journal_mode')->fetchColumn()));
        $s = new PeerDropService($store, $this->config(array('journal_mode' => 'truncate')), $this->secret, function (): int {
            return $this->now;
        });
        list($a, $b) = $this->joinedRoom($s);
        $s->send($a, 1, 'offer', 'x');
        $this->assertSame('x', $s->poll($b, 0, 0)[1]['messages'][0]['data']);
    }

    public function testWalFallbackMarkerSwitchesToTruncate(): void
    {
        mkdir($this->data(), 0700);
        file_put_contents($this->data() . '/' . PeerDropStore::FALLBACK_MARKER, 'x');
        $store = PeerDropStore::open($this->data(), 'wal');
        $this->assertSame('truncate', $store->journalMode());
        $this->assertSame('truncate', strtolower((string)$store->pdo()->query('PRAGMA journal_mode')->fetchColumn()));
    }

    public function testBusyBecomes503WithRetryAfter(): void
    {
        $holder = PeerDropStore::open($this->data());
        $holder->pdo()->exec('BEGIN IMMEDIATE');
        try {
            $other = PeerDropStore::open($this->data(), 'wal', 100);
            $started = microtime(true);
            $e = $this->assertPeerDropError('storage_busy', function () use ($other) {
                $other->write(function (PDO $pdo) {
                    $pdo->exec("INSERT INTO rooms (room_key, created_at, expires_at) VALUES ('k', 1, 2)");
                });
            });
            $this->assertSame(503, $e->status());
            $this->assertSame('1', $e->headers()['Retry-After']);
            $this->assertLessThan(1.0, microtime(true) - $started, 'busy_timeout bounds the wait');
        } finally {
            $holder->pdo()->exec('ROLLBACK');
        }
    }

    public function testDiskFullBecomes507(): void
    {
        $store = PeerDropStore::open($this->data());
        $pages = (int)$store->pdo()->query('PRAGMA page_count')->fetchColumn();
        $store->pdo()->exec('PRAGMA max_page_count = ' . ($pages + 2));
        $s = new PeerDropService($store, $this->config(array('max_queue' => 100000, 'max_room_messages' => 100000)), $this->secret, function (): int {
            return $this->now;
        });
        list($a) = $this->joinedRoom($s);
        $e = $this->assertPeerDropError('storage_full', function () use ($s, $a) {
            for ($i = 1; $i < 1000; $i++) {
                $s->send($a, $i, 'sealed', str_repeat(chr(65 + $i % 26), 16000));
            }
        });
        $this->assertSame(507, $e->status());
        // The failed transaction was rolled back: the store is still usable for reads and small writes.
        $store->pdo()->exec('PRAGMA max_page_count = 1000000');
        $this->assertSame(200, $s->poll($a, 0, 0)[0]);
    }

    public function testUnknownPdoFailureIsInternalErrorWithoutDetails(): void
    {
        $e = PeerDropDbErrors::translate(new PDOException('no such table: /secret/path/x'));
        $this->assertSame('internal_error', $e->errorCode());
        $this->assertStringNotContainsString('/secret/path', json_encode($e->body()));
    }

    public function testJoinRaceIsDecidedInsideTheTransaction(): void
    {
        $config = $this->config();
        $clock = function (): int {
            return $this->now;
        };
        $s1 = new PeerDropService(PeerDropStore::open($this->data(), 'wal', 200), $config, $this->secret, $clock);
        $s2 = new PeerDropService(PeerDropStore::open($this->data(), 'wal', 200), $config, $this->secret, $clock);
        $room = self::room();
        $s1->create($room);
        // While joiner 1 holds the write transaction (as it does between its read and its update),
        // joiner 2 cannot even read-then-claim: it waits, then gets 503 storage_busy, not a second seat.
        $result = $s1->store()->write(function (PDO $pdo) use ($s1, $s2, $room) {
            $joined = $s1->join($room); // nested: runs inside this transaction
            $this->assertPeerDropError('storage_busy', function () use ($s2, $room) {
                $s2->join($room);
            });
            return $joined;
        });
        $this->assertSame(200, $result[0]);
        $this->assertPeerDropError('room_full', function () use ($s2, $room) {
            $s2->join($room);
        });
        $this->assertSame(1, (int)$s1->store()->pdo()->query("SELECT COUNT(*) FROM messages WHERE type = 'peer-joined'")->fetchColumn());
    }

    public function testConcurrentJoinersInSeparateProcessesExactlyOneWins(): void
    {
        $s = $this->service();
        $room = self::room();
        $s->create($room);
        $script = $this->dir . '/join.php';
        file_put_contents($script, '<?php
define("PEERDROP_LIBRARY", true);
require ' . var_export(realpath(__DIR__ . '/../../signal.php'), true) . ';
$config = PeerDropConfig::load(array(), ' . var_export($this->dir . '/www', true) . ', array("data_dir" => ' . var_export($this->data(), true) . '));
$s = new PeerDropService(PeerDropStore::open($config->dataDir, "wal", 5000), $config, "x-secret-for-race-test-0000", function () { return ' . $this->now . '; });
// Start together: spin until the go-file appears.
while (!file_exists(' . var_export($this->dir . '/go', true) . ')) { usleep(1000); }
try { list($st) = $s->join(' . var_export($room, true) . '); echo $st; }
catch (PeerDropError $e) { echo $e->errorCode(); }
');
        $procs = array();
        for ($i = 0; $i < 10; $i++) {
            $p = proc_open(array(PHP_BINARY, $script), array(1 => array('pipe', 'w'), 2 => array('pipe', 'w')), $pipes);
            $this->assertIsResource($p);
            $procs[] = array($p, $pipes);
        }
        usleep(300000);
        touch($this->dir . '/go');
        $results = array();
        foreach ($procs as $pp) {
            list($p, $pipes) = $pp;
            $results[] = trim((string)stream_get_contents($pipes[1])) . trim((string)stream_get_contents($pipes[2]));
            proc_close($p);
        }
        sort($results);
        $counts = array_count_values($results);
        $this->assertSame(1, isset($counts['200']) ? $counts['200'] : 0, 'exactly one joiner wins: ' . implode(',', $results));
        $this->assertSame(9, isset($counts['room_full']) ? $counts['room_full'] : 0, 'all others see room_full: ' . implode(',', $results));
        $this->assertSame(1, (int)$s->store()->pdo()->query("SELECT COUNT(*) FROM messages WHERE type = 'peer-joined'")->fetchColumn());
    }

    public function testWalIsCheckpointedAfterResponsesNotInsideThem(): void
    {
        $s = $this->service(array('max_queue' => 100000, 'max_room_messages' => 100000));
        $this->assertSame(0, (int)$s->store()->pdo()->query('PRAGMA wal_autocheckpoint')->fetchColumn(), 'no checkpoint during a request');
        list($a) = $this->joinedRoom($s);
        for ($i = 1; $i <= 40; $i++) {
            $s->send($a, $i, 'sealed', str_repeat('x', 16000));
        }
        $wal = $this->data() . '/' . PeerDropStore::DB_FILE . '-wal';
        $db = $this->data() . '/' . PeerDropStore::DB_FILE;
        clearstatcache();
        $this->assertGreaterThan(500000, filesize($wal), 'the WAL grew: nothing checkpointed it during the requests');
        touch($this->data() . '/' . PeerDropStore::CHECKPOINT_STAMP); // truncated just now
        $s->store()->checkpoint(1 << 30, 3600);
        clearstatcache();
        $this->assertLessThan(100000, filesize($db), 'below the threshold and within the interval nothing is copied');
        $s->store()->checkpoint(1024, 3600);
        clearstatcache();
        $this->assertGreaterThan(500000, filesize($db), 'above it the WAL is copied into the database (PASSIVE)');
        $this->assertGreaterThan(500000, filesize($wal), 'a passive checkpoint leaves the WAL file as it is');
        touch($this->data() . '/' . PeerDropStore::CHECKPOINT_STAMP, time() - 61);
        $s->store()->checkpoint(1 << 30, 60);
        clearstatcache();
        $this->assertSame(0, filesize($wal), 'once the interval has passed, the WAL is truncated');
        $this->assertGreaterThanOrEqual(time() - 5, filemtime($this->data() . '/' . PeerDropStore::CHECKPOINT_STAMP), 'and the stamp renewed');
    }

    public function testWipedPayloadsLeaveEveryFileAfterTheNextTruncation(): void
    {
        $s = $this->service();
        list($a, $b) = $this->joinedRoom($s);
        $marker = 'wiped-payload-' . bin2hex(random_bytes(8));
        $s->send($a, 1, 'sealed', $marker . str_repeat('y', 2000));
        $cursor = $s->poll($b, 0, 0)[1]['cursor'];
        $s->poll($b, $cursor, 0); // acknowledges: the payload is wiped from the database
        $found = function () use ($marker): array {
            $hits = array();
            foreach (glob($this->data() . '/*') as $f) {
                if (is_file($f) && strpos((string)file_get_contents($f), $marker) !== false) {
                    $hits[] = basename($f);
                }
            }
            return $hits;
        };
        $this->assertNotEmpty($found(), 'before a checkpoint the WAL still holds the payload');
        $s->store()->checkpoint(); // the after-response step, first run: no stamp yet
        $this->assertSame(array(), $found(), 'no file of the data dir holds the wiped payload');
    }

    public function testDatabaseFilesArePrivateWhateverTheUmask(): void
    {
        $old = umask(0022);
        try {
            $store = PeerDropStore::open($this->data());
            $s = new PeerDropService($store, $this->config(), $this->secret, function (): int {
                return $this->now;
            });
            $s->create(self::room());
        } finally {
            umask($old);
        }
        clearstatcache();
        foreach (array('', '-wal', '-shm') as $ext) {
            $f = $this->data() . '/' . PeerDropStore::DB_FILE . $ext;
            $this->assertFileExists($f);
            $this->assertSame(0600, fileperms($f) & 0777, basename($f) . ' is 0600');
        }
        // A database made readable by others (an older signal.php, a careless copy) is fixed on open.
        chmod($this->data() . '/' . PeerDropStore::DB_FILE, 0644);
        chmod($this->data() . '/' . PeerDropStore::DB_FILE . '-wal', 0644);
        PeerDropStore::open($this->data());
        clearstatcache();
        $this->assertSame(0600, fileperms($this->data() . '/' . PeerDropStore::DB_FILE) & 0777);
        $this->assertSame(0600, fileperms($this->data() . '/' . PeerDropStore::DB_FILE . '-wal') & 0777);
    }
}
