<?php
declare(strict_types=1);

/** Schema migrations: each version has up and down, the version is tracked, and nothing runs when current. */
final class MigrationTest extends PeerDropTestCase
{
    private function tables(PeerDropStore $s): array
    {
        return $s->pdo()->query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")->fetchAll(PDO::FETCH_COLUMN);
    }

    public function testEveryVersionHasUpAndDownForBothDialects(): void
    {
        foreach (array('sqlite', 'mysql') as $driver) {
            $steps = PeerDropMigrations::steps($driver);
            $this->assertSame(range(1, PeerDropMigrations::LATEST), array_keys($steps), $driver);
            foreach ($steps as $v => $step) {
                $this->assertNotEmpty($step['up'], $driver . ' v' . $v . ' up');
                $this->assertNotEmpty($step['down'], $driver . ' v' . $v . ' down');
            }
        }
    }

    /** @return string[] */
    private function columns(PeerDropStore $s, string $table): array
    {
        return array_map(function (array $r): string {
            return (string)$r['name'];
        }, $s->pdo()->query('PRAGMA table_info(' . $table . ')')->fetchAll(PDO::FETCH_ASSOC));
    }

    public function testDownThenUpAgain(): void
    {
        $s = PeerDropStore::open($this->dir . '/data');
        $this->assertSame(4, $s->schemaVersion());
        $this->assertSame(array(3, 2, 1), $s->migrateTo(1));
        $this->assertSame(1, $s->schemaVersion());
        $this->assertSame(array('messages', 'rooms'), $this->tables($s));
        $this->assertSame(array(0), $s->migrateTo(0));
        $this->assertSame(array(), $this->tables($s));
        $this->assertSame(array(1, 2, 3, 4), $s->migrateTo(4));
        $this->assertSame(array('counters', 'messages', 'rate_limits', 'rooms'), $this->tables($s));
        $this->assertSame(array(), $s->migrateTo(4), 'nothing to do at the latest version');
    }

    public function testVersionThreeDownKeepsRowsAndTheIdSequence(): void
    {
        $s = PeerDropStore::open($this->dir . '/data');
        $service = new PeerDropService($s, $this->config(), $this->secret, function (): int {
            return $this->now;
        });
        list($a) = $this->joinedRoom($service);
        $service->send($a, 1, 'offer', 'pending');
        $gone = $service->createCode()[1]['token'];
        $service->leave($gone); // the room with the highest id is deleted
        $rows = $s->pdo()->query('SELECT id, room_key, created_at, joined_at, expires_at, left0, left1, msg_count FROM rooms ORDER BY id')->fetchAll(PDO::FETCH_ASSOC);
        $seq = (int)$s->pdo()->query("SELECT seq FROM sqlite_sequence WHERE name = 'rooms'")->fetchColumn();
        $this->assertSame(array(3, 2), $s->migrateTo(2));
        $this->assertSame(array('id', 'room_key', 'created_at', 'joined_at', 'expires_at', 'left0', 'left1', 'msg_count'), $this->columns($s, 'rooms'));
        $this->assertSame($rows, $s->pdo()->query('SELECT * FROM rooms ORDER BY id')->fetchAll(PDO::FETCH_ASSOC));
        $this->assertSame($seq, (int)$s->pdo()->query("SELECT seq FROM sqlite_sequence WHERE name = 'rooms'")->fetchColumn(), 'ids are never reused');
        $this->assertSame(array('rooms_expires'), $s->pdo()->query("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'rooms' AND sql IS NOT NULL")->fetchAll(PDO::FETCH_COLUMN));
        $s->pdo()->exec("INSERT INTO rooms (room_key, created_at, expires_at) VALUES ('new', 1, 2)");
        $this->assertSame($seq + 1, (int)$s->pdo()->lastInsertId());
    }

