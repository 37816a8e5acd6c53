<?php

declare(strict_types=1);

namespace Corral;

/**
 * Every error of the binding. getCode() is ZooKeeper's numeric code
 * (NoNodeException: -101, ...) or a client-side code of libcorral
 * (InvalidArgumentException: 1, TimeoutException: 2, ClosedException: 4).
 */
class CorralException extends \RuntimeException
{
    /** @var array<int, class-string<CorralException>> */
    private const CLASSES = [
        -4 => ConnectionLossException::class,
        -5 => MarshallingErrorException::class,
        -7 => OperationTimeoutException::class,
        -8 => BadArgumentsException::class,
        -101 => NoNodeException::class,
        -102 => NoAuthException::class,
        -103 => BadVersionException::class,
        -108 => NoChildrenForEphemeralsException::class,
        -110 => NodeExistsException::class,
        -111 => NotEmptyException::class,
        -112 => SessionExpiredException::class,
        -114 => InvalidAclException::class,
        -115 => AuthFailedException::class,
        1 => InvalidArgumentException::class,
        2 => TimeoutException::class,
        4 => ClosedException::class,
    ];

    /** The exception for a result code, with libcorral's message. */
    public static function fromCode(int $code, string $message = ''): CorralException
    {
        $class = self::CLASSES[$code] ?? CorralException::class;
        if ($message === '') {
            $message = Native::ffi()->corral_strerror($code);
        }
        return new $class($message, $code);
    }
}

class ConnectionLossException extends CorralException
{
}

class MarshallingErrorException extends CorralException
{
}

class OperationTimeoutException extends CorralException
{
}

class BadArgumentsException extends CorralException
{
}

class NoNodeException extends CorralException
{
}

class NoAuthException extends CorralException
{
}

class BadVersionException extends CorralException
{
}

class NoChildrenForEphemeralsException extends CorralException
{
}

class NodeExistsException extends CorralException
{
}

class NotEmptyException extends CorralException
{
}

class SessionExpiredException extends CorralException
{
}

class InvalidAclException extends CorralException
{
}

class AuthFailedException extends CorralException
{
}

/** A NULL or invalid argument (libcorral's CORRAL_EINVAL). */
class InvalidArgumentException extends CorralException
{
}

/** No answer in time (CORRAL_ETIMEOUT). */
class TimeoutException extends CorralException
{
}

/** The client was closed (CORRAL_ECLOSED). */
class ClosedException extends CorralException
{
}
