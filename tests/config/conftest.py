from collections.abc import Iterator

import pytest

from tests.config.gunicorn_server import gunicorn_server


@pytest.fixture(scope="module")
def gunicorn_port(django_db_setup, tmp_path_factory) -> Iterator[int]:
    """One real gunicorn per test module, on this test run's database (which is only set up
    when the module's tests are marked `django_db`)."""
    with gunicorn_server(tmp_path_factory.mktemp("gunicorn")) as port:
        yield port
