from __future__ import annotations

import pytest

from tests.reports.conftest import categories  # noqa: F401  (the demo city's categories)


@pytest.fixture(autouse=True)
def committed(transactional_db: None) -> None:
    """The live server reads what the test wrote: committed rows, not a rolled-back transaction."""
