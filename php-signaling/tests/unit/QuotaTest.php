<?php
declare(strict_types=1);

/**
 * The global caps (max_rooms: 503 server_full; max_db_bytes on the live data: 507
 * storage_quota_exceeded) and the per-client quotas (429 quota_exceeded): open rooms, creates per
 * minute, failed joins, each counted by the client key, never the address.
 */
final class QuotaTest extends PeerDropTestCase
{
    /** A service for one client, as the HTTP layer sets it up. */
    private function client(string $address, array $file = array()): PeerDropService
    {
        $s = $this->service($file);
        $s->forClient($address);
        return $s;
    }

    public function testDatabaseSizeCapRefusesNewRoomsAndMessagesWith507(): void
    {
        $s = $this->service(array('max_db_bytes' => 1));
        $s->create(self::room()); // nothing is stored yet: live data 0
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
        $live = PeerDropService::liveBytes($roomy->store(), $this->now);
        $this->assertSame(3 * PeerDrop::ROW_BYTES + 16000, $live, 'room, peer-joined, the offer and its payload');
        $capped = $this->service(array('max_db_bytes' => $live));
        $this->assertSame(array(200, $first[1]), $capped->send($a, 1, 'offer', str_repeat('x', 16000)), 'idempotent retry');
        $this->assertPeerDropError('storage_quota_exceeded', function () use ($capped, $a) {
            $capped->send($a, 2, 'candidate', 'c');
        });
        // Reading and leaving still work, so rooms can drain.
        $this->assertSame(200, $capped->poll($b, 0, 0)[0]);
        $this->assertSame(200, $capped->leave($a)[0]);
    }

