"""Selling intent: the features that separate selling from talking (issue #18).

An absolute term or a regulated topic is a *claim* when the text sells — a price, a call to action, a sales
verb, an offer — and a personal remark when it tells a memory, an experience or asks a question with nothing for
sale ("最好吃的一家" in a food memory vs "全网最低价 下单" in a sale). :func:`grade` re-grades those hits by
severity, which the policy turns into actions (low passes; medium and high are held):

* selling (or a verified enterprise's public text, which is promotional by nature) → at least ``medium``;
* talking (a memory, an experience, a question) and no selling → ``medium`` hits become ``low`` (``high``,
  the claims that are claims wherever they stand — 全网最低, 100% effective — keep theirs);
* neither → unchanged, but an absolute term never drops below ``medium`` (its old verdict).

All features are literal cues (one automaton pass) and a few shaped ones (one regex) over the lower-cased text in the five language forms (Simplified and Traditional
Chinese, English, Malay, code-mixed); they only run on texts that already have such a hit.
"""

from __future__ import annotations

import re

import ahocorasick_rs


def _alts(spec: str) -> list[str]:
    return [w for w in spec.split("|") if w]


# Literal cues, found by one automaton pass (a Latin cue must stand as a word: no letter on either side).
_SELL_WORDS = _alts(
    # calls to action
    "下单|下單|购买|購買|抢购|搶購|快抢|快搶|手慢无|手慢無|拍下|私我|私信我|私訊我|欢迎光临|欢迎選購|欢迎选购|欢迎咨询|"
    "欢迎諮詢|欢迎预约|欢迎預約|欢迎订购|欢迎訂購|预约|預約|报名|報名|到店|来店|嚟店|立即|马上|馬上|赶紧|趕緊|快来|快來|"
    "快啲|闭眼入|閉眼入|冲鸭|速度入|必入|"
    "order|orders|buy now|shop now|get yours|grab yours|grab it|grab now|grab one|book now|booking|tempah|tempahan|"
    "dapatkan|beli|jom beli|jom order|jom try|jom cuba|jom dapatkan|link in bio|click|klik|swipe up|register|daftar|"
    "sign up|enrol|enroll|walk-in|limited slot|limited slots|hurry|don't miss|jangan lepaskan|cepat|"
    # sales verbs and a seller's voice
    "出售|售卖|售賣|批发|批發|代购|代購|团购|團購|开团|開團|现货|現貨|包邮|包郵|补货|補貨|上新|新品|开课|開課|招生|"
    "本店|我们家|我們家|我哋|我们店|我們店|小店|本中心|本诊所|本診所|"
    "restock|restocked|selling|for sale|jual|menjual|dijual|ready stock|stockist|supplier|wholesale|borong|dropship|"
    "agent|ejen|intake|pakej|package|kedai kami|produk kami|klinik kami|pusat kami|kelas kami|"
    + "|".join(
        "our " + w
        for w in _alts(
            "shop|store|product|products|brand|clinic|centre|center|class|classes|course|courses|formula|serum|"
            "cream|tea|coffee|menu|service|services|team|salon|bakery|cafe|restaurant|stall"
        )
    )
    + "|we sell|we offer|we provide|we deliver|we ship|"
    # offers
    "优惠|優惠|折扣|打折|加送|再送|免费送|免費送|就送|赠品|贈品|特价|特價|促销|促銷|限量|限时|限時|免运|免運|早鸟|早鳥|"
    "大促|促|discount|free gift|free delivery|free shipping|free postage|free trial|voucher|coupon|diskaun|percuma|"
    "potongan|promo|promosi|promotion|sale|deal|offer|b1f1|buy 1 free 1"
)
_PRICE_WORDS = _alts("价格|價格|价钱|價錢|售价|售價|harga|price|prices|priced")
_TALK_WORDS = _alts(
    # questions
    "?|？|请问|請問|想问|想問|求推荐|求推薦|有没有人|有沒有人|有人知道|anyone know|does anyone|any recommendation|"
    "any recommendations|boleh tanya|nak tanya|ada sesiapa|should i|is it safe|"
    # memories and personal experience
    "吃过|吃過|用过|用過|喝过|喝過|去过|去過|买过|買過|试过|試過|这辈子|這輩子|小时候|小時候|记得|記得|那天|那年|"
    "回忆|回憶|见过|見過|今年最|打卡|心得|自费|自費|非广告|非廣告|没有广告|沒有廣告|"
    "i've ever|i have ever|i ever|i had|i've had|i've seen|the hard way|of my life|in years|throwback|memories|"
    "not sponsored|honest review|lesson learned|pengalaman|pernah|kenangan|masa kecil|arwah|teringat"
)
# Cues with a shape rather than a spelling (a number, a gap). Each regex's branches start with a character (a
# lookbehind comes after it), so the regex engine skips in C to the few places where one can start.
_DM_WORDS = ("dm", "pm", "whatsapp", "wa", "ws", "call", "text", "message")
_SELL_SHAPED = (
    re.compile(
        r"卖(?<!买卖)(?!家)|賣(?<!買賣)(?!家)|买.{0,6}送|買.{0,6}送|"
        r"get(?<![a-z]get) \d+ free|and(?<![a-z]and) \d+ free|"
        + "|".join(f"{w}(?<![a-z]{w})" + r"\s(?:me|us|kami|saya)(?![a-z])" for w in _DM_WORDS)
    ),
    re.compile(r"\d(?:\d*折|(?<![a-z]\d)\d*% off(?![a-z]))"),
)
_PRICE_SHAPED = (
    re.compile(r"(?:rm|myr|usd|sgd|rp|\$|¥|￥)\s?\d"),
    re.compile(r"\d\d*(?:\.\d+)?\s?(?:rm|ringgit|元|块|塊|蚊|令吉|sen)(?![a-z])"),
)
_SELL, _PRICE, _TALK, _QUESTION = 1, 2, 4, 8
_CUES = [*_SELL_WORDS, *_PRICE_WORDS, *_TALK_WORDS]
_CUE_KIND = [_SELL] * len(_SELL_WORDS) + [_PRICE] * len(_PRICE_WORDS) + [_TALK] * len(_TALK_WORDS)
_CUE_KIND[_CUES.index("?")] |= _QUESTION
_CUE_KIND[_CUES.index("？")] |= _QUESTION
_CUE_LATIN = [w[0].isascii() and w[0].isalpha() for w in _CUES]
_AC = ahocorasick_rs.AhoCorasick(_CUES, matchkind=ahocorasick_rs.MATCHKIND_STANDARD)


