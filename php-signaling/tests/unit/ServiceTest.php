<?php
declare(strict_types=1);

/** The operations against a real SQLite file, with an injected clock. */
final class ServiceTest extends PeerDropTestCase
{
    private function rows(PeerDropService $s, string $sql): int
    {
        return (int)$s->store()->pdo()->query($sql)->fetchColumn();
    }

    public function testCreateThenJoinShapes(): void
    {
        $s = $this->service();
        $room = self::room();
        list($st, $a) = $s->create($room);
        $this->assertSame(201, $st);
        $this->assertSame(array('peer', 'token', 'cursor', 'expires_in', 'ice_servers'), array_keys($a));
        $this->assertSame(array(), $a['ice_servers'], 'no STUN/TURN unless the operator configures it');
        $this->assertSame(0, $a['peer']);
        $this->assertSame(0, $a['cursor']);
        $this->assertSame(600, $a['expires_in']);
        $this->now += 100;
        list($st, $b) = $s->join($room);
        $this->assertSame(200, $st);
        $this->assertSame(1, $b['peer']);
        $this->assertSame(0, $b['cursor']);
        $this->assertSame(3600 - 100, $b['expires_in']);
        $this->assertSame(array('peer', 'token', 'cursor', 'expires_in', 'ice_servers'), array_keys($b));
        $this->assertSame(array(), $b['ice_servers']);
        $this->assertNotSame($a['token'], $b['token']);
    }

    public function testRoomIdIsNotStoredInClear(): void
    {
        $s = $this->service();
        $room = self::room();
        $s->create($room);
        $this->assertSame(0, $this->rows($s, "SELECT COUNT(*) FROM rooms WHERE room_key = '" . $room . "'"));
        $this->assertSame(1, $this->rows($s, "SELECT COUNT(*) FROM rooms WHERE room_key = '" . PeerDrop::roomKey($room) . "'"));
    }

    public function testCreateConflictsJoinErrors(): void
    {
        $s = $this->service();
        $room = self::room();
        $s->create($room);
        $this->assertPeerDropError('room_exists', function () use ($s, $room) {
            $s->create($room);
        });
        $this->assertPeerDropError('room_not_found', function () use ($s) {
            $s->join(self::room());
        });
        $s->join($room);
        $this->assertPeerDropError('room_full', function () use ($s, $room) {
            $s->join($room);
        });
        $this->assertPeerDropError('room_exists', function () use ($s, $room) {
            $s->create($room);
        });
    }

    public function testJoinNotifiesCreatorWithPeerJoined(): void
    {
        $s = $this->service();
        list($a) = $this->joinedRoom($s);
        list($st, $p) = $s->poll($a, 0, 0);
        $this->assertSame(200, $st);
        $this->assertCount(1, $p['messages']);
        $m = $p['messages'][0];
        $this->assertSame(array('id', 'type', 'data', 'seq'), array_keys($m));
        $this->assertSame('peer-joined', $m['type']);
        $this->assertSame('', $m['data']);
        $this->assertSame(0, $m['seq']);
        $this->assertSame($m['id'], $p['cursor']);
        $this->assertSame(1, $this->rows($s, 'SELECT COUNT(*) FROM messages WHERE from_peer = 1 AND to_peer = 0'));
    }

    public function testSendPollOrderingAndCursor(): void
    {
        $s = $this->service();
        list($a, $b) = $this->joinedRoom($s);
        $ids = array();
        foreach (array('offer', 'candidate', 'candidate', 'sealed') as $i => $type) {
            list($st, $r) = $s->send($a, $i + 1, $type, 'data-' . $i);
            $this->assertSame(201, $st);
            $ids[] = $r['id'];
        }
        $sorted = $ids;
        sort($sorted);
        $this->assertSame($sorted, $ids, 'ids increase');
        // Peer 1 sees exactly peer 0's messages in id order; peer 0 does not see its own.
        list(, $p) = $s->poll($b, 0, 0);
        $this->assertSame($ids, array_column($p['messages'], 'id'));
        $this->assertSame(array(1, 2, 3, 4), array_column($p['messages'], 'seq'));
        $this->assertSame(array('data-0', 'data-1', 'data-2', 'data-3'), array_column($p['messages'], 'data'));
        $this->assertSame(end($ids), $p['cursor']);
        $this->assertSame(0, $p['poll_after_ms']);
        // After a cursor: only later messages; the cursor of an empty poll is the given one.
        list(, $p) = $s->poll($b, $ids[1], 0);
        $this->assertSame(array($ids[2], $ids[3]), array_column($p['messages'], 'id'));
        list(, $p) = $s->poll($b, $ids[3], 0);
        $this->assertSame(array(), $p['messages']);
        $this->assertSame($ids[3], $p['cursor']);
        $this->assertSame(1000, $p['poll_after_ms']);
        // The other direction is independent.
        list(, $r) = $s->send($b, 1, 'answer', 'ans');
        list(, $p) = $s->poll($a, 0, 0);
        $this->assertSame(array('peer-joined', 'answer'), array_column($p['messages'], 'type'));
        $this->assertSame($r['id'], $p['cursor']);
    }

