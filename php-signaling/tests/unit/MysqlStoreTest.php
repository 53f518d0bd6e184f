<?php
declare(strict_types=1);

/**
 * The MySQL/MariaDB backend has the same semantics as SQLite. Runs only when PEERDROP_TEST_MYSQL_DSN,
 * PEERDROP_TEST_MYSQL_USER and PEERDROP_TEST_MYSQL_PASSWORD are set (tests/run.sh starts a private
 * MariaDB for it); otherwise every test is skipped, visibly.
 */
final class MysqlStoreTest extends PeerDropTestCase
{
    /** @var string */
    private $prefix;

    protected function setUp(): void
    {
        parent::setUp();
        if ((string)getenv('PEERDROP_TEST_MYSQL_DSN') === '') {
            $this->markTestSkipped('PEERDROP_TEST_MYSQL_DSN not set (tests/run.sh sets it when MariaDB is installed)');
        }
        // A fresh prefix per test: isolation without dropping the database.
        $this->prefix = 't' . bin2hex(random_bytes(4)) . '_';
    }

    protected function tearDown(): void
    {
        if ($this->prefix !== null) {
            try {
                $this->mysqlStore()->migrateTo(0);
                $this->mysqlStore()->pdo()->exec('DROP TABLE IF EXISTS ' . $this->prefix . 'meta');
            } catch (Throwable $e) {
                // best effort
            }
        }
        parent::tearDown();
    }

    private function file(array $extra = array()): array
    {
        return $extra + array('storage' => 'mysql', 'mysql_dsn' => (string)getenv('PEERDROP_TEST_MYSQL_DSN'),
            'mysql_user' => (string)getenv('PEERDROP_TEST_MYSQL_USER'), 'mysql_password' => (string)getenv('PEERDROP_TEST_MYSQL_PASSWORD'),
            'mysql_table_prefix' => $this->prefix);
    }

    private function mysqlStore(): PeerDropStore
    {
        return PeerDropStore::fromConfig($this->config($this->file()));
    }

    private function mysqlService(array $extra = array()): PeerDropService
    {
        $config = $this->config($this->file($extra));
        return new PeerDropService(PeerDropStore::fromConfig($config), $config, $this->secret, function (): int {
            return $this->now;
        });
    }

    public function testSchemaIsTrackedInTheMetaTableWithUpAndDown(): void
    {
        $s = $this->mysqlStore();
        $this->assertSame('mysql', $s->driver());
        $this->assertSame(PeerDropStore::SCHEMA_VERSION, $s->schemaVersion());
        $this->assertSame('4', $s->pdo()->query("SELECT value FROM {$this->prefix}meta WHERE name = 'schema_version'")->fetchColumn());
        $columns = function () use ($s): array {
            return $s->pdo()->query("SELECT column_name FROM information_schema.columns WHERE table_schema = DATABASE()"
                . " AND table_name = '{$this->prefix}rooms' ORDER BY ordinal_position")->fetchAll(PDO::FETCH_COLUMN);
        };
        $this->assertSame(array('creator', 'code', 'bytes', 'receivers', 'seats', 'closed', 'gone', 'dropped'), array_slice($columns(), -8));
        $this->assertSame(array(3), $s->migrateTo(3));
        $this->assertSame(array('creator', 'code', 'bytes'), array_slice($columns(), -3), 'version 4 down drops its columns');
        $this->assertSame(array(2), $s->migrateTo(2));
        $this->assertNotContains('creator', $columns(), 'version 3 down drops its columns');
        $this->assertSame(array(1, 0), $s->migrateTo(0));
        $this->assertSame(0, (int)$s->pdo()->query("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = '{$this->prefix}rooms'")->fetchColumn());
        $this->assertSame(array(1, 2, 3, 4), $s->migrateTo(4));
        $this->assertSame(array(), $this->mysqlStore()->migrateTo(4));
    }

    public function testFullExchangeAndExpiryCleanup(): void
    {
        $s = $this->mysqlService();
        list($a, $b) = $this->joinedRoom($s);
        $this->assertSame('peer-joined', $s->poll($a, 0, 0)[1]['messages'][0]['type']);
        $sent = $s->send($a, 1, 'offer', "v=0 \u{1F600} utf8");
        $this->assertSame(201, $sent[0]);
        $this->assertSame(array(200, $sent[1]), $s->send($a, 1, 'offer', "v=0 \u{1F600} utf8"), 'idempotent');
        $this->assertPeerDropError('seq_conflict', function () use ($s, $a) {
            $s->send($a, 1, 'offer', 'other');
        });
        $p = $s->poll($b, 0, 0)[1];
        $this->assertSame("v=0 \u{1F600} utf8", $p['messages'][0]['data']);
        $s->poll($b, $p['cursor'], 0);
        $this->assertSame('', (string)$s->store()->pdo()->query("SELECT data FROM {$this->prefix}messages WHERE id = " . $p['cursor'])->fetchColumn(), 'acknowledged data is wiped');
        $this->assertSame(200, $s->leave($a)[0]);
        $this->assertPeerDropError('peer_left', function () use ($s, $b) {
            $s->send($b, 1, 'answer', 'x');
        });
        $this->assertSame(1, $s->cleanup($this->now + 100000));
        $this->assertSame(0, (int)$s->store()->pdo()->query("SELECT COUNT(*) FROM {$this->prefix}messages")->fetchColumn());
    }

