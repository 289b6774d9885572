"""Storage: ORM models, one repository per aggregate, Alembic migrations. No SQL elsewhere."""
