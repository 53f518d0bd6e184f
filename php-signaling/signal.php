<?php
/**
 * PeerDrop signaling endpoint, contract v1 (docs/signaling.md).
 *
 * One drop-in file for shared PHP hosting (PHP 7.4 - 8.4, pdo_sqlite, or pdo_mysql for
 * MySQL/MariaDB). No daemon, no WebSocket, no sessions, no streaming: short polls, plus
 * "held" polls only while one of a few poll slots is free.
 *
 * Operators: upload this file to your web root, then run
 *     php signal.php check
 * from a shell on the host. Configuration is described in docs/signaling.md
 * (env PEERDROP_DATA_DIR / PEERDROP_SECRET / PEERDROP_CONFIG, or a
 * peerdrop.config.php in the directory ABOVE the one holding this file).
 *
 * How a request flows through this file:
 *
 *   a web request: the guard at the very end of the file calls peerdrop_serve(), which
 *     builds a PeerDropHttp (peerdrop_http()) and hands it the method, headers and body:
 *     PeerDropHttp::handle()      CORS/origin, method, media type, size, rate limit, JSON body
 *       OPTIONS                   CORS preflight
 *       GET                       health: PeerDropService::health()
 *       GET ?metrics              PeerDropMetrics::render() (bearer metrics_token)
 *       POST {"v":1,"op":...}     dispatch(): PeerDropService::create / join / send / poll / leave
 *         PeerDropToken           signs a seat on create and join, verifies it on send, poll, leave
 *         PeerDropStore           write() and select() on SQLite or MySQL/MariaDB
 *     a failure anywhere          becomes a PeerDropError: error code, HTTP status, a sentence for
 *                                 the user; database failures are translated in one place,
 *                                 PeerDropDbErrors::translate()
 *     peerdrop_emit()             sends the JSON response; then, with the client answered,
 *     PeerDropHttp::afterResponse() stores metric counters, deletes expired rooms, checkpoints
 *   on the command line: "php signal.php check | purge | migrate" runs peerdrop_cli()
 *   included with PEERDROP_LIBRARY defined (PHPUnit): nothing runs; the file is a library
 *
 * Sections, in this order:
 *   1. HTTP             the web entry point, request parsing and validation, responses, CORS and
 *                       headers, the error catalogue, the client's address, its rate limit and quotas
 *   2. Operations       protocol limits, create / join / send / poll / leave / health, cleanup
 *   3. Tokens           HMAC peer tokens and the secret that signs them
 *   4. Storage          database error translation, the store, schema migrations, SQLite
 *                       recovery, the data dir, held-poll slots
 *   5. Operator extras  configuration, ICE servers (STUN/TURN), metrics, "check", the command line
 * and, last, the guard that decides whether the file handles a request, runs a command or is only
 * included. It stays at the end so that it runs once everything above has been declared.
 * Nothing above it has side effects when the file is included.
 */

declare(strict_types=1);

// =============================================================================================
// 1. HTTP: the web entry point, request parsing and validation, responses, CORS and headers,
//    the error catalogue, the client's address, its rate limit and its quotas.
// =============================================================================================

/** Handle one web request: read it from $_SERVER and php://input, answer, then do the after-response work. */
function peerdrop_serve(): void
{
    @ini_set('display_errors', '0');
    @ini_set('html_errors', '0');
    if (function_exists('set_time_limit')) {
        // A held poll lasts up to 25 s plus queries; sleeping does not count on Linux, but be safe.
        @set_time_limit(60);
    }
    $GLOBALS['peerdrop_done'] = false;
    set_error_handler(static function (int $severity, string $message, string $file = '', int $line = 0): bool {
        if (!(error_reporting() & $severity)) {
            return false;
        }
        throw new ErrorException($message, 0, $severity, $file, $line);
    });
    register_shutdown_function(static function (): void {
        if ($GLOBALS['peerdrop_done']) {
            return;
        }
        $err = error_get_last();
        if ($err !== null && !headers_sent()) {
            $e = new PeerDropError('internal_error');
            peerdrop_emit(new PeerDropResponse($e->status(), $e->body(), PeerDropHttp::baseHeaders()));
        }
    });
    $headers = array(
        'content-type' => isset($_SERVER['CONTENT_TYPE']) ? (string)$_SERVER['CONTENT_TYPE'] : (isset($_SERVER['HTTP_CONTENT_TYPE']) ? (string)$_SERVER['HTTP_CONTENT_TYPE'] : ''),
        'content-length' => isset($_SERVER['CONTENT_LENGTH']) ? (string)$_SERVER['CONTENT_LENGTH'] : '',
    );
    if (isset($_SERVER['HTTP_ORIGIN'])) {
        $headers['origin'] = (string)$_SERVER['HTTP_ORIGIN'];
    }
    if (isset($_SERVER['HTTP_X_FORWARDED_FOR'])) {
        $headers['x-forwarded-for'] = (string)$_SERVER['HTTP_X_FORWARDED_FOR'];
    }
    $auth = peerdrop_authorization_header();
    if ($auth !== '') {
        $headers['authorization'] = $auth;
    }
    $request = array(
        'remote_addr' => isset($_SERVER['REMOTE_ADDR']) ? (string)$_SERVER['REMOTE_ADDR'] : '',
        'query' => isset($_SERVER['QUERY_STRING']) ? (string)$_SERVER['QUERY_STRING'] : '',
    );
    $method = isset($_SERVER['REQUEST_METHOD']) ? (string)$_SERVER['REQUEST_METHOD'] : 'GET';
    $docRoot = isset($_SERVER['DOCUMENT_ROOT']) && is_string($_SERVER['DOCUMENT_ROOT']) ? $_SERVER['DOCUMENT_ROOT'] : null;
    $http = peerdrop_http(peerdrop_env(), __DIR__, $docRoot);
    $response = $http->handle($method, $headers, static function (int $max): string {
        $in = @fopen('php://input', 'rb');
        if ($in === false) {
            return '';
        }
        $data = '';
        while (!feof($in) && strlen($data) < $max) {
            $chunk = fread($in, min(8192, $max - strlen($data)));
            if ($chunk === false || $chunk === '') {
                break;
            }
            $data .= $chunk;
        }
        fclose($in);
        return $data;
    }, $request);
    peerdrop_emit($response);
    $GLOBALS['peerdrop_done'] = true;
    // Hand the response to the client before the after-response work, and before PHP drains any
    // unread request body at shutdown (an early 413 must not wait for the rest of the upload).
    if (function_exists('fastcgi_finish_request')) {
        @fastcgi_finish_request();
    } else {
        while (ob_get_level() > 0 && @ob_end_flush()) {
            // flush every output buffer level
        }
        @flush();
    }
    $http->afterResponse();
}

/** Build the HTTP handler for this deployment. */
function peerdrop_http(array $env, string $scriptDir, ?string $documentRoot = null): PeerDropHttp
{
    return new PeerDropHttp(
        static function () use ($env, $scriptDir, $documentRoot): PeerDropConfig {
            $config = PeerDropConfig::load($env, $scriptDir);
            // Never serve the database: refuse a data dir inside the web server's document root, or
            // inside the folder holding this script, which is served whatever DOCUMENT_ROOT says
            // (an Alias, ~user/public_html).
            foreach (array('the document root' => $documentRoot, 'the folder of signal.php' => $scriptDir) as $what => $root) {
                if ($root !== null && $root !== '' && PeerDrop::isInside($config->dataDir, $root)) {
                    throw new PeerDropConfigError('data dir ' . $config->dataDir . ' is inside ' . $what . ' ' . $root);
                }
            }
            return $config;
        },
        static function (PeerDropConfig $config): PeerDropService {
            $store = PeerDropStore::fromConfig($config);
            return new PeerDropService($store, $config, peerdrop_secret($config, $store), $config->clock());
        }
    );
}

/** Send a response (status, headers, JSON body). */
function peerdrop_emit(PeerDropResponse $response): void
{
    $body = $response->render();
    if (!headers_sent()) {
        if (function_exists('header_remove')) {
            header_remove('X-Powered-By');
        }
        http_response_code($response->status);
        foreach ($response->headers as $name => $value) {
            header($name . ': ' . $value);
        }
        header('Content-Length: ' . strlen($body));
    }
    echo $body;
}

/** Authorization reaches PHP under different names depending on the SAPI and rewrite rules. */
function peerdrop_authorization_header(): string
{
    foreach (array('HTTP_AUTHORIZATION', 'REDIRECT_HTTP_AUTHORIZATION') as $k) {
        if (isset($_SERVER[$k]) && is_string($_SERVER[$k]) && $_SERVER[$k] !== '') {
            return $_SERVER[$k];
        }
    }
    if (function_exists('getallheaders')) {
        $all = getallheaders();
        if (is_array($all)) {
            foreach ($all as $name => $value) {
                if (strtolower((string)$name) === 'authorization' && is_string($value)) {
                    return $value;
                }
            }
        }
    }
    return '';
}

/** HTTP layer: method, media type, size limits, JSON parsing, field validation, CORS, headers. */
final class PeerDropHttp
{
    const ALLOW = 'GET, POST, OPTIONS';

    /** @var callable(): PeerDropConfig */
    private $configFactory;
    /** @var callable(PeerDropConfig): PeerDropService */
    private $serviceFactory;
    /** @var PeerDropConfig|null */
    private $config = null;
    /** @var PeerDropService|null */
    private $service = null;
    /** @var PeerDropMetrics counters of this request, stored after the response */
    private $metrics;
    /** @var string operation label of the current request, for metrics */
    private $op = 'invalid';
    /** @var bool the rate limiter refused this request: nothing is written for it, not even metrics */
    private $refused = false;

    public function __construct(callable $configFactory, callable $serviceFactory)
    {
        $this->configFactory = $configFactory;
        $this->serviceFactory = $serviceFactory;
        $this->metrics = new PeerDropMetrics();
    }

    /**
     * @param array<string,string> $headers lower-case names: content-type, content-length, origin,
     *        x-forwarded-for, authorization
     * @param callable(int): string $readBody reads at most N bytes of the request body
     * @param array<string,string> $request remote_addr (the TCP peer) and query (the raw query string)
     */
    public function handle(string $method, array $headers, callable $readBody, array $request = array()): PeerDropResponse
    {
        $request += array('remote_addr' => '', 'query' => '');
        $this->op = 'invalid';
        $this->refused = false;
        $started = hrtime(true);
        $cors = array();
        try {
            $config = $this->config();
            $origin = isset($headers['origin']) ? $headers['origin'] : null;
            if ($origin !== null && $config->allowedOrigins && $config->isOriginAllowed($origin)) {
                $cors = array('Access-Control-Allow-Origin' => $origin, 'Vary' => 'Origin',
                    'Access-Control-Expose-Headers' => 'Retry-After');
            } elseif ($config->allowedOrigins) {
                $cors = array('Vary' => 'Origin');
            }
            $method = strtoupper($method);
            if ($method === 'OPTIONS') {
                if ($origin !== null && !isset($cors['Access-Control-Allow-Origin'])) {
                    throw new PeerDropError('origin_not_allowed');
                }
                $extra = array('Allow' => self::ALLOW);
                if (isset($cors['Access-Control-Allow-Origin'])) {
                    $extra['Access-Control-Allow-Methods'] = self::ALLOW;
                    $extra['Access-Control-Allow-Headers'] = 'Content-Type';
                    $extra['Access-Control-Max-Age'] = '600';
                }
                $this->op = 'options';
                $response = new PeerDropResponse(200, array('ok' => true), $extra);
            } elseif ($method === 'GET' && self::wantsMetrics($request['query'])) {
                $this->op = 'metrics';
                $response = $this->metricsResponse($headers, $request);
            } elseif ($method === 'GET') {
                $this->op = 'health';
                $this->limit($headers, $request);
                list($status, $body) = $this->service()->health();
                $response = new PeerDropResponse($status, $body);
            } elseif ($method === 'POST') {
                $response = $this->post($headers, $readBody, $request);
            } else {
                throw new PeerDropError('method_not_allowed', null, array('Allow' => self::ALLOW));
            }
        } catch (Throwable $e) {
            $err = PeerDropDbErrors::translate($e);
            if ($this->config !== null && $this->config->storage === 'sqlite' && PeerDropDbErrors::isCorruption($e)) {
                // Found mid-request: move the file aside now; the retry gets a fresh database.
                PeerDropSqliteRecovery::quarantine($this->config->dataDir);
                $err = new PeerDropError('storage_unavailable', null, array('Retry-After' => '1'), $e);
            }
            if (strpos($err->errorCode(), 'storage_') === 0) {
                $this->metrics->add('peerdrop_storage_errors_total', array('code' => $err->errorCode()));
            } elseif ($err->errorCode() === 'rate_limited') {
                $this->refused = true;
            }
            if ($err->errorCode() === 'internal_error') {
                $root = $err->getPrevious() !== null ? $err->getPrevious() : $e;
                if ($root instanceof PeerDropConfigError) {
                    $err = new PeerDropError('misconfigured', null, array(), $root);
                }
                // Details go to the server log only, never to the client.
                error_log('peerdrop: ' . get_class($root) . ': ' . $root->getMessage());
            }
            $response = new PeerDropResponse($err->status(), $err->body(), $err->headers());
        }
        $op = PeerDropMetrics::opLabel($this->op);
        $this->metrics->add('peerdrop_requests_total', array('op' => $op, 'status' => (string)$response->status));
        $this->metrics->observe($op, (hrtime(true) - $started) / 1e9);
        $response->headers = array_merge(self::baseHeaders(), $cors, $response->headers);
        return $response;
    }

    /**
     * Work to do after the response is sent: store metric counters, bounded expired-row cleanup,
     * WAL checkpoint. Never throws. A request the rate limiter refused does none of it: a flood of
     * refused requests must not turn into writes.
     */
    public function afterResponse(): void
    {
        if ($this->refused) {
            return;
        }
        try {
            if ($this->config !== null && $this->config->metricsToken !== null) {
                $this->metrics->flush($this->service()->store());
            }
        } catch (Throwable $e) {
            // Storage is busy or down: these few counts are lost, the request itself was answered.
        }
        if ($this->service === null) {
            return;
        }
        try {
            $this->service->cleanup();
            $this->service->store()->checkpoint();
        } catch (Throwable $e) {
            // Busy or full: the next request will try again.
        }
    }

    /** "?metrics" selects the metrics view of GET; it is a flag, never a credential. */
    public static function wantsMetrics(string $query): bool
    {
        if ($query === '') {
            return false;
        }
        parse_str($query, $q);
        return array_key_exists('metrics', $q);
    }

    /**
     * @param array<string,string> $headers
     * @param array<string,string> $request
     */
    private function metricsResponse(array $headers, array $request): PeerDropResponse
    {
        $config = $this->config();
        if ($config->metricsToken === null) {
            throw new PeerDropError('metrics_disabled');
        }
        $auth = isset($headers['authorization']) ? trim($headers['authorization']) : '';
        if (!preg_match('/^Bearer[ \t]+([\x21-\x7e]{1,512})$/D', $auth, $m) || !hash_equals($config->metricsToken, $m[1])) {
            $this->limit($headers, $request); // guessing tokens costs rate-limit budget
            throw new PeerDropError('metrics_unauthorized');
        }
        $service = $this->service();
        $text = PeerDropMetrics::render($service->store(), $service->slots(), $service->now(), $config);
        return new PeerDropResponse(200, array(), array('Content-Type' => 'text/plain; version=0.0.4; charset=utf-8'), $text);
    }

    /**
     * Take one request from the client's token bucket.
     * @param array<string,string> $headers
     * @param array<string,string> $request
     */
    private function limit(array $headers, array $request): void
    {
        $config = $this->config();
        if ($config->rateLimitPerMinute <= 0) {
            return;
        }
        $service = $this->service();
        $limiter = new PeerDropRateLimiter($service->store(), $config->rateLimitPerMinute, $config->rateLimitBurst,
            $service->secret(), $config->preciseClock());
        if ($limiter->consume($this->client($headers, $request))) {
            $this->metrics->add('peerdrop_rate_limited_total');
        }
    }

    /**
     * The client's address (IPv4, or the /64 of IPv6), from X-Forwarded-For only behind a trusted proxy.
     * @param array<string,string> $headers
     * @param array<string,string> $request
     */
    private function client(array $headers, array $request): string
    {
        return PeerDropClientAddress::resolve($request['remote_addr'],
            isset($headers['x-forwarded-for']) ? $headers['x-forwarded-for'] : '', $this->config()->trustedProxies);
    }

    /** @return array<string,string> */
    public static function baseHeaders(): array
    {
        return array(
            'Content-Type' => 'application/json',
            'Cache-Control' => 'no-store',
            'Referrer-Policy' => 'no-referrer',
            'X-Content-Type-Options' => 'nosniff',
            'Content-Security-Policy' => "default-src 'none'; frame-ancestors 'none'",
        );
    }

    /**
     * Parse and validate a request body into an associative array of the top-level fields.
     * @return array<string,mixed>
     */
    public static function parseBody(string $raw): array
    {
        if ($raw === '') {
            throw new PeerDropError('empty_body');
        }
        if (strlen($raw) > PeerDrop::MAX_BODY) {
            throw new PeerDropError('body_too_large');
        }
        if (!preg_match('//u', $raw)) {
            throw new PeerDropError('invalid_utf8');
        }
        $decoded = json_decode($raw, false, PeerDrop::JSON_DEPTH);
        $err = json_last_error();
        if ($err === JSON_ERROR_DEPTH) {
            throw new PeerDropError('json_too_deep');
        }
        if ($err === JSON_ERROR_UTF8 || $err === JSON_ERROR_UTF16) {
            throw new PeerDropError('invalid_utf8');
        }
        if ($err !== JSON_ERROR_NONE) {
            throw new PeerDropError('invalid_json');
        }
        if (!($decoded instanceof stdClass)) {
            throw new PeerDropError('not_an_object');
        }
        return get_object_vars($decoded);
    }

    /**
     * Validate fields and run the operation.
     * @param array<string,mixed> $req
     * @return array{0:int,1:array<string,mixed>}
     */
    public static function dispatch(PeerDropService $service, array $req): array
    {
        if (!array_key_exists('v', $req)) {
            throw self::missing('v');
        }
        if (!is_int($req['v'])) {
            throw self::wrongType('v', 'the integer 1');
        }
        if ($req['v'] !== PeerDrop::PROTOCOL) {
            throw new PeerDropError('unsupported_version');
        }
        $op = self::field($req, 'op', 'string');
        switch ($op) {
            case 'create':
                // Absent (or null): one receiver, as before rooms could have several.
                $receivers = self::optionalInt($req, 'receivers', 'invalid_receivers');
                if (array_key_exists('code', $req)) {
                    if ($req['code'] !== true) {
                        throw self::wrongType('code', 'true (the server picks the number)');
                    }
                    if ($receivers !== null && $receivers !== 1) {
                        throw new PeerDropError('invalid_receivers', PeerDrop::ROOM_MESSAGES['code_receivers']);
                    }
                    return $service->createCode();
                }
                return $service->create(self::field($req, 'room', 'string'), $receivers);
            case 'join':
                if (array_key_exists('code', $req)) {
                    if (!is_int($req['code'])) {
                        throw new PeerDropError('invalid_code');
                    }
                    return $service->joinCode($req['code']);
                }
                return $service->join(self::field($req, 'room', 'string'));
            case 'send':
                $token = self::field($req, 'token', 'string');
                $seq = self::field($req, 'seq', 'int');
                $type = self::field($req, 'type', 'string');
                $data = self::field($req, 'data', 'string');
                return $service->send($token, $seq, $type, $data, self::optionalInt($req, 'to', 'invalid_peer'));
            case 'poll':
                $token = self::field($req, 'token', 'string');
                if (!array_key_exists('after', $req)) {
                    throw self::missing('after');
                }
                if (!is_int($req['after'])) {
                    throw new PeerDropError('invalid_cursor');
                }
                $wait = 0;
                if (array_key_exists('wait', $req) && $req['wait'] !== null) {
                    if (!is_int($req['wait'])) {
                        throw new PeerDropError('invalid_wait');
                    }
                    $wait = $req['wait'];
                }
                return $service->poll($token, $req['after'], $wait);
            case 'leave':
                return $service->leave(self::field($req, 'token', 'string'));
            case 'drop':
                $token = self::field($req, 'token', 'string');
                if (!array_key_exists('peer', $req)) {
                    throw self::missing('peer');
                }
                if (!is_int($req['peer'])) {
                    throw new PeerDropError('invalid_peer');
                }
                return $service->drop($token, $req['peer']);
            case 'close':
                return $service->close(self::field($req, 'token', 'string'));
            default:
                throw new PeerDropError('unknown_op');
        }
    }

    /**
     * @param array<string,string> $headers
     * @param callable(int): string $readBody
     * @param array<string,string> $request
     */
    private function post(array $headers, callable $readBody, array $request): PeerDropResponse
    {
        $type = isset($headers['content-type']) ? $headers['content-type'] : '';
        if (!self::isJsonMediaType($type)) {
            throw new PeerDropError('unsupported_media_type');
        }
        if (isset($headers['content-length']) && $headers['content-length'] !== '') {
            $len = trim($headers['content-length']);
            if (!ctype_digit($len)) {
                throw new PeerDropError('invalid_json');
            }
            if (strlen($len) > 12 || (int)$len > PeerDrop::MAX_BODY) {
                throw new PeerDropError('body_too_large');
            }
        }
        // Before reading the body: a flood of junk is refused as cheaply as possible.
        $this->limit($headers, $request);
        $raw = (string)call_user_func($readBody, PeerDrop::MAX_BODY + 1);
        $req = self::parseBody($raw);
        if (isset($req['op']) && is_string($req['op'])) {
            $this->op = $req['op'];
        }
        $service = $this->service();
        $service->forClient($this->client($headers, $request));
        list($status, $body) = self::dispatch($service, $req);
        return new PeerDropResponse($status, $body);
    }

