"""Names of the scratch databases that benchmark smoke runs make on the test server."""

from django.conf import settings


def scratch_database(suffix: str) -> str:
    """Return a database name of this test run's own: its test database's name + `suffix`.

    Derived from the test database (`test_<NAME>`, or TEST_DATABASE_NAME), so two checkouts
    testing against the same server at once never drop each other's scratch databases.
    """
    db = settings.DATABASES["default"]
    test_name = db.get("TEST", {}).get("NAME") or f"test_{db['NAME']}"
    return f"{test_name}_{suffix}"