    public function testAcknowledgedPayloadsAreWiped(): void
    {
        $s = $this->service();
        list($a, $b) = $this->joinedRoom($s);
        list(, $r1) = $s->send($a, 1, 'offer', 'v=0 secret sdp');
        list(, $r2) = $s->send($a, 2, 'candidate', 'candidate:1 1 udp 1 192.0.2.1 5000 typ host');
        $s->poll($b, 0, 0); // delivery alone is not an acknowledgement
        $this->assertSame(0, $this->rows($s, "SELECT COUNT(*) FROM messages WHERE data = '' AND seq IS NOT NULL"));
        list(, $p) = $s->poll($b, $r1['id'], 0); // acknowledges r1
        $this->assertSame(array($r2['id']), array_column($p['messages'], 'id'));
        $this->assertSame('', (string)$s->store()->pdo()->query('SELECT data FROM messages WHERE id = ' . $r1['id'])->fetchColumn());
        $this->assertNotSame('', (string)$s->store()->pdo()->query('SELECT data FROM messages WHERE id = ' . $r2['id'])->fetchColumn());
        // Polling again from 0 does not resurrect acknowledged messages.
        list(, $p) = $s->poll($b, 0, 0);
        $this->assertSame(array($r2['id']), array_column($p['messages'], 'id'));
    }

    public function testIdempotentSend(): void
    {
        $s = $this->service();
        list($a, $b) = $this->joinedRoom($s);
        list($st1, $r1) = $s->send($a, 7, 'offer', 'sdp');
        list($st2, $r2) = $s->send($a, 7, 'offer', 'sdp');
        $this->assertSame(201, $st1);
        $this->assertSame(200, $st2);
        $this->assertSame($r1['id'], $r2['id']);
        $this->assertSame(1, $this->rows($s, "SELECT COUNT(*) FROM messages WHERE type = 'offer'"));
        $this->assertSame(1, $this->rows($s, 'SELECT msg_count FROM rooms'));
        // Same seq from the other peer is a different message.
        list($st3, $r3) = $s->send($b, 7, 'answer', 'sdp');
        $this->assertSame(201, $st3);
        $this->assertNotSame($r1['id'], $r3['id']);
        // Same seq, different content: conflict, not a silent overwrite.
        $this->assertPeerDropError('seq_conflict', function () use ($s, $a) {
            $s->send($a, 7, 'offer', 'other sdp');
        });
        $this->assertPeerDropError('seq_conflict', function () use ($s, $a) {
            $s->send($a, 7, 'bye', 'sdp');
        });
        // A retry after the recipient acknowledged (payload wiped) is still recognised.
        $s->poll($b, $r1['id'], 0);
        list($st4, $r4) = $s->send($a, 7, 'offer', 'sdp');
        $this->assertSame(200, $st4);
        $this->assertSame($r1['id'], $r4['id']);
        // Only one copy was ever delivered.
        list(, $p) = $s->poll($b, 0, 0);
        $this->assertSame(array(), $p['messages']);
    }

