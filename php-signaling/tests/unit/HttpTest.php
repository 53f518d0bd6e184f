<?php
declare(strict_types=1);

/** The HTTP layer without a web server: methods, media type, size limits, CORS, headers. */
final class HttpTest extends PeerDropTestCase
{
    /** @param array<string,mixed> $file */
    private function http(array $file = array()): PeerDropHttp
    {
        $config = $this->config($file);
        return new PeerDropHttp(
            function () use ($config): PeerDropConfig {
                return $config;
            },
            function (PeerDropConfig $c): PeerDropService {
                return new PeerDropService(PeerDropStore::open($c->dataDir), $c, $this->secret, function (): int {
                    return $this->now;
                });
            }
        );
    }

    private static function body(string $raw): callable
    {
        return function (int $max) use ($raw): string {
            return substr($raw, 0, $max);
        };
    }

    private function assertBaseHeaders(PeerDropResponse $r): void
    {
        $this->assertSame('application/json', $r->headers['Content-Type']);
        $this->assertSame('no-store', $r->headers['Cache-Control']);
        $this->assertSame('no-referrer', $r->headers['Referrer-Policy']);
        $this->assertSame('nosniff', $r->headers['X-Content-Type-Options']);
        $this->assertIsArray(json_decode($r->json(), true));
        $this->assertStringNotContainsString($this->dir, $r->json());
    }

    private function assertError(PeerDropResponse $r, int $status, string $code): void
    {
        $this->assertSame($status, $r->status);
        $this->assertSame($code, $r->body['error']['code']);
        $this->assertNotSame('', $r->body['error']['message']);
        $this->assertSame(array('error'), array_keys($r->body));
        $this->assertBaseHeaders($r);
    }

    public function testWrongMethodIs405WithAllow(): void
    {
        foreach (array('PUT', 'DELETE', 'PATCH', 'HEAD') as $m) {
            $r = $this->http()->handle($m, array(), self::body(''));
            $this->assertError($r, 405, 'method_not_allowed');
            $this->assertSame('GET, POST, OPTIONS', $r->headers['Allow']);
        }
    }

    public function testWrongMediaTypeIs415(): void
    {
        $r = $this->http()->handle('POST', array('content-type' => 'text/plain'), self::body('{"v":1,"op":"create","room":"' . self::room() . '"}'));
        $this->assertError($r, 415, 'unsupported_media_type');
        $r = $this->http()->handle('POST', array(), self::body('{}'));
        $this->assertError($r, 415, 'unsupported_media_type');
    }

    public function testDeclaredOversizeBodyIsRejectedBeforeReading(): void
    {
        $read = false;
        $r = $this->http()->handle('POST', array('content-type' => 'application/json', 'content-length' => '65537'), function (int $max) use (&$read): string {
            $read = true;
            return '';
        });
        $this->assertError($r, 413, 'body_too_large');
        $this->assertFalse($read, 'the body must not be read');
    }

    public function testUndeclaredOversizeBodyIsRejectedWhileReading(): void
    {
        $asked = 0;
        $r = $this->http()->handle('POST', array('content-type' => 'application/json'), function (int $max) use (&$asked): string {
            $asked = $max;
            return str_repeat(' ', $max);
        });
        $this->assertSame(65537, $asked, 'reads at most one byte past the limit');
        $this->assertError($r, 413, 'body_too_large');
    }

    public function testCreateOverHttp(): void
    {
        $r = $this->http()->handle('POST', array('content-type' => 'application/json; charset=utf-8', 'content-length' => '60'),
            self::body('{"v":1,"op":"create","room":"' . self::room() . '"}'));
        $this->assertSame(201, $r->status);
        $this->assertSame(0, $r->body['peer']);
        $this->assertBaseHeaders($r);
        $this->assertArrayNotHasKey('Access-Control-Allow-Origin', $r->headers);
    }

