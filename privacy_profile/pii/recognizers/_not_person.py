"""Cues that a word the name model tagged ``PER`` names a team, a place or an organisation.

LAC reads transliterated words as foreign person names; on CLUENER train (the tuning split)
most of its person findings in sentences without a labelled name were football clubs
(费耶诺德, 桑坦德), foreign places (瓦尔扎扎特, 艾尔利海滩) and organisations named after a
person (盖蒂中心, 范登堡空军基地). :func:`not_a_person` gives the reason a ``PER`` word is
taken for something else, or None. Each rule was kept only when it removed several times more
wrong findings than true names on CLUENER train (counts in docs/pii.md):

* ``head``: the next LAC word (a closing quote skipped) is a place or organisation head
  (中心, 基地, 公园, 俱乐部, 集团...; a one-character head such as 路, 山, 号 only as a whole
  word: 张伟路过 keeps its name) or a ship class (“斯托特”号): the phrase names the place or
  thing, not the person.
* ``withheld``: a surname followed by 某 (张某, "a certain Zhang"): the text already withholds
  the name (CLUENER never labels these as names).
* ``team``: a transliteration-shaped word next to (within :data:`CUE_WINDOW` characters) a
  match or betting cue (vs, 主场, 战胜, 3比1...), unless the model is sure (confidence at
  least :data:`TEAM_CONFIDENCE`): clubs, not players.
* ``travel``: a transliteration-shaped word next to a travel cue (岛, 海滩, 度假, 景点...).

"Transliteration-shaped": every character is one of the characters of the standard tables
for transliterating foreign names (:data:`TRANSLIT`), and the word has three or more
characters or does not start with a listed surname. Chinese names seldom qualify (张, 王, 李,
刘, 陈... are not in the table).
"""

from __future__ import annotations

import re

__all__ = ["CUE_WINDOW", "TEAM_CONFIDENCE", "TRANSLIT", "not_a_person", "transliterated"]

#: Characters of the usual tables for transliterating foreign names into Chinese.
TRANSLIT = frozenset(
    "阿埃艾爱安昂奥巴拜班邦保贝本比彼宾波博布采查达戴丹道德迪蒂丁杜多厄恩尔法范菲费芬丰弗福"
    "富盖甘戈格古瓜哈海汉豪赫亨胡华霍基吉加贾杰捷金卡凯坎康考柯科克肯库夸奎拉莱兰朗劳勒雷蕾"
    "里利莉丽连列林琳隆卢鲁路伦罗洛马玛迈麦曼梅门蒙米密明莫墨姆穆纳娜奈南内尼妮涅宁纽努诺欧"
    "帕潘佩彭皮普奇齐乔切琴丘萨塞桑瑟森沙莎尚舍圣施什斯松苏索塔泰坦汤唐特提图托瓦万旺威韦维"
    "温沃乌伍西希谢辛休雅亚扬耶伊因尤约扎詹泽佐芙黛茜丝赛瑞鲍鄂腊斐廉"
)
#: Characters on each side of a word searched for a team or travel cue.
CUE_WINDOW = 6
#: At or above this model confidence a word next to a match cue stays a name (a player).
TEAM_CONFIDENCE = 0.8

_TEAM_CUE = re.compile(
    r"(?i)vs|对阵|战胜|击败|逼平|战平|输给|负于|不敌|主场|客场|主队|客队|保级|主胜|客胜|盘口"
    r"|让球|[0-9]比[0-9]|[0-9]-[0-9]|客战|主战|做客|坐镇|迎战|交手|对手|联赛|排名"
)
_TRAVEL_CUE = re.compile(
    "岛|海滩|度假|景点|旅游|游客|旅行|位于|古城|小镇|公园|峡谷|风光|潜水|游览|酒店"
)
#: Heads of place and organisation names. A LAC word right after the ``PER`` word (a closing
#: quote skipped) that starts with one of two or more characters, or IS one of one character
#: (so 路过, 号召, 山上 after a name are no heads).
_HEADS = (
    "中心 公司 集团 基地 球场 公园 大学 学院 医院 酒店 银行 俱乐部 小镇 别墅 庄园 广场 大厦 博物馆"
    " 美术馆 研究所 研究院 基金会 信托 国际 艺术村 峡谷 机场 车站 家族 王朝 系列 影业 娱乐 传媒"
    " 科技 乐园 体育场 剧院 酒庄 花园 大道 空军 海军 陆军 部队 舰队"
    " 队 镇 村 山 河 湖 岛 港 寺 街 路 号 级"
).split()
_HEAD = re.compile("|".join(h for h in _HEADS if len(h) >= 2))
_HEAD_ONE = frozenset(h for h in _HEADS if len(h) == 1)
_QUOTE = frozenset('”"’」』')
_WITHHELD = re.compile("[\u4e00-\u9fff]{1,2}某$")


def transliterated(word: str, *, surname: bool) -> bool:
    """Every character from :data:`TRANSLIT` (``·`` ignored), and three or more characters
    or no listed surname at the start (``surname``)."""
    core = word.replace("·", "").replace("•", "")
    if len(core) < 2 or any(c not in TRANSLIT for c in core):
        return False
    return len(core) >= 3 or not surname


def not_a_person(
    text: str, start: int, end: int, *, confidence: float, surname: bool, after: tuple[str, ...]
) -> str | None:
    """Why the ``PER`` word ``text[start:end]`` names something else (see the module
    docstring), or None. ``after``: the next LAC words (two are enough)."""
    nxt = after[1] if len(after) > 1 and after[0] in _QUOTE else (after[0] if after else "")
    if nxt in _HEAD_ONE or _HEAD.match(nxt):
        return "head"
    if _WITHHELD.fullmatch(text, start, end):
        return "withheld"
    if not transliterated(text[start:end], surname=surname):
        return None
    window = text[max(0, start - CUE_WINDOW) : end + CUE_WINDOW]
    if confidence < TEAM_CONFIDENCE and _TEAM_CUE.search(window):
        return "team"
    if _TRAVEL_CUE.search(window):
        return "travel"
    return None