    public static function isJsonMediaType(string $value): bool
    {
        $parts = explode(';', strtolower($value));
        if (trim($parts[0]) !== 'application/json') {
            return false;
        }
        for ($i = 1; $i < count($parts); $i++) {
            $kv = explode('=', $parts[$i], 2);
            if (trim($kv[0]) === 'charset' && isset($kv[1]) && trim(trim($kv[1]), '"') !== 'utf-8') {
                return false;
            }
        }
        return true;
    }

    /**
     * @param array<string,mixed> $req
     * @return mixed
     */
    private static function field(array $req, string $name, string $type)
    {
        if (!array_key_exists($name, $req)) {
            throw self::missing($name);
        }
        $v = $req[$name];
        if ($type === 'string' && !is_string($v)) {
            throw self::wrongType($name, 'a string');
        }
        if ($type === 'int' && !is_int($v)) {
            if ($name === 'seq') {
                throw new PeerDropError('invalid_seq');
            }
            throw self::wrongType($name, 'an integer');
        }
        return $v;
    }

    /**
     * An optional integer field: null when absent or null; anything but an integer gets $code.
     * @param array<string,mixed> $req
     */
    private static function optionalInt(array $req, string $name, string $code): ?int
    {
        if (!array_key_exists($name, $req) || $req[$name] === null) {
            return null;
        }
        if (!is_int($req[$name])) {
            throw new PeerDropError($code);
        }
        return $req[$name];
    }

    private static function missing(string $name): PeerDropError
    {
        return new PeerDropError('missing_field', 'The field "' . $name . '" is required for this request.');
    }

    private static function wrongType(string $name, string $expected): PeerDropError
    {
        return new PeerDropError('invalid_field', 'The field "' . $name . '" must be ' . $expected . '.');
    }

    private function config(): PeerDropConfig
    {
        if ($this->config === null) {
            $this->config = call_user_func($this->configFactory);
        }
        return $this->config;
    }

    private function service(): PeerDropService
    {
        if ($this->service === null) {
            $this->service = call_user_func($this->serviceFactory, $this->config());
            $this->service->observe($this->metrics);
        }
        return $this->service;
    }
}

/** A response: status, extra headers, JSON body. */
final class PeerDropResponse
{
    /** @var int */
    public $status;
    /** @var array<string,string> */
    public $headers;
    /** @var array<string,mixed> */
    public $body;
    /** @var string|null a non-JSON body (metrics); set Content-Type in $headers */
    public $text;

    /**
     * @param array<string,mixed> $body
     * @param array<string,string> $headers
     */
    public function __construct(int $status, array $body, array $headers = array(), ?string $text = null)
    {
        $this->status = $status;
        $this->body = $body;
        $this->headers = $headers;
        $this->text = $text;
    }

    /** The bytes to send. */
    public function render(): string
    {
        return $this->text !== null ? $this->text : $this->json();
    }

    public function json(): string
    {
        $out = json_encode($this->body, JSON_UNESCAPED_SLASHES);
        return $out === false ? '{"error":{"code":"internal_error","message":"The response could not be encoded."}}' : $out;
    }
}

/** Error raised for every known fault: carries HTTP status, code and a user-facing sentence. */
final class PeerDropError extends RuntimeException
{
    /** code => [HTTP status, message a user can act on]. Messages never contain request data or paths. */
    const CATALOG = array(
        'method_not_allowed' => array(405, 'This endpoint accepts only GET (health check, metrics), POST (signaling) and OPTIONS.'),
        'unsupported_media_type' => array(415, 'Send the request body as JSON with the header Content-Type: application/json.'),
        'body_too_large' => array(413, 'The request body is larger than 64 KiB; send a smaller request.'),
        'empty_body' => array(400, 'The request body is empty; send a JSON object.'),
        'invalid_utf8' => array(400, 'The request body is not valid UTF-8 text.'),
        'invalid_json' => array(400, 'The request body is not valid JSON.'),
        'json_too_deep' => array(400, 'The JSON body is nested too deeply; send a flat JSON object.'),
        'not_an_object' => array(400, 'The request body must be a JSON object.'),
        'missing_field' => array(400, 'A required field is missing from the request.'),
        'invalid_field' => array(400, 'A field in the request has the wrong type.'),
        'unsupported_version' => array(400, 'This server speaks protocol version 1: send "v": 1, or update the app.'),
        'unknown_op' => array(400, 'Unknown operation: use create, join, send, poll, leave, drop or close.'),
        'invalid_room' => array(400, 'The room id must be 22 to 64 base64url characters (A-Z, a-z, 0-9, "-" and "_").'),
        'invalid_seq' => array(400, 'seq must be an integer from 1 to 9007199254740991, one new number per message.'),
        'invalid_cursor' => array(400, 'after must be an integer of 0 or more: the last cursor you received, or 0.'),
        'invalid_wait' => array(400, 'wait must be a whole number of seconds from 0 to 25.'),
        'invalid_code' => array(400, 'code must be the number at the start of the short code, an integer from 1 to 9999.'),
        'invalid_receivers' => array(400, 'receivers must be an integer from 1 to this server\'s max_receivers (its health check lists it); a short-code room has exactly one receiver.'),
        'invalid_peer' => array(400, 'Address a peer of this room: the sender sends "to" a receiver that has joined and drops one by its "peer" number; a receiver sends only to the sender, peer 0.'),
        'unknown_type' => array(422, 'Unknown message type: use offer, answer, candidate, bye, sealed or pake.'),
        'message_too_large' => array(413, 'The message data is larger than 16 KiB; split it into smaller messages.'),
        'invalid_token' => array(401, 'The token is not valid for this server; create or join the room again.'),
        'not_sender' => array(403, 'Only the sender (peer 0, who created the room) can drop a receiver or close the room.'),
        'token_expired' => array(410, 'Your token has expired; start a new transfer.'),
        'room_exists' => array(409, 'A room with this id is already open; join it, or create a new one with another code.'),
        'room_not_found' => array(404, 'No open room has this id; check the code, or ask the sender to start a new transfer.'),
        'room_full' => array(409, 'This room already has two peers; ask the sender for a new code.'),
        'room_locked' => array(409, 'The sender has closed this room to new receivers; ask the sender for a new link.'),
        'room_expired' => array(410, 'This room has expired; ask the sender to start a new transfer.'),
        'room_closed' => array(410, 'This room no longer exists (it expired or both peers left); start a new transfer.'),
        'peer_left' => array(410, 'A peer has left this room, so this transfer is over; start a new transfer.'),
        'peer_dropped' => array(410, 'The sender has dropped you from this room; ask the sender for a new link if you still need the files.'),
        'seq_conflict' => array(409, 'This seq was already used for a different message; use a new seq for each new message.'),
        'rate_limited' => array(429, 'Too many requests from your network; wait for the number of seconds in Retry-After, then retry.'),
        'quota_exceeded' => array(429, 'Your network is over one of this server\'s per-client quotas; wait for the number of seconds in Retry-After, then retry.'),
        'metrics_disabled' => array(404, 'Metrics are turned off on this server; the operator enables them by setting metrics_token.'),
        'metrics_unauthorized' => array(401, 'Metrics need the header Authorization: Bearer <metrics_token> with the token from the server config.'),
        'storage_quota_exceeded' => array(507, 'The server has reached its storage limit; try again later, or tell the site operator.'),
        'queue_full' => array(429, 'Too many messages are waiting for the other peer; wait for it to catch up, then retry.'),
        'room_message_limit' => array(429, 'This room has reached its message limit; start a new transfer.'),
        'origin_not_allowed' => array(403, 'This web origin is not allowed to use this signaling server.'),
        'server_full' => array(503, 'The server has too many open rooms right now; try again in a minute.'),
        'codes_exhausted' => array(503, 'Every short-code number is in use on this server right now; try again in a minute, or send a link instead.'),
        'storage_busy' => array(503, 'The server is busy; retry in a moment.'),
        'storage_full' => array(507, 'The server has run out of storage space; try again later, or tell the site operator.'),
        'storage_unavailable' => array(503, 'The server cannot use its storage; the site operator should run "php signal.php check".'),
        'misconfigured' => array(503, 'The server is misconfigured; the site operator should run "php signal.php check".'),
        'internal_error' => array(500, 'Something went wrong on the server; try again, and tell the site operator if it keeps happening.'),
    );

    /** @var int */
    private $status;
    /** @var string */
    private $errorCode;
    /** @var array<string,string> */
    private $headers;

    /**
     * @param array<string,string> $headers
     */
    public function __construct(string $errorCode, ?string $message = null, array $headers = array(), ?Throwable $previous = null)
    {
        if (!isset(self::CATALOG[$errorCode])) {
            $errorCode = 'internal_error';
        }
        $entry = self::CATALOG[$errorCode];
        parent::__construct($message !== null ? $message : $entry[1], 0, $previous);
        $this->status = $entry[0];
        $this->errorCode = $errorCode;
        if (!isset($headers['Retry-After'])) {
            if ($errorCode === 'storage_busy') {
                $headers['Retry-After'] = '1';
            } elseif ($errorCode === 'queue_full') {
                $headers['Retry-After'] = '2';
            } elseif ($entry[0] === 503) {
                $headers['Retry-After'] = $errorCode === 'server_full' || $errorCode === 'codes_exhausted' ? '60' : '30';
            } elseif ($errorCode === 'storage_quota_exceeded') {
                // Space comes back as rooms expire (at most ttl_room); a minute is a fair first retry.
                $headers['Retry-After'] = '60';
            }
        }
        if ($errorCode === 'metrics_unauthorized' && !isset($headers['WWW-Authenticate'])) {
            $headers['WWW-Authenticate'] = 'Bearer realm="peerdrop-metrics"';
        }
        $this->headers = $headers;
    }

    public function status(): int
    {
        return $this->status;
    }

    public function errorCode(): string
    {
        return $this->errorCode;
    }

    /** @return array<string,string> */
    public function headers(): array
    {
        return $this->headers;
    }

    /** @return array<string,mixed> */
    public function body(): array
    {
        return array('error' => array('code' => $this->errorCode, 'message' => $this->getMessage()));
    }
}

/** Which address a request comes from: REMOTE_ADDR, or X-Forwarded-For only behind a configured trusted proxy. */
final class PeerDropClientAddress
{
    /**
     * @param string[] $trusted IPs or CIDRs
     * @return string the client address, normalized (IPv4, or the /64 prefix of an IPv6 address)
     */
    public static function resolve(string $remoteAddr, string $forwardedFor, array $trusted): string
    {
        $client = $remoteAddr;
        if ($trusted && $forwardedFor !== '' && self::matchesAny($remoteAddr, $trusted)) {
            // Walk from the nearest hop outwards: the first address not ours is the client. Hops
            // further left were written by the client itself and prove nothing.
            $hops = explode(',', $forwardedFor);
            for ($i = count($hops) - 1; $i >= 0; $i--) {
                $hop = trim($hops[$i]);
                if (@inet_pton($hop) === false) {
                    break; // garbage: keep the last hop we could vouch for
                }
                $client = $hop;
                if (!self::matchesAny($hop, $trusted)) {
                    break;
                }
            }
        }
        return self::normalize($client);
    }

    /** IPv4-mapped IPv6 becomes IPv4; other IPv6 is cut to its /64, which one subscriber usually owns whole. */
    public static function normalize(string $ip): string
    {
        $bin = @inet_pton($ip);
        if ($bin === false) {
            return $ip === '' ? 'unknown' : substr($ip, 0, 64);
        }
        if (strlen($bin) === 16) {
            if (substr($bin, 0, 12) === str_repeat("\0", 10) . "\xff\xff") {
                return (string)inet_ntop(substr($bin, 12));
            }
            return (string)inet_ntop(substr($bin, 0, 8) . str_repeat("\0", 8)) . '/64';
        }
        return (string)inet_ntop($bin);
    }

    public static function isValidCidr(string $cidr): bool
    {
        $parts = explode('/', $cidr, 2);
        $bin = @inet_pton($parts[0]);
        if ($bin === false) {
            return false;
        }
        if (!isset($parts[1])) {
            return true;
        }
        return ctype_digit($parts[1]) && (int)$parts[1] <= strlen($bin) * 8;
    }

    /** @param string[] $cidrs */
    public static function matchesAny(string $ip, array $cidrs): bool
    {
        foreach ($cidrs as $c) {
            if (self::matches($ip, $c)) {
                return true;
            }
        }
        return false;
    }

    public static function matches(string $ip, string $cidr): bool
    {
        $parts = explode('/', $cidr, 2);
        $net = @inet_pton($parts[0]);
        $addr = @inet_pton($ip);
        if ($net === false || $addr === false || strlen($net) !== strlen($addr)) {
            return false;
        }
        $bits = isset($parts[1]) ? (int)$parts[1] : strlen($net) * 8;
        $bytes = intdiv($bits, 8);
        if (substr($addr, 0, $bytes) !== substr($net, 0, $bytes)) {
            return false;
        }
        $rest = $bits % 8;
        if ($rest === 0) {
            return true;
        }
        $mask = (0xff << (8 - $rest)) & 0xff;
        return (ord($addr[$bytes]) & $mask) === (ord($net[$bytes]) & $mask);
    }
}

/**
 * Token bucket per client, in storage (so it holds across PHP workers and web servers). The key
 * is HMAC(daily salt, address) with the salt derived from the token secret and the day number:
 * no address is stored, and keys from different days cannot be linked without the secret. The
 * per-client quotas (PeerDropQuotas) keep their buckets in the same table, under keys derived
 * from that one.
 */
final class PeerDropRateLimiter
{
    /** @var PeerDropStore */
    private $store;
    /** @var float */
    private $perMinute;
    /** @var int */
    private $burst;
    /** @var string */
    private $secret;
    /** @var callable(): float */
    private $clock;

    public function __construct(PeerDropStore $store, float $perMinute, int $burst, string $secret, callable $clock)
    {
        $this->store = $store;
        $this->perMinute = $perMinute;
        $this->burst = $burst;
        $this->secret = $secret;
        $this->clock = $clock;
    }

    public static function clientKey(string $secret, string $address, int $day): string
    {
        $salt = hash_hmac('sha256', 'peerdrop-ratelimit-salt-v1|' . $day, $secret, true);
        return substr(hash_hmac('sha256', $address, $salt), 0, 32);
    }

    /**
     * Take one token for $address.
     * @return bool true when this request took the client's last token: its next ones are refused
     *         until the bucket refills (counted here, since a refused request writes nothing)
     * @throws PeerDropError rate_limited (429 with Retry-After)
     */
    public function consume(string $address): bool
    {
        if ($this->perMinute <= 0) {
            return false;
        }
        $now = (float)call_user_func($this->clock);
        $level = $this->take(self::clientKey($this->secret, $address, (int)floor($now / 86400)));
        if ($level < 1.0) {
            throw new PeerDropError('rate_limited', null, array('Retry-After' => (string)$this->retryAfter($level)));
        }
        return $level < 2.0;
    }

    /** Whole seconds until a bucket at $level holds one token again (at least 1). */
    public function retryAfter(float $level): int
    {
        // Rounded first: 1 / (0.3 / 60000) is 200.00000000000003 in floating point, not 201 s.
        return max(1, (int)ceil(round((1.0 - $level) / ($this->perMinute / 60000.0) / 1000, 6)));
    }

    /**
     * The level of bucket $key (refilled up to now) before this call; when $take is true and the
     * level is 1 or more, one token is taken. A level below 1 means refused: nothing is written.
     */
    public function take(string $key, bool $take = true): float
    {
        $nowMs = (int)floor((float)call_user_func($this->clock) * 1000);
        $rate = $this->perMinute / 60000.0; // tokens per ms
        $burst = (float)$this->burst;
        $refill = static function ($row) use ($nowMs, $rate, $burst): float {
            if ($row === false || $row === null) {
                return $burst;
            }
            return min($burst, (float)$row['tokens'] + max(0, $nowMs - (int)$row['updated_ms']) * $rate);
        };
        // Read first without a write lock: a client that is over its limit costs no write at all.
        $rows = $this->store->select('SELECT tokens, updated_ms FROM {p}rate_limits WHERE k = ?', array($key));
        $tokens = $refill($rows ? $rows[0] : null);
        if ($tokens < 1.0 || !$take) {
            return $tokens;
        }
        // Then one conditional UPDATE, atomic on its own: the write lock is held for a single
        // statement, not a read-modify-write transaction (this runs on every request).
        // The numbers are inlined (server values, never request data): PDO binds parameters as
        // text, and SQLite's MIN() orders any number before any text. Elapsed time is clamped at 0
        // and updated_ms never moves back: web servers (or test clocks) may disagree slightly.
        $mysql = $this->store->driver() === 'mysql';
        $level = sprintf('%s(%d, tokens + %s(0, %d - updated_ms) * %.12F)', $mysql ? 'LEAST' : 'MIN', $this->burst,
            $mysql ? 'GREATEST' : 'MAX', $nowMs, $rate);
        $stamp = sprintf('%s(updated_ms, %d)', $mysql ? 'GREATEST' : 'MAX', $nowMs);
        for ($attempt = 0; $attempt < 2; $attempt++) {
            if ($this->store->execute('UPDATE {p}rate_limits SET tokens = ' . $level . ' - 1, updated_ms = ' . $stamp
                    . ' WHERE k = ? AND ' . $level . ' >= 1', array($key)) === 1) {
                return max(1.0, $tokens);
            }
            // No row yet (first request of the day), or another request took the last token.
            if ($this->store->execute($this->store->insertIgnore() . ' INTO {p}rate_limits (k, tokens, updated_ms) VALUES (?, ?, ?)',
                    array($key, $burst - 1, $nowMs)) === 1) {
                return $burst;
            }
        }
        $rows = $this->store->select('SELECT tokens, updated_ms FROM {p}rate_limits WHERE k = ?', array($key));
        return min(0.999, $refill($rows ? $rows[0] : null));
    }
}

/**
 * Per-client quotas (docs/signaling.md section 12): the open rooms a client holds, its creates per
 * minute and its failed joins per 10 minutes. A client is known by the rate limiter's key, never
 * by its address: rooms store today's key as their creator, and the open-rooms count also reads
 * yesterday's (the key changes at midnight, a room may outlive it). The two rates are token
 * buckets in the rate limiter's table, under keys hashed from the client key and the quota's name.
 */
final class PeerDropQuotas
{
    /** quota => the sentence a client over it gets (shared with the SvelteKit handler). */
    const MESSAGES = array(
        'rooms' => 'Your network has too many rooms open on this server (open-rooms quota); finish or cancel a transfer, or wait for the number of seconds in Retry-After.',
        'creates' => 'Your network is creating rooms too fast (creates-per-minute quota); wait for the number of seconds in Retry-After, then retry.',
        'failed_joins' => 'Too many joins from your network failed (failed-joins quota); check the code or link, then wait for the number of seconds in Retry-After.',
    );

    /** @var PeerDropStore */
    private $store;
    /** @var PeerDropConfig */
    private $config;
    /** @var string[] today's client key, then yesterday's */
    private $keys;
    /** @var callable(): float */
    private $clock;
    /** @var PeerDropMetrics */
    private $metrics;

    /** @param callable(): int $clock the service's clock (seconds) */
    public function __construct(PeerDropStore $store, PeerDropConfig $config, string $secret, string $address, callable $clock, PeerDropMetrics $metrics)
    {
        $this->store = $store;
        $this->config = $config;
        $this->clock = static function () use ($clock): float {
            return (float)call_user_func($clock);
        };
        $day = (int)floor((float)call_user_func($this->clock) / 86400);
        $this->keys = array(PeerDropRateLimiter::clientKey($secret, $address, $day), PeerDropRateLimiter::clientKey($secret, $address, $day - 1));
        $this->metrics = $metrics;
    }

    /** The key stored with the rooms this client creates. */
    public function creator(): string
    {
        return $this->keys[0];
    }

    /** Before a create: the open-rooms quota, then one create is taken. @throws PeerDropError quota_exceeded */
    public function beforeCreate(int $now): void
    {
        $this->checkRooms($this->store, $now);
        $perMinute = $this->config->quotaCreatesPerMinute;
        if ($perMinute > 0) {
            $this->enforce('creates', $perMinute, $perMinute, true);
        }
    }

    /**
     * The open-rooms quota; run again inside the create's write transaction, where SQLite's
     * single writer makes it exact. @throws PeerDropError quota_exceeded
     */
    public function checkRooms(PeerDropStore $db, int $now): void
    {
        $quota = $this->config->quotaRooms;
        if ($quota <= 0) {
            return;
        }
        $r = $db->select('SELECT COUNT(*) AS n, MIN(expires_at) AS soonest FROM {p}rooms WHERE creator IN (?, ?) AND expires_at > ?',
            array($this->keys[0], $this->keys[1], $now));
        if ((int)$r[0]['n'] >= $quota) {
            throw $this->refuse('rooms', (int)$r[0]['soonest'] - $now);
        }
    }

    /** Before a join: refused while the client is out of failed joins (nothing is taken). @throws PeerDropError quota_exceeded */
    public function beforeJoin(): void
    {
        $quota = $this->config->quotaFailedJoins;
        if ($quota > 0) {
            $this->enforce('failed_joins', $quota / 10, $quota, false);
        }
    }

    /** A join failed (room_not_found, room_full, room_expired): it costs one failed join. */
    public function joinFailed(): void
    {
        $quota = $this->config->quotaFailedJoins;
        if ($quota > 0) {
            $this->bucket($quota / 10, $quota)->take($this->bucketKey('failed_joins'));
        }
    }

