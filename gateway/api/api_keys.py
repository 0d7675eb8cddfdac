"""API keys, kept only as SHA-256 digests, and each one's policy (gateway/api/key_policies.py).

A request's owner is a short id derived from the digest, so neither MongoDB nor the logs ever
hold a key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from gateway.api.key_policies import InvalidKeyPolicies, KeyPolicy, default_policy, read_keys_file
from imgpipe.config.settings import AccessSettings, LifecycleSettings, UploadLimits

# Where an owner id is needed (metrics, rate slots), the uploads to an open API: an owner id is 16
# hex digits, never this.
OPEN_OWNER = "open"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _owner_id(digest: str) -> str:
    # What stored requests name their owner by: it must never change.
    return digest[:16]


class ApiKeys:
    def __init__(self, policies: Mapping[str, KeyPolicy], default: KeyPolicy) -> None:
        """`policies`: each key's, by the key's digest; `default`: the open API's, and any owner's
        no longer configured (its requests still finish)."""
        self._owners = {digest: _owner_id(digest) for digest in policies}
        self._policies = {_owner_id(digest): policy for digest, policy in policies.items()}
        self._default = default

    @property
    def enabled(self) -> bool:
        return bool(self._owners)

    def owner_of(self, presented: str | None) -> str | None:
        return self._owners.get(_digest(presented)) if presented else None

    def policy_of(self, owner: str | None) -> KeyPolicy:
        return self._policies.get(owner, self._default) if owner is not None else self._default


def load_api_keys(access: AccessSettings, limits: UploadLimits, lifecycle: LifecycleSettings) -> ApiKeys:
    """The keys of IMGPIPE_API_KEYS, with the default policy (the settings' limits and retention),
    and those of the keys file."""
    default = default_policy(limits, lifecycle)
    digests = [_digest(key) for key in access.api_keys]
    policies = {digest: default.model_copy(update={"name": _owner_id(digest)}) for digest in digests}
    if access.api_keys_file is not None:
        in_file = read_keys_file(access.api_keys_file, default)
        both = sorted(policies.keys() & in_file.keys())
        if both:
            raise InvalidKeyPolicies(
                f"the key of {in_file[both[0]].name!r} in {access.api_keys_file} is also in "
                "IMGPIPE_API_KEYS: name each key once"
            )
        policies |= in_file
    return ApiKeys(policies, default)
