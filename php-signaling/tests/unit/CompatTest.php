<?php
declare(strict_types=1);

use PhpParser\Node;
use PhpParser\NodeTraverser;
use PhpParser\NodeVisitorAbstract;
use PhpParser\ParserFactory;

/**
 * signal.php must run on PHP 7.4 .. 8.4 but CI only has one PHP. This test parses the file and
 * rejects syntax and library functions newer than 7.4, plus constructs deprecated by 8.4.
 * It uses nikic/php-parser, which Debian's phpunit depends on (/usr/share/php/PhpParser).
 */
final class CompatTest extends PeerDropTestCase
{
    public const NEWER_FUNCTIONS = array(
        'str_contains', 'str_starts_with', 'str_ends_with', 'get_debug_type', 'get_resource_id', 'fdiv',
        'preg_last_error_msg', 'array_is_list', 'enum_exists', 'json_validate', 'mb_str_pad', 'array_find',
        'array_any', 'array_all', 'array_find_key', 'str_increment', 'str_decrement', 'fsync', 'fdatasync',
        'iterator_apply_keys', 'http_get_last_response_headers', 'mb_trim', 'bcround',
    );
    public const NEWER_CLASSES = array('ValueError', 'UnhandledMatchError', 'Stringable', 'WeakMap', 'Attribute',
        'ReturnTypeWillChange', 'Fiber', 'SensitiveParameter', 'Random\\Randomizer', 'Override', 'PhpToken');
    public const NEWER_TYPES = array('mixed', 'static', 'never', 'false', 'null', 'true');

    public static function setUpBeforeClass(): void
    {
        $autoload = '/usr/share/php/PhpParser/autoload.php';
        if (!class_exists(ParserFactory::class)) {
            if (!is_file($autoload)) {
                self::fail('nikic/php-parser is required for this test (Debian package php-parser, a dependency of phpunit)');
            }
            require_once $autoload;
        }
    }

    /** @return string[] problems found in $code */
    private static function scan(string $code): array
    {
        $parser = (new ParserFactory())->create(ParserFactory::PREFER_PHP7);
        $ast = $parser->parse($code);
        $visitor = new class extends NodeVisitorAbstract {
            /** @var string[] */
            public $problems = array();

            public function enterNode(Node $node)
            {
                $line = $node->getStartLine();
                $add = function (string $what) use ($line): void {
                    $this->problems[] = 'line ' . $line . ': ' . $what;
                };
                if ($node instanceof Node\Expr\Match_) {
                    $add('match (8.0)');
                } elseif ($node instanceof Node\Expr\NullsafeMethodCall || $node instanceof Node\Expr\NullsafePropertyFetch) {
                    $add('nullsafe ?-> (8.0)');
                } elseif ($node instanceof Node\Stmt\Enum_) {
                    $add('enum (8.1)');
                } elseif ($node instanceof Node\Expr\Throw_) {
                    $add('throw expression (8.0)');
                } elseif ($node instanceof Node\AttributeGroup) {
                    $add('attribute (8.0)');
                } elseif ($node instanceof Node\UnionType || $node instanceof Node\IntersectionType) {
                    $add('union/intersection type (8.0/8.1)');
                } elseif ($node instanceof Node\VariadicPlaceholder) {
                    $add('first-class callable syntax (8.1)');
                } elseif ($node instanceof Node\Arg && $node->name !== null) {
                    $add('named argument (8.0)');
                } elseif ($node instanceof Node\Stmt\Catch_ && $node->var === null) {
                    $add('catch without variable (8.0)');
                } elseif ($node instanceof Node\Param) {
                    if ($node->flags !== 0) {
                        $add('constructor promotion (8.0)');
                    }
                    if ($node->default instanceof Node\Expr\New_) {
                        $add('new in initializer (8.1)');
                    }
                    $isNullDefault = $node->default instanceof Node\Expr\ConstFetch && strtolower($node->default->name->toString()) === 'null';
                    if ($isNullDefault && $node->type !== null && !($node->type instanceof Node\NullableType)) {
                        $add('implicitly nullable parameter (deprecated in 8.4): use ?Type');
                    }
                } elseif ($node instanceof Node\Stmt\Property && ($node->flags & Node\Stmt\Class_::MODIFIER_READONLY)) {
                    $add('readonly property (8.1)');
                } elseif ($node instanceof Node\Stmt\Class_ && ($node->flags & Node\Stmt\Class_::MODIFIER_READONLY)) {
                    $add('readonly class (8.2)');
                } elseif ($node instanceof Node\Expr\ClassConstFetch && $node->class instanceof Node\Expr) {
                    $add('$object::class (8.0)');
                } elseif ($node instanceof Node\Expr\FuncCall && $node->name instanceof Node\Name
                    && in_array(strtolower($node->name->toString()), CompatTest::NEWER_FUNCTIONS, true)) {
                    $add('function ' . $node->name->toString() . '() is newer than PHP 7.4');
                } elseif ($node instanceof Node\Name && in_array(ltrim($node->toString(), '\\'), CompatTest::NEWER_CLASSES, true)) {
                    $add('class ' . $node->toString() . ' is newer than PHP 7.4');
                }
                foreach (array('returnType', 'type') as $prop) {
                    if (property_exists($node, $prop) && ($node->$prop instanceof Node\Identifier || $node->$prop instanceof Node\Name)
                        && in_array(strtolower($node->$prop->toString()), CompatTest::NEWER_TYPES, true)) {
                        $add('type ' . $node->$prop->toString() . ' (8.0+)');
                    }
                    if (property_exists($node, $prop) && $node->$prop instanceof Node\NullableType
                        && in_array(strtolower($node->$prop->type->toString()), CompatTest::NEWER_TYPES, true)) {
                        $add('type ?' . $node->$prop->type->toString() . ' (8.0+)');
                    }
                }
                return null;
            }
        };
        $t = new NodeTraverser();
        $t->addVisitor($visitor);
        $t->traverse($ast);
        $problems = $visitor->problems;

        // Trailing comma in a parameter or closure-use list (8.0): token scan.
        $tokens = token_get_all($code);
        $n = count($tokens);
        for ($i = 0; $i < $n; $i++) {
            if (!is_array($tokens[$i]) || !in_array($tokens[$i][0], array(T_FUNCTION, T_FN, T_USE), true)) {
                continue;
            }
            $j = $i + 1;
            while ($j < $n && $tokens[$j] !== '(' && $tokens[$j] !== ';' && $tokens[$j] !== '{') {
                $j++;
            }
            if ($j >= $n || $tokens[$j] !== '(') {
                continue;
            }
            $depth = 0;
            $last = null;
            for ($k = $j; $k < $n; $k++) {
                $tok = $tokens[$k];
                if ($tok === '(') {
                    $depth++;
                } elseif ($tok === ')') {
                    $depth--;
                    if ($depth === 0) {
                        if ($last === ',') {
                            $problems[] = 'line ' . $tokens[$i][2] . ': trailing comma in parameter list (8.0)';
                        }
                        break;
                    }
                }
                if (!(is_array($tok) && in_array($tok[0], array(T_WHITESPACE, T_COMMENT, T_DOC_COMMENT), true))) {
                    $last = is_array($tok) ? $tok[1] : $tok;
                }
            }
        }
        return $problems;
    }

