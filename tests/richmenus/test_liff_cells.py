"""A rich menu area that opens one of Madoguchi's LIFF pages opens it as LINE opens LIFF apps."""

from __future__ import annotations

from madoguchi.channels.base import UriAction
from madoguchi.core.models import Channel
from madoguchi.richmenus.cells import cell_action

REGISTER = {"kind": "uri", "label": "登録・変更", "value": "/liff/register/"}


def test_a_liff_path_becomes_the_channels_liff_url(settings):
    settings.MADOGUCHI_PUBLIC_URL = "https://madoguchi.city.example.jp"
    action = cell_action(REGISTER, Channel(slug="main", liff_id="2000000101-midori"))
    assert action == UriAction(
        label="登録・変更", uri="https://liff.line.me/2000000101-midori/register/?channel=main"
    )
    # Without a LIFF app (or a channel), the path is a page on Madoguchi, as before.
    assert (
        cell_action(REGISTER, Channel(slug="main")).uri == "https://madoguchi.city.example.jp/liff/register/"
    )
    assert cell_action(REGISTER).uri == "https://madoguchi.city.example.jp/liff/register/"
    other = {"kind": "uri", "label": "案内", "value": "/reports/"}
    assert (
        cell_action(other, Channel(slug="main", liff_id="x")).uri
        == "https://madoguchi.city.example.jp/reports/"
    )
