"""Providers: every service outside the hospital (identity verification, face matching, WeChat,
the hospital platform, the courier, and those to come: payment, 医保, media) sits behind a small
interface — a Protocol in the package that uses it — with one or more backends. A setting names
the backend (FACE_BACKEND=dlib, COURIER_BACKEND=http …); each package registers its backends
from one function called by `core.celery_app.wire()` (the app factory and the worker), and
`find(Interface, settings)` gives the configured one. A backend named in the settings that no
package registered fails start-up (`check`), not the first request that needs it.

pypi/warehouse is the model: `accounts/interfaces.py` declares the interface,
`accounts/__init__.py` registers the factory chosen by a setting."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from core.settings import Settings

T = TypeVar("T")


class UnknownBackend(RuntimeError):
    """A setting names a backend nobody registered (a typo, or a package not wired)."""


@dataclass
class _Slot:
    setting: str  # the Settings attribute that names the backend
    factories: dict[str, Callable[[Settings], Any]] = field(default_factory=dict)


_SLOTS: dict[type, _Slot] = {}


def register(
    interface: type[T], backend: str, factory: Callable[[Settings], T], *, setting: str
) -> None:
    """`factory(settings)` builds `interface` when the setting `setting` says `backend`."""
    slot = _SLOTS.setdefault(interface, _Slot(setting))
    if slot.setting != setting:
        raise ValueError(f"{interface.__name__} is chosen by {slot.setting}, not {setting}")
    slot.factories[backend] = factory


def backend_of(interface: type, settings: Settings) -> str:
    return str(getattr(settings, _SLOTS[interface].setting))


def find(interface: type[T], settings: Settings) -> T:
    """The configured backend of `interface`, built for these settings (backends are cheap to
    build and hold no connection of their own; nothing is cached across settings)."""
    slot = _SLOTS.get(interface)
    if slot is None:
        raise UnknownBackend(f"no backend of {interface.__name__} is registered")
    name = backend_of(interface, settings)
    if name not in slot.factories:
        raise UnknownBackend(f"{slot.setting.upper()}={name}: no such {interface.__name__}")
    return slot.factories[name](settings)  # type: ignore[no-any-return]


def check(settings: Settings) -> None:
    """Every interface's configured backend is registered."""
    for interface, slot in _SLOTS.items():
        name = backend_of(interface, settings)
        if name not in slot.factories:
            known = ", ".join(sorted(slot.factories))
            raise UnknownBackend(
                f"{slot.setting.upper()}={name}: no such {interface.__name__} (known: {known})"
            )


def registered() -> dict[str, list[str]]:
    """Interface name → its backends, for the start-up log and the tests."""
    return {i.__name__: sorted(s.factories) for i, s in _SLOTS.items()}