    /** Refuses when the quota's bucket is empty; otherwise takes a token if $take. @throws PeerDropError quota_exceeded */
    private function enforce(string $quota, float $perMinute, int $burst, bool $take): void
    {
        $bucket = $this->bucket($perMinute, $burst);
        $level = $bucket->take($this->bucketKey($quota), $take);
        if ($level < 1.0) {
            throw $this->refuse($quota, $bucket->retryAfter($level));
        }
    }

    private function bucket(float $perMinute, int $burst): PeerDropRateLimiter
    {
        return new PeerDropRateLimiter($this->store, $perMinute, $burst, '', $this->clock);
    }

    private function bucketKey(string $quota): string
    {
        return substr(hash('sha256', 'peerdrop-quota-v1|' . $quota . '|' . $this->keys[0]), 0, 32);
    }

    private function refuse(string $quota, int $retryAfter): PeerDropError
    {
        $this->metrics->add('peerdrop_quota_exceeded_total', array('quota' => $quota));
        return new PeerDropError('quota_exceeded', self::MESSAGES[$quota], array('Retry-After' => (string)max(1, $retryAfter)));
    }
}

// =============================================================================================
// 2. Operations: the protocol's limits and the signaling operations, independent of HTTP.
// =============================================================================================

/** Small helpers shared by the rest of the file. */
final class PeerDrop
{
    const PROTOCOL = 1;
    const MAX_BODY = 65536;
    const MAX_DATA = 16384;
    const MAX_SEQ = 9007199254740991;
    const MAX_WAIT = 25;
    const JSON_DEPTH = 8;
    const POLL_BATCH = 100;
    /** Short-code numbers: 1 to SHORT_CODES while any is free, else up to MAX_CODE. */
    const SHORT_CODES = 999;
    const MAX_CODE = 9999;
    /** Receivers one room may seat at most (peers 1 to 32); operators may allow fewer (max_receivers). */
    const MAX_RECEIVERS = 32;
    /**
     * Sentences for the errors of rooms for several receivers (shared with the SvelteKit handler):
     * room_full there, invalid_receivers for a short-code room, and what invalid_peer is about.
     */
    const ROOM_MESSAGES = array(
        'room_full_many' => 'This room already has as many receivers as the sender allowed; ask the sender for a new link.',
        'code_receivers' => 'A short-code room has exactly one receiver: leave out "receivers", or send a link for several.',
        'to_sender' => 'A receiver sends only to the sender: leave out "to", or send "to": 0.',
        'to_needed' => 'In a room for several receivers, the sender names the receiver of each message: "to" is its peer number.',
        'to_joined' => 'The sender sends "to" a receiver that has joined this room: its peer number, from 1 to the number of receivers that joined.',
        'drop_joined' => 'Drop a receiver that has joined this room: its "peer" number, from 1 to the number of receivers that joined.',
    );
    /** What a stored room, or message row, counts against max_db_bytes besides its payload (row and index overhead, estimated). */
    const ROW_BYTES = 256;
    const MESSAGE_TYPES = array('offer', 'answer', 'candidate', 'bye', 'sealed', 'pake');
    const EXAMPLE_SECRETS = array('', 'change-me', 'changeme', 'change_me', 'secret', 'example', 'peerjs', 'password',
        'replace-me', 'replace-with-a-long-random-string', 'your-secret-here');

    public static function b64uEncode(string $bytes): string
    {
        return rtrim(strtr(base64_encode($bytes), '+/', '-_'), '=');
    }

    public static function b64uDecode(string $text): ?string
    {
        if (!preg_match('/^[A-Za-z0-9_-]*$/', $text) || strlen($text) % 4 === 1) {
            return null;
        }
        $padded = str_pad(strtr($text, '-_', '+/'), (int)(ceil(strlen($text) / 4) * 4), '=', STR_PAD_RIGHT);
        $out = base64_decode($padded, true);
        return $out === false ? null : $out;
    }

    public static function isValidRoom(string $room): bool
    {
        return (bool)preg_match('/^[A-Za-z0-9_-]{22,64}$/D', $room);
    }

    /** Rooms are stored only as a keyed hash of the client-chosen id. */
    public static function roomKey(string $room): string
    {
        return hash('sha256', 'peerdrop-room-v1|' . $room);
    }

    /** Short-code rooms are keyed by their number in a namespace of their own: no room id can take one. */
    public static function codeKey(int $code): string
    {
        return hash('sha256', 'peerdrop-code-v1|' . $code);
    }

    public static function isExampleSecret(string $secret): bool
    {
        return in_array(strtolower(trim($secret)), self::EXAMPLE_SECRETS, true);
    }

    /** True when $child is $parent or inside it. Symlinks are resolved; $child need not exist yet. */
    public static function isInside(string $child, string $parent): bool
    {
        $c = self::resolve($child);
        $p = rtrim(self::resolve($parent), '/\\');
        if ($c === '' || $p === '') {
            return false;
        }
        return $c === $p || strpos($c, $p . DIRECTORY_SEPARATOR) === 0;
    }

    /** realpath() of the nearest existing ancestor, plus the part that does not exist yet. */
    public static function resolve(string $path): string
    {
        $rest = '';
        $current = rtrim($path, '/\\');
        for ($i = 0; $i < 64 && $current !== ''; $i++) {
            $real = realpath($current);
            if ($real !== false) {
                return rtrim($real, '/\\') . $rest;
            }
            $parent = dirname($current);
            if ($parent === $current) {
                break;
            }
            $rest = DIRECTORY_SEPARATOR . basename($current) . $rest;
            $current = $parent;
        }
        return '';
    }
}

/** The signaling operations, independent of HTTP. Every method returns [status, body]. */
final class PeerDropService
{
    /** @var PeerDropStore */
    private $store;
    /** @var PeerDropConfig */
    private $config;
    /** @var string */
    private $secret;
    /** @var string[] current secret first, then the previous one during a key rotation */
    private $secrets;
    /** @var callable(): int */
    private $clock;
    /** @var callable(int): void microseconds */
    private $sleep;
    /** @var callable(): float */
    private $monotonic;
    /** @var PeerDropSlots */
    private $slots;
    /** @var PeerDropMetrics */
    private $metrics;
    /** @var PeerDropQuotas|null the quotas of the client this request comes from; null = none (command line, tests) */
    private $quotas = null;

    public function __construct(PeerDropStore $store, PeerDropConfig $config, string $secret, callable $clock,
                                ?PeerDropSlots $slots = null, ?callable $sleep = null, ?callable $monotonic = null)
    {
        $this->store = $store;
        $this->config = $config;
        $this->secret = $secret;
        $this->secrets = $config->verificationSecrets($secret);
        $this->clock = $clock;
        $this->slots = $slots !== null ? $slots : new PeerDropSlots($config->dataDir, $config->pollSlots);
        $this->sleep = $sleep !== null ? $sleep : static function (int $us): void {
            usleep($us);
        };
        $this->monotonic = $monotonic !== null ? $monotonic : static function (): float {
            return microtime(true);
        };
        $this->metrics = new PeerDropMetrics();
    }

    public function now(): int
    {
        return (int)call_user_func($this->clock);
    }

    public function store(): PeerDropStore
    {
        return $this->store;
    }

    public function slots(): PeerDropSlots
    {
        return $this->slots;
    }

    public function secret(): string
    {
        return $this->secret;
    }

    /** Where this service reports counter events (the HTTP layer shares its per-request recorder). */
    public function observe(PeerDropMetrics $metrics): void
    {
        $this->metrics = $metrics;
    }

    /** The (normalized) address this request comes from, whose quotas create and join apply. */
    public function forClient(string $address): void
    {
        $this->quotas = new PeerDropQuotas($this->store, $this->config, $this->secret, $address, $this->clock, $this->metrics);
    }

    /**
     * @param int|null $receivers the most receivers the room seats (null: one, as before rooms could have several)
     * @return array{0:int,1:array<string,mixed>}
     */
    public function create(string $room, ?int $receivers = null): array
    {
        if (!PeerDrop::isValidRoom($room)) {
            throw new PeerDropError('invalid_room');
        }
        if ($receivers !== null && ($receivers < 1 || $receivers > $this->config->maxReceivers)) {
            throw new PeerDropError('invalid_receivers');
        }
        return $this->open(PeerDrop::roomKey($room), $receivers !== null ? $receivers : 1);
    }

    /**
     * A short-code room. The number is picked here, never by the client, among those no open room
     * holds: one client can neither choose a number nor hold more than its open-rooms quota of them.
     * @return array{0:int,1:array<string,mixed>}
     */
    public function createCode(): array
    {
        return $this->open(null, 1);
    }

    /**
     * @param string|null $key the room key; null picks a short-code number and uses its key
     * @param int $receivers the most receivers the room seats (peers 1 to $receivers)
     * @return array{0:int,1:array<string,mixed>}
     */
    private function open(?string $key, int $receivers): array
    {
        $now = $this->now();
        $cfg = $this->config;
        $quotas = $this->quotas;
        if ($quotas !== null) {
            $quotas->beforeCreate($now);
        }
        $creator = $quotas !== null ? $quotas->creator() : null;
        list($id, $key, $code) = $this->store->write(function (PDO $pdo, PeerDropStore $db) use ($key, $receivers, $now, $cfg, $quotas, $creator) {
            if ($quotas !== null) {
                $quotas->checkRooms($db, $now);
            }
            $code = null;
            $existing = function (string $roomKey) use ($db) {
                return $db->run('SELECT id, expires_at FROM {p}rooms WHERE room_key = ?' . $db->forUpdate(), array($roomKey))->fetch(PDO::FETCH_ASSOC);
            };
            if ($key === null) {
                // On MySQL a concurrent create may take the number between the pick and the lock:
                // pick again (the locking read sees it; SQLite's single writer never gets here).
                for ($try = 0; $key === null; $try++) {
                    $code = self::pickCode($db, $now);
                    $row = $existing(PeerDrop::codeKey($code));
                    if ($row === false || (int)$row['expires_at'] <= $now) {
                        $key = PeerDrop::codeKey($code);
                    } elseif ($try >= 8) {
                        throw new PeerDropError('storage_busy');
                    }
                }
            } else {
                $row = $existing($key);
            }
            if ($row !== false) {
                if ((int)$row['expires_at'] > $now) {
                    throw new PeerDropError('room_exists');
                }
                self::deleteRoom($db, (int)$row['id']);
            }
            // Exact under SQLite's single writer; on MySQL concurrent creates may overshoot by a few.
            $count = (int)$db->run('SELECT COUNT(*) FROM {p}rooms')->fetchColumn();
            if ($count >= $cfg->maxRooms) {
                throw new PeerDropError('server_full');
            }
            self::checkStorage($db, $cfg, $now);
            $db->run('INSERT INTO {p}rooms (room_key, created_at, expires_at, creator, code, bytes, receivers) VALUES (?, ?, ?, ?, ?, ?, ?)',
                array($key, $now, $now + $cfg->ttlUnjoined, $creator, $code, PeerDrop::ROW_BYTES, $receivers));
            return array((int)$pdo->lastInsertId(), $key, $code);
        });
        $this->metrics->add('peerdrop_rooms_created_total');
        $body = array('peer' => 0, 'token' => PeerDropToken::sign($this->secret, $id, $key, 0, $now + $cfg->ttlRoom), 'cursor' => 0,
            'expires_in' => $cfg->ttlUnjoined, 'ice_servers' => $this->iceServers($now));
        if ($code !== null) {
            $this->metrics->add('peerdrop_code_rooms_created_total', array('digits' => (string)strlen((string)$code)));
            $body['code'] = $code;
        }
        if ($receivers > 1) {
            // Only in a room for several: a client that finds no "receivers" here talks to a server
            // older than them, which made a room for one (an unknown field is ignored).
            $body['receivers'] = $receivers;
        }
        return array(201, $body);
    }

    /**
     * A free short-code number: from 1 to 999 while any is free, else from 1000 to 9999. A few
     * random tries first (cheap while few are taken), then one read of the numbers in use.
     * @throws PeerDropError codes_exhausted
     */
    private static function pickCode(PeerDropStore $db, int $now): int
    {
        foreach (array(array(1, PeerDrop::SHORT_CODES), array(PeerDrop::SHORT_CODES + 1, PeerDrop::MAX_CODE)) as $range) {
            list($lo, $hi) = $range;
            for ($i = 0; $i < 4; $i++) {
                $n = random_int($lo, $hi);
                if (!$db->select('SELECT 1 FROM {p}rooms WHERE code = ? AND expires_at > ?', array($n, $now))) {
                    return $n;
                }
            }
            $used = array();
            foreach ($db->select('SELECT code FROM {p}rooms WHERE code BETWEEN ? AND ? AND expires_at > ?', array($lo, $hi, $now)) as $r) {
                $used[(int)$r['code']] = true;
            }
            $free = array();
            for ($n = $lo; $n <= $hi; $n++) {
                if (!isset($used[$n])) {
                    $free[] = $n;
                }
            }
            if ($free) {
                return $free[random_int(0, count($free) - 1)];
            }
        }
        throw new PeerDropError('codes_exhausted');
    }

    /** @return array{0:int,1:array<string,mixed>} */
    public function join(string $room): array
    {
        if (!PeerDrop::isValidRoom($room)) {
            throw new PeerDropError('invalid_room');
        }
        return $this->enter(PeerDrop::roomKey($room));
    }

    /** @return array{0:int,1:array<string,mixed>} */
    public function joinCode(int $code): array
    {
        if ($code < 1 || $code > PeerDrop::MAX_CODE) {
            throw new PeerDropError('invalid_code');
        }
        return $this->enter(PeerDrop::codeKey($code));
    }

    /** @return array{0:int,1:array<string,mixed>} */
    private function enter(string $key): array
    {
        if ($this->quotas !== null) {
            $this->quotas->beforeJoin();
        }
        try {
            return $this->claim($key);
        } catch (PeerDropError $e) {
            if ($this->quotas !== null && in_array($e->errorCode(), array('room_not_found', 'room_full', 'room_expired', 'room_locked'), true)) {
                $this->quotas->joinFailed();
            }
            throw $e;
        }
    }

    /** @return array{0:int,1:array<string,mixed>} */
    private function claim(string $key): array
    {
        $now = $this->now();
        $cfg = $this->config;
        // The whole check-and-claim runs in one write transaction (BEGIN IMMEDIATE on SQLite, a row
        // lock on MySQL): concurrent joiners are serialized, and the conditional UPDATE makes the
        // claim itself atomic as well.
        $row = $this->store->write(function (PDO $pdo, PeerDropStore $db) use ($key, $now, $cfg) {
            $row = $db->run('SELECT id, created_at, expires_at, left0, receivers, seats, closed FROM {p}rooms WHERE room_key = ?' . $db->forUpdate(),
                array($key))->fetch(PDO::FETCH_ASSOC);
            if ($row === false) {
                throw new PeerDropError('room_not_found');
            }
            if ((int)$row['expires_at'] <= $now) {
                throw new PeerDropError('room_expired');
            }
            // Seats are never given twice: one that a receiver left (or was dropped from) stays taken.
            $receivers = (int)$row['receivers'];
            $seats = (int)$row['seats'];
            if ($seats >= $receivers || (int)$row['left0'] === 1) {
                throw new PeerDropError('room_full', $receivers > 1 ? PeerDrop::ROOM_MESSAGES['room_full_many'] : null);
            }
            if ((int)$row['closed'] === 1) {
                throw new PeerDropError('room_locked');
            }
            $peer = $seats + 1;
            $expires = (int)$row['created_at'] + $cfg->ttlRoom;
            $up = $db->run('UPDATE {p}rooms SET seats = ?, joined_at = COALESCE(joined_at, ?), expires_at = ? WHERE id = ? AND seats = ?',
                array($peer, $now, $expires, (int)$row['id'], $seats));
            if ($up->rowCount() !== 1) {
                throw new PeerDropError('room_full', $receivers > 1 ? PeerDrop::ROOM_MESSAGES['room_full_many'] : null);
            }
            self::insertServerMessage($db, (int)$row['id'], 0, $peer, 'peer-joined');
            return array('id' => (int)$row['id'], 'expires' => $expires, 'peer' => $peer);
        });
        $this->metrics->add('peerdrop_rooms_joined_total');
        $token = PeerDropToken::sign($this->secret, $row['id'], $key, $row['peer'], $row['expires']);
        return array(200, array('peer' => $row['peer'], 'token' => $token, 'cursor' => 0, 'expires_in' => max(0, $row['expires'] - $now),
            'ice_servers' => $this->iceServers($now)));
    }

    /** ICE servers for a new seat; a broken part of their config is left out and logged, never a 500. */
    private function iceServers(int $now): array
    {
        foreach ($this->config->iceProblems as $problem) {
            error_log('peerdrop notice: ' . $problem . ' (run "php signal.php check")');
        }
        return PeerDropIce::servers($this->config, $now);
    }

    /**
     * @param int|null $to the recipient: a receiver's peer number (the sender; required in a room
     *        with several receivers), or 0 (a receiver); null: the only other peer
     * @return array{0:int,1:array<string,mixed>}
     */
    public function send(string $token, int $seq, string $type, string $data, ?int $to = null): array
    {
        if ($seq < 1 || $seq > PeerDrop::MAX_SEQ) {
            throw new PeerDropError('invalid_seq');
        }
        if (!in_array($type, PeerDrop::MESSAGE_TYPES, true)) {
            throw new PeerDropError('unknown_type');
        }
        if (strlen($data) > PeerDrop::MAX_DATA) {
            throw new PeerDropError('message_too_large');
        }
        if ($to !== null && ($to < 0 || $to > PeerDrop::MAX_RECEIVERS)) {
            throw new PeerDropError('invalid_peer');
        }
        $now = $this->now();
        $t = PeerDropToken::verifyAny($this->secrets, $token, $now);
        $cfg = $this->config;
        $digest = hash('sha256', $type . "\0" . $data);
        return $this->store->write(function (PDO $pdo, PeerDropStore $db) use ($t, $now, $seq, $type, $data, $digest, $cfg, $to) {
            // The room row lock (MySQL) also orders message ids per room: a recipient's cursor never
            // passes an id that is still uncommitted.
            $room = self::loadRoom($db, $t, $now);
            $peer = $t['peer'];
            $other = self::recipient($room, $peer, $to);
            $dup = $db->run('SELECT id, digest, to_peer FROM {p}messages WHERE room_id = ? AND from_peer = ? AND seq = ?',
                array((int)$room['id'], $peer, $seq))->fetch(PDO::FETCH_ASSOC);
            if ($dup !== false) {
                if (!hash_equals((string)$dup['digest'], $digest) || (int)$dup['to_peer'] !== $other) {
                    throw new PeerDropError('seq_conflict');
                }
                return array(200, array('id' => (int)$dup['id']));
            }
            self::assertSeated($room, $peer);
            if (self::isGone($room, $other)) {
                throw new PeerDropError('peer_left');
            }
            if ((int)$room['msg_count'] >= $cfg->maxRoomMessages) {
                throw new PeerDropError('room_message_limit');
            }
            $queued = (int)$db->run('SELECT COUNT(*) FROM {p}messages WHERE room_id = ? AND to_peer = ? AND acked = 0',
                array((int)$room['id'], $other))->fetchColumn();
            if ($queued >= $cfg->maxQueue) {
                throw new PeerDropError('queue_full');
            }
            // A room for several holds no more unread messages than a room for one can (its two
            // queues), so that its creator's share of the storage stays what the quotas allow.
            if ((int)$room['receivers'] > 1 && (int)$db->run('SELECT COUNT(*) FROM {p}messages WHERE room_id = ? AND acked = 0',
                    array((int)$room['id']))->fetchColumn() >= 2 * $cfg->maxQueue) {
                throw new PeerDropError('queue_full');
            }
            self::checkStorage($db, $cfg, $now); // after the idempotency check: a retry of a stored message still gets its id
            $db->run('INSERT INTO {p}messages (room_id, to_peer, from_peer, seq, type, data, digest) VALUES (?, ?, ?, ?, ?, ?, ?)',
                array((int)$room['id'], $other, $peer, $seq, $type, $data, $digest));
            $id = (int)$pdo->lastInsertId();
            $db->run('UPDATE {p}rooms SET msg_count = msg_count + 1, bytes = bytes + ? WHERE id = ?',
                array(PeerDrop::ROW_BYTES + strlen($data), (int)$room['id']));
            return array(201, array('id' => $id));
        });
    }

