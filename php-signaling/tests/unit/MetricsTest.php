<?php
declare(strict_types=1);

/** Prometheus metrics: off without a token (404), bearer-only, counters stored after the response. */
final class MetricsTest extends PeerDropTestCase
{
    const TOKEN = 'metrics-token-0123456789';

    private function http(array $file = array()): PeerDropHttp
    {
        return new PeerDropHttp(function () use ($file) {
            return $this->config($file);
        }, function (PeerDropConfig $c) {
            return new PeerDropService(PeerDropStore::open($c->dataDir), $c, $this->secret, function (): int {
                return $this->now;
            }, null, function (int $us): void {
            });
        });
    }

    private static function body(string $s): callable
    {
        return function (int $n) use ($s): string {
            return $s;
        };
    }

    /** One request through a fresh handler, as in one PHP process, including afterResponse(). */
    private function request(array $file, string $method, array $headers = array(), string $body = '', string $query = ''): PeerDropResponse
    {
        $http = $this->http($file);
        $r = $http->handle($method, $headers, self::body($body), array('remote_addr' => '192.0.2.1', 'query' => $query));
        $http->afterResponse();
        return $r;
    }

    private function scrape(array $file): string
    {
        $r = $this->request($file, 'GET', array('authorization' => 'Bearer ' . self::TOKEN), '', 'metrics');
        $this->assertSame(200, $r->status, $r->render());
        $this->assertSame('text/plain; version=0.0.4; charset=utf-8', $r->headers['Content-Type']);
        $this->assertSame('no-store', $r->headers['Cache-Control']);
        return $r->render();
    }

    private static function value(string $text, string $series): ?int
    {
        foreach (explode("\n", $text) as $line) {
            if (strpos($line, $series . ' ') === 0) {
                return (int)substr($line, strlen($series) + 1);
            }
        }
        return null;
    }

    public function testDisabledWithoutATokenIs404(): void
    {
        $r = $this->request(array(), 'GET', array('authorization' => 'Bearer ' . self::TOKEN), '', 'metrics');
        $this->assertSame(404, $r->status);
        $this->assertSame('metrics_disabled', $r->body['error']['code']);
        $this->assertSame(0, (int)$this->store()->pdo()->query('SELECT COUNT(*) FROM counters')->fetchColumn(), 'nothing recorded when off');
    }

    public function testWrongOrMissingBearerIs401(): void
    {
        $file = array('metrics_token' => self::TOKEN);
        foreach (array(array(), array('authorization' => 'Bearer nope-nope-nope-nope'), array('authorization' => 'Basic ' . base64_encode('a:' . self::TOKEN)),
                     array('authorization' => self::TOKEN)) as $h) {
            $r = $this->request($file, 'GET', $h, '', 'metrics');
            $this->assertSame(401, $r->status, json_encode($h));
            $this->assertSame('metrics_unauthorized', $r->body['error']['code']);
            $this->assertStringStartsWith('Bearer', $r->headers['WWW-Authenticate']);
        }
        // A token in the query string is not a credential.
        $r = $this->request($file, 'GET', array(), '', 'metrics=' . self::TOKEN);
        $this->assertSame(401, $r->status);
    }

