<?php
// Router for `php -S` serving an adapter-static build (tests/sveltekit/adopter-static.test.mjs).
// It stands in for the one rule a static host needs for SvelteKit's prerendered pages, which
// adapter-static writes as peerdrop.html and peerdrop/receive.html for /peerdrop and
// /peerdrop/receive: nginx `try_files $uri $uri.html $uri/index.html =404;`, Apache
// `Options +MultiViews` or the rewrite in docs/sveltekit.md. Nothing else: signal.php runs as PHP
// does on the host, files are served by php -S itself, and no header is added, so the page's
// policy (CSP and referrer <meta> tags) must come from the build.
declare(strict_types=1);

$root = realpath($_SERVER['DOCUMENT_ROOT']);
$path = rawurldecode(parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH) ?: '/');
if (strpos($path, '/.') !== false || strpos($path, "\0") !== false) {
    http_response_code(404);
    return true;
}
if (is_file($root . $path)) {
    return false; // a file (signal.php included): php -S serves or runs it
}
foreach (array($path . '.html', rtrim($path, '/') . '/index.html') as $candidate) {
    $file = realpath($root . $candidate);
    if ($file !== false && strpos($file, $root . DIRECTORY_SEPARATOR) === 0 && is_file($file)) {
        header('Content-Type: text/html; charset=utf-8');
        readfile($file);
        return true;
    }
}
http_response_code(404);
header('Content-Type: text/plain; charset=utf-8');
echo "Not found\n";
return true;