    /** @return array{0:int,1:array<string,mixed>} */
    public function poll(string $token, int $after, int $wait): array
    {
        if ($after < 0 || $after > PeerDrop::MAX_SEQ) {
            throw new PeerDropError('invalid_cursor');
        }
        if ($wait < 0 || $wait > PeerDrop::MAX_WAIT) {
            throw new PeerDropError('invalid_wait');
        }
        $now = $this->now();
        $t = PeerDropToken::verifyAny($this->secrets, $token, $now);
        $rows = $this->store->select('SELECT * FROM {p}rooms WHERE id = ?', array($t['room_id']));
        $room = self::checkRoom($rows ? $rows[0] : null, $t, $now);
        self::assertSeated($room, $t['peer']);
        $roomId = (int)$room['id'];
        $peer = $t['peer'];

        // "after" acknowledges everything up to it: wipe delivered payloads (write only when needed).
        if ($after > 0 && $this->store->select('SELECT 1 FROM {p}messages WHERE room_id = ? AND to_peer = ? AND acked = 0 AND id <= ? LIMIT 1',
                array($roomId, $peer, $after))) {
            $this->store->write(function (PDO $pdo, PeerDropStore $db) use ($roomId, $peer, $after) {
                self::ackAndWipe($db, $roomId, $peer, $after);
                return null;
            });
        }

        // The room was checked above: the peer is seated (a leave racing with this poll finds
        // nothing here, and ends the held loop below at its first check).
        $messages = $this->fetch($roomId, $peer, $after) ?? array();
        $held = false;
        $wait = min($wait, $this->config->maxWait, max(0, (int)$room['expires_at'] - $now));
        if (!$messages && $wait > 0) {
            $slot = $this->slots->acquire();
            if ($slot !== null) {
                $held = true;
                $this->metrics->add('peerdrop_held_polls_total');
                try {
                    $deadline = call_user_func($this->monotonic) + $wait;
                    while (true) {
                        call_user_func($this->sleep, $this->config->pollCheckMs * 1000);
                        $fetched = $this->fetch($roomId, $peer, $after);
                        // A leaver's poll ends too: PHP cannot see that its page closed, and
                        // the slot would stay taken for the rest of the wait.
                        if ($fetched === null) {
                            break;
                        }
                        $messages = $fetched;
                        if ($messages || call_user_func($this->monotonic) >= $deadline) {
                            break;
                        }
                    }
                } finally {
                    $this->slots->release($slot);
                }
            }
        }
        $cursor = $after;
        foreach ($messages as $m) {
            $cursor = max($cursor, $m['id']);
        }
        if ($messages || $held) {
            $hint = 0;
        } else {
            $hint = $this->config->pollIntervalMs;
        }
        return array(200, array('messages' => $messages, 'cursor' => $cursor, 'poll_after_ms' => $hint));
    }

    /** @return array{0:int,1:array<string,mixed>} */
    public function leave(string $token): array
    {
        $now = $this->now();
        $t = PeerDropToken::verifyAny($this->secrets, $token, $now);
        $this->store->write(function (PDO $pdo, PeerDropStore $db) use ($t, $now) {
            $room = $db->run('SELECT * FROM {p}rooms WHERE id = ?' . $db->forUpdate(), array($t['room_id']))->fetch(PDO::FETCH_ASSOC);
            if ($room === false || substr((string)$room['room_key'], 0, 32) !== $t['key']) {
                return null; // already gone: leaving is idempotent
            }
            $roomId = (int)$room['id'];
            $peer = $t['peer'];
            if (self::isGone($room, $peer)) {
                return null; // left already, or dropped
            }
            // Who is still here once this peer is gone: the sender, and the receivers in their seats.
            $receivers = array_values(array_diff(self::seated($room), array($peer)));
            $senderHere = $peer !== 0 && (int)$room['left0'] === 0;
            if ((!$senderHere && !$receivers) || (int)$room['expires_at'] <= $now) {
                self::deleteRoom($db, $roomId);
                return null;
            }
            self::markGone($db, $room, $peer, false);
            // Nothing more will be read by the leaver: drop its undelivered payloads now.
            self::ackAndWipe($db, $roomId, $peer, null);
            // The sender's leave reaches every receiver; a receiver's reaches the sender only.
            foreach ($peer === 0 ? $receivers : ($senderHere ? array(0) : array()) as $to) {
                self::insertServerMessage($db, $roomId, $to, $peer, 'peer-left');
            }
            return null;
        });
        return array(200, array('ok' => true));
    }

    /**
     * The sender drops one receiver: its token stops working (410 peer_dropped), its undelivered
     * messages are wiped, its seat is not given to anyone else; the other receivers go on.
     * @return array{0:int,1:array<string,mixed>}
     */
    public function drop(string $token, int $peer): array
    {
        $now = $this->now();
        $t = PeerDropToken::verifyAny($this->secrets, $token, $now);
        if ($t['peer'] !== 0) {
            throw new PeerDropError('not_sender');
        }
        $this->store->write(function (PDO $pdo, PeerDropStore $db) use ($t, $now, $peer) {
            $room = self::loadRoom($db, $t, $now);
            self::assertSeated($room, 0);
            if ($peer < 1 || $peer > (int)$room['seats']) {
                throw new PeerDropError('invalid_peer', PeerDrop::ROOM_MESSAGES['drop_joined']);
            }
            if (self::isGone($room, $peer)) {
                return null; // dropped already, or it left: nothing more to do
            }
            self::markGone($db, $room, $peer, true);
            self::ackAndWipe($db, (int)$room['id'], $peer, null);
            return null;
        });
        return array(200, array('ok' => true));
    }

    /**
     * The sender closes the room to newcomers: a join then gets 409 room_locked. The receivers
     * already in keep their seats. Cannot be undone.
     * @return array{0:int,1:array<string,mixed>}
     */
    public function close(string $token): array
    {
        $now = $this->now();
        $t = PeerDropToken::verifyAny($this->secrets, $token, $now);
        if ($t['peer'] !== 0) {
            throw new PeerDropError('not_sender');
        }
        $this->store->write(function (PDO $pdo, PeerDropStore $db) use ($t, $now) {
            $room = self::loadRoom($db, $t, $now);
            self::assertSeated($room, 0);
            $db->run('UPDATE {p}rooms SET closed = 1 WHERE id = ?', array((int)$room['id']));
            return null;
        });
        return array(200, array('ok' => true));
    }

    /** @return array{0:int,1:array<string,mixed>} */
    public function health(): array
    {
        // The data dir holds the poll slots (and, with SQLite, the database): it must be writable.
        PeerDropDataDir::ensure($this->config->dataDir);
        // Proves the database accepts a write transaction without writing anything.
        $this->store->write(function (PDO $pdo, PeerDropStore $db) {
            return null;
        });
        $c = $this->config;
        return array(200, array(
            'ok' => true,
            'version' => PeerDrop::PROTOCOL,
            'schema' => $this->store->schemaVersion(),
            'storage' => $this->store->driver(),
            'limits' => array(
                'max_body_bytes' => PeerDrop::MAX_BODY,
                'max_data_bytes' => PeerDrop::MAX_DATA,
                'max_queue' => $c->maxQueue,
                'max_room_messages' => $c->maxRoomMessages,
                'max_rooms' => $c->maxRooms,
                'ttl_unjoined' => $c->ttlUnjoined,
                'ttl_room' => $c->ttlRoom,
                'poll_slots' => $c->pollSlots,
                'max_wait' => $c->maxWait,
                'poll_interval_ms' => $c->pollIntervalMs,
                'rate_limit_per_minute' => $c->rateLimitPerMinute,
                'rate_limit_burst' => $c->rateLimitBurst,
                'max_db_bytes' => $c->maxDbBytes,
                'quota_rooms' => $c->quotaRooms,
                'quota_creates_per_minute' => $c->quotaCreatesPerMinute,
                'quota_failed_joins' => $c->quotaFailedJoins,
                'max_code' => PeerDrop::MAX_CODE,
                'max_receivers' => $c->maxReceivers,
            ),
        ));
    }

    /**
     * Live bytes: what max_db_bytes caps. Each open room keeps its own count (ROW_BYTES for itself
     * and for each message row, plus the payloads not yet wiped), so expired rooms stop counting
     * at once and nothing is measured from files, which never shrink.
     */
    public static function liveBytes(PeerDropStore $db, int $now): int
    {
        return (int)$db->select('SELECT COALESCE(SUM(bytes), 0) AS n FROM {p}rooms WHERE expires_at > ?', array($now))[0]['n'];
    }

    /** @throws PeerDropError storage_quota_exceeded when the live data has reached max_db_bytes */
    private static function checkStorage(PeerDropStore $db, PeerDropConfig $cfg, int $now): void
    {
        if ($cfg->maxDbBytes > 0 && self::liveBytes($db, $now) >= $cfg->maxDbBytes) {
            throw new PeerDropError('storage_quota_exceeded');
        }
    }

    /**
     * Delete expired rooms and their messages, a bounded batch per call (rooms <= batch, messages <= 10 x batch),
     * and rate-limit buckets idle for an hour (full again by then, so forgetting them changes nothing).
     * A room whose messages were not all deleted stays (still expired) for the next call.
     * @return int rooms deleted
     */
    public function cleanup(?int $now = null): int
    {
        $now = $now !== null ? $now : $this->now();
        $batch = $this->config->cleanupBatch;
        $staleMs = ((int)floor((float)call_user_func($this->config->preciseClock()) * 1000)) - 3600000;
        if ($this->store->select('SELECT 1 FROM {p}rate_limits WHERE updated_ms < ? LIMIT 1', array($staleMs))) {
            $this->store->write(function (PDO $pdo, PeerDropStore $db) use ($staleMs, $batch) {
                return $db->deleteLimited($db->sql('{p}rate_limits'), 'updated_ms < ?', array($staleMs), $batch * 10, 'k');
            });
        }
        $ids = $this->store->select('SELECT id FROM {p}rooms WHERE expires_at <= ? ORDER BY expires_at LIMIT ' . $batch, array($now));
        if (!$ids) {
            return 0;
        }
        $list = implode(',', array_map(static function (array $r): int {
            return (int)$r['id'];
        }, $ids));
        return (int)$this->store->write(function (PDO $pdo, PeerDropStore $db) use ($list, $batch, $now) {
            $db->deleteLimited($db->sql('{p}messages'), 'room_id IN (' . $list . ')', array(), $batch * 10);
            $st = $db->run('DELETE FROM {p}rooms WHERE id IN (' . $list . ') AND expires_at <= ?'
                . ' AND NOT EXISTS (SELECT 1 FROM {p}messages m WHERE m.room_id = {p}rooms.id)', array($now));
            return $st->rowCount();
        });
    }

    /**
     * Unacknowledged messages to `$peer` after `$after`, in one query with its seat: null once
     * the peer has none (it left, or the room is gone).
     * @return array<int,array{id:int,type:string,data:string,seq:int}>|null
     */
    private function fetch(int $roomId, int $peer, int $after): ?array
    {
        // One row per message, or a single row with a NULL id when there is none.
        $rows = $this->store->select('SELECT r.left0, r.left1, r.gone, r.receivers, m.id, m.type, m.data, m.seq, m.from_peer FROM {p}rooms r'
            . ' LEFT JOIN {p}messages m ON m.room_id = r.id AND m.to_peer = ? AND m.acked = 0 AND m.id > ?'
            . ' WHERE r.id = ? ORDER BY m.id LIMIT ' . PeerDrop::POLL_BATCH, array($peer, $after, $roomId));
        if (!$rows || self::isGone($rows[0], $peer)) {
            return null;
        }
        // A room for several says who sent each message; a room for one keeps the shape it always had.
        $many = (int)$rows[0]['receivers'] > 1;
        $out = array();
        foreach ($rows as $r) {
            if ($r['id'] !== null) {
                $m = array('id' => (int)$r['id'], 'type' => (string)$r['type'], 'data' => (string)$r['data'], 'seq' => (int)$r['seq']);
                if ($many) {
                    $m['from'] = (int)$r['from_peer'];
                }
                $out[] = $m;
            }
        }
        return $out;
    }

    /**
     * @param array{room_id:int,key:string,peer:int,exp:int} $t
     * @return array<string,mixed>
     */
    private static function loadRoom(PeerDropStore $db, array $t, int $now): array
    {
        $row = $db->run('SELECT * FROM {p}rooms WHERE id = ?' . $db->forUpdate(), array($t['room_id']))->fetch(PDO::FETCH_ASSOC);
        return self::checkRoom($row === false ? null : $row, $t, $now);
    }

    /**
     * @param array<string,mixed>|null $row
     * @param array{room_id:int,key:string,peer:int,exp:int} $t
     * @return array<string,mixed>
     */
    private static function checkRoom(?array $row, array $t, int $now): array
    {
        if ($row === null || substr((string)$row['room_key'], 0, 32) !== $t['key']) {
            throw new PeerDropError('room_closed');
        }
        if ((int)$row['expires_at'] <= $now) {
            throw new PeerDropError('room_expired');
        }
        return $row;
    }

    /**
     * Whom a message from $peer goes to: a receiver names the sender or nobody; the sender names a
     * receiver that has joined (in a room for one it may leave "to" out, and send before the join).
     * @param array<string,mixed> $room
     * @throws PeerDropError invalid_peer
     */
    private static function recipient(array $room, int $peer, ?int $to): int
    {
        $receivers = (int)$room['receivers'];
        if ($peer !== 0) {
            if ($to !== null && $to !== 0) {
                throw new PeerDropError('invalid_peer', PeerDrop::ROOM_MESSAGES['to_sender']);
            }
            return 0;
        }
        if ($to === null) {
            if ($receivers > 1) {
                throw new PeerDropError('invalid_peer', PeerDrop::ROOM_MESSAGES['to_needed']);
            }
            return 1;
        }
        if ($to < 1 || $to > $receivers || ($receivers > 1 && $to > (int)$room['seats'])) {
            throw new PeerDropError('invalid_peer', PeerDrop::ROOM_MESSAGES['to_joined']);
        }
        return $to;
    }

    /**
     * Whether $peer has left the room or was dropped from it. The sender and the first receiver
     * have their own columns (left0, left1, as before schema 4); receivers 2 to 32 are bits of gone.
     * @param array<string,mixed> $room
     */
    private static function isGone(array $room, int $peer): bool
    {
        if ($peer <= 1) {
            return (int)$room['left' . $peer] === 1;
        }
        return (((int)$room['gone'] >> $peer) & 1) === 1;
    }

    /**
     * The receivers in their seats: joined, neither left nor dropped.
     * @param array<string,mixed> $room
     * @return int[]
     */
    private static function seated(array $room): array
    {
        $out = array();
        for ($k = 1; $k <= (int)$room['seats']; $k++) {
            if (!self::isGone($room, $k)) {
                $out[] = $k;
            }
        }
        return $out;
    }

    /**
     * @param array<string,mixed> $room
     * @throws PeerDropError peer_left when $peer has left, peer_dropped when the sender dropped it
     */
    private static function assertSeated(array $room, int $peer): void
    {
        if (self::isGone($room, $peer)) {
            throw new PeerDropError($peer > 0 && (((int)$room['dropped'] >> $peer) & 1) === 1 ? 'peer_dropped' : 'peer_left');
        }
    }

    /**
     * Takes $peer out of its seat (left, or dropped by the sender), in the row and in $room.
     * @param array<string,mixed> $room
     */
    private static function markGone(PeerDropStore $db, array &$room, int $peer, bool $dropped): void
    {
        if ($peer <= 1) {
            $room['left' . $peer] = 1;
            $db->run('UPDATE {p}rooms SET left' . $peer . ' = 1 WHERE id = ?', array((int)$room['id']));
        } else {
            $room['gone'] = (int)$room['gone'] | (1 << $peer);
            $db->run('UPDATE {p}rooms SET gone = ? WHERE id = ?', array($room['gone'], (int)$room['id']));
        }
        if ($dropped) {
            $room['dropped'] = (int)$room['dropped'] | (1 << $peer);
            $db->run('UPDATE {p}rooms SET dropped = ? WHERE id = ?', array($room['dropped'], (int)$room['id']));
        }
    }

    private static function insertServerMessage(PeerDropStore $db, int $roomId, int $to, int $from, string $type): void
    {
        $db->run("INSERT INTO {p}messages (room_id, to_peer, from_peer, seq, type, data) VALUES (?, ?, ?, NULL, ?, '')",
            array($roomId, $to, $from, $type));
        $db->run('UPDATE {p}rooms SET bytes = bytes + ? WHERE id = ?', array(PeerDrop::ROW_BYTES, $roomId));
    }

    /**
     * The privacy wipe: mark the peer's unacknowledged messages (those with id <= $upTo, or all of
     * them when $upTo is null) acknowledged and drop their payloads. Rows stay, with empty data,
     * so that late send retries remain idempotent.
     */
    private static function ackAndWipe(PeerDropStore $db, int $roomId, int $peer, ?int $upTo): void
    {
        $where = 'room_id = ? AND to_peer = ? AND acked = 0';
        $params = array($roomId, $peer);
        if ($upTo !== null) {
            $where .= ' AND id <= ?';
            $params[] = $upTo;
        }
        // The wiped payloads stop counting against max_db_bytes (their rows still do).
        $db->run('UPDATE {p}rooms SET bytes = bytes - (SELECT COALESCE(SUM(' . $db->byteLength('data') . '), 0) FROM {p}messages WHERE '
            . $where . ') WHERE id = ?', array_merge($params, array($roomId)));
        $db->run("UPDATE {p}messages SET data = '', acked = 1 WHERE " . $where, $params);
    }

    private static function deleteRoom(PeerDropStore $db, int $roomId): void
    {
        $db->run('DELETE FROM {p}messages WHERE room_id = ?', array($roomId));
        $db->run('DELETE FROM {p}rooms WHERE id = ?', array($roomId));
    }
}

// =============================================================================================
// 3. Tokens: the HMAC token a peer gets for its seat, and the secret that signs it.
// =============================================================================================

/** HMAC peer tokens: base64url(payload) "." base64url(HMAC-SHA256(secret, payload)). */
final class PeerDropToken
{
    public static function sign(string $secret, int $roomId, string $roomKey, int $peer, int $expires): string
    {
        $payload = PeerDrop::b64uEncode('1.' . $roomId . '.' . substr($roomKey, 0, 32) . '.' . $peer . '.' . $expires);
        return $payload . '.' . self::mac($secret, $payload);
    }

    /**
     * @return array{room_id:int,key:string,peer:int,exp:int}
     * @throws PeerDropError invalid_token (401) or token_expired (410)
     */
    public static function verify(string $secret, string $token, int $now): array
    {
        return self::verifyAny(array($secret), $token, $now);
    }

    /**
     * Verify against each secret in turn (current, then previous during a key rotation).
     * @param string[] $secrets
     * @return array{room_id:int,key:string,peer:int,exp:int}
     * @throws PeerDropError invalid_token (401) or token_expired (410)
     */
    public static function verifyAny(array $secrets, string $token, int $now): array
    {
        if (strlen($token) > 512 || !preg_match('/^([A-Za-z0-9_-]{1,256})\.([A-Za-z0-9_-]{43})$/D', $token, $m)) {
            throw new PeerDropError('invalid_token');
        }
        $valid = false;
        foreach ($secrets as $secret) {
            // No early exit: the time taken does not reveal which secret matched.
            $valid = hash_equals(self::mac($secret, $m[1]), $m[2]) || $valid;
        }
        if (!$valid) {
            throw new PeerDropError('invalid_token');
        }
        $payload = PeerDrop::b64uDecode($m[1]);
        // Peer 0 is the sender, 1 to 32 its receivers (tokens from before rooms had several say 0 or 1).
        if ($payload === null || !preg_match('/^1\.([0-9]{1,18})\.([0-9a-f]{32})\.(0|[1-9][0-9]?)\.([0-9]{1,12})$/D', $payload, $p)
                || (int)$p[3] > PeerDrop::MAX_RECEIVERS) {
            throw new PeerDropError('invalid_token');
        }
        $exp = (int)$p[4];
        if ($exp <= $now) {
            throw new PeerDropError('token_expired');
        }
        return array('room_id' => (int)$p[1], 'key' => $p[2], 'peer' => (int)$p[3], 'exp' => $exp);
    }

    private static function mac(string $secret, string $payloadB64): string
    {
        return PeerDrop::b64uEncode(hash_hmac('sha256', 'peerdrop-token-v1|' . $payloadB64, $secret, true));
    }
}

/** The token secret: configured, else generated (in the data dir for SQLite, in the database for MySQL so all web servers share it). */
function peerdrop_secret(PeerDropConfig $config, PeerDropStore $store): string
{
    if ($config->secret === null && $store->driver() === 'mysql') {
        return $store->sharedSecret();
    }
    return PeerDropDataDir::secret($config);
}

// =============================================================================================
// 4. Storage: database error translation, the store (SQLite or MySQL/MariaDB), schema
//    migrations, SQLite recovery, the data dir and held-poll slots.
// =============================================================================================

/**
 * Database failures, translated in this one place into the PeerDropError the client gets (the
 * store calls translate() wherever PDO can fail; the HTTP layer calls it for whatever escaped).
 *
 * It goes by the codes PDO carries, never by wording where a code exists:
 *   - the driver's code, $e->errorInfo[1], or getCode() for a failed connection (PDO puts the
 *     driver's code there and may leave errorInfo empty). SQLite result codes are below 1000 (PDO
 *     reports primary codes; an extended code keeps its primary one in the low byte), MySQL and
 *     MariaDB server errors are 1000 and up, their client library's 2000 and up;
 *   - the SQLSTATE, $e->errorInfo[0] (getCode() of a failed statement), where it is specific.
 *     Most SQLite and many MySQL failures share the catch-all HY000, so the driver code decides
 *     first.
 * Message text is read only where the driver gives no code for the condition: see translate().
 */
final class PeerDropDbErrors
{
    /** SQLite primary result codes that are known faults. */
    const SQLITE = array(
        5 => 'storage_busy',          // SQLITE_BUSY: another connection held the lock past busy_timeout
        6 => 'storage_busy',          // SQLITE_LOCKED: a table is locked
        13 => 'storage_full',         // SQLITE_FULL: the disk, or max_page_count, is full
        8 => 'storage_unavailable',   // SQLITE_READONLY: no write access to the file
        10 => 'storage_unavailable',  // SQLITE_IOERR: disk I/O error
        11 => 'storage_unavailable',  // SQLITE_CORRUPT: also moved aside, see isCorruption()
        14 => 'storage_unavailable',  // SQLITE_CANTOPEN: cannot open the file (or its journal)
        23 => 'storage_unavailable',  // SQLITE_AUTH: refused by an authorizer
        26 => 'storage_unavailable',  // SQLITE_NOTADB: not a database file; also moved aside
    );

