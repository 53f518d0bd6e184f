<?php
declare(strict_types=1);

/** Body parsing and field validation (no HTTP server involved). */
final class ValidationTest extends PeerDropTestCase
{
    /** @return array<string,array{0:string,1:string}> */
    public function badBodies(): array
    {
        return array(
            'empty' => array('', 'empty_body'),
            'malformed' => array('{"v":1,', 'invalid_json'),
            'trailing garbage' => array('{"v":1} x', 'invalid_json'),
            'single quotes' => array("{'v':1}", 'invalid_json'),
            'invalid utf-8 byte' => array("{\"v\":1,\"op\":\"create\",\"room\":\"\xff\xfe\"}", 'invalid_utf8'),
            'overlong utf-8' => array("{\"x\":\"\xc0\xaf\"}", 'invalid_utf8'),
            'lone surrogate escape' => array('{"x":"\ud800"}', 'invalid_utf8'),
            'array' => array('[1,2,3]', 'not_an_object'),
            'empty array' => array('[]', 'not_an_object'),
            'string' => array('"create"', 'not_an_object'),
            'number' => array('1', 'not_an_object'),
            'null' => array('null', 'not_an_object'),
            'deep' => array(str_repeat('[', 100) . str_repeat(']', 100), 'json_too_deep'),
            'deep inside object' => array('{"v":1,"x":' . str_repeat('{"a":', 20) . '1' . str_repeat('}', 20) . '}', 'json_too_deep'),
            'too large' => array('{"x":"' . str_repeat('a', 70000) . '"}', 'body_too_large'),
        );
    }

    /** @dataProvider badBodies */
    public function testBadBodiesAreRejectedWithSpecificCodes(string $raw, string $code): void
    {
        $this->assertPeerDropError($code, function () use ($raw) {
            PeerDropHttp::parseBody($raw);
        });
    }

    public function testValidBodyParses(): void
    {
        $this->assertSame(array('v' => 1, 'op' => 'create', 'room' => 'x'), PeerDropHttp::parseBody('{"v":1,"op":"create","room":"x"}'));
        // Empty object is an object (distinguished from an empty array).
        $this->assertSame(array(), PeerDropHttp::parseBody('{}'));
        // Unicode passes through.
        $this->assertSame(array('d' => "h\u{e9}"), PeerDropHttp::parseBody('{"d":"h\u00e9"}'));
    }

    /** @return array<string,array{0:string,1:bool}> */
    public function mediaTypes(): array
    {
        return array(
            'plain' => array('application/json', true),
            'charset' => array('application/json; charset=utf-8', true),
            'charset upper quoted' => array('Application/JSON; charset="UTF-8"', true),
            'latin1' => array('application/json; charset=iso-8859-1', false),
            'text' => array('text/plain', false),
            'form' => array('application/x-www-form-urlencoded', false),
            'json suffix' => array('application/json-patch+json', false),
            'empty' => array('', false),
        );
    }

    /** @dataProvider mediaTypes */
    public function testMediaType(string $value, bool $ok): void
    {
        $this->assertSame($ok, PeerDropHttp::isJsonMediaType($value));
    }

