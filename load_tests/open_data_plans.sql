-- Query plans of the open data reads on PostgreSQL (run against a seeded database):
--   psql "$XINYONG_DATABASE_URL" -f load_tests/open_data_plans.sql
-- The statements are the ones credit/service.py issues (see the server's SQL with echo=True).
\set ON_ERROR_STOP on
SELECT uscc AS code FROM subjects WHERE uscc IS NOT NULL ORDER BY id DESC LIMIT 1 \gset
\echo '== entity by USCC'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT * FROM subjects
WHERE uscc = :'code'
  AND kind IN ('enterprise', 'public_institution', 'social_organization', 'government_agency',
               'individual_business');

\echo '== search, a common two-character substring (丝绸)'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT * FROM subjects
WHERE kind IN ('enterprise', 'public_institution', 'social_organization', 'government_agency',
               'individual_business')
  AND name_grams @> xy_query_grams('丝绸')
ORDER BY id LIMIT 21;

\echo '== search, a rare two-character substring (瑞德)'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT * FROM subjects
WHERE kind IN ('enterprise', 'public_institution', 'social_organization', 'government_agency',
               'individual_business')
  AND name_grams @> xy_query_grams('瑞德')
ORDER BY id LIMIT 21;

\echo '== search, four characters (周村丝绸): bigrams, then LIKE re-checks the order'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT * FROM subjects
WHERE kind IN ('enterprise', 'public_institution', 'social_organization', 'government_agency',
               'individual_business')
  AND name_grams @> xy_query_grams('周村丝绸')
  AND lower(name) LIKE lower('%周村丝绸%')
ORDER BY id LIMIT 21;
