"""What a question asks for: the kind of answer (a date, a phone number, an amount, the
materials), the keyword tokens a sentence's coverage counts, and which sentences only frame a
policy (its purpose clause, its 文号 line) rather than answer about it."""

from __future__ import annotations

import re
from typing import NamedTuple

from index_store.keyword import tokenize

_MONTHS = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?"
_DATE = r"\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日"
_ISSUER = (
    r"[\u4e00-\u9fff（）()]{2,40}"
    r"(?:人民政府|办公室|办公厅|委员会|指挥部|领导小组|局|厅|委|部|署|中心)"
)
# A notice's signature after its last clause: the issuing body alone on its line, the date alone
# ("示例市人民政府", "2026年3月20日"), or both on one line with the publication note, as a page
# copied whole has them ("三明市人民政府 2020年2月4日 （此件主动公开）").
SIGNATURE = re.compile(
    rf"^\s*(?:{_DATE}|{_ISSUER}(?:\s*{_DATE})?)\s*(?:[（(]此件[^）)]{{0,10}}[）)])?\s*$"
)
# (what the question asks, what a sentence that answers it holds)
_TYPES: tuple[tuple[re.Pattern[str], re.Pattern[str]], ...] = (
    (
        re.compile(
            r"何时|什么时[候间]|哪一?天|几月|几号|截止|期限"
            r"|\b(?:when|what date|deadline|by what)\b",
            re.I,
        ),
        re.compile(
            rf"\d{{1,2}}[月日]|\d{{4}}年|\d{{4}}-\d{{1,2}}-\d{{1,2}}|\d{{1,2}}:\d{{2}}"
            rf"|\b{_MONTHS} \d{{1,2}}\b|\b\d{{1,2}} {_MONTHS}"
            # A time limit answers "when" as a date does: "受理后15个工作日内", "within 5 days".
            r"|\d+个?(?:工作日|自然日|日|天|周|月|年)(?:内|以内|之内)"
            # So does a term's length: "贴息期限不超过1年", "有效期3年", "为期3个月".
            r"|期限?(?:为|不超过|最长)?\d+个?(?:工作日|自然日|日|天|周|月|年)"
            r"|\bwithin \d+ (?:business |working |calendar )?(?:hours?|days?|weeks?|months?)\b",
            re.I,
        ),
    ),
    (re.compile(r"电话|热线|号码|\b(?:phone|hotline|call)\b", re.I), re.compile(r"\d[\d-]{3,}\d")),
    # How many copies ("需要交几份材料？"): a count of copies (一式两份), not any number.
    (re.compile(r"几份|多少份"), re.compile(r"[\d一二两三四五六七八九十]+份")),
    (
        re.compile(r"网站|网址|网页|链接|\b(?:website|url|link)\b", re.I),
        re.compile(r"https?://|www\.|\.(?:com|cn|org|gov|net)\b"),
    ),
    (re.compile(r"邮箱|邮件|\be-?mail\b", re.I), re.compile(r"[\w.+-]+@[\w-]+\.\w")),
    (
        # "申报需要哪些材料？" is answered by the list of materials, whatever verb it uses.
        re.compile(
            r"(?:需要|要|应当?|须)?(?:提交|提供|准备|携带|递交|交)?(?:哪些|什么|何种)(?:申请|申报)?材料"
            r"|\bwhat documents\b",
            re.I,
        ),
        re.compile(r"材料|申请表|复印件|证明|凭证|证书|执照|\b(?:documents?|receipts?)\b", re.I),
    ),
    (
        # "怎么申请？" asks for the procedure: where and how an application is made, not the
        # conditions under a heading that also says 申请.
        re.compile(
            r"(?:怎么|如何|怎样|咋)(?:样)?(?:申请|申报|办理|提交|领取)|(?:申请|申报|办理)(?:流程|程序|方式|途径)"
            r"|\bhow (?:do|can|to) (?:i |we |you )?(?:apply|claim|submit|request)\b",
            re.I,
        ),
        re.compile(
            r"向[^，。；]{1,30}(?:提出|提交|申请|申报|报送)|通过[^，。；]{1,30}(?:提交|申请|申报|办理|报送)"
            r"|登录|到[^，。；]{1,20}办理|在线|网上|窗口|受理"
            r"|\b(?:submit|contact|send|online|portal|form|through)\b",
            re.I,
        ),
    ),
    (
        # A ratio is written as a percentage or a share: "返还比例多少？" is answered by
        # "60%予以返还".
        re.compile(r"比例|比率|百分比|几成|\bwhat (?:percentage|share|proportion)\b", re.I),
        re.compile(r"\d%|百分之|[一二三四五六七八九]成|\d ?percent\b|\bhalf\b", re.I),
    ),
    (
        # How long asks for a length of time ("三个月", "15个工作日", "1年"), not any number: a
        # year or a date ("2020年", "3月15日") holds a number too.
        re.compile(r"多久|多长时间|多长|几个?(?:工作日|天|年|月|星期|周|小时)|\bhow long\b", re.I),
        re.compile(
            r"(?<![\d.月])(?:\d{1,3}|[一二两三四五六七八九十半]+)"
            r"(?:个(?:工作日|自然日|月|星期|小时)|工作日|自然日|天|周|年|小时|日(?=内|以内|之内))"
            r"|(?:有效期|执行期|期限)(?:为|至|到)"
            r"|\b(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|twelve|thirty)[ -]"
            r"(?:business |working |calendar )?(?:hours?|days?|weeks?|months?|years?)\b",
            re.I,
        ),
    ),
    (
        # Which body does it, or which to turn to: "纾困措施由哪个部门解释？" is answered by
        # "本措施由市工业和信息化局负责解释", which writes no 部门. (由谁 and 向谁 ask for people
        # as often: "由谁发起？向谁申请？" was answered by any passage naming a 局.)
        re.compile(
            r"(?:哪个|哪些|什么|哪家|何)(?:部门|单位|机构|机关)"
            r"|\bwhich (?:department|agency|authority|office)\b|\bwho is responsible\b",
            re.I,
        ),
        re.compile(
            r"(?<![格布结当])局|(?<![大餐客])厅|委员会|办公室|人民政府|管委会|(?:服务|管理|指挥)中心"
            r"|领导小组|(?<![内全外局])部(?=负责|会同|牵头|受理|审核|解释|[，。；、和及])"
            r"|(?<!有关)(?<!相关)(?<!主管)(?<!职能)(?<!各)部门(?!的)"
            r"|\b(?:department|agency|authority|office|bureau|ministry|commission)\b",
            re.I,
        ),
    ),
    (
        re.compile(r"多少|几[个项条天年月次人家]|\bhow (?:much|many)\b", re.I),
        re.compile(r"\d|[一二两三四五六七八九十百千万亿]+[个项条天年月次人家元%倍]"),
    ),
)