    public function testSignalPhpUsesOnlyPhp74Features(): void
    {
        $problems = self::scan((string)file_get_contents(__DIR__ . '/../../signal.php'));
        $this->assertSame(array(), $problems, implode("\n", $problems));
    }

    /** @return array<string,array{0:string}> */
    public function newerSnippets(): array
    {
        return array(
            'match' => array('<?php $x = match ($a) { 1 => 2, default => 3 };'),
            'nullsafe' => array('<?php $a?->b();'),
            'named arg' => array('<?php f(a: 1);'),
            'promotion' => array('<?php class A { public function __construct(private int $x) {} }'),
            'union' => array('<?php function f(int|string $x) {}'),
            'mixed' => array('<?php function f(): mixed {}'),
            'static return' => array('<?php class A { public function f(): static {} }'),
            'catch no var' => array('<?php try {} catch (Exception) {}'),
            'throw expr' => array('<?php $x = $y ?? throw new Exception();'),
            'str_contains' => array('<?php str_contains("a", "b");'),
            'ValueError' => array('<?php try {} catch (\ValueError $e) {}'),
            'readonly' => array('<?php class A { public readonly int $x; }'),
            'enum' => array('<?php enum E { case A; }'),
            'trailing comma params' => array('<?php function f($a, $b,) {}'),
            'implicit nullable' => array('<?php function f(Foo $a = null) {}'),
            'first-class callable' => array('<?php $f = strlen(...);'),
            'attribute' => array('<?php #[Attr] function f() {}'),
        );
    }

    /** @dataProvider newerSnippets */
    public function testTheScannerCatchesNewerFeatures(string $code): void
    {
        $this->assertNotEmpty(self::scan($code), 'scanner must flag: ' . $code);
    }

    public function testTheScannerAcceptsPhp74Code(): void
    {
        $code = '<?php function f(?Foo $a = null, int ...$rest): ?int { $g = fn($x) => $x; $h = function () use ($a) { return [1, 2,]; };'
            . ' try {} catch (Exception $e) {} return null; } class A { /** @var int */ private $x; public function g(): self { return $this; } }';
        $this->assertSame(array(), self::scan($code));
    }
}