    public function testCountersAndGauges(): void
    {
        $file = array('metrics_token' => self::TOKEN, 'poll_slots' => 2);
        $json = array('content-type' => 'application/json');
        $room = self::room();
        $this->assertSame(201, $this->request($file, 'POST', $json, '{"v":1,"op":"create","room":"' . $room . '"}')->status);
        $join = $this->request($file, 'POST', $json, '{"v":1,"op":"join","room":"' . $room . '"}');
        $this->assertSame(409, $this->request($file, 'POST', $json, '{"v":1,"op":"join","room":"' . $room . '"}')->status);
        $this->assertSame(400, $this->request($file, 'POST', $json, '{"v":1,"op":"' . str_repeat('z', 40) . '"}')->status);
        $this->assertSame(415, $this->request($file, 'POST', array(), '{}')->status);
        $token = $join->body['token'];
        // A held poll (sleep is a no-op here, so it ends at once; the clock never moves, so bound the loop).
        $http = new PeerDropHttp(function () use ($file) {
            return $this->config($file);
        }, function (PeerDropConfig $c) {
            $t = 0.0;
            return new PeerDropService(PeerDropStore::open($c->dataDir), $c, $this->secret, function (): int {
                return $this->now;
            }, null, function (int $us): void {
            }, function () use (&$t): float {
                return $t += 1.0;
            });
        });
        $r = $http->handle('POST', $json, self::body('{"v":1,"op":"poll","token":"' . $token . '","after":0,"wait":2}'));
        $http->afterResponse();
        $this->assertSame(200, $r->status, $r->json());
        $this->assertSame(0, $r->body['poll_after_ms'], 'held');

        $text = $this->scrape($file);
        $this->assertSame(1, self::value($text, 'peerdrop_requests_total{op="create",status="201"}'));
        $this->assertSame(1, self::value($text, 'peerdrop_requests_total{op="join",status="200"}'));
        $this->assertSame(1, self::value($text, 'peerdrop_requests_total{op="join",status="409"}'));
        $this->assertSame(1, self::value($text, 'peerdrop_requests_total{op="invalid",status="400"}'), 'unknown ops share one label');
        $this->assertSame(1, self::value($text, 'peerdrop_requests_total{op="invalid",status="415"}'));
        $this->assertSame(1, self::value($text, 'peerdrop_requests_total{op="poll",status="200"}'));
        $this->assertSame(1, self::value($text, 'peerdrop_rooms_created_total'));
        $this->assertSame(1, self::value($text, 'peerdrop_rooms_joined_total'));
        $this->assertSame(1, self::value($text, 'peerdrop_held_polls_total'));
        $this->assertSame(0, self::value($text, 'peerdrop_rate_limited_total'));
        $this->assertSame(1, self::value($text, 'peerdrop_open_rooms'));
        $this->assertSame(1, self::value($text, 'peerdrop_queued_messages'), 'peer-joined waits for peer 0');
        $this->assertSame(0, self::value($text, 'peerdrop_held_polls'));
        $this->assertSame(2, self::value($text, 'peerdrop_held_poll_slots'));
        $this->assertSame(PeerDropStore::SCHEMA_VERSION, self::value($text, 'peerdrop_schema_version'));
        $this->assertGreaterThan(0, self::value($text, 'peerdrop_storage_bytes'));
        $this->assertStringNotContainsString('zzzz', $text);
        // Format: every sample line belongs to a declared metric.
        foreach (explode("\n", trim($text)) as $line) {
            $this->assertMatchesRegularExpression('/^(# (HELP|TYPE) peerdrop_[a-z_]+ .+|peerdrop_[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? -?[0-9]+(\.[0-9]+)?)$/', $line);
        }
        // The duration histogram: cumulative buckets per op, up to +Inf = count.
        $this->assertSame(1, self::value($text, 'peerdrop_request_duration_seconds_count{op="create"}'));
        $this->assertSame(1, self::value($text, 'peerdrop_request_duration_seconds_bucket{op="create",le="+Inf"}'));
        $this->assertSame(2, self::value($text, 'peerdrop_request_duration_seconds_bucket{op="join",le="+Inf"}'));
        $this->assertSame(1, self::value($text, 'peerdrop_request_duration_seconds_count{op="poll"}'));
        $this->assertStringContainsString("# TYPE peerdrop_request_duration_seconds histogram\n", $text);
        // Caps and quotas in force, live data.
        $this->assertSame(5000, self::value($text, 'peerdrop_max_rooms'));
        $this->assertSame(268435456, self::value($text, 'peerdrop_max_db_bytes'));
        $this->assertSame(16, self::value($text, 'peerdrop_quota_limit{quota="rooms"}'));
        $this->assertSame(30, self::value($text, 'peerdrop_quota_limit{quota="creates"}'));
        $this->assertSame(20, self::value($text, 'peerdrop_quota_limit{quota="failed_joins"}'));
        $this->assertSame(2 * PeerDrop::ROW_BYTES, self::value($text, 'peerdrop_storage_live_bytes'), 'a room and its peer-joined row');
        $this->assertSame(0, self::value($text, 'peerdrop_code_rooms'));
        // The scrape itself is counted (after its response).
        $this->assertSame(1, self::value($this->scrape($file), 'peerdrop_requests_total{op="metrics",status="200"}'));
    }

    public function testHeldPollGaugeSeesBusySlots(): void
    {
        $config = $this->config(array('poll_slots' => 3));
        PeerDropDataDir::ensure($config->dataDir);
        $slots = new PeerDropSlots($config->dataDir, 3);
        $a = $slots->acquire();
        $b = $slots->acquire();
        $this->assertSame(2, $slots->busyCount());
        $slots->release($a);
        $this->assertSame(1, $slots->busyCount());
        $slots->release($b);
        $this->assertSame(0, $slots->busyCount());
    }

    public function testRateLimitedAndStorageErrorsAreCounted(): void
    {
        $file = array('metrics_token' => self::TOKEN, 'rate_limit_per_minute' => 1, 'rate_limit_burst' => 1);
        $this->assertSame(200, $this->request($file, 'GET')->status);
        $this->assertSame(429, $this->request($file, 'GET')->status);
        $text = $this->scrape($file);
        $this->assertSame(1, self::value($text, 'peerdrop_rate_limited_total'), 'the request that took the last token');
        $this->assertNull(self::value($text, 'peerdrop_requests_total{op="health",status="429"}'), 'a refused request writes nothing');

        $m = new PeerDropMetrics();
        $m->add('peerdrop_storage_errors_total', array('code' => 'storage_busy'));
        $m->add('peerdrop_storage_errors_total', array('code' => 'storage_busy'));
        $m->flush($this->store());
        $this->assertSame(2, self::value($this->scrape($file), 'peerdrop_storage_errors_total{code="storage_busy"}'));
    }

    /** Everything the database holds, to compare before and after a request. */
    private function snapshot(): string
    {
        $pdo = $this->store()->pdo();
        $out = '';
        foreach (array('rooms', 'messages', 'rate_limits', 'counters') as $t) {
            $out .= $t . json_encode($pdo->query('SELECT * FROM ' . $t . ' ORDER BY 1')->fetchAll(PDO::FETCH_ASSOC)) . "\n";
        }
        return $out;
    }

    public function testARequestRefusedByTheRateLimiterWritesNothing(): void
    {
        $file = array('metrics_token' => self::TOKEN, 'rate_limit_per_minute' => 1, 'rate_limit_burst' => 1);
        // Work the after-response step would otherwise do: an expired room to clean up.
        $s = $this->service($file);
        $s->create(self::room());
        $this->now += 3600;
        $this->assertSame(200, $this->request($file, 'GET')->status, 'takes the only token');
        $this->now += 1;
        $s->create(self::room());
        $this->now += 3600;
        $before = $this->snapshot();
        $json = array('content-type' => 'application/json');
        $this->assertSame(429, $this->request($file, 'POST', $json, '{"v":1,"op":"create","room":"' . self::room() . '"}')->status);
        $this->assertSame(429, $this->request($file, 'GET')->status);
        $this->assertSame($before, $this->snapshot(), 'no counter, no bucket, no cleanup written');
    }
}
