<?php
declare(strict_types=1);

// Load signal.php as a library: the constant turns off its request/CLI dispatch.
define('PEERDROP_LIBRARY', true);
require_once __DIR__ . '/../signal.php';
require_once __DIR__ . '/unit/PeerDropTestCase.php';
