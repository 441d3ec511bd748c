"""`madoguchi garbage ...`: the commands staff (or a deploy script) run."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tests.garbage.test_importers import KANAZAWA, TSU

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("garbage", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_import_search_and_calendar_from_the_command_line():
    out, _ = run("import-5374", str(KANAZAWA), "--slug-prefix", "kanazawa")
    assert out.startswith("areas 71, items created 1251")
    out, _ = run("import-sorting", str(TSU / "tsu_gomi.ja.utf8.csv"))
    assert "items created 3984" in out
    out, _ = run("search", "すぷれー缶の捨て方")
    assert "スプレー缶" in out.splitlines()[0]
    out, _ = run("calendar", "kanazawa-001", "--days", "14")
    assert "燃やすごみ" in out


def test_bad_paths_and_files_are_refused_plainly(tmp_path: Path):
    with pytest.raises(CommandError, match="no such directory"):
        run("import-5374", str(tmp_path / "nowhere"))
    with pytest.raises(CommandError, match="area_days"):
        run("import-5374", str(tmp_path))
    with pytest.raises(CommandError, match="no such file"):
        run("import-sorting", str(tmp_path / "none.csv"))
    huge = tmp_path / "huge.csv"
    huge.write_bytes(b"a" * 5_000_001)
    with pytest.raises(CommandError, match="larger than"):
        run("import-sorting", str(huge))
    bad = tmp_path / "bad.csv"
    bad.write_bytes("type,name,notice\n資源,缶,\n資源,=1+1,\n".encode())
    out, err = run("import-sorting", str(bad))
    assert "refused 1" in out and "3 行目" in err
    with pytest.raises(CommandError, match="no such area"):
        run("calendar", "nowhere")
