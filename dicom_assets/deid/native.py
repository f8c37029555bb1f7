"""The native de-identification pass (``_deid.c``): JSON bytes in, de-identified JSON bytes out.

It writes exactly what the reference (:mod:`dicom_assets.deid.dataset`) gives, serialised by
orjson, so both paths give the same rows and ``_metadata``. A payload it cannot take exactly
comes back as ``None`` and the caller uses the reference for it. Profiles with "clean" actions
(clean-descriptors, retain-device-identity, retain-patient-characteristics) always use the
reference: cleaning text takes regular expressions.

With ``retain-safe-private``, which private elements stay depends on their creators' blocks
(``safe_private.py``), which this pass does not track. A payload whose bytes hold no listed
creator's name (and no ``\\u`` escape that could spell one) keeps no private element, so the
pass takes it with every private tag removed, exactly as the reference would; any other payload
goes to the reference (the C pass also refuses the option's ``Q`` action outright).
"""

from __future__ import annotations

import orjson

from dicom_assets.deid.profile import Profile
from dicom_assets.deid.pseudonyms import Pseudonyms
from dicom_assets.deid.safe_private import safe_creators

try:
    from dicom_assets.deid import _deid
except ImportError:  # built without a C compiler: the reference path only
    _deid = None

_CLEANING = frozenset(
    {"clean-descriptors", "retain-device-identity", "retain-patient-characteristics"}
)


def available() -> bool:
    return _deid is not None


class NativePass:
    """The native pass for one profile, key and set of marks."""

    def __init__(self, profile: Profile, pseudonyms: Pseudonyms, marks: dict[str, dict]) -> None:
        self.usable = available() and not (profile.options & _CLEANING)
        self._profile = profile
        self._pseudonyms = pseudonyms
        self._marks = [(int(key, 16), orjson.dumps(value)) for key, value in sorted(marks.items())]
        shifting = "retain-longitudinal-modified-dates" in profile.options
        self._shift = pseudonyms.shift_days if shifting else None
        self._action_of = profile.action
        self._creators: tuple[bytes, ...] = ()
        if profile.keeps_safe_private():
            self._action_of = profile.action_removing_private
            self._creators = (b"\\u", *(c.encode() for c in sorted(safe_creators())))

    def _may_keep_private(self, payload: object) -> bool:
        return type(payload) is bytes and any(c in payload for c in self._creators)

    def payloads(
        self, payloads: list[bytes], reasons: list[str] | None = None
    ) -> list[bytes | None]:
        """De-identified payloads; None where the reference path must take one (why is
        appended to ``reasons`` when given: a position in the payload, never its content)."""
        if not self.usable or not payloads:
            return [None] * len(payloads)
        extra = () if reasons is None else (reasons,)
        if self._creators:
            kept = [self._may_keep_private(payload) for payload in payloads]
            if reasons is not None:
                reasons.extend(["a safe private creator's name (retain-safe-private)"] * sum(kept))
            payloads = [None if keep else payload for keep, payload in zip(kept, payloads)]
        keyed = self._pseudonyms
        return _deid.deidentify(
            payloads,
            self._action_of,
            keyed.uids,
            keyed.uid,
            keyed.patient_ids,
            keyed.patient_id,
            self._shift,
            self._marks,
            *extra,
        )
