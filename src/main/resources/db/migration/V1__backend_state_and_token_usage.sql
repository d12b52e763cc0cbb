-- What each backend remembers across a restart (dev.sluice.backend.SavedState), one row per configured backend id.
-- Instants are wall time in ms since the epoch; booleans are 0 or 1. The three out_of_service_* columns are all
-- NULL while the backend is in service, and all set while it is dead or disabled.
CREATE TABLE backend_state (
  backend_id                   TEXT    NOT NULL PRIMARY KEY,
  out_of_service_disabled      INTEGER CHECK (out_of_service_disabled IN (0, 1)),
  out_of_service_since_millis  INTEGER,
  out_of_service_status        INTEGER,
  cooldown_consecutive         INTEGER NOT NULL,
  cooldown_end_millis          INTEGER NOT NULL,
  adaptive_concurrency         INTEGER NOT NULL CHECK (adaptive_concurrency IN (0, 1)),
  concurrency_limit            INTEGER NOT NULL,
  retreat_state                TEXT    NOT NULL,
  retreat_rate_rpm             INTEGER NOT NULL,
  quota_exceeded               INTEGER NOT NULL CHECK (quota_exceeded IN (0, 1)),
  quota_cap_error_since_millis INTEGER NOT NULL,
  quota_cap_error_message      TEXT    NOT NULL,
  quota_last_probe_millis      INTEGER NOT NULL,
  quota_probe_interval_millis  INTEGER NOT NULL,
  CHECK ((out_of_service_disabled IS NULL) = (out_of_service_since_millis IS NULL)
     AND (out_of_service_disabled IS NULL) = (out_of_service_status IS NULL))
) STRICT;

-- Tokens each backend used per wall-clock minute (minutes since the epoch): the quota guard's sliding window.
-- A row holds the minute's total so far and is overwritten, never added to.
CREATE TABLE token_usage (
  backend_id TEXT    NOT NULL,
  minute     INTEGER NOT NULL,
  tokens     INTEGER NOT NULL,
  PRIMARY KEY (backend_id, minute)
) STRICT, WITHOUT ROWID;

-- Pruning and reading the window go by minute across all backends.
CREATE INDEX token_usage_by_minute ON token_usage (minute);
