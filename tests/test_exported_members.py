"""The public namespace is exactly appsync_iam.__all__, sorted, and rewritten."""

from __future__ import annotations

import types

import appsync_iam


def test_all_is_sorted_and_unique() -> None:
    """__all__ is sorted and has no duplicates."""
    assert appsync_iam.__all__ == sorted(set(appsync_iam.__all__))


def test_every_public_attribute_is_exported() -> None:
    """Nothing public is exported by accident, and nothing exported is missing."""
    public = {
        name
        for name in dir(appsync_iam)  # includes the lazily loaded transport
        if not name.startswith("_")
        and not isinstance(getattr(appsync_iam, name), types.ModuleType)
        and name != "annotations"
    }
    assert public == set(appsync_iam.__all__)


def test_public_classes_live_in_appsync_iam() -> None:
    """Reprs and tracebacks say appsync_iam.X, not the private module path."""
    for name in appsync_iam.__all__:
        obj = getattr(appsync_iam, name)
        if isinstance(obj, type) or callable(obj):
            assert obj.__module__ == "appsync_iam", name
