<?php
declare(strict_types=1);

/** A corrupt SQLite file is moved aside and rebuilt instead of failing every request. */
final class RecoveryTest extends PeerDropTestCase
{
    private function db(): string
    {
        return $this->dir . '/data/' . PeerDropStore::DB_FILE;
    }

    private function http(): PeerDropHttp
    {
        return new PeerDropHttp(function () {
            return $this->config();
        }, function (PeerDropConfig $c) {
            return new PeerDropService(PeerDropStore::open($c->dataDir), $c, $this->secret, function (): int {
                return $this->now;
            });
        });
    }

    private static function body(string $s): callable
    {
        return function (int $n) use ($s): string {
            return $s;
        };
    }

    private function asideFiles(): array
    {
        return array_values(preg_grep('/-(wal|shm|journal)$/', glob($this->db() . '.corrupt-*') ?: array(), PREG_GREP_INVERT));
    }

    public function testGarbageFileIsMovedAsideAndRebuiltOnOpen(): void
    {
        mkdir($this->dir . '/data', 0700);
        file_put_contents($this->db(), str_repeat("this is not a database\n", 400));
        $errors = ini_set('error_log', $this->dir . '/php.log');
        try {
            $store = PeerDropStore::open($this->dir . '/data');
        } finally {
            ini_set('error_log', (string)$errors);
        }
        $this->assertSame(PeerDropStore::SCHEMA_VERSION, $store->schemaVersion());
        $aside = $this->asideFiles();
        $this->assertCount(1, $aside);
        $this->assertStringStartsWith('this is not a database', (string)file_get_contents($aside[0]), 'kept for inspection');
        $this->assertStringContainsString('peerdrop notice:', (string)file_get_contents($this->dir . '/php.log'));
    }

    public function testCorruptPagesFoundMidRequestGive503ThenAFreshDatabase(): void
    {
        $s = $this->service();
        for ($i = 0; $i < 30; $i++) {
            $this->joinedRoom($s);
        }
        $s->store()->pdo()->exec('PRAGMA wal_checkpoint(TRUNCATE)');
        unset($s);
        gc_collect_cycles();
        // Keep the 100-byte header (so opening works), smash every page after the first.
        $raw = (string)file_get_contents($this->db());
        file_put_contents($this->db(), substr($raw, 0, 4096) . str_repeat("\xA5", strlen($raw) - 4096));
        $errors = ini_set('error_log', $this->dir . '/php.log');
        try {
            $first = $this->http()->handle('POST', array('content-type' => 'application/json'),
                self::body('{"v":1,"op":"join","room":"' . self::room() . '"}'));
            $this->assertSame(503, $first->status, $first->json());
            $this->assertSame('storage_unavailable', $first->body['error']['code']);
            $this->assertSame('1', $first->headers['Retry-After']);
            $this->assertStringNotContainsString($this->dir, $first->json());
            $next = $this->http()->handle('POST', array('content-type' => 'application/json'),
                self::body('{"v":1,"op":"create","room":"' . self::room() . '"}'));
            $this->assertSame(201, $next->status, $next->json());
        } finally {
            ini_set('error_log', (string)$errors);
        }
        $this->assertCount(1, $this->asideFiles());
    }

    public function testAHealthyDatabaseIsNeverMovedAside(): void
    {
        $this->store();
        $this->assertTrue(PeerDropSqliteRecovery::quarantine($this->dir . '/data'));
        $this->assertSame(array(), $this->asideFiles());
        $this->assertFalse(PeerDropSqliteRecovery::isCorrupt($this->db()));
    }
}