    public function testSpaceComesBackWhenPayloadsAreWipedAndWhenRoomsExpire(): void
    {
        $cap = 40 * 16384;
        $s = $this->service(array('max_db_bytes' => $cap, 'max_queue' => 1000));
        list($a, $b) = $this->joinedRoom($s);
        $seq = 0;
        try {
            for (; $seq < 100; $seq++) {
                $s->send($a, $seq + 1, 'sealed', str_repeat('z', 16384));
            }
        } catch (PeerDropError $e) {
            $this->assertSame('storage_quota_exceeded', $e->errorCode());
        }
        $this->assertGreaterThan(30, $seq, 'filled up to the cap');
        $this->assertLessThan(45, $seq);
        // The recipient reads everything: the payloads are wiped and no longer count.
        $cursor = 0;
        do {
            $p = $s->poll($b, $cursor, 0)[1];
            $cursor = $p['cursor'];
        } while ($p['messages']);
        $this->assertLessThan(100 * PeerDrop::ROW_BYTES, PeerDropService::liveBytes($s->store(), $this->now), 'only rows are left');
        $this->assertSame(201, $s->send($a, 500, 'sealed', str_repeat('z', 16384))[0]);
        // Full again, with unread messages; then the room expires: it stops counting at once,
        // before any cleanup has run, even though the database file never shrinks.
        try {
            for ($i = 501; $i < 600; $i++) {
                $s->send($a, $i, 'sealed', str_repeat('z', 16384));
            }
            $this->fail('the cap was never reached');
        } catch (PeerDropError $e) {
            $this->assertSame('storage_quota_exceeded', $e->errorCode());
        }
        $this->assertPeerDropError('storage_quota_exceeded', function () use ($s) {
            $s->create(self::room());
        });
        $this->now += 3601;
        list($c) = $this->joinedRoom($s);
        $this->assertSame(201, $s->send($c, 1, 'sealed', str_repeat('z', 16384))[0], 'a full database recovers by itself');
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

    public function testOneClientHoldsAtMostQuotaRoomsOthersAreUnaffected(): void
    {
        $a = $this->client('198.51.100.7', array('quota_rooms' => 3));
        $tokens = array();
        for ($i = 0; $i < 3; $i++) {
            $tokens[] = $a->create(self::room())[1]['token'];
            $this->now += 10;
        }
        $e = $this->assertPeerDropError('quota_exceeded', function () use ($a) {
            $a->create(self::room());
        });
        $this->assertStringContainsString('open-rooms quota', $e->getMessage());
        $this->assertSame((string)(600 - 30), $e->headers()['Retry-After'], 'until its oldest room expires');
        $this->assertPeerDropError('quota_exceeded', function () use ($a) {
            $a->createCode();
        });
        $b = $this->client('198.51.100.8', array('quota_rooms' => 3));
        $this->assertSame(201, $b->create(self::room())[0], 'another client is not affected');
        // Ending a room gives its place back; so does expiry.
        $a->leave($tokens[0]);
        $this->assertSame(201, $a->create(self::room())[0]);
        $this->now += 600;
        $this->assertSame(201, $a->create(self::room())[0]);
        // The address itself is stored nowhere.
        $dump = json_encode($a->store()->pdo()->query('SELECT * FROM rooms')->fetchAll(PDO::FETCH_ASSOC))
            . json_encode($a->store()->pdo()->query('SELECT * FROM rate_limits')->fetchAll(PDO::FETCH_ASSOC));
        $this->assertStringNotContainsString('198.51.100', $dump);
    }

    public function testIpv6ClientsCountPerSlash64(): void
    {
        $one = $this->client(PeerDropClientAddress::normalize('2001:db8:1:2::a'), array('quota_rooms' => 2));
        $two = $this->client(PeerDropClientAddress::normalize('2001:db8:1:2:ffff::b'), array('quota_rooms' => 2));
        $other = $this->client(PeerDropClientAddress::normalize('2001:db8:1:3::a'), array('quota_rooms' => 2));
        $one->create(self::room());
        $two->create(self::room());
        $this->assertPeerDropError('quota_exceeded', function () use ($one) {
            $one->create(self::room());
        });
        $this->assertPeerDropError('quota_exceeded', function () use ($two) {
            $two->create(self::room());
        });
        $this->assertSame(201, $other->create(self::room())[0]);
    }

    public function testOpenRoomsStillCountAfterMidnight(): void
    {
        $this->now = 86400 * 19700 - 30; // 30 s before a UTC midnight: the client key changes at it
        $a = $this->client('198.51.100.9', array('quota_rooms' => 2));
        $a->create(self::room());
        $a->create(self::room());
        $this->now += 60;
        $after = $this->client('198.51.100.9', array('quota_rooms' => 2));
        $this->assertPeerDropError('quota_exceeded', function () use ($after) {
            $after->create(self::room());
        });
    }

    public function testCreatesPerMinute(): void
    {
        $a = $this->client('198.51.100.10', array('quota_creates_per_minute' => 4));
        for ($i = 0; $i < 4; $i++) {
            $a->leave($a->create(self::room())[1]['token']); // gone at once: only the rate counts
        }
        $e = $this->assertPeerDropError('quota_exceeded', function () use ($a) {
            $a->create(self::room());
        });
        $this->assertStringContainsString('creates-per-minute quota', $e->getMessage());
        $this->assertSame('15', $e->headers()['Retry-After'], 'one create every 15 s');
        // A create that fails (room_exists) costs one too: probing by create is rate-limited.
        $this->now += 15;
        $taken = self::room();
        $this->service()->create($taken);
        $this->assertPeerDropError('room_exists', function () use ($a, $taken) {
            $a->create($taken);
        });
        $this->assertPeerDropError('quota_exceeded', function () use ($a) {
            $a->create(self::room());
        });
        $this->now += 15;
        $this->assertSame(201, $a->create(self::room())[0]);
    }

    public function testFailedJoinsAreLimitedBeforeTheRoomIsLookedUp(): void
    {
        $a = $this->client('198.51.100.11', array('quota_failed_joins' => 3));
        $joinable = self::room();
        $this->service()->create($joinable);
        $full = self::room();
        $this->joinedRoom($this->service(), $full);
        $this->assertPeerDropError('room_not_found', function () use ($a) {
            $a->join(self::room());
        });
        $this->assertPeerDropError('room_full', function () use ($a, $full) {
            $a->join($full);
        });
        $this->assertPeerDropError('room_not_found', function () use ($a) {
            $a->joinCode(417);
        });
        $e = $this->assertPeerDropError('quota_exceeded', function () use ($a, $joinable) {
            $a->join($joinable);
        });
        $this->assertStringContainsString('failed-joins quota', $e->getMessage());
        $this->assertSame('200', $e->headers()['Retry-After'], 'one failed join per 200 s (3 per 10 minutes)');
        $this->assertSame(200, $this->client('198.51.100.12', array('quota_failed_joins' => 3))->join($joinable)[0], 'others are unaffected');
        $this->now += 201;
        $this->assertPeerDropError('room_full', function () use ($a, $joinable) {
            $a->join($joinable);
        });
    }

    public function testZeroTurnsAQuotaOff(): void
    {
        $a = $this->client('198.51.100.13', array('quota_rooms' => 0, 'quota_creates_per_minute' => 0, 'quota_failed_joins' => 0));
        for ($i = 0; $i < 40; $i++) {
            $a->create(self::room());
        }
        for ($i = 0; $i < 40; $i++) {
            $this->assertPeerDropError('room_not_found', function () use ($a) {
                $a->join(self::room());
            });
        }
    }

    public function testTheEndpointPicksFreeShortCodeNumbers(): void
    {
        $s = $this->service();
        $numbers = array();
        for ($i = 0; $i < 50; $i++) {
            list($status, $body) = $s->createCode();
            $this->assertSame(201, $status);
            $this->assertGreaterThanOrEqual(1, $body['code']);
            $this->assertLessThanOrEqual(999, $body['code']);
            $numbers[] = $body['code'];
        }
        $this->assertCount(50, array_unique($numbers), 'no number is handed out twice while its room is open');
        // Joined by number; the room is not reachable through any room id.
        $code = $numbers[0];
        $this->assertSame(1, $s->joinCode($code)[1]['peer']);
        $this->assertPeerDropError('room_full', function () use ($s, $code) {
            $s->joinCode($code);
        });
        $this->assertPeerDropError('invalid_code', function () use ($s) {
            $s->joinCode(10000);
        });
        $this->assertPeerDropError('invalid_code', function () use ($s) {
            $s->joinCode(0);
        });
    }

    public function testCodesGrowToFourDigitsWhenEveryThreeDigitNumberIsHeld(): void
    {
        $s = $this->service();
        $pdo = $s->store()->pdo();
        $insert = $pdo->prepare('INSERT INTO rooms (room_key, created_at, expires_at, code) VALUES (?, ?, ?, ?)');
        $pdo->beginTransaction();
        for ($n = 1; $n <= 999; $n++) {
            if ($n !== 500) {
                $insert->execute(array(PeerDrop::codeKey($n), $this->now, $this->now + 600, $n));
            }
        }
        // 500 is held by a room that has expired but is not cleaned up yet: free to reuse.
        $insert->execute(array(PeerDrop::codeKey(500), $this->now - 700, $this->now - 100, 500));
        $pdo->commit();
        $this->assertSame(500, $s->createCode()[1]['code'], 'the last free three-digit number');
        $next = $s->createCode()[1]['code'];
        $this->assertGreaterThanOrEqual(1000, $next);
        $this->assertLessThanOrEqual(9999, $next);
        $metrics = new PeerDropMetrics();
        $s->observe($metrics);
        $s->createCode();
        $this->assertArrayHasKey('peerdrop_code_rooms_created_total{digits="4"}', $this->pending($metrics));
    }

    public function testCodesExhaustedWhenEveryNumberIsHeld(): void
    {
        $s = $this->service(array('max_rooms' => 20000));
        $pdo = $s->store()->pdo();
        $insert = $pdo->prepare('INSERT INTO rooms (room_key, created_at, expires_at, code) VALUES (?, ?, ?, ?)');
        $pdo->beginTransaction();
        for ($n = 1; $n <= 9999; $n++) {
            $insert->execute(array(PeerDrop::codeKey($n), $this->now, $this->now + 600, $n));
        }
        $pdo->commit();
        $e = $this->assertPeerDropError('codes_exhausted', function () use ($s) {
            $s->createCode();
        });
        $this->assertSame('60', $e->headers()['Retry-After']);
        $this->assertSame(201, $s->create(self::room())[0], 'rooms with an id are not affected');
    }

    /** @return array<string,int> */
    private function pending(PeerDropMetrics $m): array
    {
        $p = new ReflectionProperty($m, 'pending');
        $p->setAccessible(true);
        return $p->getValue($m);
    }
}