    /** MySQL and MariaDB error numbers that are known faults. */
    const MYSQL = array(
        1205 => 'storage_busy',          // ER_LOCK_WAIT_TIMEOUT (innodb_lock_wait_timeout)
        1213 => 'storage_busy',          // ER_LOCK_DEADLOCK (write() re-runs the transaction first)
        1040 => 'storage_busy',          // ER_CON_COUNT_ERROR: too many connections
        1203 => 'storage_busy',          // ER_TOO_MANY_USER_CONNECTIONS
        1226 => 'storage_busy',          // ER_USER_LIMIT_REACHED: an hourly resource limit
        1021 => 'storage_full',          // ER_DISK_FULL
        1114 => 'storage_full',          // ER_RECORD_FILE_FULL: the table is full
        1044 => 'storage_unavailable',   // ER_DBACCESS_DENIED_ERROR
        1045 => 'storage_unavailable',   // ER_ACCESS_DENIED_ERROR: wrong user or password
        1049 => 'storage_unavailable',   // ER_BAD_DB_ERROR: no such database
        1142 => 'storage_unavailable',   // ER_TABLEACCESS_DENIED_ERROR
        1146 => 'storage_unavailable',   // ER_NO_SUCH_TABLE
        1290 => 'storage_unavailable',   // ER_OPTION_PREVENTS_STATEMENT: e.g. --read-only
        1836 => 'storage_unavailable',   // ER_READ_ONLY_MODE
        2002 => 'storage_unavailable',   // CR_CONNECTION_ERROR: no server on the socket
        2003 => 'storage_unavailable',   // CR_CONN_HOST_ERROR: no server on the host
        2005 => 'storage_unavailable',   // CR_UNKNOWN_HOST
        2006 => 'storage_unavailable',   // CR_SERVER_GONE_ERROR: MySQL server has gone away
        2013 => 'storage_unavailable',   // CR_SERVER_LOST: lost connection during a query
    );

    /** SQLSTATEs specific enough to decide on their own, whatever the driver. */
    const SQLSTATES = array(
        '40001' => 'storage_busy',       // serialization failure: a deadlock victim (MySQL 1213)
    );

    /**
     * SQLite's wording of the faults above, for a failure that carries no code at all. Kept from
     * before the codes were read; SQLite itself always gives one.
     */
    const SQLITE_MESSAGES = array(
        'database is locked' => 'storage_busy',
        'database table is locked' => 'storage_busy',
        'disk is full' => 'storage_full',
        'disk full' => 'storage_full',
        'unable to open' => 'storage_unavailable',
        'readonly' => 'storage_unavailable',
        'disk i/o' => 'storage_unavailable',
        'malformed' => 'storage_unavailable',
        'not a database' => 'storage_unavailable',
    );

    /** Translate a failure into a known error; a database fault never becomes a 500. */
    public static function translate(Throwable $e): PeerDropError
    {
        if ($e instanceof PeerDropError) {
            return $e;
        }
        if (!($e instanceof PDOException)) {
            return new PeerDropError('internal_error', null, array(), $e);
        }
        $code = self::driverCode($e);
        $state = self::sqlState($e);
        $error = 'internal_error';
        if ($code >= 1000) {
            if (isset(self::MYSQL[$code])) {
                $error = self::MYSQL[$code];
            } elseif (isset(self::SQLSTATES[$state])) {
                $error = self::SQLSTATES[$state];
            }
            // MySQL and MariaDB give the operating system's "disk full" (errno 28, ENOSPC) no code
            // of its own: it is only in the text of a generic error, e.g. 1030 'Got error 28 "No
            // space left on device" from storage engine'.
            if ($error !== 'storage_busy' && stripos($e->getMessage(), 'no space left') !== false) {
                $error = 'storage_full';
            }
        } elseif ($code > 0) {
            $primary = $code & 0xff;
            if (isset(self::SQLITE[$primary])) {
                $error = self::SQLITE[$primary];
            } elseif (isset(self::SQLSTATES[$state])) {
                $error = self::SQLSTATES[$state];
            }
        } elseif (isset(self::SQLSTATES[$state])) {
            $error = self::SQLSTATES[$state];
        } else {
            // No code at all: the message is all there is.
            $message = strtolower($e->getMessage());
            foreach (self::SQLITE_MESSAGES as $text => $known) {
                if (strpos($message, $text) !== false) {
                    $error = $known;
                    break;
                }
            }
        }
        return new PeerDropError($error, null, array(), $e);
    }

    /**
     * A corrupt SQLite file: SQLITE_CORRUPT (11) or SQLITE_NOTADB (26) anywhere in the exception
     * chain (by its wording only where a failure carries no code). PeerDropSqliteRecovery then
     * moves the file aside.
     */
    public static function isCorruption(?Throwable $e): bool
    {
        for (; $e !== null; $e = $e->getPrevious()) {
            if (!($e instanceof PDOException)) {
                continue;
            }
            $code = self::driverCode($e);
            if ($code > 0 && $code < 1000) {
                if (in_array($code & 0xff, array(11, 26), true)) {
                    return true;
                }
            } elseif ($code === 0) {
                $message = strtolower($e->getMessage());
                if (strpos($message, 'malformed') !== false || strpos($message, 'not a database') !== false) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * MySQL: a transaction that lost a race and is worth running again, where the re-run sees the
     * winner's row: a deadlock (SQLSTATE 40001, error 1213) or a duplicate key from a concurrent
     * insert (1062; its SQLSTATE 23000 covers every integrity violation, so the code decides).
     */
    public static function isLostRace(Throwable $e): bool
    {
        $code = self::driverCode($e);
        return $code === 1062 || $code === 1213 || self::sqlState($e) === '40001';
    }

    /** MySQL: the table does not exist (1146, SQLSTATE 42S02), e.g. the meta table of a fresh database. */
    public static function isMissingTable(Throwable $e): bool
    {
        return self::driverCode($e) === 1146;
    }

    /** The driver's numeric error code, or 0 when the failure carries none. */
    public static function driverCode(Throwable $e): int
    {
        if (!($e instanceof PDOException)) {
            return 0;
        }
        if (is_array($e->errorInfo) && isset($e->errorInfo[1]) && is_numeric($e->errorInfo[1])) {
            return (int)$e->errorInfo[1];
        }
        // A failed connection carries the driver's code (e.g. 2002) in getCode() only, as an
        // integer; a failed statement's getCode() is its SQLSTATE, a string.
        $code = $e->getCode();
        return is_int($code) ? $code : 0;
    }

    /** The five-character SQLSTATE, or '' when the failure carries none. */
    public static function sqlState(Throwable $e): string
    {
        if (!($e instanceof PDOException)) {
            return '';
        }
        if (is_array($e->errorInfo) && isset($e->errorInfo[0]) && is_string($e->errorInfo[0]) && strlen($e->errorInfo[0]) === 5) {
            return $e->errorInfo[0];
        }
        $code = $e->getCode();
        return is_string($code) && strlen($code) === 5 ? $code : '';
    }
}

/**
 * Storage through PDO: SQLite (one file in the data dir) or MySQL/MariaDB (several web servers).
 * Owns the connection, transactions and the dialect differences; every PDO failure leaves it
 * translated by PeerDropDbErrors. Write callbacks get (PDO $pdo, PeerDropStore $db); use
 * $db->run() so that "{p}" table names expand for the dialect.
 */
final class PeerDropStore
{
    const SCHEMA_VERSION = PeerDropMigrations::LATEST;
    const DB_FILE = 'peerdrop.sqlite';
    const FALLBACK_MARKER = 'journal-fallback-truncate';
    const CHECKPOINT_STAMP = 'checkpoint.stamp';

    /** @var PDO */
    private $pdo;
    /** @var string 'sqlite' | 'mysql' */
    private $driver;
    /** @var string data dir (SQLite) or '' */
    private $dir;
    /** @var string */
    private $journalMode;
    /** @var string */
    private $prefix;
    /** @var bool */
    private $inTx = false;

    private function __construct(PDO $pdo, string $driver, string $dir, string $journalMode, string $prefix)
    {
        $this->pdo = $pdo;
        $this->driver = $driver;
        $this->dir = $dir;
        $this->journalMode = $journalMode;
        $this->prefix = $prefix;
    }

    public static function fromConfig(PeerDropConfig $c): self
    {
        if ($c->storage === 'mysql') {
            return self::openMysql($c->mysqlDsn, $c->mysqlUser, $c->mysqlPassword, $c->mysqlTablePrefix, $c->busyTimeoutMs);
        }
        return self::open($c->dataDir, $c->journalMode, $c->busyTimeoutMs);
    }

    /**
     * Open SQLite (creating/migrating on first use). Per request this costs the connection pragmas
     * and one "PRAGMA user_version" read. A corrupt file is moved aside once and rebuilt.
     */
    public static function open(string $dir, string $journalMode = 'wal', int $busyTimeoutMs = 1500): self
    {
        try {
            return self::openSqlite($dir, $journalMode, $busyTimeoutMs);
        } catch (PeerDropError $e) {
            if (PeerDropDbErrors::isCorruption($e) && PeerDropSqliteRecovery::quarantine($dir)) {
                return self::openSqlite($dir, $journalMode, $busyTimeoutMs);
            }
            throw $e;
        }
    }

    private static function openSqlite(string $dir, string $journalMode, int $busyTimeoutMs): self
    {
        if (!extension_loaded('pdo_sqlite')) {
            throw new PeerDropError('storage_unavailable');
        }
        PeerDropDataDir::ensure($dir);
        $effective = $journalMode;
        if ($journalMode === 'wal' && is_file($dir . '/' . self::FALLBACK_MARKER)) {
            $effective = 'truncate';
        }
        self::privateFile($dir . '/' . self::DB_FILE);
        try {
            $pdo = new PDO('sqlite:' . $dir . '/' . self::DB_FILE, null, null, array(
                PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION,
                PDO::ATTR_DEFAULT_FETCH_MODE => PDO::FETCH_ASSOC,
                PDO::ATTR_TIMEOUT => max(1, (int)ceil($busyTimeoutMs / 1000)),
            ));
            // Connection-local settings only (no file I/O, no locks).
            $pdo->exec('PRAGMA busy_timeout = ' . $busyTimeoutMs);
            $pdo->exec('PRAGMA secure_delete = ON');
            $pdo->exec('PRAGMA synchronous = NORMAL');
            // No checkpoint inside a request: the request whose commit crosses the threshold would
            // pay for copying and syncing the WAL. checkpoint() runs it after the response instead.
            $pdo->exec('PRAGMA wal_autocheckpoint = 0');
            if ($effective === 'truncate') {
                // Rollback journal modes other than DELETE do not persist: set per connection.
                try {
                    $pdo->exec('PRAGMA journal_mode = TRUNCATE');
                } catch (PDOException $e) {
                    if (PeerDropDbErrors::isCorruption($e)) {
                        throw $e;
                    }
                    // A busy database keeps its current mode; correctness does not depend on it.
                }
            }
        } catch (PDOException $e) {
            throw PeerDropDbErrors::translate($e);
        }
        $store = new self($pdo, 'sqlite', $dir, $effective, '');
        $store->ensureSchema();
        return $store;
    }

    /**
     * The database file is created 0600 before SQLite opens it, whatever the umask: SQLite gives its
     * -wal, -shm and -journal files the same mode. A file found readable by others (made under an
     * older signal.php) is set to 0600, with its companions.
     */
    private static function privateFile(string $file): void
    {
        clearstatcache(false, $file);
        if (!is_file($file)) {
            $old = umask(0077);
            try {
                $fh = @fopen($file, 'x');
                if ($fh !== false) {
                    fclose($fh);
                }
            } finally {
                umask($old);
            }
        }
        $perms = @fileperms($file);
        if ($perms !== false && ($perms & 0077) !== 0) {
            foreach (array('', '-wal', '-shm', '-journal') as $ext) {
                if (is_file($file . $ext)) {
                    @chmod($file . $ext, 0600);
                }
            }
        }
    }

    public static function openMysql(string $dsn, string $user, string $password, string $prefix = 'peerdrop_', int $busyTimeoutMs = 1500): self
    {
        if (!extension_loaded('pdo_mysql')) {
            throw new PeerDropError('storage_unavailable');
        }
        try {
            $pdo = new PDO($dsn, $user, $password, array(
                PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION,
                PDO::ATTR_DEFAULT_FETCH_MODE => PDO::FETCH_ASSOC,
                PDO::ATTR_TIMEOUT => 3,
            ));
            // READ COMMITTED: no gap locks, so two creates of one room id cannot deadlock; the
            // unique key then decides (1062, retried, which answers room_exists).
            $pdo->exec('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED');
            $pdo->exec('SET SESSION innodb_lock_wait_timeout = ' . max(1, (int)ceil($busyTimeoutMs / 1000)));
        } catch (PDOException $e) {
            throw PeerDropDbErrors::translate($e);
        }
        $store = new self($pdo, 'mysql', '', 'innodb', $prefix);
        $store->ensureSchema();
        return $store;
    }

    public function pdo(): PDO
    {
        return $this->pdo;
    }

    public function driver(): string
    {
        return $this->driver;
    }

    public function journalMode(): string
    {
        return $this->journalMode;
    }

    /** Expand "{p}" table names for this dialect. */
    public function sql(string $sql): string
    {
        return str_replace('{p}', $this->prefix, $sql);
    }

    /**
     * Prepare and execute (inside write callbacks; errors are mapped by write()).
     * @param array<int|string,mixed> $params
     */
    public function run(string $sql, array $params = array()): PDOStatement
    {
        $st = $this->pdo->prepare($this->sql($sql));
        $st->execute($params);
        return $st;
    }

    /**
     * One statement in autocommit mode (its own short write transaction); errors mapped.
     * @param array<int|string,mixed> $params
     * @return int affected rows
     */
    public function execute(string $sql, array $params = array()): int
    {
        try {
            return $this->run($sql, $params)->rowCount();
        } catch (PDOException $e) {
            throw PeerDropDbErrors::translate($e);
        }
    }

    /** Row lock for read-then-write inside a transaction (SQLite's BEGIN IMMEDIATE already serializes). */
    public function forUpdate(): string
    {
        return $this->driver === 'mysql' ? ' FOR UPDATE' : '';
    }

    public function insertIgnore(): string
    {
        return $this->driver === 'mysql' ? 'INSERT IGNORE' : 'INSERT OR IGNORE';
    }

    /** The length of a text column in bytes (SQLite's LENGTH() counts characters). */
    public function byteLength(string $column): string
    {
        return $this->driver === 'mysql' ? 'LENGTH(' . $column . ')' : 'LENGTH(CAST(' . $column . ' AS BLOB))';
    }

    /** DELETE at most $limit rows (SQLite lacks DELETE ... LIMIT; MySQL lacks LIMIT in IN subqueries). */
    public function deleteLimited(string $table, string $where, array $params, int $limit, string $key = 'id'): int
    {
        if ($this->driver === 'mysql') {
            return $this->run('DELETE FROM ' . $table . ' WHERE ' . $where . ' LIMIT ' . $limit, $params)->rowCount();
        }
        return $this->run('DELETE FROM ' . $table . ' WHERE ' . $key . ' IN (SELECT ' . $key . ' FROM ' . $table
            . ' WHERE ' . $where . ' LIMIT ' . $limit . ')', $params)->rowCount();
    }

    public function schemaVersion(): int
    {
        try {
            if ($this->driver === 'sqlite') {
                return (int)$this->pdo->query('PRAGMA user_version')->fetchColumn();
            }
            $v = $this->pdo->query($this->sql("SELECT value FROM {p}meta WHERE name = 'schema_version'"))->fetchColumn();
            return $v === false ? 0 : (int)$v;
        } catch (PDOException $e) {
            if ($this->driver === 'mysql' && PeerDropDbErrors::isMissingTable($e)) {
                return 0; // no meta table yet: a fresh database
            }
            throw PeerDropDbErrors::translate($e);
        }
    }

    /** Cheap check per request; migrates only when the stored version is behind. */
    public function ensureSchema(): void
    {
        $v = $this->schemaVersion();
        if ($v === self::SCHEMA_VERSION) {
            return;
        }
        if ($v > self::SCHEMA_VERSION) {
            // Created by a newer signal.php: refuse rather than corrupt.
            throw new PeerDropError('storage_unavailable');
        }
        if ($this->driver === 'sqlite' && $this->journalMode === 'wal') {
            try {
                $mode = strtolower((string)$this->pdo->query('PRAGMA journal_mode = WAL')->fetchColumn());
                if ($mode !== 'wal') {
                    // WAL refused (e.g. no shared memory on this filesystem): remember and use TRUNCATE.
                    @file_put_contents($this->dir . '/' . self::FALLBACK_MARKER, "WAL was refused by SQLite on this filesystem\n");
                    $this->pdo->exec('PRAGMA journal_mode = TRUNCATE');
                    $this->journalMode = 'truncate';
                }
            } catch (PDOException $e) {
                throw PeerDropDbErrors::translate($e);
            }
        }
        $this->migrateTo(self::SCHEMA_VERSION);
    }

    /**
     * Apply "up" steps (or "down" steps) until the schema is at $target.
     * @return int[] the versions stepped through, in order
     */
    public function migrateTo(int $target): array
    {
        if ($target < 0 || $target > self::SCHEMA_VERSION) {
            throw new InvalidArgumentException('schema version must be 0 to ' . self::SCHEMA_VERSION);
        }
        if ($this->driver === 'sqlite') {
            // SQLite DDL is transactional: a migration applies completely or not at all.
            return $this->write(function (PDO $pdo, PeerDropStore $db) use ($target) {
                return $db->applySteps($db->schemaVersion(), $target);
            });
        }
        // MySQL DDL commits implicitly, so concurrent first requests on several web servers are
        // serialized by a named lock and the version is re-read under it.
        $lock = 'peerdrop_migrate_' . $this->prefix;
        try {
            $got = (int)$this->pdo->query('SELECT GET_LOCK(' . $this->pdo->quote($lock) . ', 10)')->fetchColumn();
            if ($got !== 1) {
                throw new PeerDropError('storage_busy');
            }
            try {
                $this->pdo->exec($this->sql('CREATE TABLE IF NOT EXISTS {p}meta (name VARCHAR(64) CHARACTER SET ascii NOT NULL PRIMARY KEY,'
                    . ' value VARCHAR(255) NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin'));
                return $this->applySteps($this->schemaVersion(), $target);
            } finally {
                $this->pdo->query('SELECT RELEASE_LOCK(' . $this->pdo->quote($lock) . ')');
            }
        } catch (PDOException $e) {
            throw PeerDropDbErrors::translate($e);
        }
    }

    /**
     * @internal used by migrateTo()
     * @return int[]
     */
    public function applySteps(int $from, int $target): array
    {
        $steps = PeerDropMigrations::steps($this->driver);
        $done = array();
        for ($v = $from; $v < $target; $v++) {
            foreach ($steps[$v + 1]['up'] as $sql) {
                $this->pdo->exec($this->sql($sql));
            }
            $this->setSchemaVersion($v + 1);
            $done[] = $v + 1;
        }
        for ($v = $from; $v > $target; $v--) {
            foreach ($steps[$v]['down'] as $sql) {
                $this->pdo->exec($this->sql($sql));
            }
            $this->setSchemaVersion($v - 1);
            $done[] = $v - 1;
        }
        return $done;
    }

    private function setSchemaVersion(int $v): void
    {
        if ($this->driver === 'sqlite') {
            $this->pdo->exec('PRAGMA user_version = ' . $v);
            return;
        }
        $this->run("INSERT INTO {p}meta (name, value) VALUES ('schema_version', ?) ON DUPLICATE KEY UPDATE value = VALUES(value)", array((string)$v));
    }

    /** MySQL mode: one generated token secret shared by every web server, kept in {p}meta. */
    public function sharedSecret(): string
    {
        try {
            $read = function () {
                return $this->pdo->query($this->sql("SELECT value FROM {p}meta WHERE name = 'secret'"))->fetchColumn();
            };
            $hex = $read();
            if ($hex === false) {
                $this->run("INSERT IGNORE INTO {p}meta (name, value) VALUES ('secret', ?)", array(bin2hex(random_bytes(32))));
                $hex = $read();
            }
        } catch (PDOException $e) {
            throw PeerDropDbErrors::translate($e);
        }
        if (!is_string($hex) || !preg_match('/^[0-9a-f]{64}$/D', $hex)) {
            throw new PeerDropError('storage_unavailable');
        }
        return (string)hex2bin($hex);
    }

    /**
     * SQLite WAL mode, after the response has been sent (no-op on MySQL). Every $truncateEvery
     * seconds (tracked by the mtime of checkpoint.stamp) a non-empty WAL is checkpointed and cut to
     * zero bytes (TRUNCATE; waits up to busy_timeout for readers), so payloads wiped from the
     * database leave the WAL as well. In between, a WAL over $walBytes gets a PASSIVE checkpoint,
     * which waits for no one. $truncateEvery = 0 truncates now (php signal.php purge).
     */
    public function checkpoint(int $walBytes = 4194304, int $truncateEvery = 60): void
    {
        if ($this->driver !== 'sqlite' || $this->journalMode !== 'wal') {
            return;
        }
        $wal = $this->dir . '/' . self::DB_FILE . '-wal';
        $stamp = $this->dir . '/' . self::CHECKPOINT_STAMP;
        clearstatcache(false, $wal);
        clearstatcache(false, $stamp);
        $size = is_file($wal) ? (int)@filesize($wal) : 0;
        $last = is_file($stamp) ? (int)@filemtime($stamp) : 0;
        $mode = null;
        if ($size > 0 && ($truncateEvery <= 0 || time() - $last >= $truncateEvery)) {
            // Claimed first, so that concurrent requests do not all queue up behind the readers.
            @touch($stamp);
            $mode = 'TRUNCATE';
        } elseif ($size > $walBytes) {
            $mode = 'PASSIVE';
        }
        if ($mode === null) {
            return;
        }
        try {
            $this->pdo->query('PRAGMA wal_checkpoint(' . $mode . ')')->fetchAll();
        } catch (PDOException $e) {
            throw PeerDropDbErrors::translate($e);
        }
    }

    /** Bytes used: SQLite file plus WAL, or the InnoDB sizes of this prefix's tables (estimates). */
    public function sizeBytes(): int
    {
        if ($this->driver === 'sqlite') {
            $f = $this->dir . '/' . self::DB_FILE;
            clearstatcache(false, $f);
            clearstatcache(false, $f . '-wal');
            return (int)@filesize($f) + (is_file($f . '-wal') ? (int)@filesize($f . '-wal') : 0);
        }
        $rows = $this->select("SELECT COALESCE(SUM(data_length + index_length), 0) AS n FROM information_schema.tables"
            . " WHERE table_schema = DATABASE() AND table_name IN ('{p}rooms', '{p}messages', '{p}rate_limits', '{p}counters')");
        return (int)$rows[0]['n'];
    }

    /**
     * Run $fn inside a write transaction (BEGIN IMMEDIATE on SQLite), rolled back on any exception.
     * On MySQL a deadlock or a duplicate key from a concurrent insert re-runs $fn (at most 3 times):
     * the re-run then sees the other request's row (e.g. the same send: 200 with the same id).
     * @return mixed whatever $fn returns
     */
    public function write(callable $fn)
    {
        if ($this->inTx) {
            return $fn($this->pdo, $this);
        }
        for ($attempt = 1; ; $attempt++) {
            try {
                if ($this->driver === 'sqlite') {
                    $this->pdo->exec('BEGIN IMMEDIATE');
                } else {
                    $this->pdo->beginTransaction();
                }
            } catch (PDOException $e) {
                throw PeerDropDbErrors::translate($e);
            }
            $this->inTx = true;
            try {
                $result = $fn($this->pdo, $this);
                if ($this->driver === 'sqlite') {
                    $this->pdo->exec('COMMIT');
                } else {
                    $this->pdo->commit();
                }
                $this->inTx = false;
                return $result;
            } catch (Throwable $e) {
                $this->inTx = false;
                try {
                    if ($this->driver === 'sqlite') {
                        $this->pdo->exec('ROLLBACK');
                    } elseif ($this->pdo->inTransaction()) {
                        $this->pdo->rollBack();
                    }
                } catch (PDOException $ignored) {
                    // SQLite may already have rolled back (e.g. SQLITE_FULL).
                }
                if ($e instanceof PDOException && $this->driver === 'mysql' && $attempt < 3 && PeerDropDbErrors::isLostRace($e)) {
                    usleep(random_int(1000, 20000));
                    continue;
                }
                if ($e instanceof PDOException) {
                    throw PeerDropDbErrors::translate($e);
                }
                throw $e;
            }
        }
    }

    /**
     * Run a read query.
     * @param array<int|string,mixed> $params
     * @return array<int,array<string,mixed>>
     */
    public function select(string $sql, array $params = array()): array
    {
        try {
            $st = $this->pdo->prepare($this->sql($sql));
            $st->execute($params);
            return $st->fetchAll(PDO::FETCH_ASSOC);
        } catch (PDOException $e) {
            throw PeerDropDbErrors::translate($e);
        }
    }
}

/**
 * Schema migrations for both dialects. Each version has an "up" and a "down" step; "{p}" is the
 * table prefix (empty for SQLite). The version is tracked in PRAGMA user_version (SQLite) or the
 * {p}meta table (MySQL), and migrations run only when it is behind: never per request.
 */
final class PeerDropMigrations
{
    const LATEST = 4;

    /**
     * SQLite's rooms table as versions 1 and 2 have it, or (with $v3) as version 3 has it: the
     * down steps of versions 3 and 4 go back to them by a rebuild.
     */
    private static function sqliteRooms(string $name, bool $v3 = false): string
    {
        return 'CREATE TABLE ' . $name . ' (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            room_key TEXT NOT NULL UNIQUE,
            created_at INTEGER NOT NULL,
            joined_at INTEGER,
            expires_at INTEGER NOT NULL,
            left0 INTEGER NOT NULL DEFAULT 0,
            left1 INTEGER NOT NULL DEFAULT 0,
            msg_count INTEGER NOT NULL DEFAULT 0' . ($v3 ? ',
            creator TEXT,
            code INTEGER,
            bytes INTEGER NOT NULL DEFAULT ' . PeerDrop::ROW_BYTES : '') . '
        )';
    }

    /**
     * Version 4 down: the rooms for several receivers in progress end (their peers get
     * room_closed). Version 3 would serve only their first receiver, and would forget which
     * receivers the sender dropped, should version 4 come back.
     * @return string[]
     */
    private static function endRoomsForSeveral(): array
    {
        return array(
            'DELETE FROM {p}messages WHERE room_id IN (SELECT id FROM {p}rooms WHERE receivers > 1)',
            'DELETE FROM {p}rooms WHERE receivers > 1',
        );
    }

    /**
     * SQLite before 3.35 cannot drop a column: a down step rebuilds the rooms table as $create
     * makes it, every row and the AUTOINCREMENT sequence kept (ids are never reused).
     * @param string[] $columns the columns the older version has
     * @param string[] $indexes its indexes, besides the unique room_key
     * @return string[]
     */
    private static function sqliteRebuildRooms(string $create, array $columns, array $indexes): array
    {
        $list = implode(', ', $columns);
        return array_merge(array(
            $create,
            'INSERT INTO rooms_old (' . $list . ') SELECT ' . $list . ' FROM rooms',
            "DELETE FROM sqlite_sequence WHERE name = 'rooms_old'",
            "INSERT INTO sqlite_sequence (name, seq) SELECT 'rooms_old', seq FROM sqlite_sequence WHERE name = 'rooms'",
            'DROP TABLE rooms',
            'ALTER TABLE rooms_old RENAME TO rooms',
        ), $indexes);
    }

    /** Version 3 fills in the live bytes of the rooms already there (see PeerDropService::liveBytes()). */
    private static function roomBytes(string $length): string
    {
        return 'UPDATE {p}rooms SET bytes = ' . PeerDrop::ROW_BYTES . ' + (SELECT COALESCE(SUM(' . PeerDrop::ROW_BYTES . ' + ' . $length
            . '), 0) FROM {p}messages WHERE {p}messages.room_id = {p}rooms.id)';
    }

    /** @return array<int,array{up:string[],down:string[]}> */
    public static function steps(string $driver): array
    {
        if ($driver === 'mysql') {
            $t = ' ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin';
            return array(
                1 => array(
                    'up' => array(
                        'CREATE TABLE {p}rooms (
                            id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
                            room_key CHAR(64) CHARACTER SET ascii NOT NULL,
                            created_at BIGINT NOT NULL,
                            joined_at BIGINT NULL,
                            expires_at BIGINT NOT NULL,
                            left0 TINYINT NOT NULL DEFAULT 0,
                            left1 TINYINT NOT NULL DEFAULT 0,
                            msg_count INT NOT NULL DEFAULT 0,
                            UNIQUE KEY {p}rooms_key (room_key),
                            KEY {p}rooms_expires (expires_at)
                        )' . $t,
                        'CREATE TABLE {p}messages (
                            id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
                            room_id BIGINT UNSIGNED NOT NULL,
                            to_peer TINYINT NOT NULL,
                            from_peer TINYINT NOT NULL,
                            seq BIGINT NULL,
                            type VARCHAR(16) NOT NULL,
                            data MEDIUMTEXT NOT NULL,
                            digest CHAR(64) CHARACTER SET ascii NULL,
                            acked TINYINT NOT NULL DEFAULT 0,
                            UNIQUE KEY {p}messages_seq (room_id, from_peer, seq),
                            KEY {p}messages_inbox (room_id, to_peer, acked, id)
                        )' . $t,
                    ),
                    'down' => array('DROP TABLE IF EXISTS {p}messages', 'DROP TABLE IF EXISTS {p}rooms'),
                ),
                2 => array(
                    'up' => array(
                        'CREATE TABLE {p}rate_limits (
                            k CHAR(32) CHARACTER SET ascii NOT NULL PRIMARY KEY,
                            tokens DOUBLE NOT NULL,
                            updated_ms BIGINT NOT NULL,
                            KEY {p}rate_limits_updated (updated_ms)
                        )' . $t,
                        'CREATE TABLE {p}counters (
                            name VARCHAR(191) CHARACTER SET ascii NOT NULL PRIMARY KEY,
                            value BIGINT NOT NULL DEFAULT 0
                        )' . $t,
                    ),
                    'down' => array('DROP TABLE IF EXISTS {p}counters', 'DROP TABLE IF EXISTS {p}rate_limits'),
                ),
                // The creator's client key (open-rooms quota), a short-code room's number, live bytes (max_db_bytes).
                3 => array(
                    'up' => array(
                        'ALTER TABLE {p}rooms ADD COLUMN creator CHAR(32) CHARACTER SET ascii NULL,'
                            . ' ADD COLUMN code SMALLINT NULL, ADD COLUMN bytes BIGINT NOT NULL DEFAULT ' . PeerDrop::ROW_BYTES . ','
                            . ' ADD KEY {p}rooms_creator (creator, expires_at), ADD KEY {p}rooms_code (code, expires_at)',
                        self::roomBytes('LENGTH(data)'),
                    ),
                    'down' => array('ALTER TABLE {p}rooms DROP KEY {p}rooms_code, DROP KEY {p}rooms_creator,'
                        . ' DROP COLUMN bytes, DROP COLUMN code, DROP COLUMN creator'),
                ),
                // Rooms for several receivers: how many (receivers), how many joined (seats), closed to
                // newcomers, and which receivers from the second on left (gone) or were dropped (bits).
                // Going down ends the rooms for several in progress: version 3 cannot serve them.
                4 => array(
                    'up' => array(
                        'ALTER TABLE {p}rooms ADD COLUMN receivers SMALLINT NOT NULL DEFAULT 1, ADD COLUMN seats SMALLINT NOT NULL DEFAULT 0,'
                            . ' ADD COLUMN closed TINYINT NOT NULL DEFAULT 0, ADD COLUMN gone BIGINT NOT NULL DEFAULT 0,'
                            . ' ADD COLUMN dropped BIGINT NOT NULL DEFAULT 0',
                        'UPDATE {p}rooms SET seats = 1 WHERE joined_at IS NOT NULL',
                    ),
                    'down' => array_merge(self::endRoomsForSeveral(), array('ALTER TABLE {p}rooms DROP COLUMN dropped, DROP COLUMN gone,'
                        . ' DROP COLUMN closed, DROP COLUMN seats, DROP COLUMN receivers')),
                ),
            );
        }
        return array(
            1 => array(
                'up' => array(
                    self::sqliteRooms('rooms'),
                    'CREATE INDEX rooms_expires ON rooms (expires_at)',
                    'CREATE TABLE messages (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        room_id INTEGER NOT NULL,
                        to_peer INTEGER NOT NULL,
                        from_peer INTEGER NOT NULL,
                        seq INTEGER,
                        type TEXT NOT NULL,
                        data TEXT NOT NULL,
                        digest TEXT,
                        acked INTEGER NOT NULL DEFAULT 0
                    )',
                    'CREATE UNIQUE INDEX messages_seq ON messages (room_id, from_peer, seq)',
                    'CREATE INDEX messages_inbox ON messages (room_id, to_peer, acked, id)',
                ),
                'down' => array('DROP TABLE IF EXISTS messages', 'DROP TABLE IF EXISTS rooms'),
            ),
            2 => array(
                'up' => array(
                    'CREATE TABLE rate_limits (k TEXT NOT NULL PRIMARY KEY, tokens REAL NOT NULL, updated_ms INTEGER NOT NULL)',
                    'CREATE INDEX rate_limits_updated ON rate_limits (updated_ms)',
                    'CREATE TABLE counters (name TEXT NOT NULL PRIMARY KEY, value INTEGER NOT NULL DEFAULT 0)',
                ),
                'down' => array('DROP TABLE IF EXISTS counters', 'DROP TABLE IF EXISTS rate_limits'),
            ),
            3 => array(
                'up' => array(
                    'ALTER TABLE rooms ADD COLUMN creator TEXT',
                    'ALTER TABLE rooms ADD COLUMN code INTEGER',
                    'ALTER TABLE rooms ADD COLUMN bytes INTEGER NOT NULL DEFAULT ' . PeerDrop::ROW_BYTES,
                    'CREATE INDEX rooms_creator ON rooms (creator, expires_at)',
                    'CREATE INDEX rooms_code ON rooms (code, expires_at)',
                    self::roomBytes('LENGTH(CAST(data AS BLOB))'),
                ),
                'down' => array_merge(
                    array('DROP INDEX IF EXISTS rooms_code', 'DROP INDEX IF EXISTS rooms_creator'),
                    self::sqliteRebuildRooms(self::sqliteRooms('rooms_old'),
                        array('id', 'room_key', 'created_at', 'joined_at', 'expires_at', 'left0', 'left1', 'msg_count'),
                        array('CREATE INDEX rooms_expires ON rooms (expires_at)'))
                ),
            ),
            4 => array(
                'up' => array(
                    'ALTER TABLE rooms ADD COLUMN receivers INTEGER NOT NULL DEFAULT 1',
                    'ALTER TABLE rooms ADD COLUMN seats INTEGER NOT NULL DEFAULT 0',
                    'ALTER TABLE rooms ADD COLUMN closed INTEGER NOT NULL DEFAULT 0',
                    'ALTER TABLE rooms ADD COLUMN gone INTEGER NOT NULL DEFAULT 0',
                    'ALTER TABLE rooms ADD COLUMN dropped INTEGER NOT NULL DEFAULT 0',
                    'UPDATE rooms SET seats = 1 WHERE joined_at IS NOT NULL',
                ),
                'down' => array_merge(
                    self::endRoomsForSeveral(),
                    array('DROP INDEX IF EXISTS rooms_code', 'DROP INDEX IF EXISTS rooms_creator', 'DROP INDEX IF EXISTS rooms_expires'),
                    self::sqliteRebuildRooms(self::sqliteRooms('rooms_old', true),
                        array('id', 'room_key', 'created_at', 'joined_at', 'expires_at', 'left0', 'left1', 'msg_count', 'creator', 'code', 'bytes'),
                        array('CREATE INDEX rooms_expires ON rooms (expires_at)', 'CREATE INDEX rooms_creator ON rooms (creator, expires_at)',
                            'CREATE INDEX rooms_code ON rooms (code, expires_at)'))
                ),
            ),
        );
    }
}

