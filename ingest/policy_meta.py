"""Lifecycle metadata read from a policy's own text: issuing body, 文号, dates, region and the
policies it repeals (English policies: owner, version, effective date).

Each field is taken only from a pattern that states it; otherwise it stays empty ("unknown").
A wrong expiry date would hide a policy that is in force, so no field is ever guessed.
"""

from __future__ import annotations

import re
from datetime import date

from index_store.policy import REPEAL, PolicyInfo

_HEAD = 600  # 文号 and issuer sit in the header (or the signature at the end)
_TAIL = 160
_ORG = (
    r"(?:人民政府办公厅|人民政府办公室|人民政府|办公厅|办公室|委员会|管理局|总局|局|厅|委|"
    r"中心|指挥部|领导小组|小组|银行|分行|协会|联合会|商会|集团|公司)"
)
_CN_DATE = r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日"
_DOC_NUMBER = re.compile(
    r"[\u4e00-\u9fa5]{1,12}[〔\[［【(（]\s*\d{4}\s*[〕\]］】)）]\s*\d{1,4}\s*号"
)
_EFFECTIVE = re.compile(rf"自\s*{_CN_DATE}\s*起(?:施行|执行|实施|生效)")
_FROM_ISSUE = re.compile(r"自(?:印发|发布|公布)之日起(?:施行|执行|实施|生效)")
_EXPIRES = re.compile(rf"(?:有效期|执行期|实施期)(?:限)?(?:为|自)?[^。；]{{0,30}}?至\s*{_CN_DATE}")
_YEARS_VALID = re.compile(r"有效期(?:为)?\s*([一二两三四五六七八九十\d]{1,2})\s*年")
_REPEAL = re.compile(rf"[^。；\n]*(?:{REPEAL.pattern})[^。；\n]*")
_REPEALED_NAME = re.compile(
    r"《([^》]{2,80})》\s*(?:[（(]\s*([^）)]*?〔\s*\d{4}\s*〕\s*\d{1,4}\s*号)\s*[）)])?"
)
_CN_NUMBERS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}
_PROVINCES = {
    "京": "北京市", "津": "天津市", "沪": "上海市", "渝": "重庆市", "冀": "河北省", "晋": "山西省",
    "辽": "辽宁省", "吉": "吉林省", "黑": "黑龙江省", "苏": "江苏省", "浙": "浙江省",
    "皖": "安徽省", "闽": "福建省", "赣": "江西省", "鲁": "山东省", "豫": "河南省", "鄂": "湖北省",
    "湘": "湖南省", "粤": "广东省", "琼": "海南省", "川": "四川省", "黔": "贵州省", "滇": "云南省",
    "陕": "陕西省", "甘": "甘肃省", "青": "青海省", "蒙": "内蒙古自治区", "桂": "广西壮族自治区",
    "藏": "西藏自治区", "宁": "宁夏回族自治区", "新": "新疆维吾尔自治区",
}  # fmt: skip
_REGION = re.compile(r"^(?:国家税务总局)?([\u4e00-\u9fa5]{2,8}?(?:省|自治区|市|州|盟|县|区|旗))")
_NATIONAL = re.compile(
    r"^(?:国务院|国家(?!税务总局[^ ]{2,}省)|中华人民共和国|财政部|人力资源(?:和)?社会保障部|商务部|"
    r"工业和信息化部|税务总局)"
)

_EN_MONTHS = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
]
_EN_DATE = (
    r"(?:(\d{4})-(\d{2})-(\d{2})|"
    r"([A-Z][a-z]+)\s+(\d{1,2}),\s*(\d{4})|(\d{1,2})\s+([A-Z][a-z]+)\s+(\d{4}))"
)
_EN_EFFECTIVE = re.compile(rf"(?i:effective)(?:\s+(?:date|from|as of|on))?\s*[:：]?\s*{_EN_DATE}")
_EN_EXPIRES = re.compile(
    rf"(?i:expires|valid until|valid through|expiry date)\s*(?:on)?[:：]?\s*{_EN_DATE}"
)
_EN_PUBLISHED = re.compile(rf"(?i:last updated|published|issued)\s*(?:on)?[:：]?\s*{_EN_DATE}")
_EN_VERSION = re.compile(r"(?i)\bversion\s*[:：]?\s*(v?\d+(?:\.\d+)*)\b")
_EN_OWNER = re.compile(
    r"(?im)^\W*(?:policy\s+)?owner\s*[:：]\s*([^\n]{2,60}?)\s*$|"
    r"\bowned by ([A-Z][\w &-]{2,40}?)[.,;\n]"
)


def _iso(year: str, month: str, day: str) -> str:
    try:
        return date(int(year), int(month), int(day)).isoformat()
    except ValueError:
        return ""


