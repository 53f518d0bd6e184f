<?php
declare(strict_types=1);

/** Configuration lookup, precedence, validation; the secret; the deployment check (function and CLI). */
final class ConfigTest extends PeerDropTestCase
{
    private function www(): string
    {
        $www = $this->dir . '/www';
        if (!is_dir($www)) {
            mkdir($www, 0755, true);
        }
        return $www;
    }

    /** @param array<string,mixed> $cfg */
    private function writeConfig(string $path, array $cfg): void
    {
        file_put_contents($path, "<?php\nreturn " . var_export($cfg, true) . ";\n");
    }

    public function testDefaultsWithoutConfigFile(): void
    {
        $c = PeerDropConfig::load(array(), $this->www());
        $this->assertSame($this->dir . DIRECTORY_SEPARATOR . 'peerdrop-data', $c->dataDir);
        $this->assertNull($c->configFile);
        $this->assertNull($c->secret);
        $this->assertSame(4, $c->pollSlots);
        $this->assertSame(600, $c->ttlUnjoined);
        $this->assertSame(3600, $c->ttlRoom);
        $this->assertSame(array(), $c->allowedOrigins);
        $this->assertFalse($c->testMode);
    }

    public function testConfigFileInParentDirectoryIsFound(): void
    {
        $this->writeConfig($this->dir . '/peerdrop.config.php', array('data_dir' => 'private/pd', 'poll_slots' => 2, 'secret' => str_repeat('s', 40)));
        $c = PeerDropConfig::load(array(), $this->www());
        $this->assertSame($this->dir . '/peerdrop.config.php', $c->configFile);
        $this->assertSame($this->dir . DIRECTORY_SEPARATOR . 'private/pd', $c->dataDir, 'relative to the config file');
        $this->assertSame(2, $c->pollSlots);
        $this->assertSame('config', $c->secretSource);
    }

    public function testEnvOverridesConfigFile(): void
    {
        $path = $this->dir . '/elsewhere.php';
        $this->writeConfig($path, array('data_dir' => '/from/config', 'secret' => str_repeat('c', 40)));
        $c = PeerDropConfig::load(array('PEERDROP_CONFIG' => $path, 'PEERDROP_DATA_DIR' => '/from/env', 'PEERDROP_SECRET' => str_repeat('e', 40)), $this->www());
        $this->assertSame($path, $c->configFile);
        $this->assertSame('/from/env', $c->dataDir);
        $this->assertSame(str_repeat('e', 40), $c->secret);
        $this->assertSame('env', $c->secretSource);
    }

    public function testMissingExplicitConfigFileIsAnError(): void
    {
        $this->expectException(PeerDropConfigError::class);
        PeerDropConfig::load(array('PEERDROP_CONFIG' => $this->dir . '/nope.php'), $this->www());
    }

    /** @return array<string,array{0:array<string,mixed>}> */
    public function badConfigs(): array
    {
        return array(
            'unknown key' => array(array('dta_dir' => '/x')),
            'slots type' => array(array('poll_slots' => '4')),
            'slots range' => array(array('poll_slots' => 1000)),
            'ttl order' => array(array('ttl_unjoined' => 4000, 'ttl_room' => 3600)),
            'origin wildcard' => array(array('allowed_origins' => array('*'))),
            'origin path' => array(array('allowed_origins' => array('https://a.example/'))),
            'origins not list' => array(array('allowed_origins' => 'https://a.example')),
            'journal' => array(array('journal_mode' => 'delete')),
            'test_mode string' => array(array('test_mode' => 'yes')),
        );
    }

    /**
     * @dataProvider badConfigs
     * @param array<string,mixed> $cfg
     */
    public function testBadConfigIsRejected(array $cfg): void
    {
        $this->expectException(PeerDropConfigError::class);
        PeerDropConfig::load(array(), $this->www(), $cfg);
    }

    public function testNonArrayConfigFileIsRejected(): void
    {
        file_put_contents($this->dir . '/peerdrop.config.php', "<?php\n\$x = 1;\n");
        $this->expectException(PeerDropConfigError::class);
        PeerDropConfig::load(array(), $this->www());
    }

