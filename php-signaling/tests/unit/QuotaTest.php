<?php
declare(strict_types=1);

/** The global storage cap: max_rooms (503 server_full) and max_db_bytes (507 storage_quota_exceeded). */
final class QuotaTest extends PeerDropTestCase
{
    public function testDatabaseSizeCapRefusesNewRoomsAndMessagesWith507(): void
    {
        $s = $this->service(array('max_db_bytes' => 1));
        $e = $this->assertPeerDropError('storage_quota_exceeded', function () use ($s) {
            $s->create(self::room());
        });
        $this->assertSame(507, $e->status());
        $this->assertSame('60', $e->headers()['Retry-After']);
    }

    public function testRetriesOfStoredMessagesStillSucceedAtTheCap(): void
    {
        $roomy = $this->service(array('max_db_bytes' => 0));
        list($a, $b) = $this->joinedRoom($roomy);
        $first = $roomy->send($a, 1, 'offer', str_repeat('x', 16000));
        $size = $roomy->store()->sizeBytes();
        $this->assertGreaterThan(0, $size);
        $capped = $this->service(array('max_db_bytes' => $size));
        $this->assertSame(array(200, $first[1]), $capped->send($a, 1, 'offer', str_repeat('x', 16000)), 'idempotent retry');
        $this->assertPeerDropError('storage_quota_exceeded', function () use ($capped, $a) {
            $capped->send($a, 2, 'candidate', 'c');
        });
        // Reading and leaving still work, so rooms can drain.
        $this->assertSame(200, $capped->poll($b, 0, 0)[0]);
        $this->assertSame(200, $capped->leave($a)[0]);
    }

    public function testMaxRoomsGives503ServerFull(): void
    {
        $s = $this->service(array('max_rooms' => 2));
        $s->create(self::room());
        $s->create(self::room());
        $e = $this->assertPeerDropError('server_full', function () use ($s) {
            $s->create(self::room());
        });
        $this->assertSame('60', $e->headers()['Retry-After']);
    }
}