    public function testRoomForSeveralOnMysqlAndVersionFourDownEndsIt(): void
    {
        $s = $this->mysqlService();
        list($a) = $this->joinedRoom($s);
        $s->send($a, 1, 'offer', 'for the room for one');
        $many = self::room();
        $sender = $s->create($many, 3)[1]['token'];
        $r1 = $s->join($many)[1]['token'];
        $r2 = $s->join($many)[1];
        $this->assertSame(2, $r2['peer']);
        $this->assertSame(201, $s->send($sender, 1, 'offer', 'for 2', 2)[0]);
        $this->assertSame(array(array(0, 'for 2')), array_map(function (array $m): array {
            return array($m['from'], $m['data']);
        }, $s->poll($r2['token'], 0, 0)[1]['messages']));
        $s->drop($sender, 2);
        $this->assertPeerDropError('peer_dropped', function () use ($s, $r2) {
            $s->poll($r2['token'], 0, 0);
        });
        $this->assertSame(201, $s->send($r1, 1, 'answer', 'from 1')[0]);
        $pdo = $s->store()->pdo();
        $roomsForOne = $pdo->query("SELECT id, room_key, left0, left1, msg_count, bytes FROM {$this->prefix}rooms WHERE receivers = 1 ORDER BY id")->fetchAll(PDO::FETCH_ASSOC);
        $this->assertSame(array(3), $s->store()->migrateTo(3));
        $this->assertSame($roomsForOne, $pdo->query("SELECT id, room_key, left0, left1, msg_count, bytes FROM {$this->prefix}rooms ORDER BY id")->fetchAll(PDO::FETCH_ASSOC),
            'rooms for one are kept as they were');
        $this->assertSame(1, (int)$pdo->query("SELECT COUNT(*) FROM {$this->prefix}messages WHERE data = 'for the room for one'")->fetchColumn());
        $this->assertSame(0, (int)$pdo->query("SELECT COUNT(*) FROM {$this->prefix}messages WHERE data IN ('for 2', 'from 1')")->fetchColumn(),
            'the room for several ended with its messages');
        $this->assertSame(array(4), $s->store()->migrateTo(4));
        $this->assertPeerDropError('room_closed', function () use ($s, $r2) {
            $s->poll($r2['token'], 0, 0);
        });
    }

    public function testGeneratedSecretIsSharedThroughTheDatabase(): void
    {
        $one = $this->mysqlStore()->sharedSecret();
        $this->assertSame(32, strlen($one));
        $this->assertSame($one, $this->mysqlStore()->sharedSecret(), 'every web server reads the same secret');
    }

