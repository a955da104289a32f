#!/bin/sh
# Init container of backend and worker, in their own image (Python: the worker
# image has no psql).
# 1. With ADMIN_DB_USER (the in-cluster database's owner), set up the role the
#    app connects as (APP_DB_USER): it may log in with APP_DB_PASS, is no
#    superuser and does not bypass row-level security, and may read and write
#    every table. Run on every start, so a changed password takes effect.
# 2. Unless PREPARE_WAIT_FOR_MIGRATIONS is false (the backend then migrates at
#    start), wait until the database carries every migration head this image ships,
#    so the app never meets an older schema (its create_all at import needs
#    the vector extension a migration creates). A database ahead of the image
#    (a rolled-back release) is accepted with a warning.
set -eu
cd "${ALEMBIC_DIR:-/app/apps/backend/src/rhesis/backend}"
exec python3 - <<'PY'
import os
import sys
import time

# The working directory holds the app's own alembic/ folder (the migrations),
# which would shadow the alembic package.
sys.path = [p for p in sys.path if p not in ("", ".", os.getcwd())]

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL

env = os.environ
owner, app = env.get("ADMIN_DB_USER", ""), env["APP_DB_USER"]


def engine(user, password):
    return create_engine(URL.create(
        env.get("DB_DRIVER", "postgresql"), username=user, password=password,
        host=env["DB_HOST"], port=int(env.get("DB_PORT", "5432")), database=env["DB_NAME"],
    ), pool_pre_ping=True)


def until(what, attempt):
    while True:
        try:
            return attempt()
        except Exception as exc:  # no server yet, or not at the migrations yet
            print("waiting for", what, "(" + type(exc).__name__ + ": " + str(exc).splitlines()[0] + ")", flush=True)
            time.sleep(5)


ROLE_SQL = [
    # One pod at a time: concurrent GRANTs on one object fail.
    "SELECT pg_advisory_xact_lock(7207745)",
    "ALTER ROLE {app} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS PASSWORD :password",
    "GRANT CONNECT ON DATABASE {db} TO {app}",
    # CREATE as Rhesis's own create_user.sql grants it: create_all at import
    # may add a table no migration made.
    "GRANT USAGE, CREATE ON SCHEMA public TO {app}",
    "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {app}",
    "GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {app}",
    "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app}",
    "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {app}",
]


def set_up_role():
    admin = engine(owner, env["ADMIN_DB_PASS"])
    quote = admin.dialect.identifier_preparer.quote
    names = {"app": quote(app), "owner": quote(owner), "db": quote(env["DB_NAME"])}
    with admin.begin() as conn:
        conn.execute(text(ROLE_SQL[0]))
        if conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :app"), {"app": app}).first() is None:
            conn.execute(text("CREATE ROLE {app} LOGIN".format(**names)))
        for statement in ROLE_SQL[1:]:
            sql = text(statement.format(**names))
            conn.execute(sql, {"password": env["APP_DB_PASS"]} if ":password" in statement else {})
    admin.dispose()
    print("role", app, "ready: no superuser, under row-level security", flush=True)


if owner and owner != app:
    until("the database to set up role " + app, set_up_role)
if env.get("PREPARE_WAIT_FOR_MIGRATIONS", "true") != "true":
    sys.exit(0)

script = ScriptDirectory.from_config(Config("alembic.ini"))
heads = set(script.get_heads())


def known(revision):
    try:
        return script.get_revision(revision) is not None
    except Exception:  # alembic raises for a revision it does not ship
        return False


db = engine(app, env["APP_DB_PASS"])
while True:
    try:
        with db.connect() as conn:
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