    /** @return array<string,array{0:array<string,mixed>,1:string}> */
    public function badRequests(): array
    {
        $room = str_repeat('A', 22);
        $tok = 'x.y';
        return array(
            'no v' => array(array('op' => 'create', 'room' => $room), 'missing_field'),
            'v as string' => array(array('v' => '1', 'op' => 'create', 'room' => $room), 'invalid_field'),
            'v as float' => array(array('v' => 1.0, 'op' => 'create', 'room' => $room), 'invalid_field'),
            'v 2' => array(array('v' => 2, 'op' => 'create', 'room' => $room), 'unsupported_version'),
            'no op' => array(array('v' => 1, 'room' => $room), 'missing_field'),
            'op number' => array(array('v' => 1, 'op' => 5), 'invalid_field'),
            'op unknown' => array(array('v' => 1, 'op' => 'delete'), 'unknown_op'),
            'create no room' => array(array('v' => 1, 'op' => 'create'), 'missing_field'),
            'create room number' => array(array('v' => 1, 'op' => 'create', 'room' => 12345), 'invalid_field'),
            'room short' => array(array('v' => 1, 'op' => 'create', 'room' => str_repeat('A', 21)), 'invalid_room'),
            'room long' => array(array('v' => 1, 'op' => 'join', 'room' => str_repeat('A', 65)), 'invalid_room'),
            'room plus' => array(array('v' => 1, 'op' => 'join', 'room' => str_repeat('A', 21) . '+'), 'invalid_room'),
            'room padding' => array(array('v' => 1, 'op' => 'join', 'room' => str_repeat('A', 22) . '='), 'invalid_room'),
            'room newline' => array(array('v' => 1, 'op' => 'join', 'room' => str_repeat('A', 22) . "\n"), 'invalid_room'),
            'send no token' => array(array('v' => 1, 'op' => 'send', 'seq' => 1, 'type' => 'offer', 'data' => ''), 'missing_field'),
            'send token number' => array(array('v' => 1, 'op' => 'send', 'token' => 5, 'seq' => 1, 'type' => 'offer', 'data' => ''), 'invalid_field'),
            'send no seq' => array(array('v' => 1, 'op' => 'send', 'token' => $tok, 'type' => 'offer', 'data' => ''), 'missing_field'),
            'seq 0' => array(array('v' => 1, 'op' => 'send', 'token' => $tok, 'seq' => 0, 'type' => 'offer', 'data' => ''), 'invalid_seq'),
            'seq negative' => array(array('v' => 1, 'op' => 'send', 'token' => $tok, 'seq' => -3, 'type' => 'offer', 'data' => ''), 'invalid_seq'),
            'seq string' => array(array('v' => 1, 'op' => 'send', 'token' => $tok, 'seq' => '1', 'type' => 'offer', 'data' => ''), 'invalid_seq'),
            'seq float' => array(array('v' => 1, 'op' => 'send', 'token' => $tok, 'seq' => 1.5, 'type' => 'offer', 'data' => ''), 'invalid_seq'),
            'seq too big' => array(array('v' => 1, 'op' => 'send', 'token' => $tok, 'seq' => PeerDrop::MAX_SEQ + 1, 'type' => 'offer', 'data' => ''), 'invalid_seq'),
            'type unknown' => array(array('v' => 1, 'op' => 'send', 'token' => $tok, 'seq' => 1, 'type' => 'peer-joined', 'data' => ''), 'unknown_type'),
            'type number' => array(array('v' => 1, 'op' => 'send', 'token' => $tok, 'seq' => 1, 'type' => 3, 'data' => ''), 'invalid_field'),
            'data object' => array(array('v' => 1, 'op' => 'send', 'token' => $tok, 'seq' => 1, 'type' => 'offer', 'data' => array('a' => 1)), 'invalid_field'),
            'data null' => array(array('v' => 1, 'op' => 'send', 'token' => $tok, 'seq' => 1, 'type' => 'offer', 'data' => null), 'invalid_field'),
            'data too large' => array(array('v' => 1, 'op' => 'send', 'token' => $tok, 'seq' => 1, 'type' => 'offer', 'data' => str_repeat('x', 16385)), 'message_too_large'),
            'poll no after' => array(array('v' => 1, 'op' => 'poll', 'token' => $tok), 'missing_field'),
            'after negative' => array(array('v' => 1, 'op' => 'poll', 'token' => $tok, 'after' => -1), 'invalid_cursor'),
            'after string' => array(array('v' => 1, 'op' => 'poll', 'token' => $tok, 'after' => '0'), 'invalid_cursor'),
            'wait 26' => array(array('v' => 1, 'op' => 'poll', 'token' => $tok, 'after' => 0, 'wait' => 26), 'invalid_wait'),
            'wait negative' => array(array('v' => 1, 'op' => 'poll', 'token' => $tok, 'after' => 0, 'wait' => -1), 'invalid_wait'),
            'wait float' => array(array('v' => 1, 'op' => 'poll', 'token' => $tok, 'after' => 0, 'wait' => 0.5), 'invalid_wait'),
            'leave no token' => array(array('v' => 1, 'op' => 'leave'), 'missing_field'),
            'bad token shape' => array(array('v' => 1, 'op' => 'leave', 'token' => $tok), 'invalid_token'),
        );
    }

    /**
     * @dataProvider badRequests
     * @param array<string,mixed> $req
     */
    public function testFieldValidation(array $req, string $code): void
    {
        $s = $this->service();
        $e = $this->assertPeerDropError($code, function () use ($s, $req) {
            PeerDropHttp::dispatch($s, $req);
        });
        // Nothing was stored by a rejected request.
        $this->assertSame('0', (string)$s->store()->pdo()->query('SELECT COUNT(*) FROM rooms')->fetchColumn());
        $this->assertStringNotContainsString($this->dir, $e->getMessage());
    }

    public function testBoundaryValuesAreAccepted(): void
    {
        $s = $this->service();
        foreach (array(22, 64) as $len) {
            $room = substr(str_repeat('Az09-_', 20), 0, $len);
            list($status) = PeerDropHttp::dispatch($s, array('v' => 1, 'op' => 'create', 'room' => $room, 'extra' => 'ignored'));
            $this->assertSame(201, $status);
        }
        list(, $b) = PeerDropHttp::dispatch($s, array('v' => 1, 'op' => 'create', 'room' => self::room()));
        list($status) = PeerDropHttp::dispatch($s, array('v' => 1, 'op' => 'send', 'token' => $b['token'], 'seq' => PeerDrop::MAX_SEQ,
            'type' => 'sealed', 'data' => str_repeat('x', 16384)));
        $this->assertSame(201, $status);
        list($status, $body) = PeerDropHttp::dispatch($s, array('v' => 1, 'op' => 'poll', 'token' => $b['token'], 'after' => 0, 'wait' => null));
        $this->assertSame(200, $status);
        $this->assertSame(array(), $body['messages']);
    }
}
