"""Substring search over Chinese names.

PostgreSQL's pg_trgm needs three characters and, in some locales, ignores CJK characters, but
Chinese users search with two (a trade name such as 鑫瑞). So the names are indexed by a GIN index
over their character unigrams and bigrams (`xy_name_grams`, created by the migrations); a query's
grams narrow the candidates through the index and a LIKE re-checks the exact substring.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Text, and_, bindparam, func
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


def query_grams(q: str) -> list[str]:
    """The grams every name containing `q` must have: its bigrams, or the character itself."""
    text = q.lower()
    if len(text) == 1:
        return [text]
    return sorted({text[i : i + 2] for i in range(len(text) - 1)})


def name_contains(q: str, *, dialect: str) -> ColumnElement[bool]:
    """The condition "the subject's name contains `q`", index-assisted on PostgreSQL."""
    substring = func.lower(Subject.name).contains(q.lower(), autoescape=True)
    if dialect != "postgresql":
        return substring
    grams_of_name = func.xy_name_grams(Subject.name, type_=ARRAY(Text))
    grams = bindparam("name_grams", query_grams(q), type_=ARRAY(Text))
    return and_(grams_of_name.contains(grams), substring)
