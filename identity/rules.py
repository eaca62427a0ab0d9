"""Identity rules: resident ID numbers (GB 11643-1999), mobile numbers, names, ages, and
which practitioners may do what (see FACTS.md §2.3, §3.1, §5)."""

from __future__ import annotations

import datetime as dt
import enum
import re
from dataclasses import dataclass

from core.errors import DomainError

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"
_ID_SHAPE = re.compile(r"^[1-9]\d{16}[0-9X]$")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
# Chinese names, including the middle dot of minority and transliterated names (阿卜杜·热合曼).
_NAME = re.compile(r"^[\u3400-\u9fff\u00b7\u30fb·]{2,30}$|^[A-Za-z][A-Za-z .'-]{1,59}$")

# Independent practice a doctor needs before seeing patients online (互联网诊疗管理办法 第二十五条),
# and a reviewing pharmacist's dispensing experience (处方审核规范).
DOCTOR_MIN_PRACTICE_YEARS = 3
PHARMACIST_MIN_PRACTICE_YEARS = 3


class InvalidIdNumber(DomainError):
    code = "invalid_id_number"
    status = 422
    title = "身份证号码无效"


class InvalidPhone(DomainError):
    code = "invalid_phone"
    status = 422
    title = "手机号码无效"


class InvalidName(DomainError):
    code = "invalid_name"
    status = 422
    title = "姓名无效"


class Sex(enum.StrEnum):
    male = "male"
    female = "female"

    @property
    def label(self) -> str:
        return "男" if self is Sex.male else "女"


@dataclass(frozen=True)
class IdNumber:
    value: str
    birth_date: dt.date
    sex: Sex
    region_code: str

    def age_on(self, day: dt.date) -> int:
        return age_on(self.birth_date, day)


def id_check_char(body17: str) -> str:
    return ID_CHECK_CHARS[sum(int(c) * w for c, w in zip(body17, ID_WEIGHTS, strict=True)) % 11]


def normalise_id_number(raw: str) -> str:
    """Spaces removed, full-width digits and a lower-case x made plain."""
    text = raw.strip().replace(" ", "").translate(_FULL_WIDTH)
    return text.upper()


# GB/T 2260 provinces, plus 81/82/83 for the Hong Kong, Macao and Taiwan residence permits.
PROVINCE_CODES = frozenset(
    str(code)
    for code in (
        *range(11, 16), *range(21, 24), *range(31, 38), *range(41, 47),
        *range(50, 55), *range(61, 66), 71, 81, 82, 83,
    )
)  # fmt: skip

_FULL_WIDTH = str.maketrans("０１２３４５６７８９ｘＸ", "0123456789xX")


def parse_id_number(raw: str, today: dt.date) -> IdNumber:
    """Validate an 18-character resident ID number fully, or say why it is not one."""
    value = normalise_id_number(raw)
    if len(value) == 15:
        raise InvalidIdNumber("15 位一代身份证已于 2013 年停止使用，请使用 18 位身份证号码")
    if len(value) != 18:
        raise InvalidIdNumber("身份证号码应为 18 位")
    if not _ID_SHAPE.match(value):
        raise InvalidIdNumber("身份证号码只能由数字组成，最后一位可以是 X")
    try:
        birth = dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise InvalidIdNumber("身份证号码中的出生日期不存在") from None
    if birth > today:
        raise InvalidIdNumber("身份证号码中的出生日期晚于今天")
    if birth.year < 1880:
        raise InvalidIdNumber("身份证号码中的出生日期不合理")
    # County codes change and people keep their numbers, so only the province is checked.
    # Foreigners' permanent residence cards (from 2023-12) start with 9 + the province code.
    province = value[1:3] if value[0] == "9" else value[:2]
    if province not in PROVINCE_CODES:
        raise InvalidIdNumber("身份证号码前 6 位地址码不正确")
    if id_check_char(value[:17]) != value[17]:
        raise InvalidIdNumber("身份证号码校验位不正确，请核对后重新输入")
    sex = Sex.male if int(value[16]) % 2 == 1 else Sex.female
    return IdNumber(value=value, birth_date=birth, sex=sex, region_code=value[:6])


def age_on(birth_date: dt.date, day: dt.date) -> int:
    years = day.year - birth_date.year
    if (day.month, day.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def normalise_phone(raw: str) -> str:
    text = raw.strip().replace(" ", "").replace("-", "").translate(_FULL_WIDTH)
    if text.startswith("+86"):
        text = text[3:]
    elif text.startswith("0086"):
        text = text[4:]
    if not _MOBILE.match(text):
        raise InvalidPhone("请输入 11 位中国大陆手机号码")
    return text


def normalise_name(raw: str) -> str:
    name = raw.strip()
    if not _NAME.match(name):
        raise InvalidName("请输入与身份证一致的姓名")
    return name


class Title(enum.StrEnum):
    """Professional titles (职称) of physicians and pharmacists."""

    chief_physician = "主任医师"
    associate_chief_physician = "副主任医师"
    attending_physician = "主治医师"
    resident_physician = "住院医师"
    assistant_physician = "执业助理医师"
    chief_pharmacist = "主任药师"
    associate_chief_pharmacist = "副主任药师"
    supervising_pharmacist = "主管药师"
    pharmacist = "药师"
    assistant_pharmacist = "药士"


PHYSICIAN_TITLES = frozenset(
    {
        Title.chief_physician,
        Title.associate_chief_physician,
        Title.attending_physician,
        Title.resident_physician,
        Title.assistant_physician,
    }
)
# A reviewing pharmacist holds at least the 药师 title (处方审核规范); 药士 does not qualify.
PHARMACIST_QUALIFIED_TITLES = frozenset(
    {
        Title.chief_pharmacist,
        Title.associate_chief_pharmacist,
        Title.supervising_pharmacist,
        Title.pharmacist,
    }
)
PHARMACIST_TITLES = PHARMACIST_QUALIFIED_TITLES | {Title.assistant_pharmacist}


class PractitionerKind(enum.StrEnum):
    doctor = "doctor"
    pharmacist = "pharmacist"
    family_doctor = "family_doctor"


@dataclass(frozen=True)
class Eligibility:
    eligible: bool
    reasons: tuple[str, ...] = ()


def eligibility(
    kind: PractitionerKind, title: Title, practice_started_on: dt.date, today: dt.date
) -> Eligibility:
    """May this practitioner do their online work? If not, every reason, in Chinese."""
    years = age_on(practice_started_on, today)
    reasons: list[str] = []
    if kind in {PractitionerKind.doctor, PractitionerKind.family_doctor}:
        if title not in PHYSICIAN_TITLES:
            reasons.append(f"“{title.value}”不是医师职称，不能在线接诊")
        if title is Title.assistant_physician:
            reasons.append("执业助理医师开具的处方需执业医师签名，不能独立在线接诊")
        if years < DOCTOR_MIN_PRACTICE_YEARS:
            reasons.append(
                f"独立执业 {max(years, 0)} 年，"
                f"在线复诊须独立临床工作满 {DOCTOR_MIN_PRACTICE_YEARS} 年"
            )
    else:
        if title not in PHARMACIST_QUALIFIED_TITLES:
            reasons.append(f"“{title.value}”不具备药师及以上职称，不能审核处方")
        if years < PHARMACIST_MIN_PRACTICE_YEARS:
            reasons.append(
                f"从业 {max(years, 0)} 年，"
                f"审方药师须有 {PHARMACIST_MIN_PRACTICE_YEARS} 年以上调剂工作经验"
            )
    return Eligibility(not reasons, tuple(reasons))
