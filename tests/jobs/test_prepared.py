"""Hot statements bound on the server, prepared unless asked not to, in Django's transaction."""

import pytest
from django.db import DatabaseError, connection, transaction

from jobs import prepared

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _postgresql_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("server-side binding is PostgreSQL's")


@pytest.mark.parametrize("prepare", [True, False])
def test_a_statement_returns_its_first_row_prepared_or_not(settings, prepare):
    settings.DATABASE_PREPARED_STATEMENTS = prepare

    assert prepared.fetchone("SELECT %(a)s::int + %(b)s::int", {"a": 2, "b": 3}) == (5,)
    assert prepared.fetchone("SELECT 1 WHERE FALSE", {}) is None


def test_a_statement_takes_part_in_the_current_transaction():
    with transaction.atomic():
        prepared.fetchone("SELECT set_config('composer.test', %(v)s, true)", {"v": "seen"})
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('composer.test', true)")
            assert cursor.fetchone() == ("seen",)


def test_errors_come_out_as_django_s():
    with pytest.raises(DatabaseError), transaction.atomic():
        prepared.fetchone("SELECT no_such_column", {})