    public function testHealth(): void
    {
        $r = $this->http()->handle('GET', array(), self::body(''));
        $this->assertSame(200, $r->status);
        $body = json_decode($r->json(), true);
        $this->assertSame(array('ok' => true, 'version' => 1, 'schema' => PeerDropStore::SCHEMA_VERSION, 'storage' => 'sqlite'),
            array_intersect_key($body, array_flip(array('ok', 'version', 'schema', 'storage'))));
        $this->assertSame(65536, $body['limits']['max_body_bytes']);
        $this->assertSame(600, $body['limits']['rate_limit_per_minute']);
        $this->assertBaseHeaders($r);
    }

    public function testHealthIs503WhenStorageIsNotWritable(): void
    {
        if (function_exists('posix_geteuid') && posix_geteuid() === 0) {
            // root ignores permission bits; use a path under a regular file instead (mkdir fails).
            touch($this->dir . '/file');
            $r = $this->http(array('data_dir' => $this->dir . '/file/data'))->handle('GET', array(), self::body(''));
        } else {
            mkdir($this->dir . '/ro', 0500);
            $r = $this->http(array('data_dir' => $this->dir . '/ro/data'))->handle('GET', array(), self::body(''));
        }
        $this->assertError($r, 503, 'storage_unavailable');
    }

    public function testMisconfigurationIs503WithoutDetails(): void
    {
        $http = new PeerDropHttp(
            function (): PeerDropConfig {
                throw new PeerDropConfigError('config file /very/secret/peerdrop.config.php must return an array');
            },
            function (PeerDropConfig $c): PeerDropService {
                $this->fail('no service without config');
            }
        );
        $log = ini_get('error_log');
        ini_set('error_log', $this->dir . '/php-error.log');
        try {
            $r = $http->handle('POST', array('content-type' => 'application/json'), self::body('{}'));
        } finally {
            ini_set('error_log', (string)$log);
        }
        $this->assertError($r, 503, 'misconfigured');
        $this->assertStringNotContainsString('/very/secret', $r->json());
        $this->assertStringContainsString('/very/secret', (string)file_get_contents($this->dir . '/php-error.log'), 'details go to the server log');
    }

    public function testExampleSecretIsRefusedAtRuntime(): void
    {
        $config = $this->config(array('secret' => 'change-me'));
        $this->assertPeerDropError('misconfigured', function () use ($config) {
            PeerDropDataDir::secret($config);
        });
    }

    public function testCorsIsSameOriginByDefault(): void
    {
        $r = $this->http()->handle('OPTIONS', array('origin' => 'https://evil.example'), self::body(''));
        $this->assertError($r, 403, 'origin_not_allowed');
        $this->assertArrayNotHasKey('Access-Control-Allow-Origin', $r->headers);
        // No Origin header (not a CORS preflight): a plain description of allowed methods.
        $r = $this->http()->handle('OPTIONS', array(), self::body(''));
        $this->assertSame(200, $r->status);
        $this->assertSame('GET, POST, OPTIONS', $r->headers['Allow']);
        $this->assertBaseHeaders($r);
        $r = $this->http()->handle('GET', array('origin' => 'https://evil.example'), self::body(''));
        $this->assertArrayNotHasKey('Access-Control-Allow-Origin', $r->headers);
    }