class AnswerType(NamedTuple):
    """A kind of answer: the words that ask for it, what a sentence that gives it holds, and,
    when they are more than ``asks`` finds, all the words of the question it answers;
    ``headed``: a heading above a sentence that gives it, when the sentence itself need not
    say so (the clause under 一、支持对象 names who may apply, in none of the question's words)."""

    asks: re.Pattern[str]
    holds: re.Pattern[str]
    words: re.Pattern[str] | None = None
    headed: re.Pattern[str] | None = None

    def given_by(self, sentence: str, heading_path: tuple[str, ...]) -> bool:
        """Whether ``sentence``, under ``heading_path`` (its document title first), gives it."""
        return bool(self.holds.search(sentence)) or self._heads(heading_path[1:])

    def headed_in(self, text: str, heading_path: tuple[str, ...]) -> bool:
        """Whether a passage's ``text`` or headings hold a heading of it."""
        return self._heads((text, *heading_path[1:]))

    def _heads(self, texts: tuple[str, ...]) -> bool:
        headed = self.headed
        return headed is not None and any(headed.search(t) for t in texts)


# Who issued a policy, or when: its signature answers, though it writes none of 发布, 日期 or
# 单位 (and a date in its text, 本通知自2026年4月1日起施行, is when it applies, not when issued).
# 发布 and 公布 ask about the policy itself only beside it or at the question's end: 什么时候公布
# 名单 asks for a date in its text.
ISSUING = r"(?:发布|印发|发文|出台|签发|颁布|公布)"
_PUBLISHED = r"(?:发布|出台|颁布|公布)"
_POLICY = r"(?:通知|文件|政策|办法|措施|意见|方案|规定|细则|条例|公告)"
_ISSUED = AnswerType(
    re.compile(
        rf"发文|落款|印发|签发|{_PUBLISHED}的?(?:日期|时间|单位|机关|部门)"
        rf"|{_POLICY}[^，。？?]{{0,8}}{_PUBLISHED}|{_PUBLISHED}的?(?:这个|该|本)?{_POLICY}"
        rf"|{_PUBLISHED}的?[吗呢]?[？?]?$"
    ),
    SIGNATURE,
    re.compile(rf"{ISSUING}的?|落款|日期|时间|什么时[候间]|何时|哪一?天|单位|机关|部门|谁"),
)
# Who may apply: the clause that names the policy's subjects (支持对象, 适用范围, 申报条件)
# answers "哪些企业可以申请这些支持？", though of the question's words it holds only 企业, which
# every clause holds, and the policy writes 申报 where the question says 申请.
SUBJECTS = re.compile(
    r"(?:支持|扶持|补贴|补助|奖励|资助|适用|申报|申请|服务|享受)(?:对象|主体|范围)|适用于|申报条件|申请条件"
    r"|\beligib|\bwho (?:can|may) apply\b|\bscope\b",
    re.I,
)
# What a policy heads the clause on its subjects with, to search its passages for.
SUBJECT_HEADINGS = "支持对象 扶持对象 适用范围 申报主体 申报条件 申请条件 eligibility scope"
_ELIGIBLE = AnswerType(
    re.compile(
        r"(?:哪些|什么|哪类|哪种|何种|哪一类)(?:样的?)?"
        r"(?:企业|单位|主体|机构|公司|人员|个人|人|群体|行业)(?:可以|能够?|可|才能|有资格)"
        r"(?:申请|申报|享受|获得|领取|参加)|谁(?:可以|能够?|可)(?:申请|申报|享受|领取)"
        r"|\bwho (?:can|may|is allowed to) (?:apply|claim|get)\b|\bwho is eligible\b"
        r"|\bwhich (?:companies|businesses|firms|employees|people|customers)"
        r" (?:are eligible|qualify|can apply|may apply)\b",
        re.I,
    ),
    SUBJECTS,
    re.compile(
        r"(?:哪些|什么|哪类|哪种|何种|哪一类)(?:样的?)?"
        r"(?:企业|单位|主体|机构|公司|人员|个人|人|群体|行业)?(?:可以|能够?|可|才能|有资格)?"
        r"(?:申请|申报|享受|获得|领取|参加)?|谁(?:可以|能够?|可)?(?:申请|申报|享受|领取)?"
        r"|\b(?:who|which|eligible|qualify|apply)\b",
        re.I,
    ),
    SUBJECTS,
)
_ANSWER_TYPES = (_ISSUED, _ELIGIBLE, *(AnswerType(asks, holds) for asks, holds in _TYPES))


