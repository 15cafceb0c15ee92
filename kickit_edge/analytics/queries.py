"""The analytics queries, defined once in SQL: DuckDB runs them here, and they translate to other engines.

Every query reads one relation, ``events``, with the columns of the event
record (:mod:`kickit_edge.events`; ``data`` as JSON text) plus ``day``, the
UTC day of ``time``. Times are the canonical text the writer writes
(``2026-11-22T19:20:52.123456Z``): they sort as the instants do, in any engine,
so no query converts them.

=====================  ========================================================
``user_records``       one record per app, user and platform: the AppCockpit
                       seed's first and last authentication, and the version
                       and environment of the last
``active_users``       each user's latest authentication since ``$since``
``adoption``           active users per app, platform, environment, version
``daily_adoption``     the same per day, each user under their last version
                       of that day
``users_per_verdict``  active users per app, platform, environment and the
                       verdict a snapshot gives their version (``verdicts``
                       holds that verdict per version)
``prompted_users``     who a snapshot prompted (soft) or forced (hard), when
                       first, and when first seen after on a version it no
                       longer prompts
=====================  ========================================================

"Latest" is one rule everywhere: the greatest time, then the greatest request
id, version and environment, so two authentications in the same microsecond still have one
winner whatever order the engine reads them in.

:func:`query` gives a query in DuckDB's SQL with its ``$parameters``;
:func:`translate` gives it in another dialect (sqlglot), the parameters
written in as literals, ready to paste.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, get_args

if TYPE_CHECKING:
    from sqlglot import exp

__all__ = ["QueryName", "QUERY_NAMES", "Dialect", "DIALECTS", "AUTHENTICATION", "AUTHENTICATIONS", "TIE_BREAK", "query", "translate",
           "USER_ROWS_OF_EVENTS", "USER_RECORDS",
           "LATEST_KEY", "LATEST_FIELDS"]

QueryName = Literal["user_records", "active_users", "adoption", "daily_adoption", "users_per_verdict",
                    "prompted_users"]
QUERY_NAMES: tuple[QueryName, ...] = get_args(QueryName)
Dialect = Literal["duckdb", "clickhouse", "spark", "trino"]
DIALECTS: tuple[Dialect, ...] = get_args(Dialect)

# The authentications a user record is made of: an authenticate event without
# a user, platform or version is reported by the reader and counts for no one.
AUTHENTICATION = "type = 'authenticate' AND \"user\" IS NOT NULL AND platform IS NOT NULL AND app_version IS NOT NULL"
AUTHENTICATIONS = f"""
SELECT time, app, "user" AS user_id, platform, app_version, environment, request_id
FROM events
WHERE {AUTHENTICATION}
"""

# Of several authentications (or records) at the same, latest, time, the one
# whose fields are greatest in this order is the latest.
TIE_BREAK = "ORDER BY {t}request_id DESC, {t}app_version DESC, COALESCE({t}environment, '') DESC"

# The same order as one text, so that the latest is a plain MAX in one pass (the
# embedded engine's fold of lines it read whole). It orders as the tuple (time,
# request_id, app_version, COALESCE(environment, '')) because the time has a fixed
# width and chr(1) sorts below every character of the values it separates: those
# lines hold no control character (see .bulk). The last character breaks the one
# tie the ranking leaves to chance (a null and an empty environment), for a
# deterministic result. LATEST_FIELDS takes the key apart again.
LATEST_KEY = ("time || request_id || chr(1) || app_version || chr(1) || COALESCE(environment, '') || chr(1) || "
              "CASE WHEN environment IS NULL THEN '0' ELSE '1' END")
LATEST_FIELDS = ("substr({k}, 1, 27) AS last_at, split_part(substr({k}, 28), chr(1), 1) AS request_id, "
                 "split_part({k}, chr(1), 2) AS app_version, "
                 "CASE split_part({k}, chr(1), 4) WHEN '1' THEN split_part({k}, chr(1), 3) END AS environment")

# A record is a min (first) and a max (last) with the latest's fields, so records
# fold with records as events do: the state of an incremental run is a relation
# of this shape, and folding it with new events gives what a rebuild gives.
USER_ROWS_OF_EVENTS = """
SELECT app, user_id, platform, time AS first_at, time AS last_at, request_id, app_version, environment
FROM authentications
WHERE time >= $cutoff
"""

# The latest time is found by grouping (cheap in every engine); only the rows
# at that time are ranked, to break ties.
USER_BOUNDS = """
SELECT app, user_id, platform, MIN(first_at) AS first_seen, MAX(last_at) AS last_seen
FROM user_rows
GROUP BY app, user_id, platform
"""

USER_RECORDS = f"""
SELECT app, user_id, platform, first_seen AS first_authenticated_at, last_at AS last_authenticated_at,
       app_version, environment, request_id
