<?php
// Router for `php -S` (scripts/serve-site): serves the example's static files with the
// privacy headers a production server would send (PHP's built-in server drops headers set by
// a router that hands a static file back to it, so this serves them itself). signal.php runs
// as usual and sends its own headers.
declare(strict_types=1);

$root = realpath($_SERVER['DOCUMENT_ROOT']);
$path = rawurldecode(parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH) ?: '/');
if ($path === '/signal.php') {
    return false;
}
if (substr($path, -1) === '/') {
    $path .= 'index.html';
}
$file = realpath($root . $path);
$types = array(
    'html' => 'text/html; charset=utf-8', 'js' => 'text/javascript; charset=utf-8',
    'css' => 'text/css; charset=utf-8', 'wasm' => 'application/wasm', 'json' => 'application/json',
    'png' => 'image/png', 'svg' => 'image/svg+xml', 'ico' => 'image/x-icon', 'ts' => 'text/plain; charset=utf-8',
);
$ext = strtolower(pathinfo((string)$file, PATHINFO_EXTENSION));
header("Content-Security-Policy: default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
header('Referrer-Policy: no-referrer');
header('X-Content-Type-Options: nosniff');
header('Cache-Control: no-cache');
if ($file === false || strpos($file, $root . DIRECTORY_SEPARATOR) !== 0 || !is_file($file)
    || strpos($path, '/.') !== false || !isset($types[$ext])) {
    http_response_code(404);
    header('Content-Type: text/plain; charset=utf-8');
    echo "Not found\n";
    return true;
}
header('Content-Type: ' . $types[$ext]);
header('Content-Length: ' . filesize($file));
readfile($file);
return true;
