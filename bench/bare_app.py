"""The bare stack the throughput benchmark compares with: Flask + SQLAlchemy 2 + PostgreSQL and
nothing of ours — read a row by key, insert a row — served by the same gunicorn shape.

    gunicorn -w 2 --threads 4 'bench.bare_app:create()'   (DATABASE_URL names the database)
"""

from __future__ import annotations

import datetime as dt
import os

from flask import Flask, Response, jsonify, request
from sqlalchemy import DateTime, Integer, String, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from core.db import normalise_url


class Base(DeclarativeBase):
    pass


class Row(Base):
    __tablename__ = "bare_rows"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner: Mapped[int] = mapped_column(Integer, index=True)
    payload: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


def prepare(url: str, rows: int) -> None:
    """The table, with `rows` rows to read."""
    engine = create_engine(normalise_url(url))
    Base.metadata.create_all(engine)
    now = dt.datetime.now(dt.UTC)
    with Session(engine) as session, session.begin():
        session.add_all(
            Row(owner=i % 64, payload=f"读数 {i}", created_at=now) for i in range(1, rows + 1)
        )
    engine.dispose()


def create() -> Flask:
    app = Flask(__name__)
    engine = create_engine(normalise_url(os.environ["DATABASE_URL"]))
    sessions = sessionmaker(engine)

    @app.get("/rows/<int:row_id>")
    def read(row_id: int) -> tuple[Response, int]:
        with sessions() as session:
            row = session.scalar(select(Row).where(Row.id == row_id))
            if row is None:
                return jsonify({"error": "not found"}), 404
            return jsonify({"id": row.id, "owner": row.owner, "payload": row.payload}), 200

    @app.post("/rows")
    def write() -> tuple[Response, int]:
        body = request.get_json(force=True)
        with sessions() as session, session.begin():
            row = Row(
                owner=int(body["owner"]),
                payload=str(body["payload"])[:200],
                created_at=dt.datetime.now(dt.UTC),
            )
            session.add(row)
            session.flush()
            return jsonify({"id": row.id}), 201

    @app.get("/healthz")
    def healthz() -> tuple[Response, int]:
        return jsonify({"status": "ok"}), 200

    return app
