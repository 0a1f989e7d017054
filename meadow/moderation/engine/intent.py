"""Selling intent: the features that separate selling from talking (issue #18).

An absolute term or a regulated topic is a *claim* when the text sells — a price, a call to action, a sales
verb, an offer — and a personal remark when it tells a memory, an experience or asks a question with nothing for
sale ("最好吃的一家" in a food memory vs "全网最低价 下单" in a sale). :func:`grade` re-grades those hits by
severity, which the policy turns into actions (low passes; medium and high are held):

* selling (or a verified enterprise's public text, which is promotional by nature) → at least ``medium``;
* talking (a memory, an experience, a question) and no selling → ``medium`` hits become ``low`` (``high``,
  the claims that are claims wherever they stand — 全网最低, 100% effective — keep theirs);
* neither → unchanged, but an absolute term never drops below ``medium`` (its old verdict).

All features are regexes over the lower-cased text in the five language forms (Simplified and Traditional
Chinese, English, Malay, code-mixed); they only run on texts that already have such a hit.
"""

from __future__ import annotations

import re

_PRICE = re.compile(
    r"(?:rm|myr|usd|sgd|rp|\$|¥|￥)\s?\d|\d+(?:\.\d+)?\s?(?:rm|ringgit|元|块|塊|蚊|令吉|sen)(?![a-z])|"
    r"价格|價格|价钱|價錢|售价|售價|harga|(?<![a-z])price(?:s|d)?(?![a-z])"
)
_SELLING = re.compile(
    # calls to action
    r"下单|下單|购买|購買|抢购|搶購|快抢|快搶|手慢无|手慢無|拍下|私我|私信我|私訊我|欢迎(?:光临|選購|选购|咨询|諮詢|预约|預約|订购|訂購)|"
    r"预约|預約|报名|報名|到店|来店|嚟店|立即|马上|馬上|赶紧|趕緊|快来|快來|快啲|闭眼入|閉眼入|冲鸭|速度入|必入|"
    r"(?<![a-z])(?:dm|pm|whatsapp|wa|ws|call|text|message)\s(?:me|us|kami|saya)(?![a-z])|"
    r"(?<![a-z])(?:order|orders|buy now|shop now|get yours|grab (?:yours|it|now|one)|book now|booking|"
    r"tempah|tempahan|dapatkan|beli|jom (?:beli|order|try|cuba|dapatkan)|link in bio|click|klik|swipe up|"
    r"register|daftar|sign up|enrol|enroll|walk-in|limited slots?|hurry|don't miss|jangan lepaskan|cepat)(?![a-z])|"
    # sales verbs and a seller's voice
    r"出售|售卖|售賣|批发|批發|代购|代購|团购|團購|开团|開團|现货|現貨|包邮|包郵|补货|補貨|上新|新品|开课|開課|招生|"
    r"本店|我们家|我們家|我哋|我们店|我們店|小店|本中心|本诊所|本診所|(?<!买)卖(?!家)|(?<!買)賣(?!家)|"
    r"(?<![a-z])(?:restock|restocked|selling|for sale|jual|menjual|dijual|ready stock|stockist|supplier|wholesale|"
    r"borong|dropship|agent|ejen|intake|pakej|package|kedai kami|produk kami|klinik kami|pusat kami|kelas kami|"
    r"our (?:shop|store|product|products|brand|clinic|centre|center|class|classes|course|courses|formula|"
    r"serum|cream|tea|coffee|menu|service|services|team|salon|bakery|cafe|restaurant|stall)|"
    r"we (?:sell|offer|provide|deliver|ship))(?![a-z])|"
    # offers
    r"优惠|優惠|折扣|打折|\d+折|买.{0,6}送|買.{0,6}送|加送|再送|免费送|免費送|就送|赠品|贈品|特价|特價|促销|促銷|限量|"
    r"限时|限時|免运|免運|早鸟|早鳥|大促|促|(?<![a-z])(?:get|and) \d+ free|(?<![a-z])(?:discount|\d+% off|free (?:gift|delivery|shipping|postage|trial)|"
    r"voucher|coupon|diskaun|percuma|potongan|promo|promosi|promotion|sale|deal|offer|b1f1|buy 1 free 1)(?![a-z])"
)
_TALKING = re.compile(
    # questions
    r"[?？]|请问|請問|想问|想問|求推荐|求推薦|有没有人|有沒有人|有人知道|"
    r"(?<![a-z])(?:anyone know|does anyone|any recommendations?|boleh tanya|nak tanya|ada sesiapa|"
    r"should i|is it safe)(?![a-z])|"
    # memories and personal experience
    r"吃过|吃過|用过|用過|喝过|喝過|去过|去過|买过|買過|试过|試過|这辈子|這輩子|小时候|小時候|记得|記得|那天|那年|"
    r"回忆|回憶|见过|見過|今年最|打卡|心得|自费|自費|非广告|非廣告|没有广告|沒有廣告|"
    r"(?<![a-z])(?:i've ever|i have ever|i ever|i had|i've had|i've seen|the hard way|of my life|in years|throwback|memories|not sponsored|"
    r"honest review|lesson learned|pengalaman|pernah|kenangan|masa kecil|arwah|teringat)(?![a-z])"
)


def selling(text: str) -> bool:
    """Whether the lower-cased ``text`` sells: a call to action, a sales verb, an offer, or a price outside a
    question."""
    if _SELLING.search(text):
        return True
    return bool(_PRICE.search(text)) and not re.search(r"[?？]", text)


def talking(text: str) -> bool:
    """Whether the lower-cased ``text`` tells a memory or an experience, or asks a question."""
    return bool(_TALKING.search(text))


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
