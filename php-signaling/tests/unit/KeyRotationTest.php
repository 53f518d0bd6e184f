<?php
declare(strict_types=1);

/** Tokens verify against the current secret and, during a rotation, the configured previous one. */
final class KeyRotationTest extends PeerDropTestCase
{
    const OLD = 'old-secret-0123456789abcdef-old-secret';
    const NEW = 'new-secret-0123456789abcdef-new-secret';

    private function svc(string $secret, array $file = array()): PeerDropService
    {
        $config = $this->config($file);
        return new PeerDropService($this->store($config), $config, $secret, function (): int {
            return $this->now;
        });
    }

    public function testOldTokensKeepWorkingWhileThePreviousSecretIsConfigured(): void
    {
        list($a, $b) = $this->joinedRoom($this->svc(self::OLD));
        $rotated = $this->svc(self::NEW, array('previous_secret' => self::OLD));
        $this->assertSame(201, $rotated->send($a, 1, 'offer', 'x')[0]);
        $this->assertSame('x', $rotated->poll($b, 0, 0)[1]['messages'][0]['data']);
        // New tokens are signed with the new secret only.
        list($c) = $this->joinedRoom($rotated);
        $this->assertSame(201, $this->svc(self::NEW)->send($c, 1, 'offer', 'y')[0]);
        $this->assertPeerDropError('invalid_token', function () use ($c) {
            $this->svc(self::OLD)->send($c, 1, 'offer', 'y');
        });
    }

    public function testOldTokensFailOnceThePreviousSecretIsRemoved(): void
    {
        list($a) = $this->joinedRoom($this->svc(self::OLD));
        $this->assertPeerDropError('invalid_token', function () use ($a) {
            $this->svc(self::NEW)->send($a, 1, 'offer', 'x');
        });
    }

    public function testVerifyAnyRejectsTokensFromUnlistedSecrets(): void
    {
        $t = PeerDropToken::sign('third-secret-0123456789abcdef', 1, str_repeat('a', 64), 0, $this->now + 60);
        $this->assertPeerDropError('invalid_token', function () use ($t) {
            PeerDropToken::verifyAny(array(self::NEW, self::OLD), $t, $this->now);
        });
        $ok = PeerDropToken::verifyAny(array(self::NEW, 'third-secret-0123456789abcdef'), $t, $this->now);
        $this->assertSame(1, $ok['room_id']);
    }

    public function testPreviousSecretFromEnvAndValidation(): void
    {
        $c = $this->config(array(), array('PEERDROP_PREVIOUS_SECRET' => self::OLD));
        $this->assertSame(array(self::NEW, self::OLD), $c->verificationSecrets(self::NEW));
        $this->assertSame(array(self::OLD), $c->verificationSecrets(self::OLD), 'no duplicate when not rotating');
        $this->expectException(PeerDropConfigError::class);
        $this->config(array('previous_secret' => 'short'));
    }
}
