#!/bin/sh
# Init container of backend and worker: wait until the database carries every
# migration head this image ships, so the app never meets an older schema (its
# create_all at import needs the vector extension a migration creates). Python,
# because the worker image has no psql. A database ahead of the image (a
# rolled-back release) is accepted with a warning.
set -eu
cd "${ALEMBIC_DIR:-/app/apps/backend/src/rhesis/backend}"
exec python3 - <<'PY'
import os
import sys
import time

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL

script = ScriptDirectory.from_config(Config("alembic.ini"))
heads = set(script.get_heads())
url = URL.create(
    os.environ.get("DB_DRIVER", "postgresql"),
    username=os.environ["APP_DB_USER"],
    password=os.environ["APP_DB_PASS"],
    host=os.environ["DB_HOST"],
    port=int(os.environ.get("DB_PORT", "5432")),
    database=os.environ["DB_NAME"],
)
engine = create_engine(url, pool_pre_ping=True)


def known(revision):
    try:
        return script.get_revision(revision) is not None
    except Exception:  # alembic raises for a revision it does not ship
        return False


while True:
    try:
        with engine.connect() as conn:
            current = {r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))}
    except Exception as exc:  # no server yet, or no alembic_version table yet
        current, reason = set(), type(exc).__name__
    else:
        reason = "at " + (", ".join(sorted(current)) or "no revision")
    if heads <= current:
        print("database at the migrations of this image:", ", ".join(sorted(heads)), flush=True)
        sys.exit(0)
    unknown = [r for r in current if not known(r)]
    if unknown:
        print("database is ahead of this image (" + ", ".join(unknown) + "); starting anyway", flush=True)
        sys.exit(0)
    print("waiting for the migrations to reach", ", ".join(sorted(heads)), "(" + reason + ")", flush=True)
    time.sleep(5)
PY
