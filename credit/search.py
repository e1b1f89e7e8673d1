"""Substring search over Chinese names.

PostgreSQL's pg_trgm needs three characters and, in some locales, ignores CJK characters, but
Chinese users search with two (a trade name such as 鑫瑞). So each name's character unigrams and
bigrams are kept in a generated column, `subjects.name_grams` (`xy_name_grams(name)`), under a GIN
index. A name contains a one- or two-character query exactly when its grams contain the query's
(`xy_query_grams(q)`); longer queries need all their bigrams there, and a LIKE re-checks the order.

Keeping the grams in a column rather than an expression index matters: when a common bigram makes
the planner walk the primary key in order and filter, the filter reads the stored array instead of
recomputing it for every row.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Text, and_, func, literal_column
from sqlalchemy.dialects.postgresql import ARRAY

from credit.models import Subject

# The immutable SQL functions behind the column and the query; run by the migrations.
GRAMS_FUNCTIONS_SQL = (
    """
CREATE OR REPLACE FUNCTION xy_name_grams(t text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(DISTINCT g), '{}'::text[]) FROM (
    SELECT substr(lower(t), i, 1) AS g FROM generate_series(1, char_length(t)) AS i
    UNION
    SELECT substr(lower(t), i, 2) FROM generate_series(1, char_length(t) - 1) AS i
  ) AS grams
$$
""",
    """
CREATE OR REPLACE FUNCTION xy_query_grams(t text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT CASE WHEN char_length(t) < 2 THEN ARRAY[lower(t)] ELSE (
    SELECT array_agg(DISTINCT substr(lower(t), i, 2))
    FROM generate_series(1, char_length(t) - 1) AS i
  ) END
$$
""",
)
NAME_GRAMS_COLUMN_SQL = (
    "ALTER TABLE subjects ADD COLUMN name_grams text[] "
    "GENERATED ALWAYS AS (xy_name_grams(name)) STORED"
)
NAME_GRAMS_INDEX = "ix_subjects_name_grams"
NAME_GRAMS_INDEX_SQL = f"CREATE INDEX {NAME_GRAMS_INDEX} ON subjects USING gin (name_grams)"


def _like_pattern(q: str) -> str:
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def name_contains(q: str, *, dialect: str) -> ColumnElement[bool]:
    """The condition "the subject's name contains `q`", index-assisted on PostgreSQL.

    Case folding happens on one side only, the database's, so a name's own characters always find
    it: SQLite's LIKE folds ASCII letters; on PostgreSQL names and queries go through `lower()`.
    """
    pattern = _like_pattern(q)
    if dialect != "postgresql":
        return Subject.name.like(pattern, escape="\\")
    name_grams = literal_column("subjects.name_grams", type_=ARRAY(Text))
    grams = name_grams.contains(func.xy_query_grams(q, type_=ARRAY(Text)))
    if len(q) <= 2:
        # Exact for one or two characters; a redundant LIKE would only skew the row estimate.
        return grams
    return and_(grams, func.lower(Subject.name).like(func.lower(pattern), escape="\\"))
