"""Every member of every vocabulary has a label: a vocabulary added to
licensesvc/domain/vocabulary.py without one, or a member added without words, fails here."""

from __future__ import annotations

import inspect
from enum import StrEnum

import pytest

from licensesvc.domain import KeyKind, RevocationCode, TemporaryReason, vocabulary
from licensesvc.presentation import labels

ENUMS = [
    cls
    for _, cls in inspect.getmembers(vocabulary, inspect.isclass)
    if issubclass(cls, StrEnum) and cls is not StrEnum and cls.__module__ == vocabulary.__name__
]


def test_every_vocabulary_is_labelled() -> None:
    assert len(ENUMS) >= 10
    assert sorted(e.__name__ for e in ENUMS) == sorted(v.__name__ for v in labels.VOCABULARIES)


@pytest.mark.parametrize("enum", ENUMS, ids=lambda e: e.__name__)
def test_every_member_has_a_label(enum: type[StrEnum]) -> None:
    for member in enum:
        words = labels.label(member)
        assert words.strip() and "_" not in words, member
    assert list(labels.labels_of(enum)) == [m.value for m in enum]
    assert labels.KIND_NOUNS.keys() == labels.labels_of(KeyKind).keys()


def test_a_value_shared_by_two_vocabularies_keeps_each_label() -> None:
    # "superseded" is a key status and a revocation code; each vocabulary has its own table
    assert labels.label(KeyKind.DR_TEST) == "DR test"
    assert labels.labels_of(KeyKind)["dr_test"] == "DR test"
    assert labels.label(RevocationCode.KEY_COMPROMISE) == "key compromise"
    assert labels.label(TemporaryReason.UPGRADE_PATCHING) == "Upgrades and patching"
    assert labels.check_label("quota_available") == "Quota available"
    assert labels.check_label("host_free") == "Host free"
