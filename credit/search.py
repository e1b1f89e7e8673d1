"""Substring search over Chinese names.

PostgreSQL's pg_trgm needs three characters and, in some locales, ignores CJK characters, but
Chinese users search with two (a trade name such as 鑫瑞). So the names are indexed by a GIN index
over their character unigrams and bigrams (`xy_name_grams`, created by the migrations); a query's
grams must all be among the name's, which the index answers, and a LIKE re-checks the substring.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Text, and_, func
from sqlalchemy.dialects.postgresql import ARRAY

from credit.models import Subject

GRAMS_FUNCTION = "xy_name_grams"

# The immutable SQL function behind the expression index; kept here so migrations and docs agree.
GRAMS_FUNCTION_SQL = f"""
CREATE OR REPLACE FUNCTION {GRAMS_FUNCTION}(t text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(DISTINCT g), '{{}}'::text[]) FROM (
    SELECT substr(lower(t), i, 1) AS g FROM generate_series(1, char_length(t)) AS i
    UNION
    SELECT substr(lower(t), i, 2) FROM generate_series(1, char_length(t) - 1) AS i
  ) AS grams
$$
"""  # noqa: S608  (a constant: no input reaches it)


def _like_pattern(q: str) -> str:
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def name_contains(q: str, *, dialect: str) -> ColumnElement[bool]:
    """The condition "the subject's name contains `q`", index-assisted on PostgreSQL.

    Case folding happens on one side only, the database's, so a name's own characters always find
    it: SQLite's LIKE folds ASCII letters; on PostgreSQL both sides go through `lower()`, and the
    query's grams through the same `xy_name_grams` as the index.
    """
    pattern = _like_pattern(q)
    if dialect != "postgresql":
        return Subject.name.like(pattern, escape="\\")
    grams_of_name = func.xy_name_grams(Subject.name, type_=ARRAY(Text))
    grams_of_query = func.xy_name_grams(q, type_=ARRAY(Text))
    return and_(
        grams_of_name.contains(grams_of_query),
        func.lower(Subject.name).like(func.lower(pattern), escape="\\"),
    )
