"""ACLs with kazoo's names (``kazoo.security``)."""

from __future__ import annotations

import base64
import hashlib
from typing import List, NamedTuple


class Id(NamedTuple):
    scheme: str
    id: str


class ACL(NamedTuple):
    perms: int
    id: Id

    @property
    def acl_list(self) -> List[str]:
        perms = []
        if self.perms & Permissions.ALL == Permissions.ALL:
            perms.append("ALL")
            return perms
        if self.perms & Permissions.READ:
            perms.append("READ")
        if self.perms & Permissions.WRITE:
            perms.append("WRITE")
        if self.perms & Permissions.CREATE:
            perms.append("CREATE")
        if self.perms & Permissions.DELETE:
            perms.append("DELETE")
        if self.perms & Permissions.ADMIN:
            perms.append("ADMIN")
        return perms


class Permissions:
    READ = 1
    WRITE = 2
    CREATE = 4
    DELETE = 8
    ADMIN = 16
    ALL = 31


ANYONE_ID_UNSAFE = Id("world", "anyone")
AUTH_IDS = Id("auth", "")
OPEN_ACL_UNSAFE = [ACL(Permissions.ALL, ANYONE_ID_UNSAFE)]
CREATOR_ALL_ACL = [ACL(Permissions.ALL, AUTH_IDS)]
READ_ACL_UNSAFE = [ACL(Permissions.READ, ANYONE_ID_UNSAFE)]


def make_digest_acl_credential(username: str, password: str) -> str:
    """``username:base64(sha1(username:password))``, the digest scheme's id."""
    credential = "%s:%s" % (username, password)
    digest = hashlib.sha1(credential.encode("utf-8")).digest()
    return "%s:%s" % (username, base64.b64encode(digest).strip().decode("ascii"))


def make_acl(
    scheme: str,
    credential: str,
    read: bool = False,
    write: bool = False,
    create: bool = False,
    delete: bool = False,
    admin: bool = False,
    all: bool = False,
) -> ACL:
    if all:
        permissions = Permissions.ALL
    else:
        permissions = 0
        if read:
            permissions |= Permissions.READ
        if write:
            permissions |= Permissions.WRITE
        if create:
            permissions |= Permissions.CREATE
        if delete:
            permissions |= Permissions.DELETE
        if admin:
            permissions |= Permissions.ADMIN
    return ACL(permissions, Id(scheme, credential))


def make_digest_acl(
    username: str,
    password: str,
    read: bool = False,
    write: bool = False,
    create: bool = False,
    delete: bool = False,
    admin: bool = False,
    all: bool = False,
) -> ACL:
    cred = make_digest_acl_credential(username, password)
    return make_acl(
        "digest", cred, read=read, write=write, create=create,
        delete=delete, admin=admin, all=all,
    )
