<?php
declare(strict_types=1);

/**
 * PeerDropDbErrors, the one place where a database failure becomes the error a client gets: fed
 * PDOExceptions built as PDO builds them (SQLSTATE and driver code in errorInfo, the SQLSTATE or,
 * for a failed connection, the driver code in getCode()).
 */
final class DbErrorsTest extends PeerDropTestCase
{
    /** A failed statement: errorInfo [SQLSTATE, driver code, text], getCode() is the SQLSTATE. */
    private static function statementFailure(string $state, int $code, string $text): PDOException
    {
        $e = new PDOException('SQLSTATE[' . $state . ']: General error: ' . $code . ' ' . $text);
        $e->errorInfo = array($state, $code, $text);
        self::setCode($e, $state);
        return $e;
    }

    /** @param int|string $code */
    private static function setCode(PDOException $e, $code): void
    {
        $p = new ReflectionProperty(Exception::class, 'code');
        $p->setAccessible(true);
        $p->setValue($e, $code);
    }

    /** @return array<string,array{0:PDOException,1:string,2:int}> */
    public function knownFaults(): array
    {
        return array(
            'SQLite busy' => array(self::statementFailure('HY000', 5, 'database is locked'), 'storage_busy', 503),
            'SQLite locked' => array(self::statementFailure('HY000', 6, 'database table is locked'), 'storage_busy', 503),
            'SQLite full' => array(self::statementFailure('HY000', 13, 'database or disk is full'), 'storage_full', 507),
            'SQLite readonly' => array(self::statementFailure('HY000', 8, 'attempt to write a readonly database'), 'storage_unavailable', 503),
            'SQLite I/O error' => array(self::statementFailure('HY000', 10, 'disk I/O error'), 'storage_unavailable', 503),
            'SQLite corrupt' => array(self::statementFailure('HY000', 11, 'database disk image is malformed'), 'storage_unavailable', 503),
            'SQLite cannot open' => array(self::statementFailure('HY000', 14, 'unable to open database file'), 'storage_unavailable', 503),
            'SQLite not a database' => array(self::statementFailure('HY000', 26, 'file is not a database'), 'storage_unavailable', 503),
            'SQLite extended busy code' => array(self::statementFailure('HY000', 517, 'database is locked'), 'storage_busy', 503),
            'MySQL lock wait timeout' => array(self::statementFailure('HY000', 1205, 'Lock wait timeout exceeded; try restarting transaction'), 'storage_busy', 503),
            'MySQL deadlock' => array(self::statementFailure('40001', 1213, 'Deadlock found when trying to get lock; try restarting transaction'), 'storage_busy', 503),
            'MySQL too many connections' => array(self::statementFailure('08004', 1040, 'Too many connections'), 'storage_busy', 503),
            'MySQL disk full' => array(self::statementFailure('HY000', 1021, 'Disk full (/tmp/#sql); waiting for someone to free some space...'), 'storage_full', 507),
            'MySQL table full' => array(self::statementFailure('HY000', 1114, "The table 'peerdrop_messages' is full"), 'storage_full', 507),
            'MySQL ENOSPC in a generic error' => array(self::statementFailure('HY000', 1030, 'Got error 28 "No space left on device" from storage engine InnoDB'), 'storage_full', 507),
            'MySQL access denied' => array(self::statementFailure('28000', 1045, "Access denied for user 'peerdrop'@'localhost'"), 'storage_unavailable', 503),
            'MySQL no such table' => array(self::statementFailure('42S02', 1146, "Table 'peerdrop.peerdrop_rooms' doesn't exist"), 'storage_unavailable', 503),
            'MySQL read-only' => array(self::statementFailure('HY000', 1290, 'The MySQL server is running with the --read-only option'), 'storage_unavailable', 503),
            'MySQL gone away' => array(self::statementFailure('HY000', 2006, 'MySQL server has gone away'), 'storage_unavailable', 503),
            'MySQL lost connection' => array(self::statementFailure('HY000', 2013, 'Lost connection to MySQL server during query'), 'storage_unavailable', 503),
            'MySQL duplicate key (after write() gave up)' => array(self::statementFailure('23000', 1062, "Duplicate entry 'x' for key 'peerdrop_rooms_key'"), 'internal_error', 500),
            'MySQL syntax error' => array(self::statementFailure('42000', 1064, 'You have an error in your SQL syntax'), 'internal_error', 500),
            'SQLite syntax error' => array(self::statementFailure('HY000', 1, 'near "SELEC": syntax error'), 'internal_error', 500),
        );
    }

    /** @dataProvider knownFaults */
    public function testEachKnownFaultGetsItsErrorCodeAndStatus(PDOException $e, string $code, int $status): void
    {
        $err = PeerDropDbErrors::translate($e);
        $this->assertSame($code, $err->errorCode());
        $this->assertSame($status, $err->status());
        $this->assertSame($e, $err->getPrevious(), 'the driver error stays attached for the server log');
        $this->assertStringNotContainsString($e->errorInfo[2], json_encode($err->body()), 'driver text never reaches the client');
    }