    public function testTestClockOnlyWithTestMode(): void
    {
        $env = array('PEERDROP_TEST_NOW' => '12345');
        $c = PeerDropConfig::load($env, $this->www(), array());
        $this->assertNull($c->testNow);
        $this->assertEqualsWithDelta(time(), call_user_func($c->clock()), 2);
        $c = PeerDropConfig::load($env, $this->www(), array('test_mode' => true));
        $this->assertSame(12345, call_user_func($c->clock()));
        $c = PeerDropConfig::load(array('PEERDROP_TEST_NOW' => '+7200'), $this->www(), array('test_mode' => true));
        $this->assertEqualsWithDelta(time() + 7200, call_user_func($c->clock()), 2);
        $c = PeerDropConfig::load(array('PEERDROP_TEST_NOW' => '-60'), $this->www(), array('test_mode' => true));
        $this->assertEqualsWithDelta(time() - 60, call_user_func($c->clock()), 2);
        $this->expectException(PeerDropConfigError::class);
        PeerDropConfig::load(array('PEERDROP_TEST_NOW' => 'tomorrow'), $this->www(), array('test_mode' => true));
    }

    public function testExampleConfigIsValidWithEveryOptionUncommented(): void
    {
        $text = (string)file_get_contents(__DIR__ . '/../../peerdrop.config.example.php');
        $c = PeerDropConfig::load(array('PEERDROP_CONFIG' => __DIR__ . '/../../peerdrop.config.example.php'), $this->www());
        $this->assertSame(4, $c->pollSlots, 'as shipped, everything is commented out');
        $uncommented = preg_replace("#^(\\s*)// ('[a-z_]+' =>)#m", '$1$2', $text, -1, $n);
        $this->assertGreaterThanOrEqual(15, $n, 'every option is documented in the example');
        file_put_contents($this->dir . '/peerdrop.config.php', $uncommented);
        $c = PeerDropConfig::load(array(), $this->www());
        $this->assertSame(array('https://peerdrop.example.org'), $c->allowedOrigins);
        $this->assertSame($this->dir . DIRECTORY_SEPARATOR . 'peerdrop-data', $c->dataDir);
    }

    public function testGeneratedSecretIsStablePrivateAndRandom(): void
    {
        $c = $this->config();
        $s1 = PeerDropDataDir::secret($c);
        $s2 = PeerDropDataDir::secret($c);
        $this->assertSame(32, strlen($s1));
        $this->assertSame($s1, $s2);
        $file = $c->dataDir . '/secret.key';
        $this->assertSame(0600, fileperms($file) & 0777);
        $this->assertMatchesRegularExpression('/^[0-9a-f]{64}\n$/', (string)file_get_contents($file));
        $this->assertSame(array('.htaccess', 'index.html', 'secret.key'), array_values(array_diff(scandir($c->dataDir), array('.', '..'))), 'no temp files left');
        // A different data dir gets a different secret.
        $other = $this->config(array('data_dir' => $this->dir . '/data2'));
        $this->assertNotSame($s1, PeerDropDataDir::secret($other));
    }

    public function testConfiguredSecretTakesPrecedenceAndShortOnesAreRefused(): void
    {
        $c = $this->config(array('secret' => str_repeat('k', 32)));
        $this->assertSame(str_repeat('k', 32), PeerDropDataDir::secret($c));
        $this->assertFileDoesNotExist($c->dataDir . '/secret.key');
        $this->assertPeerDropError('misconfigured', function () {
            PeerDropDataDir::secret($this->config(array('secret' => 'short')));
        });
    }

    /** @param array<int,array{0:string,1:string}> $results */
    private static function levels(array $results, string $level): array
    {
        return array_values(array_map(function ($r) {
            return $r[1];
        }, array_filter($results, function ($r) use ($level) {
            return $r[0] === $level;
        })));
    }