/** Detects a corrupt SQLite file and moves it aside, so the next open builds a fresh one instead of failing forever. */
final class PeerDropSqliteRecovery
{
    /**
     * Move peerdrop.sqlite (and its -wal/-shm/-journal) to "<name>.corrupt-<time>-<rand>" under an
     * exclusive lock, after re-checking: a concurrent request may already have rebuilt it.
     * @return bool true when the current file is usable or was moved aside
     */
    public static function quarantine(string $dir): bool
    {
        $lock = @fopen($dir . '/recover.lock', 'c');
        if ($lock === false) {
            return false;
        }
        try {
            @flock($lock, LOCK_EX);
            $db = $dir . '/' . PeerDropStore::DB_FILE;
            if (!is_file($db) || !self::isCorrupt($db)) {
                return true;
            }
            $suffix = '.corrupt-' . gmdate('Ymd-His') . '-' . bin2hex(random_bytes(3));
            if (!@rename($db, $db . $suffix)) {
                return false;
            }
            foreach (array('-wal', '-shm', '-journal') as $ext) {
                if (is_file($db . $ext) && !@rename($db . $ext, $db . $suffix . $ext)) {
                    @unlink($db . $ext);
                }
            }
            // Operator-facing (server log only): rooms in progress are lost, the file is kept for inspection.
            error_log('peerdrop notice: the SQLite database was corrupt; moved it aside as ' . basename($db . $suffix) . ' and started a new one');
            return true;
        } finally {
            @flock($lock, LOCK_UN);
            @fclose($lock);
        }
    }

    /** quick_check on a fresh connection: affordable because it runs only once corruption is suspected. */
    public static function isCorrupt(string $file): bool
    {
        try {
            $pdo = new PDO('sqlite:' . $file, null, null, array(PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION, PDO::ATTR_TIMEOUT => 2));
            return (string)$pdo->query('PRAGMA quick_check(1)')->fetchColumn() !== 'ok';
        } catch (PDOException $e) {
            return PeerDropDbErrors::isCorruption($e);
        }
    }
}

/** Data directory bootstrap and the token secret. */
final class PeerDropDataDir
{
    /** Create the data dir (0700) with deny-all guards, if missing. Throws PeerDropError on failure. */
    public static function ensure(string $dir): void
    {
        if (!is_dir($dir)) {
            if (!@mkdir($dir, 0700, true) && !is_dir($dir)) {
                throw new PeerDropError('storage_unavailable');
            }
            // Defence in depth in case an operator points the data dir into the web root.
            // IfModule: a bare "Deny" is a 500 on Apache 2.4 without mod_access_compat.
            @file_put_contents($dir . '/.htaccess', "<IfModule mod_authz_core.c>\n  Require all denied\n</IfModule>\n"
                . "<IfModule !mod_authz_core.c>\n  Order allow,deny\n  Deny from all\n</IfModule>\n");
            @file_put_contents($dir . '/index.html', '');
        }
        if (!is_writable($dir)) {
            throw new PeerDropError('storage_unavailable');
        }
    }

    /** Secret bytes for token HMACs. */
    public static function secret(PeerDropConfig $config): string
    {
        if ($config->secret !== null) {
            if (strlen($config->secret) < 16 || PeerDrop::isExampleSecret($config->secret)) {
                throw new PeerDropError('misconfigured');
            }
            return $config->secret;
        }
        $path = $config->dataDir . '/secret.key';
        $existing = self::readSecretFile($path);
        if ($existing !== null) {
            return $existing;
        }
        self::ensure($config->dataDir);
        $hex = bin2hex(random_bytes(32));
        $tmp = $config->dataDir . '/secret.key.' . bin2hex(random_bytes(6)) . '.tmp';
        $old = umask(0077);
        try {
            $ok = @file_put_contents($tmp, $hex . "\n", LOCK_EX);
            if ($ok === false) {
                throw new PeerDropError('storage_unavailable');
            }
            @chmod($tmp, 0600);
            // link() fails if the target exists: the first writer wins, everyone reads the same secret.
            if (!@link($tmp, $path) && !is_file($path)) {
                @rename($tmp, $path);
            }
        } finally {
            umask($old);
            if (is_file($tmp)) {
                @unlink($tmp);
            }
        }
        $final = self::readSecretFile($path);
        if ($final === null) {
            throw new PeerDropError('storage_unavailable');
        }
        return $final;
    }

    private static function readSecretFile(string $path): ?string
    {
        if (!is_file($path)) {
            return null;
        }
        $raw = @file_get_contents($path);
        if (!is_string($raw)) {
            return null;
        }
        $raw = trim($raw);
        if (!preg_match('/^[0-9a-f]{64}$/D', $raw)) {
            return null;
        }
        return (string)hex2bin($raw);
    }
}

/** Held-poll slots: non-blocking flock on one of N files. No free slot = no held poll. */
final class PeerDropSlots
{
    /** @var string */
    private $dir;
    /** @var int */
    private $count;

    public function __construct(string $dir, int $count)
    {
        $this->dir = $dir;
        $this->count = $count;
    }

    /** @return resource|null a locked handle, or null when every slot is busy (or locking is unsupported) */
    public function acquire()
    {
        if ($this->count <= 0) {
            return null;
        }
        $start = random_int(0, $this->count - 1);
        for ($i = 0; $i < $this->count; $i++) {
            $n = ($start + $i) % $this->count;
            $fh = @fopen($this->dir . '/poll-slot-' . $n . '.lock', 'c');
            if ($fh === false) {
                continue;
            }
            if (@flock($fh, LOCK_EX | LOCK_NB)) {
                return $fh;
            }
            fclose($fh);
        }
        return null;
    }

    /** @param resource $fh */
    public function release($fh): void
    {
        @flock($fh, LOCK_UN);
        @fclose($fh);
    }

    /**
     * Slots held right now, probed with the same non-blocking lock (a probe holds a free slot for
     * microseconds, so a poll arriving at that instant may skip it: fine for a gauge).
     */
    public function busyCount(): int
    {
        $busy = 0;
        for ($n = 0; $n < $this->count; $n++) {
            $fh = @fopen($this->dir . '/poll-slot-' . $n . '.lock', 'c');
            if ($fh === false) {
                continue;
            }
            if (@flock($fh, LOCK_EX | LOCK_NB)) {
                @flock($fh, LOCK_UN);
            } else {
                $busy++;
            }
            fclose($fh);
        }
        return $busy;
    }

    public function count(): int
    {
        return $this->count;
    }
}

// =============================================================================================
// 5. Operator extras: configuration, ICE servers (STUN/TURN), metrics, the deployment check and
//    the command line.
// =============================================================================================

