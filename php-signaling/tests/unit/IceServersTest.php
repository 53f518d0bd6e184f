<?php
declare(strict_types=1);

/** STUN/TURN from the operator: config validation, TURN credential minting, create/join, check. */
final class IceServersTest extends PeerDropTestCase
{
    const TURN_SECRET = 'coturn-static-auth-secret-0123456789';
    const STUN = 'stun:stun.example.org:3478';
    const TURN_UDP = 'turn:turn.example.org:3478?transport=udp';
    const TURN_TCP = 'turn:turn.example.org:3478?transport=tcp';

    /** @return array<string,mixed> */
    private static function configured(): array
    {
        return array('stun_urls' => array(self::STUN), 'turn_urls' => array(self::TURN_UDP, self::TURN_TCP),
            'turn_secret' => self::TURN_SECRET, 'turn_ttl' => 3600);
    }

    public function testNothingIsHandedOutUnlessConfigured(): void
    {
        $c = $this->config();
        $this->assertSame(array(), $c->stunUrls);
        $this->assertSame(array(), $c->turnUrls);
        $this->assertNull($c->turnSecret);
        $this->assertSame(86400, $c->turnTtl);
        $this->assertSame(array(), $c->iceProblems);
        $this->assertSame(array(), PeerDropIce::servers($c, $this->now));
    }

    public function testCredentialIsCoturnsRestApiScheme(): void
    {
        // Vector from Python: base64(hmac.new(secret, username, sha1).digest()).
        $this->assertSame(
            array('username' => '1700003600:peerdrop', 'credential' => '3XCLdl/3UUoQWFEGwev0ZfUM1eI='),
            PeerDropIce::credential(self::TURN_SECRET, 1700003600)
        );
    }

    public function testCreateAndJoinHandOutTheServersWithAFreshCredentialEach(): void
    {
        $s = $this->service(self::configured());
        $room = self::room();
        list(, $a) = $s->create($room);
        $this->now += 100;
        list(, $b) = $s->join($room);
        $this->assertSame(
            '[{"urls":["' . self::STUN . '"]},{"urls":["' . self::TURN_UDP . '","' . self::TURN_TCP . '"],'
            . '"username":"1700003600:peerdrop","credential":"3XCLdl/3UUoQWFEGwev0ZfUM1eI="}]',
            json_encode($a['ice_servers'], JSON_UNESCAPED_SLASHES),
            'RTCIceServer objects: one STUN entry with every STUN URL, one TURN entry with the credential'
        );
        $this->assertSame(array('urls' => array(self::TURN_UDP, self::TURN_TCP), 'username' => '1700003700:peerdrop',
            'credential' => 'qO5zjLcSuiOhlaruwUNaWSjyvi4='), $b['ice_servers'][1], 'the joiner gets its own, later expiry');
        $this->assertStringNotContainsString($room, json_encode($a['ice_servers']), 'the TURN username names no room');
    }

    public function testStunAloneAndTurnAlone(): void
    {
        $this->assertSame(array(array('urls' => array(self::STUN, 'stuns:[2001:db8::1]:5349'))),
            PeerDropIce::servers($this->config(array('stun_urls' => array(self::STUN, 'stuns:[2001:db8::1]:5349'))), $this->now));
        $turn = PeerDropIce::servers($this->config(array('turn_urls' => array('turns:turn.example.org:5349?transport=tcp'),
            'turn_secret' => self::TURN_SECRET)), $this->now);
        $this->assertCount(1, $turn);
        $this->assertSame(($this->now + 86400) . ':peerdrop', $turn[0]['username'], 'default turn_ttl: a day');
    }

    public function testTheTurnSecretCanComeFromTheEnvironment(): void
    {
        $c = $this->config(array('turn_urls' => array(self::TURN_UDP)), array('PEERDROP_TURN_SECRET' => self::TURN_SECRET));
        $this->assertSame(array(), $c->iceProblems);
        $this->assertSame(self::TURN_SECRET, $c->turnSecret);
    }

    /** @return array<string,array{0:array<string,mixed>,1:array<int,array<string,mixed>>,2:string}> */
    public function brokenConfigs(): array
    {
        $turn = array('urls' => array(self::TURN_UDP), 'username' => '1700086400:peerdrop', 'credential' => base64_encode(hash_hmac('sha1', '1700086400:peerdrop', self::TURN_SECRET, true)));
        $secret = array('turn_secret' => self::TURN_SECRET);
        return array(
            'wrong scheme in stun_urls' => array(array('stun_urls' => array('https://stun.example.org', self::STUN)),
                array(array('urls' => array(self::STUN))), 'stun_urls: "https://stun.example.org" is not a STUN URL'),
            'a TURN URL in stun_urls' => array(array('stun_urls' => array(self::TURN_UDP)), array(), 'is not a STUN URL'),
            'stun_urls not a list' => array(array('stun_urls' => self::STUN), array(), 'stun_urls must be a list'),
            'a STUN URL in turn_urls' => array(array('turn_urls' => array(self::STUN, self::TURN_UDP)) + $secret, array($turn), 'turn_urls: "stun:'),
            'an unknown transport' => array(array('turn_urls' => array('turn:turn.example.org?transport=sctp', self::TURN_UDP)) + $secret,
                array($turn), '?transport=udp or tcp'),
            'TURN URLs without a secret' => array(array('stun_urls' => array(self::STUN), 'turn_urls' => array(self::TURN_UDP)),
                array(array('urls' => array(self::STUN))), 'turn_urls is set but turn_secret is empty'),
            'a secret without TURN URLs' => array($secret, array(), 'turn_secret is set but turn_urls is empty'),
            'a short secret' => array(array('turn_urls' => array(self::TURN_UDP), 'turn_secret' => 'short'), array(), 'shorter than 16'),
            'an example secret' => array(array('turn_urls' => array(self::TURN_UDP), 'turn_secret' => 'replace-with-a-long-random-string'), array(), 'example value'),
            'a secret that is not a string' => array(array('turn_urls' => array(self::TURN_UDP), 'turn_secret' => 12345678901234567), array(), 'turn_secret must be a string'),
            'turn_ttl out of range' => array(array('turn_urls' => array(self::TURN_UDP), 'turn_ttl' => 7 * 86400) + $secret, array(), 'turn_ttl must be'),
        );
    }

