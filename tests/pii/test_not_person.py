"""Cues that a name-model PER word names a team, a place or an organisation (a table), and
name-free sentences the default scanner must leave unaltered."""

from __future__ import annotations

import pytest

from privacy_profile.pii import PiiScanner, ScanConfig
from privacy_profile.pii.recognizers._not_person import not_a_person, transliterated

#: (text, the PER word, the LAC words after it, model confidence, listed surname, reason)
CUES: list[tuple[str, str, tuple[str, ...], float, bool, str | None]] = [
    ("盖蒂中心是游客必去之处", "盖蒂", ("中心", "是"), 0.9, True, "head"),
    ("范登堡空军基地", "范登堡", ("空军基地",), 0.9, True, "head"),
    ("“斯托特”号导弹驱逐舰", "斯托特", ("”", "号"), 0.9, False, "head"),
    ("张伟路过这里", "张伟", ("路过", "这里"), 0.9, True, None),  # 路过 is no road
    ("张伟号召大家", "张伟", ("号召", "大家"), 0.9, True, None),
    ("驾驶员张某带走", "张某", ("带走",), 0.95, True, "withheld"),
    ("桑坦德vs毕尔巴鄂", "桑坦德", ("vs", "毕尔巴鄂"), 0.6, True, "team"),
    ("客场输给富勒姆之后", "富勒姆", ("之后",), 0.5, True, "team"),
    ("客场输给富勒姆之后", "富勒姆", ("之后",), 0.95, True, None),  # the model is sure
    ("阿格拉位于印度北部", "阿格拉", ("位于", "印度"), 0.9, False, "travel"),
    ("张伟主场观赛", "张伟", ("主场", "观赛"), 0.5, True, None),  # not transliterated
    ("温格的球队赢了", "温格", ("的", "球队"), 0.9, True, None),  # no cue next to it
    ("王总表示同意", "王总", ("表示", "同意"), 0.9, True, None),  # a person with a title
]


@pytest.mark.parametrize(("text", "word", "after", "confidence", "surname", "reason"), CUES)
def test_not_a_person_table(
    text: str,
    word: str,
    after: tuple[str, ...],
    confidence: float,
    surname: bool,
    reason: str | None,
) -> None:
    start = text.index(word)
    got = not_a_person(
        text, start, start + len(word), confidence=confidence, surname=surname, after=after
    )
    assert got == reason


@pytest.mark.parametrize(
    ("word", "surname", "expected"),
    [
        ("费耶诺德", True, True),
        ("卡卡", False, True),
        ("萨拉·凯瑞甘", False, True),  # the middle dot is ignored
        ("马丁", True, False),  # two characters with a listed surname: could be Chinese
        ("张伟", True, False),  # 张 and 伟 are not in the table
        ("欧阳娜娜", True, False),
    ],
)
def test_transliterated_shape(word: str, surname: bool, expected: bool) -> None:
    assert transliterated(word, surname=surname) is expected


#: Sentences without a person's name: the default scanner must not alter them.
NAME_FREE = [
    "质量很好，物流很快，下次还来",
    "衣服尺码偏小，建议买大一码",
    "周末去中关村买了一台电脑",
    "博尔顿主场逼平切尔西",
    "费耶诺德客场0比4输给里昂",
    "盖蒂中心是游客到洛杉矶的必去之处",
    "我们去了瓦尔扎扎特古城旅游",
    "艾尔利海滩至白日梦岛的渡轮服务",
    "民警将驾驶员张某带走调查",
    "美国海军“阿利伯克”级驱逐舰抵达",
    "范登堡空军基地发射了一枚火箭",
]


@pytest.fixture(scope="module")
def scanner() -> PiiScanner:
    return PiiScanner(ScanConfig())


@pytest.mark.parametrize("text", NAME_FREE)
def test_name_free_sentences_stay_unaltered(scanner: PiiScanner, text: str) -> None:
    assert scanner.scan_texts([text]) == [[]]


def test_names_next_to_the_cues_are_still_found(scanner: PiiScanner) -> None:
    texts = [
        "收件人王小明，地址见订单",
        "穆里尼奥在赛后表示满意",
        "请王女士到前台取件",
        "张伟路过这里",
    ]
    found = scanner.scan_texts(texts)
    got = [
        [t[f.start : f.end] for f in fs if f.entity_type == "CN_PERSON"]
        for t, fs in zip(texts, found, strict=True)
    ]
    assert got == [["王小明"], ["穆里尼奥"], ["王女士"], ["张伟"]]