    public function testQueueCapAndRoomMessageLimit(): void
    {
        $s = $this->service(array('max_queue' => 3, 'max_room_messages' => 6));
        list($a, $b) = $this->joinedRoom($s);
        $last = 0;
        for ($i = 1; $i <= 3; $i++) {
            list(, $r) = $s->send($a, $i, 'candidate', 'c' . $i);
            $last = $r['id'];
        }
        $e = $this->assertPeerDropError('queue_full', function () use ($s, $a) {
            $s->send($a, 4, 'candidate', 'c4');
        });
        $this->assertArrayHasKey('Retry-After', $e->headers());
        // A retry of an already-stored message is still answered while the queue is full.
        $this->assertSame(200, $s->send($a, 3, 'candidate', 'c3')[0]);
        // Once peer 1 acknowledges, there is room again.
        $s->poll($b, $last, 0);
        $this->assertSame(201, $s->send($a, 4, 'candidate', 'c4')[0]);
        $this->assertSame(201, $s->send($b, 1, 'answer', 'a')[0]);
        $this->assertSame(201, $s->send($b, 2, 'candidate', 'a')[0]);
        $e = $this->assertPeerDropError('room_message_limit', function () use ($s, $b) {
            $s->send($b, 3, 'candidate', 'a');
        });
        $this->assertArrayNotHasKey('Retry-After', $e->headers(), 'retrying will not help');
    }

    public function testCreatorMaySendBeforeJoin(): void
    {
        $s = $this->service();
        $room = self::room();
        list(, $a) = $s->create($room);
        list(, $r) = $s->send($a['token'], 1, 'offer', 'early offer');
        list(, $b) = $s->join($room);
        list(, $p) = $s->poll($b['token'], 0, 0);
        $this->assertSame(array($r['id']), array_column($p['messages'], 'id'));
        $this->assertSame('early offer', $p['messages'][0]['data']);
    }

    public function testExpiryWithInjectedClock(): void
    {
        $s = $this->service(array('ttl_unjoined' => 600, 'ttl_room' => 3600));
        $room = self::room();
        list(, $a) = $s->create($room);
        $this->now += 599;
        $this->assertSame(200, $s->poll($a['token'], 0, 0)[0]);
        $this->now += 1; // unjoined TTL reached
        $this->assertPeerDropError('room_expired', function () use ($s, $room) {
            $s->join($room);
        });
        $this->assertPeerDropError('room_expired', function () use ($s, $a) {
            $s->poll($a['token'], 0, 0);
        });
        $this->assertPeerDropError('room_expired', function () use ($s, $a) {
            $s->send($a['token'], 1, 'offer', 'x');
        });
        // The id can be reused once expired; the old token does not reach the new room.
        list($st, $a2) = $s->create($room);
        $this->assertSame(201, $st);
        $this->assertPeerDropError('room_closed', function () use ($s, $a) {
            $s->poll($a['token'], 0, 0);
        });
        // Joined rooms live ttl_room from creation, then tokens expire.
        $s->join($room);
        $this->now += 3599;
        $this->assertSame(200, $s->poll($a2['token'], 0, 0)[0]);
        $this->now += 1;
        $this->assertPeerDropError('token_expired', function () use ($s, $a2) {
            $s->poll($a2['token'], 0, 0);
        });
    }

    public function testCleanupIsBoundedAndOnlyTouchesExpiredRooms(): void
    {
        $s = $this->service(array('cleanup_batch' => 50, 'ttl_unjoined' => 60, 'ttl_room' => 3600));
        for ($i = 0; $i < 120; $i++) {
            list(, $a) = $s->create(self::room());
            $s->send($a['token'], 1, 'offer', 'x');
        }
        $this->now += 30;
        list($live) = $this->joinedRoom($s);
        $s->send($live, 1, 'offer', 'keep me');
        $this->assertSame(0, $s->cleanup(), 'nothing is expired yet');
        $this->now += 61;
        $this->assertSame(50, $s->cleanup());
        $this->assertSame(71, $this->rows($s, 'SELECT COUNT(*) FROM rooms'));
        $this->assertSame(50, $s->cleanup());
        $this->assertSame(20, $s->cleanup());
        $this->assertSame(0, $s->cleanup());
        $this->assertSame(1, $this->rows($s, 'SELECT COUNT(*) FROM rooms'));
        $this->assertSame(2, $this->rows($s, 'SELECT COUNT(*) FROM messages'), 'peer-joined + the live offer remain');
        $this->assertSame(200, $s->poll($live, 0, 0)[0]);
    }

