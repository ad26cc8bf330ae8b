"""Policy citations: 《…》 names and document numbers, resolved tolerantly; self-references dropped."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.citations import find_quoted_titles, normalize_title, policy_citations
from analysis.script import to_simplified
from test_issuers import make_policies

PLAN = {
    "policy_id": "2017-02",
    "year": 2017,
    "title": "政務信息系統整合共享實施方案",
    "document_title": "國務院辦公廳關於印發政務信息系統整合共享實施方案的通知",
    "doc_number": "國辦發〔2017〕39號",
    "text": "《國務院辦公廳關於印發政務信息系統整合共享實施方案的通知》(國辦發〔2017〕39號)包括三部分內容。",
}


def cites(rows: list[dict]) -> list[tuple[str, str, str]]:
    return [tuple(r) for r in policy_citations(make_policies(rows)).itertuples(index=False)]


def test_quoted_titles_keep_nesting_and_skip_unclosed():
    text = "印發《關於印發《甲方案》的通知》和《乙》，又《未閉合"
    assert [t for t, _, _ in find_quoted_titles(text)] == ["關於印發《甲方案》的通知", "乙"]
    s, e = find_quoted_titles(text)[1][1:]
    assert text[s:e] == "《乙》"


def test_normalize_title_ignores_quotes_de_trial_marker_width_and_script():
    assert normalize_title("“互聯網+”的 指南（試行）") == normalize_title("互联网+指南(试行)") == "互联网+指南"


def test_a_title_in_the_work_plan_resolves_to_the_plan():
    work = {"policy_id": "2017-09", "year": 2017, "title": "加快推進落實《政務信息系統整合共享實施方案》工作方案", "doc_number": "發改高技〔2017〕1529號", "text": "五部門關於印發《加快推進落實工作方案》的通知(發改高技〔2017〕1529號),包括三部分內容。"}
    assert cites([PLAN, work]) == [("2017-09", "2017-02", "政務信息系統整合共享實施方案")]


@pytest.mark.parametrize(
    "mention",
    [
        "《政务信息系统整合共享实施方案》",  # Simplified against a Traditional corpus
        "《政務信息系統整合共享實施方案(試行)》",  # a trial-edition marker
        "《國務院辦公廳關於印發政務信息系統整合共享實施方案的通知》",  # the formal title
        "《“政務信息系統整合共享”實施方案》",  # extra quotes
        "國辦發〔2017〕39號",  # the number alone
        "国办发〔2017〕39号",  # the number in Simplified
        "《關於印發政務信息系統整合共享實施方案的通知》",  # the wrapper without its issuer
    ],
)
def test_tolerant_matching(mention):
    other = {"policy_id": "2018-01", "year": 2018, "title": "另一政策", "text": f"根據{mention}要求。"}
    assert [(c, d) for c, d, _ in cites([PLAN, other])] == [("2018-01", "2017-02")]


def test_title_and_number_of_one_policy_give_one_row():
    other = {"policy_id": "2018-01", "year": 2018, "title": "另一政策", "text": "根據《政務信息系統整合共享實施方案》(國辦發〔2017〕39號)和《政務信息系統整合共享實施方案》。"}
    assert cites([PLAN, other]) == [("2018-01", "2017-02", "政務信息系統整合共享實施方案")]


def test_documents_outside_the_corpus_keep_an_empty_id_once_each():
    other = {"policy_id": "2018-01", "year": 2018, "title": "另一政策", "text": "依據《外部條例》、《外部條例》和財庫〔2017〕86號，以及《外部條例(試行)》。"}
    assert cites([PLAN, other]) == [("2018-01", "", "外部條例"), ("2018-01", "", "財庫〔2017〕86號")]


def test_a_policy_naming_itself_is_not_a_citation():
    law = {"policy_id": "2016-02", "year": 2016, "title": "中華人民共和國網絡安全法", "doc_number": "主席令第53號", "text": "主席令第五十三號公佈《中華人民共和國網絡安全法》。《網絡安全法》第三十一條規定。"}
    opinion = {"policy_id": "2015-03", "year": 2015, "title": "關於開展績效評價工作的意見", "doc_number": "發改高技〔2015〕200號", "text": "《關於開展績效評價工作的意見》(發改高技〔2015〕200號)要求。《意見》包括六個部分。"}
    # Own number right after a name whose inner title the compilation lost.
    lost_inner = {"policy_id": "2015-01", "year": 2015, "title": "促進大數據發展行動綱要", "doc_number": "國發〔2015〕50號", "text": "《國務院關於印發的通知》(國發〔2015〕50 號)的專欄。"}
    # Inner title flattened into <…>, and no number.
    flattened = {"policy_id": "2014-01", "year": 2014, "title": "2014年政府信息公開工作要點", "text": "《國務院辦公廳印發關於<2014>的通知》對工作作出部署。"}
    # A wrapper with its inner title lost names no document at all.
    empty = {"policy_id": "2018-07", "year": 2018, "title": "行動方案", "text": "《民政部關於印發的通知》中關於資源配置的要求。"}
    assert cites([PLAN, law, opinion, lost_inner, flattened, empty]) == []


def test_a_law_cited_without_the_state_name_resolves():
    law = {"policy_id": "2016-02", "year": 2016, "title": "中華人民共和國網絡安全法", "text": "公佈。"}
    other = {"policy_id": "2017-05", "year": 2017, "title": "某辦法", "text": "依照《網絡安全法》。"}
    assert cites([law, other]) == [("2017-05", "2016-02", "網絡安全法")]


def test_a_citation_in_the_title_counts():
    other = {"policy_id": "2018-01", "year": 2018, "title": "關於落實《政務信息系統整合共享實施方案》的意見", "text": "全文。"}
    assert cites([PLAN, other]) == [("2018-01", "2017-02", "政務信息系統整合共享實施方案")]


def test_simplified_corpus_gives_the_same_links():
    work = {"policy_id": "2017-09", "year": 2017, "title": "加快推進落實《政務信息系統整合共享實施方案》工作方案", "text": "五部門關於印發《加快推進落實工作方案》的通知。"}
    simplified = [{k: to_simplified(v) if isinstance(v, str) else v for k, v in r.items()} for r in (PLAN, work)]
    assert [(c, d) for c, d, _ in cites(simplified)] == [("2017-09", "2017-02")]


def test_ambiguous_names_prefer_the_latest_policy_not_after_the_citing_one():
    rows = [
        {"policy_id": "2014-01", "year": 2014, "title": "政務公開工作要點", "text": "甲。"},
        {"policy_id": "2016-01", "year": 2016, "title": "政務公開工作要點", "text": "乙。"},
        {"policy_id": "2019-01", "year": 2019, "title": "政務公開工作要點", "text": "丙。"},
        {"policy_id": "2017-01", "year": 2017, "title": "某通知", "text": "按《政務公開工作要點》。"},
    ]
    assert cites(rows) == [("2017-01", "2016-01", "政務公開工作要點")]


def test_empty_corpus_gives_an_empty_table_with_the_columns():
    out = policy_citations(make_policies([{"policy_id": "2014-01", "year": 2014, "title": "甲", "text": "無引用。"}]))
    assert out.empty and list(out.columns) == ["citing_policy_id", "cited_policy_id", "cited_title"]
    assert isinstance(out, pd.DataFrame)
