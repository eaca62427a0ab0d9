"""The drug catalogue as loaded into the database, for prescription items to refer to."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, Enum, Float, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, utcnow
from core.models import BigId
from prescriptions.catalogue import ControlClass


class Drug(Base):
    __tablename__ = "drugs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    generic_name: Mapped[str] = mapped_column(String(100))
    english_name: Mapped[str] = mapped_column(String(200))
    brands: Mapped[list[str]] = mapped_column(JSON)
    ingredients: Mapped[list[str]] = mapped_column(JSON)
    dosage_form: Mapped[str] = mapped_column(String(32))
    strength: Mapped[str] = mapped_column(String(64))
    route: Mapped[str] = mapped_column(String(16))
    atc: Mapped[str] = mapped_column(String(16))
    rx: Mapped[bool] = mapped_column(Boolean)
    max_daily_dose_mg: Mapped[float | None] = mapped_column(Float)
    # The strongest control found by screening the product when it was loaded.
    control_class: Mapped[ControlClass | None] = mapped_column(
        Enum(ControlClass, native_enum=False, length=24)
    )
    blocked: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
