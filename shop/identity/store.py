"""identity's table (SQLAlchemy Core) and adapters: users in SQLite, argon2 hashing, JWT issue."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading

import argon2
from sqlalchemy import Column, Engine, MetaData, String, Table, insert, select
from sqlalchemy.exc import IntegrityError

from shop.identity.model import EmailTaken, User
from shop.kit.auth import issue_token
from shop.kit.db import read_scope

metadata = MetaData()

users = Table(
    "users",
    metadata,
    Column("user_id", String(64), primary_key=True),
    Column("email", String(254), nullable=False, unique=True, index=True),
    Column("name", String(200), nullable=False),
    Column("password_hash", String(200), nullable=False),
)


class UserStore:
    """Users in identity's SQLite file."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, user: User) -> None:
        """Store a new user; raise EmailTaken on the unique email."""
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(users).values(
                        user_id=user.user_id,
                        email=user.email,
                        name=user.name,
                        password_hash=user.password_hash,
                    )
                )
        except IntegrityError:
            raise EmailTaken(user.email) from None

    def get_by_email(self, email: str) -> User | None:
        """Return the user with ``email`` or None."""
        with read_scope(self.engine) as conn:
            row = conn.execute(select(users).where(users.c.email == email)).one_or_none()
            if row is None:
                return None
            return User(user_id=row.user_id, email=row.email, name=row.name, password_hash=row.password_hash)


# glibc's mallopt parameter for the size above which malloc maps memory of its own.
_M_MMAP_THRESHOLD = -3
ARGON2_MMAP_THRESHOLD_BYTES = 1 << 20


def ensure_large_blocks_return_to_os() -> bool:
    """Make glibc map every block over 1 MiB on its own, so freeing it gives the memory back.

    glibc raises its mmap threshold to the size of the last mapped block freed, so after the
    first argon2 hash its 19 MiB buffers come from the malloc heaps, which keep them: 8
    request threads came to hold 8 buffers (identity grew from 88 to 237 MiB under a soak).
    A fixed threshold maps and unmaps each buffer instead: identity stays near its idle
    size, for about 27 % more CPU per hash in page faults (30 vs 24 ms here). Capping the
    malloc arenas was tried first: it reused the buffers in a quiet process, but under a
    soak identity still held 193 MiB with one arena (small allocations split the freed
    buffers, so each hash took fresh heap). Returns False where the C library has no
    ``mallopt`` (not glibc).
    """
    name = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(name).mallopt if name else None
    except (OSError, AttributeError):
        return False
    return bool(mallopt and mallopt(_M_MMAP_THRESHOLD, ARGON2_MMAP_THRESHOLD_BYTES) == 1)


class Argon2Hasher:
    """argon2id through argon2-cffi (parameters in identity's Settings), at most one hash per core at a time."""

    def __init__(self, *, time_cost: int, memory_kib: int, parallelism: int, max_concurrent: int | None = None) -> None:
        self._ph = argon2.PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)
        # Each hash holds memory_kib (19 MiB) and a core: more at once than cores only adds
        # memory (8 threads: 152 MiB) and makes every hash slower, not the sum faster.
        self._slots = threading.BoundedSemaphore(max_concurrent or os.cpu_count() or 1)
        ensure_large_blocks_return_to_os()

    def hash(self, password: str) -> str:
        """Return the encoded argon2id hash."""
        with self._slots:
            return self._ph.hash(password)

    def verify(self, encoded: str, password: str) -> bool:
        """Say whether ``password`` matches; any argon2 failure is a mismatch."""
        try:
            with self._slots:
                return self._ph.verify(encoded, password)
        except argon2.exceptions.VerificationError:
            return False
        except argon2.exceptions.InvalidHashError:
            return False


class JwtIssuer:
    """Issue HS256 tokens signed with SHOPLAB_JWT_SECRET."""

    def __init__(self, *, secret: str, ttl_s: int) -> None:
        self._secret = secret
        self.ttl_s = ttl_s

    def issue(self, user: User) -> str:
        """Return a signed token with sub, email, iss, aud, iat, exp."""
        return issue_token(user_id=user.user_id, email=user.email, secret=self._secret, ttl_s=self.ttl_s)
