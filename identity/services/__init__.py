"""Identity services: accounts and tokens, patients, practitioners, WeChat sign-in."""

from identity.services.accounts import (
    IssuedToken,
    account_by_id,
    account_by_username,
    account_for_token,
    actor_of,
    authenticate,
    create_account,
    create_institution,
    end_sessions,
    hash_password,
    issue_token,
    purge_expired_tokens,
    revoke_token,
)

__all__ = [
    "IssuedToken",
    "account_by_id",
    "account_by_username",
    "account_for_token",
    "actor_of",
    "authenticate",
    "create_account",
    "create_institution",
    "end_sessions",
    "hash_password",
    "issue_token",
    "purge_expired_tokens",
    "revoke_token",
]
