<?php

declare(strict_types=1);

namespace Corral;

use FFI;
use FFI\CData;

/**
 * The libcorral binding: loads `corral_ffi.h` into PHP's FFI once, and
 * converts between PHP values and the C types. Errors become exceptions
 * here (see CorralException::fromCode), and nowhere else.
 *
 * Where things are found:
 *  - the library: $CORRAL_LIB, else target/release or target/debug of the
 *    repository this package lives in, else `libcorral.so` on the loader path;
 *  - the header: $CORRAL_HEADER, else include/corral_ffi.h of the repository.
 *
 * @internal
 */
final class Native
{
    private static ?FFI $ffi = null;

    public static function ffi(): FFI
    {
        if (self::$ffi === null) {
            $header = file_get_contents(self::headerPath());
            if ($header === false) {
                throw new CorralException('cannot read ' . self::headerPath());
            }
            self::$ffi = FFI::cdef($header, self::libraryPath());
        }
        return self::$ffi;
    }

    public static function headerPath(): string
    {
        $env = getenv('CORRAL_HEADER');
        if (is_string($env) && $env !== '') {
            return $env;
        }
        return dirname(__DIR__, 3) . '/include/corral_ffi.h';
    }

    public static function libraryPath(): string
    {
        $env = getenv('CORRAL_LIB');
        if (is_string($env) && $env !== '') {
            return $env;
        }
        $root = dirname(__DIR__, 3);
        foreach (['release', 'debug'] as $profile) {
            $lib = "$root/target/$profile/libcorral.so";
            if (is_file($lib)) {
                return $lib;
            }
        }
        return 'libcorral.so';
    }

    /** Throws the exception for a non-OK result code. */
    public static function check(int $rc, ?CData $client = null): void
    {
        if ($rc !== 0) {
            throw CorralException::fromCode($rc, self::lastError($client));
        }
    }

    /** The detailed message of the last failed call (on `$client`, or on this thread). */
    public static function lastError(?CData $client = null): string
    {
        $ffi = self::ffi();
        $buf = $ffi->new('char[512]');
        $ffi->corral_last_error($client, $buf, 512, null);
        return FFI::string($buf);
    }

    /**
     * A C copy of a PHP string, as (pointer, length); (null, 0) when empty.
     * The CData is owned by PHP: keep it alive for the call.
     *
     * @return array{0: ?CData, 1: int}
     */
    public static function bytes(string $s): array
    {
        $n = strlen($s);
        if ($n === 0) {
            return [null, 0];
        }
        $buf = self::ffi()->new("uint8_t[$n]");
        FFI::memcpy($buf, $s, $n);
        return [$buf, $n];
    }

    /** Takes the data of a corral_bytes, and frees it. */
    public static function takeBytes(CData $bytes): string
    {
        $s = $bytes->len > 0 ? FFI::string($bytes->data, $bytes->len) : '';
        self::ffi()->corral_bytes_free(FFI::addr($bytes));
        return $s;
    }

    /** Takes the items of a corral_strings, and frees them. @return list<string> */
    public static function takeStrings(CData $strings): array
    {
        $out = [];
        for ($i = 0; $i < $strings->len; $i++) {
            $out[] = FFI::string($strings->items[$i]);
        }
        self::ffi()->corral_strings_free(FFI::addr($strings));
        return $out;
    }

    /**
     * A corral_acl array for a list of ['perms' => int, 'scheme' => string, 'id' => string].
     * Returns [array, count, keep-alive]; (null, 0) for null (OPEN_ACL_UNSAFE).
     *
     * @param list<array{perms:int, scheme:string, id:string}>|null $acl
     * @return array{0: ?CData, 1: int, 2: list<CData>}
     */
    public static function acl(?array $acl): array
    {
        if ($acl === null) {
            return [null, 0, []];
        }
        $ffi = self::ffi();
        $n = count($acl);
        $arr = $ffi->new('corral_acl[' . max($n, 1) . ']');
        $keep = [];
        foreach (array_values($acl) as $i => $entry) {
            if (!is_array($entry) || !isset($entry['perms'], $entry['scheme'], $entry['id'])) {
                throw new InvalidArgumentException('an ACL entry needs perms, scheme and id');
            }
            $arr[$i]->perms = (int) $entry['perms'];
            $keep[] = $scheme = self::cString((string) $entry['scheme']);
            $keep[] = $id = self::cString((string) $entry['id']);
            $arr[$i]->scheme = FFI::addr($scheme[0]);
            $arr[$i]->id = FFI::addr($id[0]);
        }
        return [$arr, $n, $keep];
    }

    /** Takes the entries of a corral_acls, and frees them. */
    public static function takeAcl(CData $acls): array
    {
        $out = [];
        for ($i = 0; $i < $acls->len; $i++) {
            $a = $acls->items[$i];
            $out[] = [
                'perms' => $a->perms,
                'scheme' => FFI::string($a->scheme),
                'id' => FFI::string($a->id),
            ];
        }
        self::ffi()->corral_acls_free(FFI::addr($acls));
        return $out;
    }

    /** A NUL-terminated C copy of a string, owned by PHP. */
    public static function cString(string $s): CData
    {
        $n = strlen($s);
        $buf = self::ffi()->new('char[' . ($n + 1) . ']');
        if ($n > 0) {
            FFI::memcpy($buf, $s, $n);
        }
        $buf[$n] = "\0";
        return $buf;
    }

    /** A corral_stat as ZooKeeper names its fields. */
    public static function stat(CData $s): array
    {
        return [
            'czxid' => $s->czxid,
            'mzxid' => $s->mzxid,
            'ctime' => $s->ctime,
            'mtime' => $s->mtime,
            'version' => $s->version,
            'cversion' => $s->cversion,
            'aversion' => $s->aversion,
            'ephemeralOwner' => $s->ephemeral_owner,
            'dataLength' => $s->data_length,
            'numChildren' => $s->num_children,
            'pzxid' => $s->pzxid,
        ];
    }
}