    public function testCleanupBoundsMessagesPerCall(): void
    {
        $s = $this->service(array('cleanup_batch' => 2, 'max_queue' => 100));
        list(, $a) = $s->create(self::room());
        for ($i = 1; $i <= 30; $i++) {
            $s->send($a['token'], $i, 'candidate', 'c');
        }
        $this->now += 601;
        $this->assertSame(0, $s->cleanup(), 'only 20 of 30 messages fit in one batch: the room stays');
        $this->assertSame(10, $this->rows($s, 'SELECT COUNT(*) FROM messages'));
        $this->assertPeerDropError('room_expired', function () use ($s, $a) {
            $s->poll($a['token'], 0, 0);
        });
        $this->assertSame(1, $s->cleanup());
        $this->assertSame(0, $this->rows($s, 'SELECT COUNT(*) FROM messages'));
        $this->assertSame(0, $this->rows($s, 'SELECT COUNT(*) FROM rooms'));
    }

    public function testLeave(): void
    {
        $s = $this->service();
        list($a, $b) = $this->joinedRoom($s);
        $s->send($b, 1, 'answer', 'pending for peer 0');
        list($st, $r) = $s->leave($a);
        $this->assertSame(200, $st);
        $this->assertSame(array('ok' => true), $r);
        $this->assertSame(array('ok' => true), $s->leave($a)[1], 'leave is idempotent');
        // The leaver's undelivered payloads are wiped.
        $this->assertSame(0, $this->rows($s, "SELECT COUNT(*) FROM messages WHERE data = 'pending for peer 0'"));
        list(, $p) = $s->poll($b, 0, 0);
        $this->assertSame(array('peer-left'), array_column($p['messages'], 'type'));
        $this->assertSame('', $p['messages'][0]['data']);
        $this->assertPeerDropError('peer_left', function () use ($s, $b) {
            $s->send($b, 2, 'candidate', 'x');
        });
        $this->assertPeerDropError('peer_left', function () use ($s, $a) {
            $s->poll($a, 0, 0);
        });
        $s->leave($b);
        $this->assertSame(0, $this->rows($s, 'SELECT COUNT(*) FROM rooms'), 'a room both left is deleted');
        $this->assertSame(0, $this->rows($s, 'SELECT COUNT(*) FROM messages'));
        $this->assertSame(200, $s->leave($b)[0]);
        $this->assertPeerDropError('room_closed', function () use ($s, $b) {
            $s->poll($b, 0, 0);
        });
    }

    public function testLeavingAnUnjoinedRoomDeletesIt(): void
    {
        $s = $this->service();
        $room = self::room();
        list(, $a) = $s->create($room);
        $s->leave($a['token']);
        $this->assertSame(0, $this->rows($s, 'SELECT COUNT(*) FROM rooms'));
        $this->assertPeerDropError('room_not_found', function () use ($s, $room) {
            $s->join($room);
        });
    }

    public function testTokenOfOtherSecretIsRejected(): void
    {
        $s = $this->service();
        list($a) = $this->joinedRoom($s);
        $config = $this->config();
        $other = new PeerDropService($s->store(), $config, 'a-completely-different-secret!!', function (): int {
            return $this->now;
        });
        $this->assertPeerDropError('invalid_token', function () use ($other, $a) {
            $other->poll($a, 0, 0);
        });
    }

    public function testHeldPollReturnsWhenAMessageArrives(): void
    {
        $sender = null;
        $calls = 0;
        $tokens = array();
        $sleep = function (int $us) use (&$calls, &$sender, &$tokens): void {
            $this->assertSame(50000, $us, "the default poll_check_ms is 50");
            $calls++;
            if ($calls === 3) {
                $sender->send($tokens[0], 1, 'offer', 'arrived while held');
            }
        };
        $t = 0.0;
        $mono = function () use (&$t, &$calls): float {
            return $t + $calls * 0.15;
        };
        $s = $this->service(array(), null, $sleep, $mono);
        $sender = $s;
        $tokens = $this->joinedRoom($s);
        list(, $p) = $s->poll($tokens[1], 0, 10);
        $this->assertSame(3, $calls, 'returned right after the message arrived');
        $this->assertSame(array('arrived while held'), array_column($p['messages'], 'data'));
        $this->assertSame(0, $p['poll_after_ms']);
    }