def _is_letter(c: str) -> bool:
    return "a" <= c <= "z"


def features(text: str) -> tuple[bool, bool]:
    """(sells, talks) for the lower-cased ``text``: one automaton pass over the literal cues, then the shaped ones
    only while they can still change the answer. Only texts with an absolute or sensitive hit
    pay for it (the engine calls it lazily)."""
    seen = 0
    n = len(text)
    for pid, s, e in _AC.find_matches_as_indexes(text, overlapping=True):
        k = _CUE_KIND[pid]
        if k & ~seen:
            if _CUE_LATIN[pid] and ((s > 0 and _is_letter(text[s - 1])) or (e < n and _is_letter(text[e]))):
                continue
            seen |= k
    if not seen & _SELL and any(rx.search(text) for rx in _SELL_SHAPED):
        seen |= _SELL
    if not seen & (_SELL | _PRICE | _QUESTION) and any(rx.search(text) for rx in _PRICE_SHAPED):
        seen |= _PRICE
    sells = bool(seen & _SELL) or (bool(seen & _PRICE) and not seen & _QUESTION)
    return sells, bool(seen & _TALK)


def selling(text: str) -> bool:
    """Whether the lower-cased ``text`` sells: a call to action, a sales verb, an offer, or a price outside a
    question."""
    return features(text)[0]


def talking(text: str) -> bool:
    """Whether the lower-cased ``text`` tells a memory or an experience, or asks a question."""
    return features(text)[1]


def gated(category: str) -> bool:
    return category == "absolute" or category.startswith("sensitive.")


def grade(category: str, severity: str, *, sells: bool, talks: bool) -> str:
    """The severity of an absolute or sensitive hit in context (see the module docstring)."""
    if sells:
        return "medium" if severity == "low" else severity
    if talks:
        return "low" if severity == "medium" else severity
    if category == "absolute" and severity == "low":
        return "medium"
    return severity
