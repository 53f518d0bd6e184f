<?php
declare(strict_types=1);

use PHPUnit\Framework\TestCase;

/** Shared fixtures: a temp data dir, a settable clock, a service wired to real SQLite. */
abstract class PeerDropTestCase extends TestCase
{
    /** @var string */
    protected $dir;
    /** @var int */
    protected $now = 1700000000;
    /** @var string */
    protected $secret = 'unit-test-secret-0123456789abcdef';

    protected function setUp(): void
    {
        $this->dir = sys_get_temp_dir() . '/peerdrop-unit-' . bin2hex(random_bytes(6));
        mkdir($this->dir, 0700, true);
    }

    protected function tearDown(): void
    {
        self::rmTree($this->dir);
    }

    protected static function rmTree(string $path): void
    {
        if (!file_exists($path) && !is_link($path)) {
            return;
        }
        if (is_dir($path) && !is_link($path)) {
            foreach (scandir($path) as $e) {
                if ($e !== '.' && $e !== '..') {
                    self::rmTree($path . '/' . $e);
                }
            }
            rmdir($path);
        } else {
            unlink($path);
        }
    }

    /** @param array<string,mixed> $file */
    protected function config(array $file = array(), array $env = array()): PeerDropConfig
    {
        $file += array('data_dir' => $this->dir . '/data');
        return PeerDropConfig::load($env, $this->dir . '/www', $file);
    }

    protected function store(?PeerDropConfig $config = null): PeerDropStore
    {
        $config = $config !== null ? $config : $this->config();
        return PeerDropStore::open($config->dataDir, $config->journalMode, $config->busyTimeoutMs);
    }

    /** @param array<string,mixed> $file */
    protected function service(array $file = array(), ?PeerDropSlots $slots = null, ?callable $sleep = null, ?callable $mono = null): PeerDropService
    {
        $config = $this->config($file);
        $clock = function (): int {
            return $this->now;
        };
        return new PeerDropService($this->store($config), $config, $this->secret, $clock, $slots, $sleep, $mono);
    }

    protected static function room(string $suffix = ''): string
    {
        return substr(PeerDrop::b64uEncode(random_bytes(24)) . $suffix, 0, 32);
    }

    /** Assert that $fn throws a PeerDropError with this code (and the catalogue's status). */
    protected function assertPeerDropError(string $code, callable $fn): PeerDropError
    {
        try {
            $fn();
        } catch (PeerDropError $e) {
            $this->assertSame($code, $e->errorCode(), 'error code (message: ' . $e->getMessage() . ')');
            $this->assertSame(PeerDropError::CATALOG[$code][0], $e->status());
            return $e;
        }
        $this->fail('expected PeerDropError ' . $code . ', nothing was thrown');
    }

    /** @return array{0:string,1:string} tokens of peer 0 and peer 1 in a freshly joined room */
    protected function joinedRoom(PeerDropService $s, ?string $room = null): array
    {
        $room = $room !== null ? $room : self::room();
        list(, $a) = $s->create($room);
        list(, $b) = $s->join($room);
        return array($a['token'], $b['token']);
    }
}