    public function testVersionFourDownKeepsRowsIndexesAndTheIdSequence(): void
    {
        $s = PeerDropStore::open($this->dir . '/data');
        $service = new PeerDropService($s, $this->config(), $this->secret, function (): int {
            return $this->now;
        });
        list($a) = $this->joinedRoom($service);
        $service->send($a, 1, 'offer', 'pending');
        $many = $service->create(str_repeat('m', 22), 3)[1]['token'];
        $service->join(str_repeat('m', 22));
        $gone = $service->createCode()[1]['token'];
        $service->leave($gone); // the room with the highest id is deleted
        $v3 = 'id, room_key, created_at, joined_at, expires_at, left0, left1, msg_count, creator, code, bytes';
        $rows = $s->pdo()->query('SELECT ' . $v3 . ' FROM rooms WHERE receivers = 1 ORDER BY id')->fetchAll(PDO::FETCH_ASSOC);
        $this->assertCount(1, $rows);
        $manyId = (int)$s->pdo()->query('SELECT id FROM rooms WHERE receivers = 3')->fetchColumn();
        $seq = (int)$s->pdo()->query("SELECT seq FROM sqlite_sequence WHERE name = 'rooms'")->fetchColumn();
        $this->assertSame(array(3), $s->migrateTo(3));
        $this->assertSame(explode(', ', $v3), $this->columns($s, 'rooms'));
        $this->assertSame($rows, $s->pdo()->query('SELECT * FROM rooms ORDER BY id')->fetchAll(PDO::FETCH_ASSOC), 'the room for one is kept as it was');
        $this->assertSame(0, (int)$s->pdo()->query('SELECT COUNT(*) FROM messages WHERE room_id = ' . $manyId)->fetchColumn(),
            'the room for several ended, its messages with it');
        $this->assertSame($seq, (int)$s->pdo()->query("SELECT seq FROM sqlite_sequence WHERE name = 'rooms'")->fetchColumn(), 'ids are never reused');
        $indexes = $s->pdo()->query("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'rooms' AND sql IS NOT NULL ORDER BY name")->fetchAll(PDO::FETCH_COLUMN);
        $this->assertSame(array('rooms_code', 'rooms_creator', 'rooms_expires'), $indexes);
        // Up again: a room already joined has its one seat taken; the room for several stays gone.
        $this->assertSame(array(4), $s->migrateTo(4));
        $this->assertSame(array('1'), array_map('strval', $s->pdo()->query('SELECT seats FROM rooms ORDER BY id')->fetchAll(PDO::FETCH_COLUMN)));
        $this->assertPeerDropError('room_closed', function () use ($service, $many) {
            $service->poll($many, 0, 0);
        });
    }

    public function testVersionThreeUpCountsTheBytesOfRoomsAlreadyThere(): void
    {
        $s = PeerDropStore::open($this->dir . '/data');
        $s->migrateTo(2);
        $s->pdo()->exec("INSERT INTO rooms (room_key, created_at, expires_at) VALUES ('k1', 1, 9999999999)");
        $s->pdo()->exec("INSERT INTO messages (room_id, to_peer, from_peer, seq, type, data, digest) VALUES (1, 1, 0, 1, 'sealed', 'h\u{e9}llo', 'd')");
        $s->pdo()->exec("INSERT INTO messages (room_id, to_peer, from_peer, seq, type, data, acked) VALUES (1, 0, 1, NULL, 'peer-joined', '', 0)");
        $again = PeerDropStore::open($this->dir . '/data');
        $this->assertSame(4, $again->schemaVersion());
        $this->assertSame(3 * PeerDrop::ROW_BYTES + 6, PeerDropService::liveBytes($again, 2), 'room, two rows, six bytes of UTF-8');
    }

    public function testUpgradeFromVersionOneKeepsData(): void
    {
        $s = PeerDropStore::open($this->dir . '/data');
        $s->migrateTo(1);
        $s->pdo()->exec("INSERT INTO rooms (room_key, created_at, expires_at) VALUES ('k1', 1, 9999999999)");
        $again = PeerDropStore::open($this->dir . '/data'); // a request after upgrading signal.php
        $this->assertSame(4, $again->schemaVersion());
        $this->assertSame(1, (int)$again->pdo()->query('SELECT COUNT(*) FROM rooms')->fetchColumn());
    }

    public function testAFailedMigrationLeavesTheVersionUnchanged(): void
    {
        $s = PeerDropStore::open($this->dir . '/data');
        $s->migrateTo(1);
        $s->pdo()->exec('CREATE TABLE counters (x INTEGER)'); // makes step 2 fail half-way
        try {
            PeerDropStore::open($this->dir . '/data');
            $this->fail('migration should have failed');
        } catch (PeerDropError $e) {
            $this->assertSame(500, $e->status());
        }
        $this->assertSame(1, $s->schemaVersion());
        $this->assertNotContains('rate_limits', $this->tables($s), 'rolled back as a whole');
    }

    public function testCliMigrateDownAndUp(): void
    {
        $www = $this->dir . '/www';
        mkdir($www);
        copy(__DIR__ . '/../../signal.php', $www . '/signal.php');
        $env = array('PEERDROP_DATA_DIR' => $this->dir . '/data', 'PATH' => (string)getenv('PATH'));
        $run = function (array $args) use ($www, $env): array {
            $p = proc_open(array_merge(array(PHP_BINARY, $www . '/signal.php'), $args), array(1 => array('pipe', 'w'), 2 => array('pipe', 'w')), $pipes, null, $env);
            $out = stream_get_contents($pipes[1]) . stream_get_contents($pipes[2]);
            return array(proc_close($p), $out);
        };
        list($code, $out) = $run(array('migrate', '0'));
        $this->assertSame(0, $code, $out);
        $this->assertStringContainsString('Schema version 0', $out);
        list($code, $out) = $run(array('migrate'));
        $this->assertSame(0, $code, $out);
        $this->assertStringContainsString('Schema version 4', $out);
        list($code) = $run(array('migrate', '7'));
        $this->assertSame(2, $code);
    }
}