/** Effective configuration: env first, then the config file, then defaults. */
final class PeerDropConfig
{
    /** @var string */
    public $dataDir = '';
    /** @var string|null secret given by env/config; null means "use the generated file" */
    public $secret = null;
    /** @var string 'env' | 'config' | 'file' */
    public $secretSource = 'file';
    /** @var string[] exact origins allowed for CORS; empty = same-origin only */
    public $allowedOrigins = array();
    /** @var int */
    public $pollSlots = 4;
    /** @var int */
    public $maxWait = PeerDrop::MAX_WAIT;
    /** @var int */
    public $ttlUnjoined = 600;
    /** @var int */
    public $ttlRoom = 3600;
    /** @var int undelivered messages per recipient */
    public $maxQueue = 256;
    /** @var int messages per room over its whole life */
    public $maxRoomMessages = 1024;
    /** @var int */
    public $maxRooms = 5000;
    /** @var string 'wal' | 'truncate' */
    public $journalMode = 'wal';
    /** @var int */
    public $pollIntervalMs = 1000;
    /** How often a held poll looks for new messages: each hop of a negotiation waits half of it on average. */
    public $pollCheckMs = 50;
    /** @var int */
    public $busyTimeoutMs = 1500;
    /** @var int */
    public $cleanupBatch = 50;
    /** @var bool */
    public $testMode = false;
    /** @var string|null */
    public $testNow = null;
    /** @var string|null previous token secret, still accepted for verification during a key rotation */
    public $previousSecret = null;
    /** @var string 'sqlite' | 'mysql' */
    public $storage = 'sqlite';
    /** @var string */
    public $mysqlDsn = '';
    /** @var string */
    public $mysqlUser = '';
    /** @var string */
    public $mysqlPassword = '';
    /** @var string table name prefix in a MySQL/MariaDB database that may be shared with other apps */
    public $mysqlTablePrefix = 'peerdrop_';
    /** @var int requests per minute per client address; 0 turns rate limiting off */
    public $rateLimitPerMinute = 600;
    /** @var int bucket size: requests a client may make in a burst */
    public $rateLimitBurst = 120;
    /** @var string[] proxies (IP or CIDR) whose X-Forwarded-For is believed */
    public $trustedProxies = array();
    /** @var string|null bearer token for metrics; null = metrics off (404) */
    public $metricsToken = null;
    /** @var int cap on the live data in bytes (PeerDropService::liveBytes()); 0 = no cap */
    public $maxDbBytes = 268435456;
    /** @var int open rooms one client may hold; 0 = no quota */
    public $quotaRooms = 16;
    /** @var int creates per client per minute; 0 = no quota */
    public $quotaCreatesPerMinute = 30;
    /** @var int failed joins per client per 10 minutes; 0 = no quota */
    public $quotaFailedJoins = 20;
    /** @var int the most receivers a sender may ask for in one room (1 to PeerDrop::MAX_RECEIVERS; 1 = one per room) */
    public $maxReceivers = 32;
    /** @var string[] stun:/stuns: URLs handed to clients with their room */
    public $stunUrls = array();
    /** @var string[] turn:/turns: URLs handed to clients with a credential minted per room */
    public $turnUrls = array();
    /** @var string|null coturn's static-auth-secret (use-auth-secret); null = no TURN */
    public $turnSecret = null;
    /** @var int seconds a minted TURN credential stays valid */
    public $turnTtl = 86400;
    /** @var string[] what is wrong with the STUN/TURN settings; the broken part is left out */
    public $iceProblems = array();
    /** @var string|null config file actually loaded */
    public $configFile = null;
    /** @var string directory holding signal.php */
    public $scriptDir = '';

    /**
     * @param array<string,string> $env environment (getenv() plus PEERDROP_* server vars)
     * @param array<string,mixed>|null $fileConfig config array to use instead of reading a file (tests)
     */
    public static function load(array $env, string $scriptDir, ?array $fileConfig = null): self
    {
        $c = new self();
        $c->scriptDir = $scriptDir;
        $file = array();
        if ($fileConfig !== null) {
            $file = $fileConfig;
        } else {
            $path = isset($env['PEERDROP_CONFIG']) && $env['PEERDROP_CONFIG'] !== '' ? $env['PEERDROP_CONFIG'] : null;
            $required = $path !== null;
            if ($path === null) {
                $path = dirname($scriptDir) . DIRECTORY_SEPARATOR . 'peerdrop.config.php';
            }
            if (is_file($path)) {
                $loaded = (static function (string $p) {
                    return include $p;
                })($path);
                if (!is_array($loaded)) {
                    throw new PeerDropConfigError('config file ' . $path . ' must "return array(...);"');
                }
                $file = $loaded;
                $c->configFile = $path;
            } elseif ($required) {
                throw new PeerDropConfigError('PEERDROP_CONFIG points to ' . $path . ', which is not a readable file');
            }
        }
        $known = array('data_dir', 'secret', 'previous_secret', 'allowed_origins', 'poll_slots', 'max_wait', 'ttl_unjoined', 'ttl_room',
            'max_queue', 'max_room_messages', 'max_rooms', 'max_db_bytes', 'journal_mode', 'poll_interval_ms', 'poll_check_ms', 'busy_timeout_ms',
            'cleanup_batch', 'test_mode', 'storage', 'mysql_dsn', 'mysql_user', 'mysql_password', 'mysql_table_prefix',
            'rate_limit_per_minute', 'rate_limit_burst', 'trusted_proxies', 'metrics_token', 'stun_urls', 'turn_urls', 'turn_secret', 'turn_ttl',
            'quota_rooms', 'quota_creates_per_minute', 'quota_failed_joins', 'max_receivers');
        foreach ($file as $k => $unused) {
            if (!in_array($k, $known, true)) {
                throw new PeerDropConfigError('unknown config key "' . $k . '" (known: ' . implode(', ', $known) . ')');
            }
        }

        $baseDir = $c->configFile !== null ? dirname($c->configFile) : $scriptDir;
        if (isset($env['PEERDROP_DATA_DIR']) && $env['PEERDROP_DATA_DIR'] !== '') {
            $c->dataDir = self::absolute($env['PEERDROP_DATA_DIR'], $scriptDir);
        } elseif (isset($file['data_dir'])) {
            if (!is_string($file['data_dir']) || $file['data_dir'] === '') {
                throw new PeerDropConfigError('data_dir must be a non-empty string');
            }
            $c->dataDir = self::absolute($file['data_dir'], $baseDir);
        } else {
            $c->dataDir = dirname($scriptDir) . DIRECTORY_SEPARATOR . 'peerdrop-data';
        }

        if (isset($env['PEERDROP_SECRET']) && $env['PEERDROP_SECRET'] !== '') {
            $c->secret = $env['PEERDROP_SECRET'];
            $c->secretSource = 'env';
        } elseif (isset($file['secret']) && $file['secret'] !== '') {
            if (!is_string($file['secret'])) {
                throw new PeerDropConfigError('secret must be a string');
            }
            $c->secret = $file['secret'];
            $c->secretSource = 'config';
        }

        $c->previousSecret = self::secretOption($env, 'PEERDROP_PREVIOUS_SECRET', $file, 'previous_secret');
        if ($c->previousSecret !== null && $c->previousSecret === $c->secret) {
            $c->previousSecret = null;
        }
        if ($c->previousSecret !== null && (strlen($c->previousSecret) < 16 || PeerDrop::isExampleSecret($c->previousSecret))) {
            throw new PeerDropConfigError('previous_secret must be the old secret (16+ characters), or unset once the rotation is over');
        }
        $c->metricsToken = self::secretOption($env, 'PEERDROP_METRICS_TOKEN', $file, 'metrics_token');
        if ($c->metricsToken !== null && strlen($c->metricsToken) < 16) {
            throw new PeerDropConfigError('metrics_token must be at least 16 characters (e.g. php -r "echo bin2hex(random_bytes(16));")');
        }

        if (isset($file['storage'])) {
            if ($file['storage'] !== 'sqlite' && $file['storage'] !== 'mysql') {
                throw new PeerDropConfigError('storage must be "sqlite" or "mysql"');
            }
            $c->storage = $file['storage'];
        }
        if ($c->storage === 'mysql') {
            if (!isset($file['mysql_dsn']) || !is_string($file['mysql_dsn']) || strpos($file['mysql_dsn'], 'mysql:') !== 0) {
                throw new PeerDropConfigError('storage "mysql" needs mysql_dsn, e.g. "mysql:host=localhost;dbname=peerdrop;charset=utf8mb4"');
            }
            $c->mysqlDsn = $file['mysql_dsn'];
            if (!isset($file['mysql_user']) || !is_string($file['mysql_user']) || $file['mysql_user'] === '') {
                throw new PeerDropConfigError('storage "mysql" needs mysql_user');
            }
            $c->mysqlUser = $file['mysql_user'];
            $pw = self::secretOption($env, 'PEERDROP_MYSQL_PASSWORD', $file, 'mysql_password');
            $c->mysqlPassword = $pw !== null ? $pw : '';
            if (isset($file['mysql_table_prefix'])) {
                if (!is_string($file['mysql_table_prefix']) || !preg_match('/^[A-Za-z0-9_]{0,32}$/D', $file['mysql_table_prefix'])) {
                    throw new PeerDropConfigError('mysql_table_prefix must be up to 32 letters, digits or underscores');
                }
                $c->mysqlTablePrefix = $file['mysql_table_prefix'];
            }
        }

        if (isset($file['trusted_proxies'])) {
            if (!is_array($file['trusted_proxies'])) {
                throw new PeerDropConfigError('trusted_proxies must be a list of IP addresses or CIDR ranges, e.g. array("10.0.0.0/8")');
            }
            foreach ($file['trusted_proxies'] as $p) {
                if (!is_string($p) || !PeerDropClientAddress::isValidCidr($p)) {
                    throw new PeerDropConfigError('trusted_proxies entries must be IP addresses or CIDR ranges like "203.0.113.7" or "10.0.0.0/8"');
                }
                $c->trustedProxies[] = $p;
            }
        }

        if (isset($file['allowed_origins'])) {
            if (!is_array($file['allowed_origins'])) {
                throw new PeerDropConfigError('allowed_origins must be a list of origins like "https://example.org"');
            }
            foreach ($file['allowed_origins'] as $o) {
                if (!is_string($o) || !preg_match('#^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$#D', $o)) {
                    throw new PeerDropConfigError('allowed_origins entries must be exact origins like "https://example.org" (no path, no trailing slash, no "*")');
                }
                $c->allowedOrigins[] = strtolower($o);
            }
        }

        self::loadIce($c, $env, $file);

        $c->pollSlots = self::intOption($file, 'poll_slots', $c->pollSlots, 0, 64);
        $c->maxWait = self::intOption($file, 'max_wait', $c->maxWait, 0, PeerDrop::MAX_WAIT);
        $c->ttlUnjoined = self::intOption($file, 'ttl_unjoined', $c->ttlUnjoined, 10, 86400);
        $c->ttlRoom = self::intOption($file, 'ttl_room', $c->ttlRoom, 10, 7 * 86400);
        if ($c->ttlUnjoined > $c->ttlRoom) {
            throw new PeerDropConfigError('ttl_unjoined must not exceed ttl_room');
        }
        $c->maxQueue = self::intOption($file, 'max_queue', $c->maxQueue, 1, 100000);
        $c->maxRoomMessages = self::intOption($file, 'max_room_messages', $c->maxRoomMessages, 1, 1000000);
        $c->maxRooms = self::intOption($file, 'max_rooms', $c->maxRooms, 1, 10000000);
        $c->pollIntervalMs = self::intOption($file, 'poll_interval_ms', $c->pollIntervalMs, 100, 60000);
        $c->pollCheckMs = self::intOption($file, 'poll_check_ms', $c->pollCheckMs, 10, 1000);
        $c->busyTimeoutMs = self::intOption($file, 'busy_timeout_ms', $c->busyTimeoutMs, 100, 10000);
        $c->cleanupBatch = self::intOption($file, 'cleanup_batch', $c->cleanupBatch, 1, 1000);
        $c->maxDbBytes = self::intOption($file, 'max_db_bytes', $c->maxDbBytes, 0, 1099511627776);
        $c->rateLimitPerMinute = self::intOption($file, 'rate_limit_per_minute', $c->rateLimitPerMinute, 0, 1000000);
        $c->rateLimitBurst = self::intOption($file, 'rate_limit_burst', $c->rateLimitBurst, 1, 1000000);
        $c->quotaRooms = self::intOption($file, 'quota_rooms', $c->quotaRooms, 0, 10000000);
        $c->quotaCreatesPerMinute = self::intOption($file, 'quota_creates_per_minute', $c->quotaCreatesPerMinute, 0, 1000000);
        $c->quotaFailedJoins = self::intOption($file, 'quota_failed_joins', $c->quotaFailedJoins, 0, 1000000);
        $c->maxReceivers = self::intOption($file, 'max_receivers', $c->maxReceivers, 1, PeerDrop::MAX_RECEIVERS);
        if (isset($file['journal_mode'])) {
            $jm = is_string($file['journal_mode']) ? strtolower($file['journal_mode']) : '';
            if ($jm !== 'wal' && $jm !== 'truncate') {
                throw new PeerDropConfigError('journal_mode must be "wal" or "truncate"');
            }
            $c->journalMode = $jm;
        }
        if (isset($file['test_mode'])) {
            if (!is_bool($file['test_mode'])) {
                throw new PeerDropConfigError('test_mode must be true or false');
            }
            $c->testMode = $file['test_mode'];
        }
        if ($c->testMode && isset($env['PEERDROP_TEST_NOW']) && $env['PEERDROP_TEST_NOW'] !== '') {
            if (!preg_match('/^[+-]?[0-9]{1,12}$/D', $env['PEERDROP_TEST_NOW'])) {
                throw new PeerDropConfigError('PEERDROP_TEST_NOW must be unix seconds, or +N / -N seconds from now');
            }
            $c->testNow = $env['PEERDROP_TEST_NOW'];
        }
        return $c;
    }

    /** The clock: real time, or (only with test_mode) PEERDROP_TEST_NOW, absolute or "+N"/"-N" offset. */
    public function clock(): callable
    {
        $t = $this->testNow;
        if ($t === null) {
            return static function (): int {
                return time();
            };
        }
        if ($t[0] === '+' || $t[0] === '-') {
            $offset = (int)$t;
            return static function () use ($offset): int {
                return time() + $offset;
            };
        }
        $fixed = (int)$t;
        return static function () use ($fixed): int {
            return $fixed;
        };
    }

    /** Sub-second wall clock for the rate limiter, shifted like clock() in test mode. */
    public function preciseClock(): callable
    {
        $t = $this->testNow;
        if ($t === null) {
            return static function (): float {
                return microtime(true);
            };
        }
        $offset = ($t[0] === '+' || $t[0] === '-') ? (float)(int)$t : (float)((int)$t - time());
        return static function () use ($offset): float {
            return microtime(true) + $offset;
        };
    }

    /** Secrets that verify tokens: the current one first, then the previous one during a rotation. */
    public function verificationSecrets(string $current): array
    {
        $out = array($current);
        if ($this->previousSecret !== null && $this->previousSecret !== $current) {
            $out[] = $this->previousSecret;
        }
        return $out;
    }

    public function isOriginAllowed(string $origin): bool
    {
        return in_array(strtolower($origin), $this->allowedOrigins, true);
    }

    /**
     * STUN/TURN settings (docs/operations/turn.md). Unlike the other keys, a mistake here does not
     * refuse service: signaling works without ICE servers, so the broken part is left out, noted in
     * $iceProblems ("check" fails on it, requests log it), and the rest is still handed out.
     * @param array<string,string> $env
     * @param array<string,mixed> $file
     */
    private static function loadIce(self $c, array $env, array $file): void
    {
        $c->stunUrls = self::iceUrls($file, 'stun_urls', 'stun', 'stun:stun.example.org:3478', $c->iceProblems);
        $turnUrls = self::iceUrls($file, 'turn_urls', 'turn', 'turn:turn.example.org:3478?transport=udp', $c->iceProblems);
        $turnListed = isset($file['turn_urls']) && $file['turn_urls'] !== array();
        $secret = isset($env['PEERDROP_TURN_SECRET']) && $env['PEERDROP_TURN_SECRET'] !== ''
            ? $env['PEERDROP_TURN_SECRET'] : (isset($file['turn_secret']) ? $file['turn_secret'] : '');
        $turnOk = true;
        if (!is_string($secret)) {
            $c->iceProblems[] = 'turn_secret must be a string: the static-auth-secret from your coturn config; TURN is left out';
            $secret = '';
            $turnOk = false;
        } elseif ($secret !== '' && (strlen($secret) < 16 || PeerDrop::isExampleSecret($secret))) {
            // Whoever knows it can mint credentials and relay through the server at the operator's cost.
            $c->iceProblems[] = 'turn_secret is shorter than 16 characters or an example value: use the long random static-auth-secret'
                . ' of your coturn config (e.g. from: openssl rand -hex 32); TURN is left out';
            $turnOk = false;
        }
        if (isset($file['turn_ttl'])) {
            $ttl = $file['turn_ttl'];
            if (!is_int($ttl) || $ttl < 60 || $ttl > 86400) {
                $c->iceProblems[] = 'turn_ttl must be an integer from 60 to 86400 (seconds a TURN credential is valid); TURN is left out';
                $turnOk = false;
            } else {
                $c->turnTtl = $ttl;
            }
        }
        if ($turnListed && $secret === '' && $turnOk) {
            $c->iceProblems[] = 'turn_urls is set but turn_secret is empty: set turn_secret (or env PEERDROP_TURN_SECRET) to the'
                . ' static-auth-secret of your coturn config; TURN is left out until then';
            $turnOk = false;
        }
        if (!$turnListed && $secret !== '' && $turnOk) {
            $c->iceProblems[] = 'turn_secret is set but turn_urls is empty: list your TURN server, e.g.'
                . ' array("turn:turn.example.org:3478?transport=udp", "turn:turn.example.org:3478?transport=tcp")';
            $turnOk = false;
        }
        if ($turnOk && $turnUrls !== array()) {
            $c->turnUrls = $turnUrls;
            $c->turnSecret = $secret;
        }
    }

    /**
     * A list of stun:/stuns: or turn:/turns: URLs (RFC 7064/7065); malformed entries are left out.
     * @param array<string,mixed> $file
     * @param string[] $problems
     * @return string[]
     */
    private static function iceUrls(array $file, string $key, string $scheme, string $example, array &$problems): array
    {
        if (!isset($file[$key])) {
            return array();
        }
        if (!is_array($file[$key])) {
            $problems[] = $key . ' must be a list of URLs, e.g. array("' . $example . '"); it is left out';
            return array();
        }
        $host = '(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)(:[0-9]{1,5})?';
        $pattern = '#^' . $scheme . 's?:' . $host . ($scheme === 'turn' ? '(\?transport=(udp|tcp))?' : '') . '$#D';
        $out = array();
        foreach ($file[$key] as $url) {
            if (is_string($url) && preg_match($pattern, $url)) {
                $out[] = $url;
                continue;
            }
            $shown = is_string($url) ? '"' . substr($url, 0, 80) . '"' : 'an entry that is not a string';
            $problems[] = $key . ': ' . $shown . ' is not a ' . strtoupper($scheme) . ' URL like "' . $example . '" (scheme '
                . $scheme . ': or ' . $scheme . 's:, a host, an optional port' . ($scheme === 'turn' ? ' and ?transport=udp or tcp' : '')
                . '); it is left out';
        }
        return $out;
    }

    /**
     * A secret-like string option: env var first (keeps it out of files), then the config file.
     * @param array<string,string> $env
     * @param array<string,mixed> $file
     */
    private static function secretOption(array $env, string $envName, array $file, string $key): ?string
    {
        if (isset($env[$envName]) && $env[$envName] !== '') {
            return $env[$envName];
        }
        if (!isset($file[$key]) || $file[$key] === '') {
            return null;
        }
        if (!is_string($file[$key])) {
            throw new PeerDropConfigError($key . ' must be a string');
        }
        return $file[$key];
    }

    /** @param array<string,mixed> $file */
    private static function intOption(array $file, string $key, int $default, int $min, int $max): int
    {
        if (!isset($file[$key])) {
            return $default;
        }
        $v = $file[$key];
        if (!is_int($v) || $v < $min || $v > $max) {
            throw new PeerDropConfigError($key . ' must be an integer from ' . $min . ' to ' . $max);
        }
        return $v;
    }

    private static function absolute(string $path, string $base): string
    {
        if ($path[0] === '/' || $path[0] === '\\' || preg_match('#^[A-Za-z]:[\\\\/]#', $path)) {
            return $path;
        }
        return rtrim($base, '/\\') . DIRECTORY_SEPARATOR . $path;
    }
}

/** Raised by configuration loading; the message is for the operator (may name paths), never sent to clients. */
final class PeerDropConfigError extends RuntimeException
{
}

/** @return array<string,string> */
function peerdrop_env(): array
{
    $env = getenv();
    $env = is_array($env) ? $env : array();
    foreach (array('PEERDROP_CONFIG', 'PEERDROP_DATA_DIR', 'PEERDROP_SECRET', 'PEERDROP_PREVIOUS_SECRET', 'PEERDROP_MYSQL_PASSWORD',
                 'PEERDROP_METRICS_TOKEN', 'PEERDROP_TURN_SECRET', 'PEERDROP_TEST_NOW') as $k) {
        if (!isset($env[$k]) && isset($_SERVER[$k]) && is_string($_SERVER[$k])) {
            $env[$k] = $_SERVER[$k];
        } elseif (!isset($env[$k]) && isset($_SERVER['REDIRECT_' . $k]) && is_string($_SERVER['REDIRECT_' . $k])) {
            $env[$k] = $_SERVER['REDIRECT_' . $k];
        }
    }
    return $env;
}