def _en_iso(groups: tuple[str | None, ...]) -> str:
    y, m, d, month_a, day_a, year_a, day_b, month_b, year_b = groups
    if y and m and d:
        return _iso(y, m, d)
    name, day, year = (month_a, day_a, year_a) if month_a else (month_b, day_b, year_b)
    if not (name and day and year) or name.lower() not in _EN_MONTHS:
        return ""
    return _iso(year, str(_EN_MONTHS.index(name.lower()) + 1), day)


def _add_years(iso: str, years: int) -> str:
    start = date.fromisoformat(iso)
    try:
        end = start.replace(year=start.year + years)
    except ValueError:  # 29 February
        end = start.replace(year=start.year + years, day=28)
    return end.isoformat()


def _doc_number(text: str) -> str:
    for match in _DOC_NUMBER.finditer(text[:_HEAD]):
        before = text[max(0, match.start() - 2) : match.start()]
        if "》" not in before:  # "《…》（国办发〔2020〕6号）" cites another document
            return re.sub(r"\s+", "", match.group())
    return ""


def _signature(text: str) -> tuple[str, str]:
    """(issuer, date) from the closing "发文机关 2020年2月7日" signature, else empty."""
    tail = text[-_TAIL:]
    dates = list(re.finditer(_CN_DATE, tail))
    if not dates:
        return "", ""
    last = dates[-1]
    issued = _iso(*last.groups())
    before = tail[: last.start()].rstrip()
    # Joint issuers are separated by spaces: "人力资源社会保障部 财政部 税务总局".
    org = re.search(rf"([\u4e00-\u9fa5][\u4e00-\u9fa5 \u3000]{{1,40}}?{_ORG})$", before)
    return (re.sub(r"\s+", " ", org.group(1)) if org else ""), issued


def _header_issuer(text: str, title: str) -> str:
    for line in text[:_HEAD].splitlines()[:8]:
        line = line.strip()
        if (
            line
            and line != title
            and len(line) <= 30
            and re.fullmatch(rf"[\u4e00-\u9fa5]+{_ORG}", line)
        ):
            return line
    return ""


def _region(issuer: str, title: str, doc_number: str) -> str:
    for name in (issuer, title):
        if _NATIONAL.match(name):
            return "全国"
        match = _REGION.match(name)
        if match and not match.group(1).startswith(("关于", "本")):
            return match.group(1)
    return _PROVINCES.get(doc_number[:1], "")


def _replaces(text: str) -> tuple[str, ...]:
    names: list[str] = []
    for sentence in _REPEAL.finditer(text):
        for match in _REPEALED_NAME.finditer(sentence.group()):
            for name in (match.group(1), match.group(2)):
                if name:
                    name = re.sub(r"\s+", "", name)
                    if name not in names:
                        names.append(name)
    return tuple(names)


def _chinese(text: str, title: str) -> PolicyInfo:
    doc_number = _doc_number(text)
    signed_by, signed_on = _signature(text)
    issuer = _header_issuer(text, title) or signed_by
    head_date = re.search(rf"(?m)^\s*{_CN_DATE}\s*$", text[:_HEAD])
    published = signed_on or (_iso(*head_date.groups()) if head_date else "")
    effective = ""
    if match := _EFFECTIVE.search(text):
        effective = _iso(*match.groups())
    elif _FROM_ISSUE.search(text):
        effective = published
    expires = ""
    if match := _EXPIRES.search(text):
        expires = _iso(*match.groups())
    elif (match := _YEARS_VALID.search(text)) and (effective or published):
        raw = match.group(1)
        years = int(raw) if raw.isdigit() else _CN_NUMBERS.get(raw, 0)
        expires = _add_years(effective or published, years) if years else ""
    return PolicyInfo(
        issuer=issuer,
        doc_number=doc_number,
        published=published,
        effective=effective,
        expires=expires,
        region=_region(issuer, title, doc_number),
        replaces=_replaces(text),
    )


def _english(text: str) -> PolicyInfo:
    def find(pattern: re.Pattern[str]) -> str:
        match = pattern.search(text)
        return _en_iso(match.groups()) if match else ""

    version = _EN_VERSION.search(text)
    owner = _EN_OWNER.search(text)
    return PolicyInfo(
        issuer=(owner.group(1) or owner.group(2)).strip() if owner else "",
        doc_number=f"Version {version.group(1)}" if version else "",
        published=find(_EN_PUBLISHED),
        effective=find(_EN_EFFECTIVE),
        expires=find(_EN_EXPIRES),
    )


def extract_policy_info(text: str, title: str) -> PolicyInfo:
    """Lifecycle metadata stated in ``text``; unknown fields stay empty. Access labels and the
    collection are the caller's to set."""
    cjk = len(re.findall(r"[\u4e00-\u9fff]", text[:2000]))
    return _chinese(text, title) if cjk > 50 else _english(text)
