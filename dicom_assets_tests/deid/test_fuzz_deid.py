"""The fuzz target on seeds (the PHI corpus) and deterministic mutations of them."""

from __future__ import annotations

import random

import orjson
import pytest

from dicom_assets.deid import native
from dicom_assets_tests.deid.fuzz_deid import SEPARATOR, deid
from dicom_assets_tests.deid.phi_corpus import dicom_json, phi_corpus

pytestmark = pytest.mark.skipif(not native.available(), reason="native pass not built")


@pytest.fixture(scope="module")
def seeds() -> list[bytes]:
    return [orjson.dumps(dicom_json(ds)) for ds in phi_corpus(patients=2, studies=1).datasets]


def test_seeds(seeds):
    deid(SEPARATOR.join(seeds))


def test_mutations(seeds):
    rng = random.Random(17)
    for _ in range(400):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(data))
            choice = rng.random()
            if choice < 0.4:
                data[at] = rng.randrange(256)
            elif choice < 0.7:
                del data[at : at + rng.randint(1, 8)]
            else:
                data[at:at] = rng.choice([b"\\u0041", b" ", b"{", b"]", b'"', b"1e5", b"\xff"])
        deid(bytes(data[: rng.randint(0, len(data))]) if rng.random() < 0.2 else bytes(data))