/**
 * The ICE servers handed to clients with their room (create, join), in RTCIceServer form. TURN
 * credentials follow the "TURN REST API" scheme coturn checks with use-auth-secret:
 * username "<unix expiry>:peerdrop", credential base64(HMAC-SHA1(static-auth-secret, username)).
 * The username names no room and no address: the TURN server's logs cannot link the two.
 */
final class PeerDropIce
{
    /** @return array<int,array<string,mixed>> */
    public static function servers(PeerDropConfig $c, int $now): array
    {
        $out = array();
        if ($c->stunUrls !== array()) {
            $out[] = array('urls' => $c->stunUrls);
        }
        if ($c->turnUrls !== array() && $c->turnSecret !== null) {
            $out[] = array('urls' => $c->turnUrls) + self::credential($c->turnSecret, $now + $c->turnTtl);
        }
        return $out;
    }

    /** @return array{username:string,credential:string} */
    public static function credential(string $secret, int $expires): array
    {
        $username = $expires . ':peerdrop';
        return array('username' => $username, 'credential' => base64_encode(hash_hmac('sha1', $username, $secret, true)));
    }
}

/**
 * Prometheus metrics. Counters are collected per request and added to storage in one write after
 * the response (only when metrics are enabled); gauges are computed when scraped.
 */
final class PeerDropMetrics
{
    const OPS = array('create', 'join', 'send', 'poll', 'leave', 'drop', 'close', 'health', 'metrics', 'options');
    const COUNTERS = array(
        'peerdrop_requests_total' => 'Requests answered, by operation and HTTP status.',
        'peerdrop_held_polls_total' => 'Polls that were held in a held-poll slot.',
        'peerdrop_rate_limited_total' => 'Times a client\'s rate-limit bucket ran dry (requests that took its last token; refused requests write nothing).',
        'peerdrop_quota_exceeded_total' => 'Requests refused with 429 quota_exceeded, by quota.',
        'peerdrop_rooms_created_total' => 'Rooms created.',
        'peerdrop_code_rooms_created_total' => 'Short-code rooms created, by the number of digits of their number.',
        'peerdrop_rooms_joined_total' => 'Joins that took a seat: one per receiver, in a room for one or for several.',
        'peerdrop_storage_errors_total' => 'Requests that failed on storage, by error code.',
    );
    /** Counters printed only once they have a labelled series (no unlabelled 0 line). */
    const LABELLED = array('peerdrop_requests_total', 'peerdrop_storage_errors_total', 'peerdrop_quota_exceeded_total',
        'peerdrop_code_rooms_created_total');
    /** Upper bounds (seconds) of peerdrop_request_duration_seconds; held polls reach the last ones. */
    const BUCKETS = array('0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '30');
    const HISTOGRAM = 'peerdrop_request_duration_seconds';

    /** @var array<string,int> series => increment */
    private $pending = array();

    /** @param array<string,string> $labels values must come from a closed set (no request data) */
    public function add(string $name, array $labels = array(), int $n = 1): void
    {
        $series = $name;
        if ($labels) {
            $parts = array();
            foreach ($labels as $k => $v) {
                $parts[] = $k . '="' . addcslashes($v, "\\\"\n") . '"';
            }
            $series .= '{' . implode(',', $parts) . '}';
        }
        $this->pending[$series] = (isset($this->pending[$series]) ? $this->pending[$series] : 0) + $n;
    }

    public static function opLabel(string $op): string
    {
        return in_array($op, self::OPS, true) ? $op : 'invalid';
    }

    /**
     * One request's duration. Stored as the count of its own bucket ("_in", summed up when
     * rendered), the count and the sum in microseconds: three counters per request, not thirteen.
     */
    public function observe(string $op, float $seconds): void
    {
        $le = '+Inf';
        foreach (self::BUCKETS as $bound) {
            if ($seconds <= (float)$bound) {
                $le = $bound;
                break;
            }
        }
        $this->add(self::HISTOGRAM . '_in', array('op' => $op, 'le' => $le));
        $this->add(self::HISTOGRAM . '_count', array('op' => $op));
        $this->add(self::HISTOGRAM . '_sum_us', array('op' => $op), (int)round($seconds * 1e6));
    }

    public function flush(PeerDropStore $store): void
    {
        if (!$this->pending) {
            return;
        }
        $pending = $this->pending;
        ksort($pending); // one lock order for every writer (MySQL row locks)
        $store->write(function (PDO $pdo, PeerDropStore $db) use ($pending) {
            foreach ($pending as $series => $n) {
                $db->run($db->insertIgnore() . ' INTO {p}counters (name, value) VALUES (?, 0)', array($series));
                $db->run('UPDATE {p}counters SET value = value + ? WHERE name = ?', array($n, $series));
            }
            return null;
        });
        $this->pending = array();
    }

    /** Prometheus text exposition format 0.0.4. */
    public static function render(PeerDropStore $store, PeerDropSlots $slots, int $now, ?PeerDropConfig $config = null): string
    {
        $values = array();
        foreach ($store->select('SELECT name, value FROM {p}counters ORDER BY name') as $r) {
            $values[(string)$r['name']] = (int)$r['value'];
        }
        $out = '';
        foreach (self::COUNTERS as $name => $help) {
            $out .= '# HELP ' . $name . ' ' . $help . "\n# TYPE " . $name . " counter\n";
            $found = false;
            foreach ($values as $series => $v) {
                if ($series === $name || strpos($series, $name . '{') === 0) {
                    $out .= $series . ' ' . $v . "\n";
                    $found = true;
                }
            }
            if (!$found && !in_array($name, self::LABELLED, true)) {
                $out .= $name . " 0\n";
            }
        }
        $out .= self::histogram($values);
        $config = $config !== null ? $config : new PeerDropConfig();
        $gauges = array(
            'peerdrop_open_rooms' => array('Rooms not yet expired.', (int)$store->select('SELECT COUNT(*) AS n FROM {p}rooms WHERE expires_at > ?', array($now))[0]['n']),
            'peerdrop_queued_messages' => array('Messages waiting to be acknowledged by their recipient.', (int)$store->select('SELECT COUNT(*) AS n FROM {p}messages WHERE acked = 0')[0]['n']),
            'peerdrop_held_polls' => array('Polls being held right now (this web server).', $slots->busyCount()),
            'peerdrop_held_poll_slots' => array('Configured held-poll slots (poll_slots).', $slots->count()),
            'peerdrop_storage_bytes' => array('Database size in bytes (estimate on MySQL): disk use, not what max_db_bytes counts.', $store->sizeBytes()),
            'peerdrop_storage_live_bytes' => array('Live data in bytes: what max_db_bytes caps.', PeerDropService::liveBytes($store, $now)),
            'peerdrop_code_rooms' => array('Open short-code rooms: numbers in use.', (int)$store->select('SELECT COUNT(*) AS n FROM {p}rooms WHERE code IS NOT NULL AND expires_at > ?', array($now))[0]['n']),
            'peerdrop_max_rooms' => array('Configured max_rooms.', $config->maxRooms),
            'peerdrop_max_db_bytes' => array('Configured max_db_bytes (0 = no cap).', $config->maxDbBytes),
            'peerdrop_schema_version' => array('Schema version of the database.', $store->schemaVersion()),
        );
        foreach ($gauges as $name => $g) {
            $out .= '# HELP ' . $name . ' ' . $g[0] . "\n# TYPE " . $name . " gauge\n" . $name . ' ' . $g[1] . "\n";
        }
        $out .= "# HELP peerdrop_quota_limit Configured per-client quotas: rooms (open), creates (per minute), failed_joins (per 10 minutes); 0 = off.\n"
            . "# TYPE peerdrop_quota_limit gauge\n";
        foreach (array('rooms' => $config->quotaRooms, 'creates' => $config->quotaCreatesPerMinute, 'failed_joins' => $config->quotaFailedJoins) as $q => $v) {
            $out .= 'peerdrop_quota_limit{quota="' . $q . '"} ' . $v . "\n";
        }
        return $out;
    }

    /**
     * peerdrop_request_duration_seconds from its stored counters: cumulative buckets per op.
     * @param array<string,int> $values stored series => value
     */
    private static function histogram(array $values): string
    {
        $name = self::HISTOGRAM;
        $ops = array();
        foreach ($values as $series => $v) {
            if (preg_match('/^' . $name . '_(in|count|sum_us)\{op="([a-z]+)"(?:,le="([^"]+)")?\}$/', $series, $m)) {
                $ops[$m[2]][$m[1] === 'in' ? $m[3] : $m[1]] = $v;
            }
        }
        $out = '# HELP ' . $name . " Time to answer a request, by operation (held polls included).\n# TYPE " . $name . " histogram\n";
        ksort($ops);
        foreach ($ops as $op => $c) {
            $sum = 0;
            foreach (array_merge(self::BUCKETS, array('+Inf')) as $le) {
                $sum += isset($c[$le]) ? $c[$le] : 0;
                $out .= $name . '_bucket{op="' . $op . '",le="' . $le . '"} ' . $sum . "\n";
            }
            $out .= $name . '_sum{op="' . $op . '"} ' . sprintf('%.6F', (isset($c['sum_us']) ? $c['sum_us'] : 0) / 1e6) . "\n";
            $out .= $name . '_count{op="' . $op . '"} ' . (isset($c['count']) ? $c['count'] : 0) . "\n";
        }
        return $out;
    }
}

/** Deployment check for "php signal.php check". */
final class PeerDropCheck
{
    /**
     * @param array<string,string> $env
     * @return array<int,array{0:string,1:string}> list of [level, message], level in ok|warn|fail
     */
    public static function run(array $env, string $scriptDir, string $phpVersion = PHP_VERSION, ?string $webRoot = null): array
    {
        $out = array();
        $out[] = version_compare($phpVersion, '7.4.0', '>=')
            ? array('ok', 'PHP ' . $phpVersion)
            : array('fail', 'PHP ' . $phpVersion . ' is too old: PeerDrop needs PHP 7.4 or newer');
        try {
            $config = PeerDropConfig::load($env, $scriptDir);
        } catch (Throwable $e) {
            $out[] = array('fail', 'configuration error: ' . $e->getMessage());
            return $out;
        }
        $ext = $config->storage === 'mysql' ? 'pdo_mysql' : 'pdo_sqlite';
        if (!extension_loaded($ext)) {
            $out[] = array('fail', 'the ' . $ext . ' extension is missing: enable it in your hosting control panel (PHP extensions)');
            return $out;
        }
        $out[] = array('ok', $ext . ' is available');
        $out[] = array('ok', $config->configFile !== null ? 'config file: ' . $config->configFile : 'no config file (looked in ' . dirname($scriptDir) . '); using env and defaults');
        if ($config->testMode) {
            $out[] = array('fail', 'test_mode is enabled: it lets PEERDROP_TEST_NOW move the clock; remove it in production');
        }
        $dir = $config->dataDir;
        $roots = array($scriptDir);
        if ($webRoot !== null) {
            $roots[] = $webRoot;
        }
        foreach ($roots as $root) {
            if (PeerDrop::isInside($dir, $root)) {
                $out[] = array('fail', 'data dir ' . $dir . ' is inside ' . $root . ', which the web server serves: move it outside the web root (set data_dir or PEERDROP_DATA_DIR)');
                return $out;
            }
        }
        if ($webRoot === null && preg_match('#[/\\\\](public_html|htdocs|httpdocs|wwwroot|www|html|web|public)([/\\\\]|$)#i', PeerDrop::resolve($dir))) {
            $out[] = array('warn', 'data dir ' . $dir . ' has a web-root-like folder in its path: make sure it is not served (give the web root as "php signal.php check WEB_ROOT" to verify)');
        }
        try {
            PeerDropDataDir::ensure($dir);
        } catch (Throwable $e) {
            $out[] = array('fail', 'data dir ' . $dir . ' is not writable or cannot be created: create it (mode 0700) and make it writable by the PHP user');
            return $out;
        }
        $out[] = array('ok', 'data dir ' . $dir . ' is writable and outside ' . implode(' and ', $roots));
        if ($config->secret !== null) {
            $src = $config->secretSource === 'env' ? 'PEERDROP_SECRET' : 'the config "secret"';
            if (PeerDrop::isExampleSecret($config->secret)) {
                $out[] = array('fail', $src . ' is an example value: set a long random string (e.g. output of: php -r "echo bin2hex(random_bytes(32));")');
            } elseif (strlen($config->secret) < 32) {
                $out[] = array('fail', $src . ' is shorter than 32 characters: use a long random string');
            } else {
                $out[] = array('ok', 'secret from ' . $src);
            }
        } elseif ($config->storage === 'mysql') {
            $out[] = array('ok', 'secret generated into the database table ' . $config->mysqlTablePrefix . 'meta (shared by every web server)');
        } else {
            try {
                PeerDropDataDir::secret($config);
                $perms = @fileperms($dir . '/secret.key');
                if ($perms !== false && ($perms & 0077) !== 0) {
                    $out[] = array('warn', 'secret file ' . $dir . '/secret.key is readable by others: chmod 600 it');
                } else {
                    $out[] = array('ok', 'secret generated in ' . $dir . '/secret.key (mode 0600)');
                }
            } catch (Throwable $e) {
                $out[] = array('fail', 'cannot create the secret file in ' . $dir);
            }
        }
        if ($config->secret !== null && is_file($config->dataDir . '/secret.key')) {
            $out[] = array('warn', 'a generated secret.key exists but is ignored because a secret is configured');
        }
        if ($config->previousSecret !== null) {
            $out[] = array('warn', 'previous_secret is set: tokens signed with it stay valid until they expire (ttl_room); remove it after that');
        }
        try {
            $store = PeerDropStore::fromConfig($config);
            $store->write(function (PDO $pdo) {
                return null;
            });
            if ($store->driver() === 'mysql') {
                $out[] = array('ok', 'MySQL/MariaDB database ready: schema ' . $store->schemaVersion() . ', tables ' . $config->mysqlTablePrefix . '*');
            } else {
                $out[] = array('ok', 'database ready: schema ' . $store->schemaVersion() . ', journal ' . $store->journalMode());
            }
            if ($config->storage === 'sqlite' && $config->journalMode === 'wal' && $store->journalMode() !== 'wal') {
                $out[] = array('warn', 'SQLite refused WAL on this filesystem; using TRUNCATE journal (slower under load)');
            }
            if ($config->maxDbBytes > 0 && PeerDropService::liveBytes($store, (int)call_user_func($config->clock())) >= $config->maxDbBytes) {
                $out[] = array('warn', 'the live data has reached max_db_bytes: new rooms and messages get 507 until messages are read or rooms end');
            }
        } catch (Throwable $e) {
            $code = $e instanceof PeerDropError ? $e->errorCode() : 'error';
            $where = $config->storage === 'mysql' ? 'the MySQL database (' . $config->mysqlDsn . ')' : 'database in ' . $dir;
            $detail = $e->getPrevious() !== null ? ': ' . $e->getPrevious()->getMessage() : '';
            $out[] = array('fail', $where . ' cannot be opened for writing (' . $code . ')' . $detail);
        }
        $out[] = array('ok', 'rate limit: ' . ($config->rateLimitPerMinute > 0
            ? $config->rateLimitPerMinute . '/min per client, burst ' . $config->rateLimitBurst
              . ($config->trustedProxies ? ', X-Forwarded-For trusted from ' . implode(', ', $config->trustedProxies) : ', X-Forwarded-For ignored (no trusted_proxies)')
            : 'off'));
        $out[] = array('ok', 'quotas per client: ' . ($config->quotaRooms > 0 ? $config->quotaRooms . ' open rooms' : 'open rooms unlimited')
            . ', ' . ($config->quotaCreatesPerMinute > 0 ? $config->quotaCreatesPerMinute . ' creates/min' : 'creates unlimited')
            . ', ' . ($config->quotaFailedJoins > 0 ? $config->quotaFailedJoins . ' failed joins/10 min' : 'failed joins unlimited'));
        $out[] = array('ok', 'metrics: ' . ($config->metricsToken !== null ? 'on (GET signal.php?metrics with Authorization: Bearer <metrics_token>)' : 'off (set metrics_token to enable)'));
        $slots = new PeerDropSlots($dir, $config->pollSlots);
        if ($config->pollSlots > 0) {
            $fh = $slots->acquire();
            if ($fh === null) {
                $out[] = array('warn', 'could not lock a poll slot file (flock unsupported?): held polls will be disabled, clients short-poll');
            } else {
                $slots->release($fh);
                $out[] = array('ok', $config->pollSlots . ' held-poll slot(s); keep this well below your host\'s entry-process limit');
            }
        } else {
            $out[] = array('ok', 'held polls disabled (poll_slots = 0)');
        }
        $out[] = array('ok', 'CORS: ' . ($config->allowedOrigins ? 'allowed origins ' . implode(', ', $config->allowedOrigins) : 'same-origin only'));
        foreach ($config->iceProblems as $problem) {
            $out[] = array('fail', $problem);
        }
        if ($config->stunUrls === array() && $config->turnUrls === array()) {
            $out[] = array('warn', 'no STUN or TURN server configured: transfers will work only between devices on the same network'
                . ' (or with a public address). Set stun_urls, or turn_urls and turn_secret for a coturn server you run:'
                . ' see docs/operations/turn.md');
        } else {
            $out[] = array('ok', 'ICE servers for clients: ' . ($config->stunUrls ? 'STUN ' . implode(', ', $config->stunUrls) : 'no STUN')
                . '; ' . ($config->turnUrls ? 'TURN ' . implode(', ', $config->turnUrls) . ' (credentials valid ' . $config->turnTtl . ' s)' : 'no TURN'));
        }
        return $out;
    }
}

/** @param string[] $argv */
function peerdrop_cli(array $argv): int
{
    $cmd = isset($argv[1]) ? $argv[1] : 'help';
    if ($cmd === 'check') {
        $webRoot = isset($argv[2]) && $argv[2] !== '' ? $argv[2] : null;
        if ($webRoot !== null && !is_dir($webRoot)) {
            fwrite(STDERR, "usage: php signal.php check [WEB_ROOT]  (WEB_ROOT must be an existing directory)\n");
            return 2;
        }
        $results = PeerDropCheck::run(peerdrop_env(), __DIR__, PHP_VERSION, $webRoot);
        $failed = 0;
        foreach ($results as $r) {
            fwrite($r[0] === 'fail' ? STDERR : STDOUT, str_pad(strtoupper($r[0]), 5) . ' ' . $r[1] . "\n");
            if ($r[0] === 'fail') {
                $failed++;
            }
        }
        fwrite($failed ? STDERR : STDOUT, $failed ? $failed . " problem(s) found: fix them before going live.\n" : "All checks passed.\n");
        return $failed ? 1 : 0;
    }
    if ($cmd === 'migrate') {
        // php signal.php migrate [VERSION]: up to the latest, or up/down to VERSION (0 drops every table).
        try {
            $config = PeerDropConfig::load(peerdrop_env(), __DIR__);
            $target = isset($argv[2]) ? $argv[2] : (string)PeerDropStore::SCHEMA_VERSION;
            if (!ctype_digit($target) || (int)$target > PeerDropStore::SCHEMA_VERSION) {
                fwrite(STDERR, 'usage: php signal.php migrate [VERSION]  (VERSION 0 to ' . PeerDropStore::SCHEMA_VERSION . ")\n");
                return 2;
            }
            $store = PeerDropStore::fromConfig($config); // opening migrates up to the latest first
            $steps = $store->migrateTo((int)$target);
            fwrite(STDOUT, 'Schema version ' . $store->schemaVersion() . ($steps ? ' (stepped through ' . implode(', ', $steps) . ')' : ' (nothing to do)') . ".\n");
            return 0;
        } catch (Throwable $e) {
            fwrite(STDERR, 'migrate failed: ' . $e->getMessage() . "\n");
            return 1;
        }
    }
    if ($cmd === 'purge') {
        try {
            $config = PeerDropConfig::load(peerdrop_env(), __DIR__);
            $store = PeerDropStore::fromConfig($config);
            $service = new PeerDropService($store, $config, peerdrop_secret($config, $store), $config->clock());
            $total = 0;
            do {
                $n = $service->cleanup();
                $total += $n;
            } while ($n > 0);
            $store->checkpoint(0, 0);
            fwrite(STDOUT, 'Deleted ' . $total . " expired room(s).\n");
            return 0;
        } catch (Throwable $e) {
            fwrite(STDERR, 'purge failed: ' . $e->getMessage() . "\n");
            return 1;
        }
    }
    fwrite(STDOUT, "PeerDrop signaling endpoint (protocol v1)\n"
        . "  php signal.php check [WEB_ROOT]   validate this deployment (exit 1 on problems)\n"
        . "  php signal.php purge              delete all expired rooms now (e.g. from cron)\n"
        . "  php signal.php migrate [VERSION]  migrate the schema up (default: latest) or down to VERSION\n");
    return $cmd === 'help' || $cmd === '--help' || $cmd === '-h' ? 0 : 2;
}

// =============================================================================================
// Guard: decides whether this file runs. A web request is handled; "php signal.php ..." runs a
// command; nothing runs when the file is included as a library (PHPUnit defines PEERDROP_LIBRARY
// before including it) or included by another script on the command line.
// =============================================================================================
if (!defined('PEERDROP_LIBRARY')) {
    if (PHP_SAPI === 'cli' || PHP_SAPI === 'phpdbg') {
        if (isset($_SERVER['SCRIPT_FILENAME']) && realpath((string)$_SERVER['SCRIPT_FILENAME']) === __FILE__) {
            exit(peerdrop_cli(isset($_SERVER['argv']) && is_array($_SERVER['argv']) ? $_SERVER['argv'] : array()));
        }
    } else {
        peerdrop_serve();
    }
}