    public function testAFailedConnectionIsReadFromGetCode(): void
    {
        // PDO's constructor puts the driver code in getCode() (an int); errorInfo may be empty.
        $refused = new PDOException('SQLSTATE[HY000] [2002] Connection refused', 2002);
        $this->assertSame('storage_unavailable', PeerDropDbErrors::translate($refused)->errorCode());
        $cannotOpen = new PDOException('SQLSTATE[HY000] [14] unable to open database file', 14);
        $this->assertSame('storage_unavailable', PeerDropDbErrors::translate($cannotOpen)->errorCode());
    }

    public function testTheSqlstateIsReadWhereItIsSpecific(): void
    {
        // A serialization failure (SQLSTATE 40001) is a busy database whatever the driver code.
        $this->assertSame('storage_busy', PeerDropDbErrors::translate(self::statementFailure('40001', 1, 'serialization failure'))->errorCode());
        // ...and a statement failure's getCode() is its SQLSTATE, never mistaken for a driver code.
        $e = new PDOException('SQLSTATE[40001]: Serialization failure');
        self::setCode($e, '40001');
        $this->assertSame(0, PeerDropDbErrors::driverCode($e));
        $this->assertSame('40001', PeerDropDbErrors::sqlState($e));
        $this->assertSame('storage_busy', PeerDropDbErrors::translate($e)->errorCode());
    }

    public function testTheCodeDecidesNotTheWording(): void
    {
        // SQLITE_ERROR about a table whose name happens to contain a fault's wording: not a fault.
        $e = self::statementFailure('HY000', 1, 'no such table: readonly_rooms_locked');
        $this->assertSame('internal_error', PeerDropDbErrors::translate($e)->errorCode());
        $this->assertFalse(PeerDropDbErrors::isCorruption(self::statementFailure('HY000', 1, 'malformed JSON')));
    }

    public function testOnlyDatabaseFailuresAreTranslated(): void
    {
        // A configuration error that names a path such as /srv/readonly is not a storage fault
        // (ConfigTest::testRuntimeRefusesADataDirInsideTheDocumentRoot checks the whole answer).
        $config = new PeerDropConfigError('data dir /srv/readonly/peerdrop-data is inside the document root /srv/readonly');
        $err = PeerDropDbErrors::translate($config);
        $this->assertSame('internal_error', $err->errorCode());
        $this->assertSame($config, $err->getPrevious());
        $known = new PeerDropError('room_full');
        $this->assertSame($known, PeerDropDbErrors::translate($known));
    }

    public function testWithoutAnyCodeSqlitesWordingIsTheFallback(): void
    {
        $this->assertSame('storage_busy', PeerDropDbErrors::translate(new PDOException('database is locked'))->errorCode());
        $this->assertSame('storage_full', PeerDropDbErrors::translate(new PDOException('database or disk is full'))->errorCode());
        $this->assertSame('storage_unavailable', PeerDropDbErrors::translate(new PDOException('file is not a database'))->errorCode());
        $this->assertSame('internal_error', PeerDropDbErrors::translate(new PDOException('something else'))->errorCode());
        $this->assertTrue(PeerDropDbErrors::isCorruption(new PDOException('database disk image is malformed')));
    }

    public function testCorruptionIsFoundAnywhereInTheChain(): void
    {
        foreach (array(11, 26) as $code) {
            $driver = self::statementFailure('HY000', $code, 'corrupt');
            $this->assertTrue(PeerDropDbErrors::isCorruption($driver));
            $this->assertTrue(PeerDropDbErrors::isCorruption(PeerDropDbErrors::translate($driver)), 'through the translated error');
        }
        $this->assertFalse(PeerDropDbErrors::isCorruption(self::statementFailure('HY000', 5, 'database is locked')));
        $this->assertFalse(PeerDropDbErrors::isCorruption(null));
        // MySQL numbers whose low byte is 11 or 26 are not SQLite corruption.
        $this->assertFalse(PeerDropDbErrors::isCorruption(self::statementFailure('HY000', 1035, 'Old key file for table')));
    }

    public function testMysqlRacesThatARerunSettles(): void
    {
        $this->assertTrue(PeerDropDbErrors::isLostRace(self::statementFailure('23000', 1062, 'Duplicate entry')));
        $this->assertTrue(PeerDropDbErrors::isLostRace(self::statementFailure('40001', 1213, 'Deadlock found')));
        $this->assertFalse(PeerDropDbErrors::isLostRace(self::statementFailure('HY000', 1205, 'Lock wait timeout exceeded')));
        $this->assertFalse(PeerDropDbErrors::isLostRace(self::statementFailure('23000', 1452, 'Cannot add or update a child row')));
        $this->assertTrue(PeerDropDbErrors::isMissingTable(self::statementFailure('42S02', 1146, "Table 'x.peerdrop_meta' doesn't exist")));
        $this->assertFalse(PeerDropDbErrors::isMissingTable(self::statementFailure('HY000', 1, 'no such table: meta')));
    }
}
