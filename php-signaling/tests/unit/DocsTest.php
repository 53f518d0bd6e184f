<?php
declare(strict_types=1);

/** docs/signaling.md and docs/signaling.openapi.yaml must list exactly the error codes the code has. */
final class DocsTest extends PeerDropTestCase
{
    private static function doc(string $name): string
    {
        $path = __DIR__ . '/../../../docs/' . $name;
        self::assertFileExists($path);
        return (string)file_get_contents($path);
    }

    public function testMarkdownErrorTableMatchesTheCatalogue(): void
    {
        preg_match_all('/^\| (\d{3}) \| `([a-z0-9_]+)` \|/m', self::doc('signaling.md'), $m, PREG_SET_ORDER);
        $documented = array();
        foreach ($m as $row) {
            $documented[$row[2]] = (int)$row[1];
        }
        $expected = array_map(function (array $e): int {
            return $e[0];
        }, PeerDropError::CATALOG);
        ksort($documented);
        ksort($expected);
        $this->assertSame($expected, $documented);
    }

    public function testOpenApiErrorEnumMatchesTheCatalogue(): void
    {
        $yaml = self::doc('signaling.openapi.yaml');
        $start = strpos($yaml, "            code:\n");
        $this->assertNotFalse($start);
        preg_match_all('/^                - ([a-z0-9_]+)$/m', substr($yaml, $start), $m);
        $codes = $m[1];
        sort($codes);
        $expected = array_keys(PeerDropError::CATALOG);
        sort($expected);
        $this->assertSame($expected, $codes);
        foreach ($expected as $code) {
            $this->assertGreaterThanOrEqual(2, substr_count($yaml, $code), $code . ' is described in a response, not only in the enum');
        }
    }

    public function testMarkdownNamesEveryMessageType(): void
    {
        $md = self::doc('signaling.md');
        foreach (PeerDrop::MESSAGE_TYPES as $type) {
            $this->assertStringContainsString('`' . $type . '`', $md, $type . ' is documented in signaling.md');
        }
        $this->assertStringContainsString(
            'one of `' . implode('`, `', PeerDrop::MESSAGE_TYPES) . '`.',
            $md,
            'the send field table lists exactly the message types'
        );
        $this->assertStringContainsString(
            '(`' . implode('`, `', PeerDrop::MESSAGE_TYPES) . '`)',
            $md,
            'the unknown_type error row lists exactly the message types'
        );
    }

    public function testOpenApiListsTheMessageTypesAndLimits(): void
    {
        $yaml = self::doc('signaling.openapi.yaml');
        $this->assertStringContainsString('enum: [' . implode(', ', PeerDrop::MESSAGE_TYPES) . ']', $yaml);
        $this->assertStringContainsString('maximum: ' . PeerDrop::MAX_WAIT, $yaml);
        $this->assertStringContainsString('maximum: ' . PeerDrop::MAX_SEQ, $yaml);
        $this->assertStringContainsString("'^[A-Za-z0-9_-]{22,64}$'", $yaml);
    }
}