    public function testCheckPassesForAGoodDeployment(): void
    {
        $results = PeerDropCheck::run(array(), $this->www());
        $this->assertSame(array(), self::levels($results, 'fail'), print_r($results, true));
        $this->assertFileExists($this->dir . '/peerdrop-data/secret.key');
        $this->assertFileExists($this->dir . '/peerdrop-data/peerdrop.sqlite');
    }

    public function testCheckFailsOnDataDirInWebRoot(): void
    {
        $fails = self::levels(PeerDropCheck::run(array('PEERDROP_DATA_DIR' => $this->www() . '/data'), $this->www()), 'fail');
        $this->assertCount(1, $fails);
        $this->assertStringContainsString('outside the web root', $fails[0]);
    }

    public function testCheckWithAnExplicitWebRoot(): void
    {
        // signal.php in a sub folder of the web root: the default data dir (its parent's
        // peerdrop-data) is still inside the web root. Only the explicit web root reveals it.
        $root = $this->dir . '/public_html';
        $sub = $root . '/peerdrop';
        mkdir($sub, 0755, true);
        $results = PeerDropCheck::run(array(), $sub, PHP_VERSION, $root);
        $fails = self::levels($results, 'fail');
        $this->assertCount(1, $fails);
        $this->assertStringContainsString('inside ' . $root, $fails[0]);
        $this->assertDirectoryDoesNotExist($root . '/peerdrop-data', 'check must not create it there');
        // Without the web root, the path still looks suspicious: a warning.
        $warns = self::levels(PeerDropCheck::run(array(), $sub), 'warn');
        $this->assertStringContainsString('web-root-like', implode("\n", $warns));
        // Outside it: fine.
        $fails = self::levels(PeerDropCheck::run(array('PEERDROP_DATA_DIR' => $this->dir . '/private'), $sub, PHP_VERSION, $root), 'fail');
        $this->assertSame(array(), $fails);
    }

    /** @return array<string,array{0:string}> */
    public function webRoots(): array
    {
        return array(
            'plain' => array('www'),
            // The refusal names the paths: words in them that read like a storage fault change nothing.
            'path with storage wording' => array('readonly-disk-full/www'),
        );
    }

    /** @dataProvider webRoots */
    public function testRuntimeRefusesADataDirInsideTheDocumentRoot(string $name): void
    {
        $root = $this->dir . '/' . $name;
        mkdir($root, 0755, true);
        $http = peerdrop_http(array('PEERDROP_DATA_DIR' => $root . '/pd-data'), $root, $root);
        $log = ini_get('error_log');
        ini_set('error_log', $this->dir . '/php-error.log');
        try {
            $r = $http->handle('GET', array(), function (int $n): string {
                return '';
            });
        } finally {
            ini_set('error_log', (string)$log);
        }
        $this->assertSame(503, $r->status);
        $this->assertSame('misconfigured', $r->body['error']['code']);
        $this->assertDirectoryDoesNotExist($root . '/pd-data');
        $ok = peerdrop_http(array('PEERDROP_DATA_DIR' => $this->dir . '/pd-data'), $root, $root)->handle('GET', array(), function (int $n): string {
            return '';
        });
        $this->assertSame(200, $ok->status);
    }

    /** @return array<string,array{0:array<string,string>,1:array<string,mixed>}> */
    public function dataDirsBesideTheScript(): array
    {
        return array(
            'relative env data dir' => array(array('PEERDROP_DATA_DIR' => 'pd-data'), array()),
            'env data dir via ..' => array(array('PEERDROP_DATA_DIR' => '../site/./pd-data'), array()),
            'relative config data_dir' => array(array(), array('data_dir' => 'site/pd-data')),
            'the folder itself' => array(array('PEERDROP_DATA_DIR' => '.'), array()),
        );
    }

