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

    public function testDownThenUpAgain(): void
    {
        $s = PeerDropStore::open($this->dir . '/data');
        $this->assertSame(2, $s->schemaVersion());
        $this->assertSame(array(1), $s->migrateTo(1));
        $this->assertSame(1, $s->schemaVersion());
        $this->assertSame(array('messages', 'rooms'), $this->tables($s));
        $this->assertSame(array(0), $s->migrateTo(0));
        $this->assertSame(array(), $this->tables($s));
        $this->assertSame(array(1, 2), $s->migrateTo(2));
        $this->assertSame(array('counters', 'messages', 'rate_limits', 'rooms'), $this->tables($s));
        $this->assertSame(array(), $s->migrateTo(2), 'nothing to do at the latest version');
    }

    public function testUpgradeFromVersionOneKeepsData(): void
    {
        $s = PeerDropStore::open($this->dir . '/data');
        $s->migrateTo(1);
        $s->pdo()->exec("INSERT INTO rooms (room_key, created_at, expires_at) VALUES ('k1', 1, 9999999999)");
        $again = PeerDropStore::open($this->dir . '/data'); // a request after upgrading signal.php
        $this->assertSame(2, $again->schemaVersion());
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
        $this->assertStringContainsString('Schema version 2', $out);
        list($code) = $run(array('migrate', '7'));
        $this->assertSame(2, $code);
    }
}