    /** @return string[] outputs of $n PHP processes started together running $body */
    private function race(int $n, string $body): array
    {
        $script = $this->dir . '/race.php';
        file_put_contents($script, '<?php
define("PEERDROP_LIBRARY", true);
require ' . var_export(realpath(__DIR__ . '/../../signal.php'), true) . ';
$config = PeerDropConfig::load(array(), "/nonexistent/www", ' . var_export($this->file(array('data_dir' => $this->dir . '/data')), true) . ');
$s = new PeerDropService(PeerDropStore::fromConfig($config), $config, ' . var_export($this->secret, true) . ', function () { return ' . $this->now . '; });
while (!file_exists(' . var_export($this->dir . '/go', true) . ')) { usleep(1000); }
try { ' . $body . ' } catch (PeerDropError $e) { echo $e->errorCode(); }
');
        $procs = array();
        for ($i = 0; $i < $n; $i++) {
            $p = proc_open(array(PHP_BINARY, $script), array(1 => array('pipe', 'w'), 2 => array('pipe', 'w')), $pipes);
            $procs[] = array($p, $pipes);
        }
        usleep(500000);
        touch($this->dir . '/go');
        $out = array();
        foreach ($procs as $pp) {
            $out[] = trim((string)stream_get_contents($pp[1][1])) . trim((string)stream_get_contents($pp[1][2]));
            proc_close($pp[0]);
        }
        @unlink($this->dir . '/go');
        return $out;
    }

    public function testJoinRaceHasExactlyOneWinner(): void
    {
        $s = $this->mysqlService();
        $room = self::room();
        $s->create($room);
        $results = $this->race(10, 'list($st) = $s->join(' . var_export($room, true) . '); echo $st;');
        $counts = array_count_values($results);
        $this->assertSame(1, isset($counts['200']) ? $counts['200'] : 0, implode(',', $results));
        $this->assertSame(9, isset($counts['room_full']) ? $counts['room_full'] : 0, implode(',', $results));
        $this->assertSame(1, (int)$s->store()->pdo()->query("SELECT COUNT(*) FROM {$this->prefix}messages WHERE type = 'peer-joined'")->fetchColumn());
    }

    public function testCreateRaceHasExactlyOneWinner(): void
    {
        $this->mysqlStore();
        $room = self::room();
        $results = $this->race(8, 'list($st) = $s->create(' . var_export($room, true) . '); echo $st;');
        $counts = array_count_values($results);
        $this->assertSame(1, isset($counts['201']) ? $counts['201'] : 0, implode(',', $results));
        $this->assertSame(7, isset($counts['room_exists']) ? $counts['room_exists'] : 0, implode(',', $results));
    }

    public function testConcurrentShortCodeRoomsGetDistinctNumbers(): void
    {
        $s = $this->mysqlService();
        // Hold all but three three-digit numbers, so that concurrent creates collide on the rest.
        $insert = $s->store()->pdo()->prepare("INSERT INTO {$this->prefix}rooms (room_key, created_at, expires_at, code) VALUES (?, ?, ?, ?)");
        for ($n = 4; $n <= 999; $n++) {
            $insert->execute(array(PeerDrop::codeKey($n), $this->now, $this->now + 600, $n));
        }
        $results = $this->race(8, 'for ($i = 0; $i < 2; $i++) { echo $s->createCode()[1]["code"], " "; }');
        $numbers = array();
        foreach ($results as $r) {
            $this->assertMatchesRegularExpression('/^([0-9]+ ?)+$/', $r, 'every create succeeded: ' . implode(',', $results));
            $numbers = array_merge($numbers, array_map('intval', explode(' ', $r)));
        }
        $this->assertCount(16, $numbers);
        $this->assertCount(16, array_unique($numbers), 'no number handed out twice: ' . implode(',', $numbers));
        $this->assertEqualsCanonicalizing(array(1, 2, 3), array_values(array_filter($numbers, function (int $n): bool {
            return $n < 1000;
        })), 'the last three-digit numbers first, then four digits');
    }

    public function testConcurrentSendsLoseAndDuplicateNothing(): void
    {
        $s = $this->mysqlService();
        list($a, $b) = $this->joinedRoom($s);
        // 12 processes started together; each picks a seq from 1..6, so most seqs are sent at least twice at once.
        $results = $this->race(12, '$seq = 1 + (int)(hexdec(substr(md5((string)getmypid()), 0, 4)) % 6); list($st, $b) = $s->send(' . var_export($a, true)
            . ', $seq, "candidate", "c" . $seq); echo $st . ":" . $seq . ":" . $b["id"];');
        $bySeq = array();
        foreach ($results as $r) {
            $this->assertMatchesRegularExpression('/^20[01]:\d+:\d+$/', $r, implode(',', $results));
            list($st, $seq, $id) = explode(':', $r);
            $bySeq[$seq][] = array((int)$st, (int)$id);
        }
        foreach ($bySeq as $seq => $list) {
            $this->assertCount(1, array_unique(array_column($list, 1)), 'one id per seq ' . $seq);
            $this->assertSame(1, count(array_filter($list, function ($x) {
                return $x[0] === 201;
            })), 'exactly one 201 per seq ' . $seq);
        }
        $got = array_column($s->poll($b, 0, 0)[1]['messages'], 'seq');
        sort($got);
        $expected = array_map('intval', array_keys($bySeq));
        sort($expected);
        $this->assertSame($expected, $got, 'each distinct message delivered exactly once');
    }

    public function testRateLimitBucketOnMysql(): void
    {
        $store = $this->mysqlStore();
        $t = 1700000000.0;
        $l = new PeerDropRateLimiter($store, 60, 3, $this->secret, function () use (&$t): float {
            return $t;
        });
        $t += 600; // a web server whose clock is ahead writes first
        $l->consume('192.0.2.50');
        $t -= 600;
        $l->consume('192.0.2.50');
        $l->consume('192.0.2.50');
        $e = $this->assertPeerDropError('rate_limited', function () use ($l) {
            $l->consume('192.0.2.50');
        });
        $this->assertSame('1', $e->headers()['Retry-After']);
        $t += 601.0; // one token back after the skew is absorbed and one more second passes
        $l->consume('192.0.2.50');
        $this->assertPeerDropError('rate_limited', function () use ($l) {
            $l->consume('192.0.2.50');
        });
    }
}