FROM (
    SELECT u.app, u.user_id, u.platform, b.first_seen, u.last_at, u.request_id, u.app_version, u.environment,
           ROW_NUMBER() OVER (PARTITION BY u.app, u.user_id, u.platform {TIE_BREAK.format(t="u.")}) AS rank
    FROM user_rows AS u
    JOIN user_bounds AS b
      ON u.app = b.app AND u.user_id = b.user_id AND u.platform = b.platform AND u.last_at = b.last_seen
) AS ranked
WHERE rank = 1
"""

WINDOW = """
SELECT *, SUBSTRING(time, 1, 10) AS day
FROM authentications
WHERE time >= $since AND ($app = '' OR app = $app)
"""

ACTIVE_USERS = f"""
SELECT app, user_id, platform, time, request_id, app_version, environment
FROM (
    SELECT w.*, ROW_NUMBER() OVER (PARTITION BY w.app, w.user_id, w.platform {TIE_BREAK.format(t="w.")}) AS rank
    FROM window_authentications AS w
    JOIN (SELECT app, user_id, platform, MAX(time) AS last_seen
          FROM window_authentications
          GROUP BY app, user_id, platform) AS b
      ON w.app = b.app AND w.user_id = b.user_id AND w.platform = b.platform AND w.time = b.last_seen
) AS ranked
WHERE rank = 1
"""

DAILY_USERS = f"""
SELECT day, app, user_id, platform, app_version, environment
FROM (
    SELECT w.*, ROW_NUMBER() OVER (PARTITION BY w.day, w.app, w.user_id, w.platform
                                   {TIE_BREAK.format(t="w.")}) AS rank
    FROM window_authentications AS w
    JOIN (SELECT day, app, user_id, platform, MAX(time) AS last_seen
          FROM window_authentications
          GROUP BY day, app, user_id, platform) AS b
      ON w.day = b.day AND w.app = b.app AND w.user_id = b.user_id AND w.platform = b.platform
     AND w.time = b.last_seen
) AS ranked
WHERE rank = 1
"""

ADOPTION = """
SELECT app, platform, environment, app_version, COUNT(*) AS users
FROM active_users
GROUP BY app, platform, environment, app_version
"""

DAILY_ADOPTION = """
SELECT day, app, platform, environment, app_version, COUNT(*) AS users
FROM daily_users
GROUP BY day, app, platform, environment, app_version
"""

USERS_PER_VERDICT = """
SELECT a.app, a.platform, a.environment, v.verdict, COUNT(*) AS users
FROM active_users AS a
JOIN verdicts AS v
  ON a.app = v.app AND a.platform = v.platform AND a.app_version = v.app_version
 AND COALESCE(a.environment, '') = COALESCE(v.environment, '') AND (a.environment IS NULL) = (v.environment IS NULL)
GROUP BY a.app, a.platform, a.environment, v.verdict
"""

# Judged: each authentication in the window with the verdict of its version.
PROMPTED_USERS = """
SELECT p.app, p.user_id, p.platform, p.verdict, p.prompted_at, MIN(j.time) AS converted_at
FROM (
    SELECT app, user_id, platform, verdict, time AS prompted_at
    FROM (
        SELECT *, ROW_NUMBER() OVER (PARTITION BY app, user_id, platform ORDER BY time, request_id) AS rank
        FROM judged
        WHERE verdict IN ('soft', 'hard')
    ) AS first_prompt
    WHERE rank = 1
) AS p
LEFT JOIN judged AS j
  ON j.app = p.app AND j.user_id = p.user_id AND j.platform = p.platform AND j.time > p.prompted_at
 AND j.verdict IN ('ok', 'not_found')
GROUP BY p.app, p.user_id, p.platform, p.verdict, p.prompted_at
"""

JUDGED = """
SELECT a.*, v.verdict
FROM authentications AS a
JOIN verdicts AS v
  ON a.app = v.app AND a.platform = v.platform AND a.app_version = v.app_version
 AND COALESCE(a.environment, '') = COALESCE(v.environment, '') AND (a.environment IS NULL) = (v.environment IS NULL)
WHERE a.time >= $since AND ($app = '' OR a.app = $app)
"""

# Each query: its body and the named relations (common table expressions) it builds on.
_CTES = {"authentications": AUTHENTICATIONS, "user_rows": USER_ROWS_OF_EVENTS, "user_bounds": USER_BOUNDS,
         "window_authentications": WINDOW, "active_users": ACTIVE_USERS, "daily_users": DAILY_USERS,
         "judged": JUDGED}
_QUERIES: dict[QueryName, tuple[str, tuple[str, ...]]] = {
    "user_records": (USER_RECORDS, ("authentications", "user_rows", "user_bounds")),
    "active_users": (ACTIVE_USERS, ("authentications", "window_authentications")),
    "adoption": (ADOPTION, ("authentications", "window_authentications", "active_users")),
    "daily_adoption": (DAILY_ADOPTION, ("authentications", "window_authentications", "daily_users")),
    "users_per_verdict": (USERS_PER_VERDICT, ("authentications", "window_authentications", "active_users")),
    "prompted_users": (PROMPTED_USERS, ("authentications", "judged")),
}


def query(name: QueryName, *, given: tuple[str, ...] = ()) -> str:
    """The query ``name`` in DuckDB's SQL, self-contained over ``events`` (and ``verdicts``).

    ``given`` names relations the caller already holds as tables (such as
    ``user_rows`` for an incremental fold, or ``active_users``): they are not
    built again.
    """
    body, ctes = _QUERIES[name]
    parts = [f"{cte} AS ({_CTES[cte].strip()})" for cte in ctes if cte not in given]
    head = "WITH " + ",\n".join(parts) + "\n" if parts else ""
    return head + body.strip()


def translate(name: QueryName, dialect: Dialect, parameters: dict[str, str]) -> str:
    """The query ``name`` in ``dialect``, each ``$parameter`` written in as a string literal."""
    import sqlglot  # only here: every other command runs without it, and it takes a while to import
    from sqlglot import exp

    def bind(node: exp.Expression) -> exp.Expression:
        if isinstance(node, (exp.Placeholder, exp.Parameter)):
            key = node.name
            if key not in parameters:
                raise KeyError(f"query {name} needs a value for ${key}")
            return exp.Literal.string(parameters[key])
        return node

    tree = sqlglot.parse_one(query(name), read="duckdb").transform(bind)
    return tree.sql(dialect=dialect, pretty=True)
