"""The FLOOR: the least a FHIR ingest endpoint can do on this stack, for a side-by-side ratio.

Read the body, validate it with fhir.resources R4B, insert ONE row (the raw JSON) with
SQLAlchemy Core over psycopg 3 (same driver and pool settings as the service), commit per
request, answer 201. Run with uvicorn, e.g.:

    FLOOR_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/db \\
        uvicorn --app-dir bench floor_app:app --workers 2

The table must exist: bench/ingest creates it (bench_ingest.FLOOR_TABLE_DDL) before starting
the app.
"""

from __future__ import annotations

import os

from fastapi import FastAPI, Request, Response
from fhir.resources.R4B.appointment import Appointment
from pydantic import ValidationError
from sqlalchemy import Column, MetaData, Table, Text, create_engine, insert
from sqlalchemy.dialects.postgresql import BIGINT
from starlette.concurrency import run_in_threadpool

DATABASE_URL = os.environ.get(
    "FLOOR_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/floor")

metadata = MetaData()
floor_appointment = Table(
    "floor_appointment", metadata,
    Column("pk", BIGINT, primary_key=True, autoincrement=True),
    Column("content", Text, nullable=False),
)
# The service's settings: pool_size=20 (WNB_DB_POOL_SIZE default), max_overflow=10, pre-ping.
engine = create_engine(DATABASE_URL, pool_size=20, max_overflow=10, pool_pre_ping=True)
statement = insert(floor_appointment)
app = FastAPI()


def _store(body: bytes) -> int:
    try:
        Appointment.model_validate_json(body)
    except ValidationError:
        return 400
    with engine.begin() as conn:  # one transaction, one durable commit, per request
        conn.execute(statement, {"content": body.decode()})
    return 201


@app.post("/fhir/Appointment")
async def create(request: Request) -> Response:
    body = await request.body()
    status = await run_in_threadpool(_store, body)
    return Response(body if status == 201 else b"{}", status_code=status,
                    media_type="application/fhir+json")
