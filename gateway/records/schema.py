"""The tables, as SQLAlchemy 2 declarative models (the migrations create them; nothing here creates tables)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """A moment in UTC, read back aware on every database (SQLite keeps no zone and would hand back naive times)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    pass


class ImageRecord(Base):
    """One picture made: who asked, through which endpoint and model, what was sent, what it cost."""

    __tablename__ = "images"
    __table_args__ = (
        Index("ix_images_client_created", "client", "created_at"),
        Index("ix_images_image_name", "image_name"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    client: Mapped[str] = mapped_column(String(64))
    endpoint: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(200))
    route: Mapped[str] = mapped_column(String(300))
    idea: Mapped[str] = mapped_column(Text)
    prompt: Mapped[str] = mapped_column(Text)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    input_image: Mapped[str | None] = mapped_column(String(80), nullable=True)
    image_name: Mapped[str] = mapped_column(String(80))
    link: Mapped[str] = mapped_column(Text)
    cost: Mapped[float | None] = mapped_column(Float, nullable=True)
    input_tokens: Mapped[int | None] = mapped_column(Integer, nullable=True)
    output_tokens: Mapped[int | None] = mapped_column(Integer, nullable=True)
    latency_ms: Mapped[float] = mapped_column(Float)
    attempts: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)


class TemplateRow(Base):
    """A saved preset; ``as_model`` lists it in ``/v1/models`` under its name."""

    __tablename__ = "templates"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    client: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100), unique=True)
    model: Mapped[str] = mapped_column(String(200))
    prompt: Mapped[str] = mapped_column(Text)
    size: Mapped[str | None] = mapped_column(String(20), nullable=True)
    aspect_ratio: Mapped[str | None] = mapped_column(String(20), nullable=True)
    style: Mapped[str | None] = mapped_column(String(200), nullable=True)
    negative_prompt: Mapped[str | None] = mapped_column(Text, nullable=True)
    steps: Mapped[int | None] = mapped_column(Integer, nullable=True)
    guidance: Mapped[float | None] = mapped_column(Float, nullable=True)
    as_model: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class BatchRow(Base):
    """A batch of prompts: whose, with which options, how far along, and its webhook's state.

    ``claimed_until`` is the lease of the process running it: another process (or
    this one after a restart) takes it over once the lease has run out.
    """

    __tablename__ = "batches"
    __table_args__ = (
        Index("ix_batches_client_created", "client", "created_at"),
        Index("ix_batches_status", "status"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    client: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))
    model: Mapped[str] = mapped_column(String(200))
    options: Mapped[str] = mapped_column(Text)
    """The request's generation fields as JSON, applied to each prompt."""
    base_url: Mapped[str] = mapped_column(Text)
    """The public address the batch was submitted to, for its pictures' links."""
    webhook_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    webhook_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    webhook_attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class BatchItemRow(Base):
    """One prompt of a batch: queued, done (its records) or failed (why)."""

    __tablename__ = "batch_items"

    batch_id: Mapped[str] = mapped_column(String(40), ForeignKey("batches.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    prompt: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    record_ids: Mapped[str] = mapped_column(Text, default="")
    """The item's records, comma-separated."""
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class ClientRow(Base):
    """A client made through the admin API. Only the key's SHA-256 is kept; a revoked client keeps its name."""

    __tablename__ = "clients"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_hint: Mapped[str] = mapped_column(String(16))
    """The key's first characters and last four, to tell keys apart in a list."""
    limits: Mapped[str | None] = mapped_column(Text, nullable=True)
    """``ClientLimits`` as JSON; none: ``CLIENT_LIMITS`` applies."""
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
