"""identity's words: the user, the seams for users, hashing and tokens, and the domain errors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class User:
    """A registered user; ``password_hash`` is the argon2 hash, never the password."""

    user_id: str
    email: str
    name: str
    password_hash: str


class EmailTaken(Exception):
    """Another user already has this email."""

    code = "email_taken"

    def __init__(self, email: str) -> None:
        super().__init__("this email is already registered")
        self.email = email


class BadCredentials(Exception):
    """The email is unknown or the password does not match."""

    code = "bad_credentials"

    def __init__(self) -> None:
        # One message for both cases, so the answer does not tell which emails exist.
        super().__init__("wrong email or password")


class UserRepository(Protocol):
    """Where users live (``UserStore`` implements it)."""

    def add(self, user: User) -> None:
        """Store a new user; raise EmailTaken when the email exists."""

    def get_by_email(self, email: str) -> User | None:
        """Return the user with ``email`` or None."""


class PasswordHasher(Protocol):
    """A slow password KDF."""

    def hash(self, password: str) -> str:
        """Return the encoded hash of ``password``."""

    def verify(self, encoded: str, password: str) -> bool:
        """Say whether ``password`` matches ``encoded``."""


class TokenIssuer(Protocol):
    """Signs access tokens."""

    ttl_s: int

    def issue(self, user: User) -> str:
        """Return an access token for ``user``."""
