"""Each recognizer against a (text, expected spans) table.

Rows cover valid values, bad checksums, near misses, full-width digits, separators and
Chinese text on both sides. Expected spans are the matched substrings (found by search).
"""

from __future__ import annotations

import pytest

from privacy_profile.pii.recognizers import NAME_MODELS, RECOGNIZERS


def spans(entity: str, text: str) -> list[str]:
    rec = RECOGNIZERS[entity]("zh" if "zh" in RECOGNIZERS[entity].LANGUAGES else "en")
    return sorted(text[r.start : r.end] for r in rec.analyze(text, []) if r.score >= 0.5)


TABLES: dict[str, list[tuple[str, list[str]]]] = {
    "CN_MOBILE": [
        ("13812345678", ["13812345678"]),  # valid
        ("请联系13812345678谢谢", ["13812345678"]),  # Chinese on both sides
        ("电话138-1234-5678。", ["138-1234-5678"]),  # dashes
        ("电话 138 1234 5678", ["138 1234 5678"]),  # spaces
        ("+86 13812345678", ["+86 13812345678"]),  # the country code stays in the span
        ("0086-13812345678", ["0086-13812345678"]),
        ("手机(+86)138 1234 5678", ["(+86)138 1234 5678"]),
        ("QQ号13812345678", ["13812345678"]),  # mobile shape wins over the QQ context
        ("手机１３８１２３４５６７８", ["１３８１２３４５６７８"]),  # full-width digits
        ("12012345678", []),  # not a mobile prefix (bad "checksum")
        ("1381234567", []),  # near miss: 10 digits
        ("订单号2138123456789", []),  # near miss: inside a longer number
        ("均价1523.13812345678元", []),  # near miss: the fraction of a decimal number
        ("Tel.13812345678", ["13812345678"]),  # a dot alone does not hide a number
    ],
    "CN_LANDLINE": [
        ("电话010-62345678", ["010-62345678"]),
        ("座机(0571)88886666转", ["(0571)88886666"]),
        ("致电0755 2345 6789吧", ["0755 2345 6789"]),
        ("电话０２１－６２３４５６７８", ["０２１－６２３４５６７８"]),
        ("010-12345678", []),  # local numbers never start with 1
        ("编号01062345678", []),  # bare digits without a context word
        ("电话01062345678", ["01062345678"]),  # bare digits with one
        ("座机(0571)88886666转123", ["(0571)88886666转123"]),  # extension
        ("电话0755-2345-6789 ext 12", ["0755-2345-6789 ext 12"]),
        ("客服热线400-820-8820", ["400-820-8820"]),  # service numbers
        ("800 820 8820", ["800 820 8820"]),
        ("电话：8888 6666", ["8888 6666"]),  # no area code, context word
        ("共计8888 6666元", []),  # ...and without one
        ("+86-755-2345-6789", ["+86-755-2345-6789"]),  # country code in the span
    ],
    "CN_RESIDENT_ID": [
        ("11010519491231002X", ["11010519491231002X"]),
        ("身份证11010519491231002x号", ["11010519491231002x"]),
        ("证件１１０１０５１９４９１２３１００２Ｘ。", ["１１０１０５１９４９１２３１００２Ｘ"]),
        ("110105 19491231 002X", ["110105 19491231 002X"]),  # separators
        ("110105194912310021", []),  # bad check character
        ("110105194913310028", []),  # month 13
        ("990105194912310021", []),  # no such province
        ("身份证110105491231002", ["110105491231002"]),  # 15-digit legacy with context
        ("编号110105491231002", []),  # 15 digits without context
    ],
    "BANK_CARD": [
        ("6222020200112345679", ["6222020200112345679"]),  # ICBC 19, Luhn ok
        ("卡号6222 0202 0011 2345 679收", ["6222 0202 0011 2345 679"]),
        ("６２２２０２０２００１１２３４５６７９", ["６２２２０２０２００１１２３４５６７９"]),
        ("6222020200112345670", []),  # bad Luhn
        ("0.6222020200112345679", []),  # near miss: the fraction of a decimal number
        ("订单9876543210123452", []),  # Luhn-valid order number, unknown BIN
        ("卡号9876543210123452", ["9876543210123452"]),  # unknown BIN, but a context word
        ("620102199001010257", []),  # a Luhn-valid Gansu resident ID, not a card
        ("银行卡620102199001010257", ["620102199001010257"]),  # ...unless card context
    ],
    "EMAIL_ADDRESS": [
        ("zhang.san@qq.com", ["zhang.san@qq.com"]),
        ("邮箱zhang_san99@163.com谢谢", ["zhang_san99@163.com"]),
        ("邮箱zhang＠163.com", ["zhang＠163.com"]),  # full-width @
        ("mail me: a.b-c@mail.example.co.uk.", ["a.b-c@mail.example.co.uk"]),
        ("zhang..san@qq.com", []),
        ("zhang@qq", []),  # no TLD
        ("@someone 你好", []),
        ("邮箱zhang@qq.comTel13812345678", ["zhang@qq.com"]),  # ends at the address
        ("mail a@b.comthanks", ["a@b.com"]),
        ("a@b.com.cn", ["a@b.com.cn"]),
    ],
    "PHONE_NUMBER": [
        ("香港电话+852 9123 4567谢谢", ["+852 9123 4567"]),
        ("+853 6612 3456", ["+853 6612 3456"]),
        ("台湾手机+886 912 345 678", ["+886 912 345 678"]),
        ("+886-2-2345-6789", ["+886-2-2345-6789"]),
        ("新加坡+65 9123 4567", ["+65 9123 4567"]),
        ("+60 12-345 6789", ["+60 12-345 6789"]),
        ("电话(852) 2345 6789", ["(852) 2345 6789"]),
        ("0085291234567", ["0085291234567"]),
        ("+852 1234", []),  # too short for Hong Kong
        ("电话+65 8610 1302 2007年", ["+65 8610 1302"]),  # cut back to a valid length
        ("热线(852) 6953 7805两队", ["(852) 6953 7805"]),
        ("价格+65元", []),
        ("+86 13812345678", []),  # mainland: CN_MOBILE
    ],
    "QQ_NUMBER": [
        ("QQ号：12345678", ["12345678"]),
        ("加我qq 987654321谢谢", ["987654321"]),
        ("扣扣１２３４５６７８", ["１２３４５６７８"]),
        ("订单12345678", []),  # no context
        ("qq 0123456", []),  # leading zero
        ("QQ号13812345678", []),  # a mobile number's shape: CN_MOBILE, not QQ
    ],
    "WECHAT_ID": [
        ("微信号：zhang_san88", ["zhang_san88"]),
        ("加vx Abc-12345 谢谢", ["Abc-12345"]),
        ("wxid_abc123def456", ["wxid_abc123def456"]),
        ("微信 thanks", []),  # a plain word
        ("my id zhang_san88", []),  # no context
        ("微信ab1", []),  # too short
    ],
    "WECHAT_OPENID": [
        ("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", ["oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"]),
        ("openid=o6_bmjrPTlm6_2sgVt7hMZOPfL2M", ["o6_bmjrPTlm6_2sgVt7hMZOPfL2M"]),
        ("用户oUpF8uMuAJO_M2pxb1Q9zNjWeS6o下单", ["oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"]),
        ("oooooooooooooooooooooooooooo", []),  # not random-looking
        ("oUpF8uMuAJO_M2pxb1Q9zNjWeS6", []),  # 27 characters
    ],
    "WECHAT_UNIONID": [
        ("unionid: o6_bmasdasdsad6_2sgVt7hMZOPf", ["o6_bmasdasdsad6_2sgVt7hMZOPf"]),
        ("o6_bmasdasdsad6_2sgVt7hMZOPf", []),  # no context: an openid, not a unionid
    ],
    "IP_ADDRESS": [
        ("登录IP 192.168.10.1", ["192.168.10.1"]),
        ("来自10.0.0.254的请求", ["10.0.0.254"]),
        ("2001:db8::8a2e:370:7334", ["2001:db8::8a2e:370:7334"]),
        ("256.1.1.1", []),
        ("版本1.2.3.4.5", []),
        ("12:30:45", []),  # a time, not IPv6
    ],
    "CN_LICENSE_PLATE": [
        ("车牌京A12345", ["京A12345"]),
        ("粤B·D12345停在门口", ["粤B·D12345"]),  # new energy, separator
        ("京I12345", []),  # no I on plates
        ("京A1234", []),  # too short
    ],
    "PASSPORT": [
        ("护照E12345678", ["E12345678"]),
        ("passport EA1234567", ["EA1234567"]),
        ("护照号G12345678", ["G12345678"]),
        ("型号G12345678", []),  # older series needs context
        ("E1234567", []),  # too short
    ],
    "CN_PERSON": [
        ("收件人王小明，电话", ["王小明"]),
        ("李先生您好", ["李先生"]),  # jieba tags the form of address as nr
        ("连衣裙很好看", []),
        ("谢谢老板", []),
        ("我叫张伟，电话13812345678", ["张伟"]),  # context word before
        ("联系人：刘德明", ["刘德明"]),
        ("请王女士到前台取件", ["王女士"]),  # bare surname + form of address
        ("质量很好，高兴", []),  # surname character inside ordinary words
        ("方便快捷，安全可靠", []),
        ("温格的球队赢了", ["温格"]),  # transliterated name: the model finds it
        ("订单110105 19491231 002X", []),  # the model's PER on a code is dropped
        ("收货人：欧阳娜娜", ["欧阳娜娜"]),  # compound surname
        ("穆里尼奥在赛后表示", ["穆里尼奥"]),  # a coach: the model is sure, no match cue
        # not persons (recognizers/_not_person.py): a club next to a match cue, an
        # organisation or place named after a person, a withheld name, a ship class, a
        # foreign place next to a travel cue
        ("客场3比1强取费耶诺德，有联盟杯往届冠军风范", []),
        ("盖蒂中心是游客到洛杉矶的必去之处", []),
        ("加利福尼亚州范登堡空军基地", []),
        ("民警将驾驶员张某带走", []),
        ("美国海军“阿利伯克”级驱逐舰", []),
        ("我们去了瓦尔扎扎特古城旅游", []),
    ],
    "CN_PLACE": [
        ("北京很美", ["北京"]),
        ("他去了台湾和日本", ["台湾", "日本"]),
        ("质量很好，物流很快", []),
    ],
    "CN_ADDRESS": [
        ("送到北京市朝阳区建国路88号3单元501室谢谢", ["北京市朝阳区建国路88号3单元501室"]),
        ("费耶诺德客场0比4输给里昂", []),  # a road name is Han only (比4输给里 is none)
        ("地址：浙江省杭州市西湖区文三路１２号", ["浙江省杭州市西湖区文三路１２号"]),
        ("阳光花园5栋", ["阳光花园5栋"]),
        ("北京很美", []),  # a bare city name without context
        ("质量很好", []),
    ],
}

