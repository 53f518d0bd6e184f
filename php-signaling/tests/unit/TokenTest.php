<?php
declare(strict_types=1);

final class TokenTest extends PeerDropTestCase
{
    private const SECRET = 'token-test-secret-aaaaaaaaaaaaaaaa';

    private function key(): string
    {
        return PeerDrop::roomKey('room-id-for-token-tests-0001');
    }

    public function testSignThenVerifyReturnsBoundFields(): void
    {
        $t = PeerDropToken::sign(self::SECRET, 42, $this->key(), 1, 2000);
        $this->assertMatchesRegularExpression('/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/', $t);
        $v = PeerDropToken::verify(self::SECRET, $t, 1999);
        $this->assertSame(array('room_id' => 42, 'key' => substr($this->key(), 0, 32), 'peer' => 1, 'exp' => 2000), $v);
    }

    public function testPeerAndRoomAreBound(): void
    {
        $t0 = PeerDropToken::sign(self::SECRET, 7, $this->key(), 0, 2000);
        $t1 = PeerDropToken::sign(self::SECRET, 7, $this->key(), 1, 2000);
        $this->assertNotSame($t0, $t1);
        $this->assertSame(0, PeerDropToken::verify(self::SECRET, $t0, 1)['peer']);
        $this->assertSame(1, PeerDropToken::verify(self::SECRET, $t1, 1)['peer']);
        // Splice peer 1's payload onto peer 0's MAC: must fail.
        list($p1) = explode('.', $t1);
        list(, $m0) = explode('.', $t0);
        $this->assertPeerDropError('invalid_token', function () use ($p1, $m0) {
            PeerDropToken::verify(self::SECRET, $p1 . '.' . $m0, 1);
        });
    }

    public function testExpiryBoundary(): void
    {
        $t = PeerDropToken::sign(self::SECRET, 1, $this->key(), 0, 1000);
        $this->assertSame(1000, PeerDropToken::verify(self::SECRET, $t, 999)['exp']);
        $this->assertPeerDropError('token_expired', function () use ($t) {
            PeerDropToken::verify(self::SECRET, $t, 1000);
        });
        $this->assertPeerDropError('token_expired', function () use ($t) {
            PeerDropToken::verify(self::SECRET, $t, 5000);
        });
    }

    public function testOtherSecretIsRejected(): void
    {
        $t = PeerDropToken::sign(self::SECRET, 1, $this->key(), 0, 1000);
        $this->assertPeerDropError('invalid_token', function () use ($t) {
            PeerDropToken::verify('another-secret-bbbbbbbbbbbbbbbbbbbb', $t, 1);
        });
    }

    public function testEverySingleCharacterTamperIsRejected(): void
    {
        $t = PeerDropToken::sign(self::SECRET, 12345, $this->key(), 1, 1000);
        $alphabet = 'AQgw';
        for ($i = 0; $i < strlen($t); $i++) {
            if ($t[$i] === '.') {
                continue;
            }
            foreach (str_split($alphabet) as $c) {
                if ($c === $t[$i]) {
                    continue;
                }
                $bad = substr_replace($t, $c, $i, 1);
                try {
                    PeerDropToken::verify(self::SECRET, $bad, 1);
                    $this->fail('tampered token accepted at position ' . $i);
                } catch (PeerDropError $e) {
                    $this->assertSame('invalid_token', $e->errorCode());
                }
            }
        }
    }

    /** @return array<string,array{0:string}> */
    public function malformedTokens(): array
    {
        return array(
            'empty' => array(''),
            'no dot' => array('abcdef'),
            'three parts' => array('a.b.c'),
            'short mac' => array('YWJj.abc'),
            'bad chars' => array('YW Jj.' . str_repeat('A', 43)),
            'padding' => array('YWJj=.' . str_repeat('A', 43)),
            'too long' => array(str_repeat('A', 600) . '.' . str_repeat('A', 43)),
            'newline' => array('YWJj.' . str_repeat('A', 43) . "\n"),
        );
    }

    /** @dataProvider malformedTokens */
    public function testMalformedTokensAreRejected(string $token): void
    {
        $this->assertPeerDropError('invalid_token', function () use ($token) {
            PeerDropToken::verify(self::SECRET, $token, 1);
        });
    }

    public function testCorrectlySignedButUnknownPayloadIsRejected(): void
    {
        // Same MAC construction as the server, over a payload of the wrong shape (e.g. a future format).
        $payload = PeerDrop::b64uEncode('2.1.' . str_repeat('a', 32) . '.0.99999');
        $mac = PeerDrop::b64uEncode(hash_hmac('sha256', 'peerdrop-token-v1|' . $payload, self::SECRET, true));
        $this->assertPeerDropError('invalid_token', function () use ($payload, $mac) {
            PeerDropToken::verify(self::SECRET, $payload . '.' . $mac, 1);
        });
        // And the same construction over a well-formed payload is accepted (the test above is not vacuous).
        $payload = PeerDrop::b64uEncode('1.1.' . str_repeat('a', 32) . '.0.99999');
        $mac = PeerDrop::b64uEncode(hash_hmac('sha256', 'peerdrop-token-v1|' . $payload, self::SECRET, true));
        $this->assertSame(99999, PeerDropToken::verify(self::SECRET, $payload . '.' . $mac, 1)['exp']);
    }

    public function testReceiversOneToThirtyTwoAndNothingElse(): void
    {
        // Peers 0 (the sender) to 32 (the receivers of a room for several) are signed and verified.
        foreach (array(0, 1, 2, 9, 10, 31, 32) as $peer) {
            $t = PeerDropToken::sign(self::SECRET, 5, $this->key(), $peer, 2000);
            $this->assertSame($peer, PeerDropToken::verify(self::SECRET, $t, 1)['peer']);
        }
        // Correctly signed payloads naming a peer outside 0..32, or with a leading zero, are refused.
        foreach (array('33', '99', '01', '100', '-1') as $peer) {
            $payload = PeerDrop::b64uEncode('1.5.' . str_repeat('a', 32) . '.' . $peer . '.99999');
            $mac = PeerDrop::b64uEncode(hash_hmac('sha256', 'peerdrop-token-v1|' . $payload, self::SECRET, true));
            $this->assertPeerDropError('invalid_token', function () use ($payload, $mac) {
                PeerDropToken::verify(self::SECRET, $payload . '.' . $mac, 1);
            });
        }
    }

    public function testBase64UrlRoundTrip(): void
    {
        for ($n = 0; $n < 40; $n++) {
            $b = $n === 0 ? "" : random_bytes($n);
            $e = PeerDrop::b64uEncode($b);
            $this->assertDoesNotMatchRegularExpression('/[+\/=]/', $e);
            $this->assertSame($b, PeerDrop::b64uDecode($e));
        }
        $this->assertNull(PeerDrop::b64uDecode('a'));
        $this->assertNull(PeerDrop::b64uDecode('ab+c'));
    }
}
