"""The declarative base every record shares: id, timestamps, soft delete and a version."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import MetaData, func
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

from app.models.types import Money, UTCDateTime, utcnow

# Deterministic constraint names: Alembic can then drop and alter them on both engines.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base class for all records.

    Deleted records are flagged with ``deleted_at``, never removed. ``version`` grows by one
    on every change; an update that names an outdated version is refused (optimistic
    locking), which is how edit conflicts are detected.
    """

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), Decimal: Money()}

    # sort_order: the id leads every table and the bookkeeping columns close it.
    id: Mapped[int] = mapped_column(primary_key=True, sort_order=-100)
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, server_default=func.now(), sort_order=100
    )
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, server_default=func.now(), onupdate=utcnow, sort_order=101
    )
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None, sort_order=102)
    version: Mapped[int] = mapped_column(default=1, server_default="1", sort_order=103)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:  # noqa: N805
        return {"version_id_col": cls.__table__.c.version}

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def to_dict(self) -> dict[str, Any]:
        return {column.key: getattr(self, column.key) for column in self.__mapper__.column_attrs}