    public function testCorsAllowListIsExact(): void
    {
        $file = array('allowed_origins' => array('https://app.example', 'http://localhost:8080'));
        $r = $this->http($file)->handle('OPTIONS', array('origin' => 'https://app.example'), self::body(''));
        $this->assertSame(200, $r->status);
        $this->assertSame('https://app.example', $r->headers['Access-Control-Allow-Origin']);
        $this->assertSame('Origin', $r->headers['Vary']);
        $this->assertSame('Content-Type', $r->headers['Access-Control-Allow-Headers']);
        $this->assertStringContainsString('POST', $r->headers['Access-Control-Allow-Methods']);
        $this->assertArrayNotHasKey('Access-Control-Allow-Credentials', $r->headers);
        foreach (array('https://app.example.evil', 'https://app.example:443', 'http://app.example', 'null', 'https://evil.example') as $bad) {
            $r = $this->http($file)->handle('OPTIONS', array('origin' => $bad), self::body(''));
            $this->assertError($r, 403, 'origin_not_allowed');
        }
        $r = $this->http($file)->handle('POST', array('origin' => 'http://localhost:8080', 'content-type' => 'application/json'),
            self::body('{"v":1,"op":"create","room":"' . self::room() . '"}'));
        $this->assertSame(201, $r->status);
        $this->assertSame('http://localhost:8080', $r->headers['Access-Control-Allow-Origin']);
        $r = $this->http($file)->handle('POST', array('origin' => 'https://evil.example', 'content-type' => 'application/json'),
            self::body('{"v":1,"op":"create","room":"' . self::room() . '"}'));
        $this->assertArrayNotHasKey('Access-Control-Allow-Origin', $r->headers);
        $this->assertSame('Origin', $r->headers['Vary']);
    }

    public function testShortCodeFieldsOverHttp(): void
    {
        $post = function (string $json, array $file = array(), array $request = array()): PeerDropResponse {
            return $this->http($file)->handle('POST', array('content-type' => 'application/json'), self::body($json), $request);
        };
        $r = $post('{"v":1,"op":"create","code":true,"room":"not read"}');
        $this->assertSame(201, $r->status, $r->json());
        $code = $r->body['code'];
        $this->assertIsInt($code);
        $keys = array_keys($r->body);
        sort($keys);
        $this->assertSame(array('code', 'cursor', 'expires_in', 'ice_servers', 'peer', 'token'), $keys);
        foreach (array('1', 'false', '"yes"', 'null') as $bad) {
            $this->assertError($post('{"v":1,"op":"create","code":' . $bad . '}'), 400, 'invalid_field');
        }
        foreach (array('"' . $code . '"', '0', '10000', '4.5', 'null', '-3') as $bad) {
            $this->assertError($post('{"v":1,"op":"join","code":' . $bad . '}'), 400, 'invalid_code');
        }
        $j = $post('{"v":1,"op":"join","code":' . $code . ',"room":"not read"}');
        $this->assertSame(200, $j->status, $j->json());
        $this->assertSame(1, $j->body['peer']);
    }

    public function testQuotasFollowTheClientBehindATrustedProxy(): void
    {
        $file = array('trusted_proxies' => array('127.0.0.1'), 'quota_rooms' => 2);
        $create = function (string $client) use ($file): PeerDropResponse {
            return $this->http($file)->handle('POST', array('content-type' => 'application/json', 'x-forwarded-for' => $client),
                self::body('{"v":1,"op":"create","code":true}'), array('remote_addr' => '127.0.0.1'));
        };
        $this->assertSame(201, $create('203.0.113.5')->status);
        $this->assertSame(201, $create('203.0.113.5')->status);
        $r = $create('203.0.113.5');
        $this->assertError($r, 429, 'quota_exceeded');
        $this->assertGreaterThanOrEqual(1, (int)$r->headers['Retry-After']);
        $this->assertSame(201, $create('203.0.113.6')->status, 'another client is not affected');
    }

    public function testAfterResponseCleansUpExpiredRooms(): void
    {
        $http = $this->http();
        $r = $http->handle('POST', array('content-type' => 'application/json'), self::body('{"v":1,"op":"create","room":"' . self::room() . '"}'));
        $this->assertSame(201, $r->status);
        $this->now += 601;
        $http2 = $this->http();
        $r = $http2->handle('GET', array(), self::body(''));
        $this->assertSame(200, $r->status);
        $pdo = new PDO('sqlite:' . $this->dir . '/data/' . PeerDropStore::DB_FILE);
        $this->assertSame(1, (int)$pdo->query('SELECT COUNT(*) FROM rooms')->fetchColumn(), 'cleanup runs after the response');
        $http2->afterResponse();
        $this->assertSame(0, (int)$pdo->query('SELECT COUNT(*) FROM rooms')->fetchColumn());
    }
}
