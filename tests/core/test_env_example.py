"""Every setting Madoguchi reads from the environment is listed in .env.example."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_is_listed_in_env_example():
    read = set(re.findall(r'"(MADOGUCHI_[A-Z0-9_]+)"', (ROOT / "madoguchi" / "settings.py").read_text()))
    listed = set(re.findall(r"^(MADOGUCHI_[A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    assert read - listed == set()
