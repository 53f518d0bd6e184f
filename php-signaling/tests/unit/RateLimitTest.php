<?php
declare(strict_types=1);

/** Token buckets per client: keyed hash with a daily salt, X-Forwarded-For only from trusted proxies. */
final class RateLimitTest extends PeerDropTestCase
{
    /** @var float */
    private $t = 1700000000.0;

    private function limiter(int $perMinute = 60, int $burst = 3, ?PeerDropStore $store = null): PeerDropRateLimiter
    {
        return new PeerDropRateLimiter($store !== null ? $store : $this->store(), $perMinute, $burst, $this->secret, function (): float {
            return $this->t;
        });
    }

    public function testBurstThenRefillAtTheConfiguredRate(): void
    {
        $l = $this->limiter(60, 3); // one per second, bursts of 3
        $l->consume('198.51.100.7');
        $l->consume('198.51.100.7');
        $l->consume('198.51.100.7');
        $e = $this->assertPeerDropError('rate_limited', function () use ($l) {
            $l->consume('198.51.100.7');
        });
        $this->assertSame(429, $e->status());
        $this->assertSame('1', $e->headers()['Retry-After']);
        // Another client has its own bucket.
        $l->consume('198.51.100.8');
        $this->t += 1.0;
        $l->consume('198.51.100.7');
        $this->assertPeerDropError('rate_limited', function () use ($l) {
            $l->consume('198.51.100.7');
        });
        // Never more than the burst, however long the client was idle.
        $this->t += 3600;
        for ($i = 0; $i < 3; $i++) {
            $l->consume('198.51.100.7');
        }
        $this->assertPeerDropError('rate_limited', function () use ($l) {
            $l->consume('198.51.100.7');
        });
    }

    public function testAClockBehindAnotherServersDoesNotLockClientsOut(): void
    {
        $store = $this->store();
        $this->t += 600; // a server (or test clock) ten minutes ahead writes first (same UTC day)
        $this->limiter(60, 3, $store)->consume('198.51.100.9');
        $this->t -= 600; // then this server, whose clock is behind
        $l = $this->limiter(60, 3, $store);
        $l->consume('198.51.100.9');
        $l->consume('198.51.100.9');
        $this->assertPeerDropError('rate_limited', function () use ($l) {
            $l->consume('198.51.100.9');
        });
        $this->assertSame($this->t * 1000 + 600000, (float)$store->pdo()->query('SELECT updated_ms FROM rate_limits')->fetchColumn(),
            'the later timestamp is kept');
    }

    public function testRetryAfterCoversTheWholeWait(): void
    {
        $l = $this->limiter(6, 1); // one per 10 s
        $l->consume('203.0.113.5');
        $e = $this->assertPeerDropError('rate_limited', function () use ($l) {
            $l->consume('203.0.113.5');
        });
        $this->assertSame('10', $e->headers()['Retry-After']);
    }

    public function testZeroRateTurnsItOff(): void
    {
        $l = $this->limiter(0, 1);
        for ($i = 0; $i < 50; $i++) {
            $l->consume('203.0.113.5');
        }
        $this->assertSame(0, (int)$this->store()->pdo()->query('SELECT COUNT(*) FROM rate_limits')->fetchColumn());
    }

    public function testNoAddressIsStoredAndTheSaltRotatesDaily(): void
    {
        $store = $this->store();
        $l = $this->limiter(60, 3, $store);
        $l->consume('198.51.100.77');
        $rows = $store->pdo()->query('SELECT k FROM rate_limits')->fetchAll(PDO::FETCH_COLUMN);
        $this->assertCount(1, $rows);
        $this->assertStringNotContainsString('198.51.100.77', $rows[0]);
        $this->assertSame(PeerDropRateLimiter::clientKey($this->secret, '198.51.100.77', (int)floor($this->t / 86400)), $rows[0]);
        // Not a plain hash of the address: without the secret the key cannot be recomputed.
        $this->assertNotSame(substr(hash('sha256', '198.51.100.77'), 0, 32), $rows[0]);
        $day = (int)floor($this->t / 86400);
        $this->assertNotSame(PeerDropRateLimiter::clientKey($this->secret, '198.51.100.77', $day),
            PeerDropRateLimiter::clientKey($this->secret, '198.51.100.77', $day + 1));
        $this->assertNotSame(PeerDropRateLimiter::clientKey($this->secret, '198.51.100.77', $day),
            PeerDropRateLimiter::clientKey('another-secret-0123456789abcdef', '198.51.100.77', $day));
        $db = (string)file_get_contents($this->dir . '/data/' . PeerDropStore::DB_FILE) . (string)@file_get_contents($this->dir . '/data/' . PeerDropStore::DB_FILE . '-wal');
        $this->assertStringNotContainsString('198.51.100.77', $db);
    }

    public function testForwardedForIsIgnoredWithoutTrustedProxies(): void
    {
        $this->assertSame('192.0.2.1', PeerDropClientAddress::resolve('192.0.2.1', '203.0.113.9', array()));
        // From an untrusted peer the header proves nothing either.
        $this->assertSame('192.0.2.1', PeerDropClientAddress::resolve('192.0.2.1', '203.0.113.9', array('10.0.0.0/8')));
    }

