"""The issuer registry: aliases in either script, internal units, number prefixes, user files."""

from __future__ import annotations

import pytest

from analysis.errors import InputError
from analysis.registry import load_registry, parse_registry


@pytest.fixture(scope="module")
def registry():
    return load_registry()


@pytest.mark.parametrize(
    "name,canonical",
    [
        ("國家發展改革委", "國家發展改革委"),
        ("國家發展和改革委員會", "國家發展改革委"),
        ("发改委", "國家發展改革委"),
        ("中央網絡安全和信息化領導小組辦公室", "中央網信辦"),
        ("中央网信办", "中央網信辦"),
        ("中共中央", "中共中央"),
        ("中共中央辦公廳", "中共中央辦公廳"),  # a different body from 中共中央
        ("国务院办公厅", "國務院辦公廳"),
        ("工業和信息化部信息化推進司", "工業和信息化部"),  # an internal unit resolves to its body
        ("全國人民代表大會常務委員會", "全國人大常委會"),
    ],
)
def test_names_resolve_to_one_canonical_body(registry, name, canonical):
    assert registry.resolve(name) == canonical


@pytest.mark.parametrize("name", ["中華人民共和國", "某某省大數據局", "", "國務院辦公廳牽頭落實"])
def test_unknown_names_do_not_resolve(registry, name):
    assert registry.resolve(name) is None


@pytest.mark.parametrize(
    "prefix,body",
    [
        ("國發", "國務院"),
        ("國辦發", "國務院辦公廳"),
        ("国办函", "國務院辦公廳"),
        ("發改高技", "國家發展改革委"),
        ("发改办高技", "國家發展改革委"),
        ("財庫", "財政部"),
        ("中網辦發文", "中央網信辦"),
        ("工信信函", "工業和信息化部"),
        ("工信部聯規", "工業和信息化部"),
        ("主席令", "全國人大常委會"),
        ("國令", "國務院"),
        ("國務院令", "國務院"),
        ("中辦發", "中共中央辦公廳"),
        ("中發", "中共中央"),
    ],
)
def test_prefixes_map_to_bodies(registry, prefix, body):
    assert registry.issuer_for_prefix(prefix) == body


def test_local_prefixes_are_unknown(registry):
    assert registry.issuer_for_prefix("京政發") is None


def test_levels_and_english_names(registry):
    assert registry.level("中共中央辦公廳") == "黨中央"
    assert registry.level("国务院") == "國務院"
    assert registry.level("財政部") == "國務院部門"
    assert registry.english("国家发展改革委") == "National Development and Reform Commission"
    assert registry.level("nobody") == "" and registry.english("nobody") == ""


def test_every_row_has_a_level_and_english_name(registry):
    for issuer in registry.issuers:
        assert issuer.level and issuer.english, issuer.canonical


def test_user_registry_extends_and_errors_name_the_line(tmp_path):
    reg = parse_registry("# mine\ncanonical,level,english,aliases,prefixes\n北京市人民政府,地方,Beijing,北京市政府,京政發|京政辦發\n")
    assert reg.issuer_for_prefix("京政辦發") == "北京市人民政府" and reg.resolve("北京市政府") == "北京市人民政府"
    bad = tmp_path / "bad.csv"
    bad.write_text("canonical,level,english,aliases,prefixes\n,x,y,,\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_registry(bad)
    assert str(err.value).startswith(f"{bad}:2:")
    with pytest.raises(InputError, match="header"):
        parse_registry("name,level\nA,B\n", "r.csv")


def test_find_names_prefers_the_longest_name(registry):
    text = "由第十三届全国人民代表大会常务委员会第三十次会议通过，国务院办公厅、財政部印发"
    assert registry.find_names(text) == ["全國人大常委會", "國務院辦公廳", "財政部"]
