"""identity's domain: sign users up and log them in (no Flask, no SQLAlchemy)."""

from __future__ import annotations

import uuid

from shop.identity.model import BadCredentials, EmailTaken, PasswordHasher, TokenIssuer, User, UserRepository


def normalize_email(email: str) -> str:
    """Return the canonical form of an email (trimmed, lower case)."""
    return email.strip().lower()


class IdentityService:
    """Sign up and log in users."""

    def __init__(self, users: UserRepository, hasher: PasswordHasher, tokens: TokenIssuer) -> None:
        self.users = users
        self.hasher = hasher
        self.tokens = tokens
        # Hash once so unknown emails cost the same as wrong passwords (no user enumeration by timing).
        self._dummy_hash: str | None = None

    def sign_up(self, *, email: str, password: str, name: str) -> tuple[User, str]:
        """Create a user and return it with a fresh access token; raise EmailTaken."""
        email = normalize_email(email)
        if self.users.get_by_email(email) is not None:
            raise EmailTaken(email)
        user = User(
            user_id=uuid.uuid4().hex, email=email, name=name.strip(), password_hash=self.hasher.hash(password)
        )
        self.users.add(user)
        return user, self.tokens.issue(user)

    def log_in(self, *, email: str, password: str) -> str:
        """Return an access token for valid credentials; raise BadCredentials otherwise."""
        user = self.users.get_by_email(normalize_email(email))
        if user is None:
            if self._dummy_hash is None:
                self._dummy_hash = self.hasher.hash("not-a-real-password")
            self.hasher.verify(self._dummy_hash, password)
            raise BadCredentials()
        if not self.hasher.verify(user.password_hash, password):
            raise BadCredentials()
        return self.tokens.issue(user)