    public function testRightMostUntrustedHopIsTheClient(): void
    {
        $trusted = array('10.0.0.0/8', '192.0.2.10');
        // client-supplied junk, real client, then our two proxies
        $this->assertSame('203.0.113.9', PeerDropClientAddress::resolve('10.1.2.3', '1.1.1.1, 203.0.113.9, 192.0.2.10', $trusted));
        $this->assertSame('203.0.113.9', PeerDropClientAddress::resolve('10.1.2.3', '203.0.113.9', $trusted));
        // Garbage in the chain: stop at the last hop we can vouch for.
        $this->assertSame('192.0.2.10', PeerDropClientAddress::resolve('10.1.2.3', '203.0.113.9, not-an-ip, 192.0.2.10', $trusted));
        // Every hop trusted: the left-most one.
        $this->assertSame('10.9.9.9', PeerDropClientAddress::resolve('10.1.2.3', '10.9.9.9, 10.8.8.8', $trusted));
    }

    public function testAddressesAreNormalized(): void
    {
        $this->assertSame('2001:db8:1:2::/64', PeerDropClientAddress::normalize('2001:db8:1:2:aaaa:bbbb:cccc:dddd'));
        $this->assertSame('2001:db8:1:2::/64', PeerDropClientAddress::normalize('2001:db8:1:2::1'));
        $this->assertSame('192.0.2.4', PeerDropClientAddress::normalize('::ffff:192.0.2.4'));
        $this->assertSame('unknown', PeerDropClientAddress::normalize(''));
    }

    public function testCidrMatching(): void
    {
        $this->assertTrue(PeerDropClientAddress::matches('10.255.0.1', '10.0.0.0/8'));
        $this->assertFalse(PeerDropClientAddress::matches('11.0.0.1', '10.0.0.0/8'));
        $this->assertTrue(PeerDropClientAddress::matches('192.168.1.130', '192.168.1.128/25'));
        $this->assertFalse(PeerDropClientAddress::matches('192.168.1.127', '192.168.1.128/25'));
        $this->assertTrue(PeerDropClientAddress::matches('2001:db8::5', '2001:db8::/32'));
        $this->assertFalse(PeerDropClientAddress::matches('2001:db9::5', '2001:db8::/32'));
        $this->assertFalse(PeerDropClientAddress::matches('10.0.0.1', '2001:db8::/32'));
        $this->assertFalse(PeerDropClientAddress::isValidCidr('10.0.0.0/33'));
        $this->assertFalse(PeerDropClientAddress::isValidCidr('example.org'));
        $this->assertTrue(PeerDropClientAddress::isValidCidr('::1'));
    }

    public function testConfigValidatesTrustedProxiesAndRates(): void
    {
        foreach (array(array('trusted_proxies' => '10.0.0.1'), array('trusted_proxies' => array('10.0.0.0/40')),
                     array('rate_limit_per_minute' => -1), array('rate_limit_burst' => 0)) as $bad) {
            try {
                $this->config($bad);
                $this->fail('accepted ' . json_encode($bad));
            } catch (PeerDropConfigError $e) {
                $this->assertNotSame('', $e->getMessage());
            }
        }
        $c = $this->config(array('trusted_proxies' => array('10.0.0.0/8'), 'rate_limit_per_minute' => 30, 'rate_limit_burst' => 5));
        $this->assertSame(array('10.0.0.0/8'), $c->trustedProxies);
        $this->assertSame(30, $c->rateLimitPerMinute);
    }

    public function testHttpAnswers429WithRetryAfterPerClient(): void
    {
        $file = array('data_dir' => $this->dir . '/data', 'rate_limit_per_minute' => 60, 'rate_limit_burst' => 2,
            'trusted_proxies' => array('127.0.0.1'));
        $http = function () use ($file): PeerDropHttp {
            return new PeerDropHttp(function () use ($file) {
                return PeerDropConfig::load(array(), $this->dir . '/www', $file);
            }, function (PeerDropConfig $c) {
                return new PeerDropService(PeerDropStore::open($c->dataDir), $c, $this->secret, function (): int {
                    return $this->now;
                });
            });
        };
        $body = function (): callable {
            return function (int $n): string {
                return '{"v":1,"op":"create","room":"' . self::room() . '"}';
            };
        };
        $json = array('content-type' => 'application/json');
        $direct = array('remote_addr' => '198.51.100.1');
        $this->assertSame(201, $http()->handle('POST', $json, $body(), $direct)->status);
        $this->assertSame(201, $http()->handle('POST', $json, $body(), $direct)->status);
        $read = false;
        $r = $http()->handle('POST', $json, function (int $n) use (&$read): string {
            $read = true;
            return '{}';
        }, $direct);
        $this->assertSame(429, $r->status);
        $this->assertSame('rate_limited', $r->body['error']['code']);
        $this->assertGreaterThanOrEqual(1, (int)$r->headers['Retry-After']);
        $this->assertFalse($read, 'a limited request is refused before its body is read');
        // Health counts too.
        $this->assertSame(429, $http()->handle('GET', array(), $body(), $direct)->status);
        // Behind the trusted proxy, each forwarded client has its own bucket; a spoofed header from
        // an untrusted address does not escape the limit.
        $proxy = array('remote_addr' => '127.0.0.1');
        $this->assertSame(201, $http()->handle('POST', $json + array('x-forwarded-for' => '203.0.113.1'), $body(), $proxy)->status);
        $this->assertSame(201, $http()->handle('POST', $json + array('x-forwarded-for' => '203.0.113.2'), $body(), $proxy)->status);
        $this->assertSame(429, $http()->handle('POST', $json + array('x-forwarded-for' => '203.0.113.99'), $body(), $direct)->status);
    }
}