    /**
     * The folder holding signal.php is served whatever DOCUMENT_ROOT says (an Alias, a
     * ~user/public_html); a data dir there, however it is written, is refused at runtime.
     * @dataProvider dataDirsBesideTheScript
     * @param array<string,string> $env
     * @param array<string,mixed> $file
     */
    public function testRuntimeRefusesADataDirInsideTheScriptsFolder(array $env, array $file): void
    {
        $site = $this->dir . '/site';
        mkdir($site, 0755, true);
        if ($file) {
            $this->writeConfig($this->dir . '/peerdrop.config.php', $file);
        }
        $elsewhere = $this->dir . '/docroot';
        mkdir($elsewhere);
        $log = ini_get('error_log');
        ini_set('error_log', $this->dir . '/php-error.log');
        try {
            foreach (array($elsewhere, null) as $docRoot) {
                $r = peerdrop_http($env, $site, $docRoot)->handle('GET', array(), function (int $n): string {
                    return '';
                });
                $this->assertSame(503, $r->status, $r->json());
                $this->assertSame('misconfigured', $r->body['error']['code']);
            }
        } finally {
            ini_set('error_log', (string)$log);
        }
        $this->assertDirectoryDoesNotExist($site . '/pd-data');
    }

    public function testResolveHandlesPathsThatDoNotExistYet(): void
    {
        $real = realpath($this->dir);
        $this->assertSame($real . '/a/b', PeerDrop::resolve($this->dir . '/a/b'));
        symlink($this->www(), $this->dir . '/link');
        $this->assertTrue(PeerDrop::isInside($this->dir . '/link/x/y', $this->www()), 'symlinks are resolved');
        $this->assertFalse(PeerDrop::isInside($this->dir . '/wwwx', $this->www()), 'a common prefix is not containment');
    }

    public function testCheckFailsOnExampleOrShortSecretAndTestMode(): void
    {
        $fails = self::levels(PeerDropCheck::run(array('PEERDROP_SECRET' => 'change-me'), $this->www()), 'fail');
        $this->assertCount(1, $fails);
        $this->assertStringContainsString('example value', $fails[0]);
        $fails = self::levels(PeerDropCheck::run(array('PEERDROP_SECRET' => str_repeat('x', 20)), $this->www()), 'fail');
        $this->assertStringContainsString('shorter than 32', $fails[0]);
        $this->writeConfig($this->dir . '/peerdrop.config.php', array('test_mode' => true));
        $fails = self::levels(PeerDropCheck::run(array(), $this->www()), 'fail');
        $this->assertStringContainsString('test_mode', $fails[0]);
    }

    public function testCheckFailsOnOldPhpAndBadConfig(): void
    {
        $fails = self::levels(PeerDropCheck::run(array(), $this->www(), '7.3.33'), 'fail');
        $this->assertStringContainsString('too old', $fails[0]);
        file_put_contents($this->dir . '/peerdrop.config.php', "<?php\nreturn array('poll_slotz' => 3);\n");
        $fails = self::levels(PeerDropCheck::run(array(), $this->www()), 'fail');
        $this->assertStringContainsString('poll_slotz', $fails[0]);
    }

    /** @param array<string,string> $env */
    private function runCli(array $env, string $cmd): array
    {
        copy(__DIR__ . '/../../signal.php', $this->www() . '/signal.php');
        $full = array_merge(array('PATH' => (string)getenv('PATH')), $env);
        $p = proc_open(array(PHP_BINARY, $this->www() . '/signal.php', $cmd), array(1 => array('pipe', 'w'), 2 => array('pipe', 'w')), $pipes, $this->dir, $full);
        $out = stream_get_contents($pipes[1]) . stream_get_contents($pipes[2]);
        $code = proc_close($p);
        return array($code, (string)$out);
    }

    public function testCliCheckExitCodes(): void
    {
        list($code, $out) = $this->runCli(array(), 'check');
        $this->assertSame(0, $code, $out);
        $this->assertStringContainsString('All checks passed', $out);
        list($code, $out) = $this->runCli(array('PEERDROP_SECRET' => 'changeme'), 'check');
        $this->assertSame(1, $code, $out);
        $this->assertStringContainsString('FAIL', $out);
        list($code, $out) = $this->runCli(array(), 'purge');
        $this->assertSame(0, $code, $out);
        $this->assertStringContainsString('Deleted 0 expired room(s)', $out);
        list($code) = $this->runCli(array(), 'bogus');
        $this->assertSame(2, $code);
    }
}
