-- The edge's event records in ClickHouse: one row per line of the event files.
-- Columns as in kickit_edge/events.py; `time` is kept as the writer's canonical
-- UTC text (2026-11-22T19:20:52.123456Z), which sorts as the instant does, so
-- the queries of `kickit-edge events sql --dialect clickhouse` run unchanged.
-- `data` is the client's object as JSON text; `day` partitions by UTC day.
--
--   clickhouse-client --multiquery < deploy/clickhouse/events.sql
--   kickit-edge events sql --dialect clickhouse --query adoption --since 30d | clickhouse-client

CREATE TABLE IF NOT EXISTS events
(
    time          String,
    type          LowCardinality(String),
    app           LowCardinality(String),
    user          Nullable(String),
    platform      LowCardinality(Nullable(String)),
    app_version   LowCardinality(Nullable(String)),
    environment   LowCardinality(Nullable(String)),
    snapshot      LowCardinality(Nullable(String)),
    request_id    String,
    build_number  Nullable(String),
    os_version    Nullable(String),
    verdict       LowCardinality(Nullable(String)),
    rule          Nullable(String),
    data          Nullable(String),
    day           String MATERIALIZED substring(time, 1, 10)
)
ENGINE = MergeTree
PARTITION BY day
ORDER BY (app, type, time)
-- Retention, as the edge's --event-retention-days (365 by default).
TTL toDate(day) + INTERVAL 365 DAY;

-- The verdict a snapshot gives each version, for users_per_verdict and
-- prompted_users: fill it from `kickit-edge events impact`'s snapshot.
CREATE TABLE IF NOT EXISTS verdicts
(
    app          String,
    platform     String,
    environment  Nullable(String),
    app_version  String,
    verdict      LowCardinality(String)
)
ENGINE = MergeTree
ORDER BY (app, platform, app_version);