    public function testHeldPollTimesOutAtWait(): void
    {
        $calls = 0;
        $sleep = function (int $us) use (&$calls): void {
            $calls++;
        };
        $mono = function () use (&$calls): float {
            return $calls * 0.15;
        };
        $s = $this->service(array(), null, $sleep, $mono);
        list(, $b) = $this->joinedRoom($s);
        list(, $p) = $s->poll($b, 0, 3);
        $this->assertSame(20, $calls, '3 s of 150 ms naps');
        $this->assertSame(array(), $p['messages']);
        $this->assertSame(0, $p['cursor']);
        $this->assertSame(0, $p['poll_after_ms'], 'a completed hold may be re-issued at once');
    }

    /** @dataProvider leavers */
    public function testHeldPollEndsWhenItsOwnPeerLeaves(bool $otherLeftFirst): void
    {
        $s = null;
        $tokens = array();
        $calls = 0;
        $sleep = function (int $us) use (&$calls, &$s, &$tokens): void {
            $calls++;
            if ($calls === 3) {
                $s->leave($tokens[0]);
            }
        };
        $mono = function () use (&$calls): float {
            return $calls * 0.15;
        };
        $s = $this->service(array(), null, $sleep, $mono);
        $tokens = $this->joinedRoom($s);
        list(, $p) = $s->poll($tokens[0], 0, 0);
        $cursor = $p['cursor'];
        if ($otherLeftFirst) {
            $s->leave($tokens[1]);
            list(, $p) = $s->poll($tokens[0], $cursor, 0);
            $cursor = $p['cursor'];
        }
        $calls = 0;
        list(, $p) = $s->poll($tokens[0], $cursor, 10);
        $this->assertSame(3, $calls, 'ended at the first check after the leave, not after 10 s');
        $this->assertSame(array(), $p['messages']);
        $this->assertSame(0, $p['poll_after_ms']);
    }

    /** @return array<string,array{bool}> */
    public function leavers(): array
    {
        return array('the other peer still there' => array(false), 'the last one out (room deleted)' => array(true));
    }

    public function testNoHeldPollWithoutAFreeSlot(): void
    {
        $sleep = function (int $us): void {
            $this->fail('must not sleep without a slot');
        };
        $slots = new PeerDropSlots($this->dir . '/data', 2);
        $s = $this->service(array('poll_slots' => 2, 'poll_interval_ms' => 1500), $slots, $sleep);
        list(, $b) = $this->joinedRoom($s);
        $h1 = $slots->acquire();
        $h2 = $slots->acquire();
        $this->assertNotNull($h1);
        $this->assertNotNull($h2);
        $this->assertNull($slots->acquire(), 'both slots taken');
        list(, $p) = $s->poll($b, 0, 20);
        $this->assertSame(array(), $p['messages']);
        $this->assertSame(1500, $p['poll_after_ms']);
        // Releasing one slot makes holding possible again.
        $slots->release($h1);
        $slept = 0;
        $s2 = $this->service(array('poll_slots' => 2), $slots, function (int $us) use (&$slept): void {
            $slept++;
        }, function () use (&$slept): float {
            return $slept * 0.15;
        });
        $s2->poll($b, 0, 1);
        $this->assertGreaterThan(0, $slept);
        $slots->release($h2);
    }

    public function testZeroSlotsDisablesHolding(): void
    {
        $s = $this->service(array('poll_slots' => 0), null, function (int $us): void {
            $this->fail('must not sleep when poll_slots = 0');
        });
        list(, $b) = $this->joinedRoom($s);
        $this->assertSame(1000, $s->poll($b, 0, 25)[1]['poll_after_ms']);
    }

    public function testHealth(): void
    {
        $s = $this->service();
        list($status, $body) = $s->health();
        $this->assertSame(200, $status);
        $limits = $body['limits'];
        unset($body['limits']);
        $this->assertSame(array('ok' => true, 'version' => 1, 'schema' => PeerDropStore::SCHEMA_VERSION, 'storage' => 'sqlite'), $body);
        $this->assertSame(array('max_body_bytes', 'max_data_bytes', 'max_queue', 'max_room_messages', 'max_rooms', 'ttl_unjoined',
            'ttl_room', 'poll_slots', 'max_wait', 'poll_interval_ms', 'rate_limit_per_minute', 'rate_limit_burst', 'max_db_bytes',
            'quota_rooms', 'quota_creates_per_minute', 'quota_failed_joins', 'max_code', 'max_receivers'), array_keys($limits));
        $this->assertSame(256, $limits['max_queue']);
    }
}