    /**
     * @dataProvider brokenConfigs
     * @param array<string,mixed> $file
     * @param array<int,array<string,mixed>> $servers
     */
    public function testABrokenPartIsLeftOutAndReported(array $file, array $servers, string $problem): void
    {
        $c = $this->config($file); // never throws: signaling itself still works
        $this->assertSame($servers, PeerDropIce::servers($c, $this->now));
        $this->assertStringContainsString($problem, implode("\n", $c->iceProblems));
        $this->writeConfigFile($file);
        $fails = self::fails(PeerDropCheck::run(array(), $this->www()));
        $this->assertStringContainsString($problem, implode("\n", $fails), 'check reports it as an error');
    }

    public function testRequestsStillSucceedAndTheProblemIsLogged(): void
    {
        $this->writeConfigFile(array('data_dir' => $this->dir . '/data', 'stun_urls' => array('stun.example.org:3478', self::STUN),
            'turn_urls' => array(self::TURN_UDP), 'rate_limit_per_minute' => 0));
        $http = peerdrop_http(array('PEERDROP_SECRET' => $this->secret), $this->www());
        $log = ini_get('error_log');
        ini_set('error_log', $this->dir . '/php-error.log');
        try {
            $r = $http->handle('POST', array('content-type' => 'application/json'), function (int $n): string {
                return '{"v":1,"op":"create","room":"' . self::room() . '"}';
            });
        } finally {
            ini_set('error_log', (string)$log);
        }
        $this->assertSame(201, $r->status, $r->json());
        $this->assertSame(array(array('urls' => array(self::STUN))), $r->body['ice_servers']);
        $logged = (string)file_get_contents($this->dir . '/php-error.log');
        $this->assertStringContainsString('peerdrop notice: stun_urls: "stun.example.org:3478" is not a STUN URL', $logged);
        $this->assertStringContainsString('peerdrop notice: turn_urls is set but turn_secret is empty', $logged);
    }

    public function testCheckWarnsWithoutIceServers(): void
    {
        $results = PeerDropCheck::run(array(), $this->www());
        $this->assertSame(array(), self::fails($results), 'a warning, not an error');
        $warns = implode("\n", self::level($results, 'warn'));
        $this->assertStringContainsString('no STUN or TURN server configured', $warns);
        $this->assertStringContainsString('same network', $warns);
        $this->assertStringContainsString('docs/operations/turn.md', $warns);

        $this->writeConfigFile(self::configured());
        $results = PeerDropCheck::run(array(), $this->www());
        $this->assertSame(array(), self::fails($results));
        $this->assertStringNotContainsString('STUN or TURN', implode("\n", self::level($results, 'warn')));
        $this->assertStringContainsString('TURN ' . self::TURN_UDP, implode("\n", self::level($results, 'ok')));
        $this->assertStringNotContainsString(self::TURN_SECRET, print_r($results, true), 'check never prints the secret');
    }

    public function testCliCheckExitsWithAnErrorOnABrokenTurnConfig(): void
    {
        $this->writeConfigFile(array('turn_urls' => array(self::TURN_UDP)));
        copy(__DIR__ . '/../../signal.php', $this->www() . '/signal.php');
        $env = array('PATH' => (string)getenv('PATH'));
        $p = proc_open(array(PHP_BINARY, $this->www() . '/signal.php', 'check'), array(1 => array('pipe', 'w'), 2 => array('pipe', 'w')), $pipes, $this->dir, $env);
        $out = stream_get_contents($pipes[1]) . stream_get_contents($pipes[2]);
        $this->assertSame(1, proc_close($p), (string)$out);
        $this->assertStringContainsString('FAIL  turn_urls is set but turn_secret is empty', (string)$out);
    }

    private function www(): string
    {
        $www = $this->dir . '/www';
        if (!is_dir($www)) {
            mkdir($www, 0755, true);
        }
        return $www;
    }

    /** @param array<string,mixed> $cfg */
    private function writeConfigFile(array $cfg): void
    {
        file_put_contents($this->dir . '/peerdrop.config.php', "<?php\nreturn " . var_export($cfg, true) . ";\n");
    }

    /**
     * @param array<int,array{0:string,1:string}> $results
     * @return string[]
     */
    private static function level(array $results, string $level): array
    {
        $out = array();
        foreach ($results as $r) {
            if ($r[0] === $level) {
                $out[] = $r[1];
            }
        }
        return $out;
    }

    /**
     * @param array<int,array{0:string,1:string}> $results
     * @return string[]
     */
    private static function fails(array $results): array
    {
        return self::level($results, 'fail');
    }
}