CASES = [(e, t, exp) for e, rows in TABLES.items() for t, exp in rows]

#: The surname model (``names: surname``), which needs no extra.
SURNAME_TABLE: list[tuple[str, list[str]]] = [
    ("收件人王小明，电话", ["王小明"]),
    ("李先生您好", ["李先生"]),  # jieba tags the form of address as nr
    ("连衣裙很好看", []),
    ("谢谢老板", []),
    ("我叫张伟，电话13812345678", ["张伟"]),  # context word before
    ("联系人：刘德明", ["刘德明"]),
    ("请王女士到前台取件", ["王女士"]),  # bare surname + form of address
    ("质量很好，高兴", []),  # surname character inside ordinary words
    ("方便快捷，安全可靠", []),
    ("温格的球队赢了", []),  # transliterated name: no listed surname (a known miss)
]

#: Addresses with the name model's place tags (the scanner's default, ``names: lac``).
ADDRESS_MODEL_TABLE: list[tuple[str, list[str]]] = [
    ("四川省", []),  # a lone province (its 四 is no house number): a released persona value
    ("黑龙江省", []),
    ("送到北京市朝阳区建国路88号3单元501室谢谢", ["北京市朝阳区建国路88号3单元501室"]),
    (
        "收货地址：广东省深圳市南山区科技园南路18号海岸城3栋1201室，张伟收",
        ["广东省深圳市南山区科技园南路18号海岸城3栋1201室"],
    ),
    (
        "我家住在上海市浦东新区张江镇碧波路690号5号楼302",
        ["上海市浦东新区张江镇碧波路690号5号楼302"],
    ),
    ("寄到杭州西湖区文三路90号", ["杭州西湖区文三路90号"]),
    ("北京很美", []),  # a bare place: CN_PLACE, not an address
    ("去北京5天", []),  # a number after a place is not a house number
    # two place words chain into an address-level span; the road name does not eat the
    # phone number before it (a road name starts with a Han character)
    ("英国德比市环800 656 5907城公路", ["英国德比市"]),
    ("质量很好", []),
]


@pytest.mark.parametrize(("text", "expected"), SURNAME_TABLE)
def test_surname_model_table(text: str, expected: list[str]) -> None:
    rec = NAME_MODELS["surname"]("zh")
    found = sorted(text[r.start : r.end] for r in rec.analyze(text, []) if r.score >= 0.5)
    assert found == sorted(expected)


@pytest.mark.parametrize(("text", "expected"), ADDRESS_MODEL_TABLE)
def test_address_with_model_table(text: str, expected: list[str]) -> None:
    from privacy_profile.pii.lac import LacTagger

    rec = RECOGNIZERS["CN_ADDRESS"]("zh", tagger=LacTagger())  # type: ignore[call-arg]
    found = sorted(text[r.start : r.end] for r in rec.analyze(text, []) if r.score >= 0.5)
    assert found == sorted(expected)


@pytest.mark.parametrize(
    ("entity", "text", "expected"), CASES, ids=[f"{e}:{t}" for e, t, _ in CASES]
)
def test_recognizer_table(entity: str, text: str, expected: list[str]) -> None:
    assert spans(entity, text) == sorted(expected)


def test_every_offline_recognizer_has_a_table() -> None:
    assert set(RECOGNIZERS) - {"PERSON"} == set(TABLES)