def asked_for(question: str) -> AnswerType | None:
    """The kind of answer ``question`` asks for, when it asks who issued the policy or when,
    who may apply, or for a date, a ratio, a length of time, a phone number, a website, an
    e-mail address, materials, the procedure, the body that does it or an amount; else
    None."""
    return next((t for t in _ANSWER_TYPES if t.asks.search(question)), None)


def asks_subjects(question: str) -> bool:
    """Whether ``question`` asks who may apply (哪些企业可以申请…, "Who is eligible?")."""
    return asked_for(question) is _ELIGIBLE


# The everyday words around 多少 (or 多久) that ask for an amount and name nothing:
# "贷款贴息最多能拿多少钱？" asks what "贷款贴息多少" does. No passage uses 拿 or 能拿, which
# would weigh the most.
_AMOUNT_FRAMING = re.compile(
    r"(?:(?:最多|最高|最少|最低|最长|最短|上限|封顶|一共|总共)(?:是|为)?)?(?:能|可以|可)?"
    r"(?:拿|领|获得|得到|给|享受)?到?(?=多少|多久|多长)"
    # 贴, 补, 退… are the subsidy's own verb only after 最多 or 能 ("最多能贴多少", "最长贴多久"),
    # not in 补贴多少 or 退款多久.
    r"|(?:最多|最高|最少|最低|最长|最短|能|可以|可)+(?:贴|补|报|退|赔|返)(?=多少|多久|多长)"
    r"|(?<=多少)钱"
)

# The modal verb before what is asked: "贷款贴息需要什么条件？" asks what "贷款贴息什么条件" does,
# "要交什么材料" what "什么材料" does. Policies write 应当 or 须, so 需要 would weigh the most.
_MODAL_FRAMING = re.compile(
    r"(?:需要|要|得|应该)(?:提交|提供|准备|满足|具备|符合|达到)?(?=什么|哪些|何种|啥|多少|多久|多长|几)"
)

# "Can I get a refund?" asks what "refund" does: policies rarely write "get", so as a keyword
# it would weigh the most and pick any sentence that happens to use it.
_GETTING = re.compile(r"\b(?:get|gets|getting|got)\b", re.I)


# The words that ask what to do and name nothing: "遇到寒潮我该怎么办" asks what "寒潮" does.
# Answers say what to do without these words, which would weigh the most.
_ACTION_FRAMING = re.compile(
    r"(?:我们?|你们?|您|大家)?(?:该|应该|应当|应|要|需要|可以)?"
    r"(?:怎么|如何|怎样)(?:办|做|处理|应对|处置)"
    r"(?=呢|啊|呀|吗|[\s，。？！?!、；;]|$)"  # the question's end: not 怎么办理
)


# Colloquial question words, read as the ones the framing rules know: "登山中注意啥？" asks what
# "登山中注意什么？" does. No passage writes 啥, which would weigh the most.
_COLLOQUIAL = (("啥", "什么"), ("咋", "怎么"))
# So is 么 that ends a yes/no question ("可以缓缴么？" for 可以缓缴吗？), not the one in 什么
# or 怎么.
_ENDING_ME = re.compile(r"(?<![什怎那这多要])么(?=[？?！!。\s]*$)")

# The asker's wish that opens a question: "我想学车，如何选择驾校？" asks what
# "学车，如何选择驾校？" does.
_WISHING = re.compile(r"^(?:请问)?(?:我|我们|本人)(?:想要|想|打算|准备)")

# What such a question is about is what one meets: "遇到" in "遇到寒潮怎么办" frames it too.
_MEETING = re.compile(r"(?:如果|若|万一)?(?:遇到|碰到|遇上|遭遇)")


# A reference to the policy at hand names nothing of it: "这些措施执行多久？" asks what "执行多久"
# does. A policy calls itself 本政策 or 本办法 whatever the question calls it, so 措施 would weigh
# as a word the answer lacks, and 这些, which no passage writes, the most.
_POINTING = re.compile(
    r"(?:这些|这个|这项|这份|这条|这一|这|该|本|上述|以上|此)(?:项|条|份)?"
    r"(?:政策|措施|办法|规定|文件|通知|条款|条例|细则|意见|方案|支持|扶持|优惠)"
)


def question_tokens(question: str) -> set[str]:
    """The keyword tokens a sentence's coverage of ``question`` counts: not the everyday words
    that ask for an amount (``_AMOUNT_FRAMING``), the modal verb before what is asked
    (``_MODAL_FRAMING``), the asker's wish (``_WISHING``), a reference to the policy at hand
    (``_POINTING``), "get" (``_GETTING``) or what to do
    (``_ACTION_FRAMING``, and then ``_MEETING``); colloquial question words (啥, 咋) read as
    the ones these rules know."""
    return set(tokenize(unframed(question)))


def unframed(question: str) -> str:
    """``question`` without the everyday words that ask for an amount or what to do, the modal
    verb before what is asked, the asker's wish and a reference to the policy at hand; 啥 and 咋
    read as 什么 and 怎么, and a 么 that ends the question as 吗."""
    for said, meant in _COLLOQUIAL:
        question = question.replace(said, meant)
    question = _ENDING_ME.sub("吗", question)
    question = _POINTING.sub("，", _WISHING.sub("", question))
    text = _GETTING.sub(" ", _AMOUNT_FRAMING.sub("，", _MODAL_FRAMING.sub("", question)))
    framed = _ACTION_FRAMING.sub("，", text)
    return framed if framed == text else _MEETING.sub("，", framed)


def asking_tokens(question: str) -> tuple[AnswerType | None, set[str]]:
    """``asked_for(question)`` and the question's keyword tokens that only ask for it: 截止
    and _止申 in "什么时候截止申报". A sentence that gives such an answer (申报时间为每年3月1日至
    4月30日) covers them."""
    asked = asked_for(question)
    if asked is None:
        return None, set()
    words = asked.words or asked.asks
    return asked, question_tokens(question) - question_tokens(words.sub("，", question))


# A policy's framing rather than its content: the purpose clause ("第一条 为推动…，制定本办法。")
# and the 文号 line under the title. They share the policy's name words with every question
# about it, so their words count as a heading's do, unless the question asks for them.
FRAMING = re.compile(
    r"^(?:第\S{1,6}条\s*)?(?:为了?|根据)[^。]{0,120}制定本(?:办法|措施|细则|规定|条例|方案|意见|通知)"
    r"|^[^。；\n]{0,60}〔\d{4}〕\d+号[)）]?$"
)
ASKS_FRAMING = re.compile(r"目的|为什么|为何|依据|文号|发文|why|purpose", re.IGNORECASE)
