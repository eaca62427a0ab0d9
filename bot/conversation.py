"""What the Official Account says. Safety first: any text with a red-flag sign gets emergency
advice and an urgent hand-off, whatever the conversation was doing. The bot never suggests,
drafts or renews a prescription (automatically generated prescriptions are forbidden); it
routes to a doctor. Unknown text gets the menu, never silence."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from bot.store import STATE_TTL, Store
from core import clock
from core.errors import DomainError
from followup import triage
from followup.models import DiagnosisStatus
from followup.services import contracts, diagnoses, readings, referrals
from identity import rules as identity_rules
from identity.models import Account, WeChatFollower
from identity.services import followers
from pharmacy.services.fulfilment import for_prescription
from prescriptions.models import PrescriptionState
from prescriptions.services import long_term, records

MENU = (
    "您好，这里是互联网医院。回复数字或点菜单：\n"
    "1 复诊开药\n2 我的处方\n3 上报血压/血糖（例如“血压 135/85”“血糖 6.8”）\n"
    "4 我的家庭医生\n5 人工客服\n"
    "如有胸痛、呼吸困难、晕厥、一侧肢体无力等情况，请立即拨打 120。"
)
NOT_LINKED = (
    "您还没有绑定就诊账户。请在互联网医院小程序“我的—绑定公众号”获取 8 位绑定码，"
    "然后在这里回复“绑定 12345678”。"
)
NO_PRESCRIBING = (
    "处方须由医生在复诊中亲自开具，公众号不能代开或续开药品。"
    "请在小程序发起复诊（菜单“复诊开药”），医生接诊后会为您评估用药。"
)
PRESCRIBING_WORDS = re.compile(r"(开.{0,4}(药|处方)|续方|续药|配药|拿药|买药|药.{0,2}吃完)")
MY_PRESCRIPTIONS = re.compile(r"^(我的)?处方(进度|状态)?$|取药码")
BIND = re.compile(r"^\s*绑定\s*(\d{8})\s*$")
KEYS = {"1": "VISIT", "2": "MY_RX", "3": "READING", "4": "FAMILY_DOCTOR", "5": "HUMAN"}


@dataclass
class Reply:
    text: str | None = None  # None: answer "success" (nothing to say)
    transfer_to_human: bool = False
    link_in_background: bool = False  # ask WeChat for the unionid (slow: a Celery task)
    referral_id: int | None = None
    notes: list[str] = field(default_factory=list)


def _state_key(openid: str) -> str:
    return f"state:{openid}"


def _patient(row: WeChatFollower) -> Account | None:
    account = row.account
    return account if account is not None and account.person is not None else None


def _age(account: Account | None, now: dt.datetime) -> float | None:
    if account is None or account.person is None:
        return None
    return float(identity_rules.age_on(account.person.birth_date, clock.day_of(now)))


def _assess(row: WeChatFollower, text: str, now: dt.datetime) -> triage.Triage:
    # Not loaded for a follower not yet linked: a later bind in this request must see it fresh.
    account = _patient(row) if row.account_id is not None else None
    return triage.assess([], triage.Vitals(), text, _age(account, now))


def red_flag_reply(
    session: Session, row: WeChatFollower, text: str, assessment: triage.Triage, now: dt.datetime
) -> Reply:
    """A red flag in the text: what to do now (the crisis line first for thoughts of suicide
    or an overdose), the hand-off, and a reading written in the sentence recorded as well."""
    account = _patient(row) if row.account_id is not None else None
    referral_id = None
    recorded = ""
    if account is not None and account.person is not None:
        embedded = readings.parse_in_sentence(text)
        if embedded is not None:
            reading = readings.record(session, account, account.person, embedded, "wechat", now)
            referral_id = reading.referral_id
            recorded = f"已记录{embedded.describe()}。"
        if referral_id is None or {f.code for f in assessment.red_flags} - VITAL_CONCEPTS:
            referral = referrals.hand_off_red_flags(
                session, account.person, account, assessment, "公众号留言提示危险信号：", now
            )
            referral_id = referral.id
    booked = "已为您通知医院安排线下就诊。" if referral_id else ""
    # What fired is said back, except to someone in crisis, who needs the lines, not labels.
    because = "" if assessment.crisis else f"（提示：{assessment.explanation}）"
    return Reply(f"{recorded}{assessment.advice}{booked}{because}", referral_id=referral_id)


# Concepts a home reading alone raises (its own hand-off covers them).
VITAL_CONCEPTS = {"hypertensive_emergency", "hyperglycaemia_crisis", "hypoglycaemia"}


def on_text(
    session: Session, store: Store, row: WeChatFollower, text: str, now: dt.datetime
) -> Reply:
    assessment = _assess(row, text, now)  # red flags come first, in every state
    if assessment.in_person_required:
        store.delete(_state_key(row.openid))
        return red_flag_reply(session, row, text, assessment, now)
    bind = BIND.match(text)
    if bind:
        try:
            account = followers.bind(session, row, bind.group(1), now)
        except DomainError as exc:
            return Reply(f"{exc.title}，请在小程序重新获取。")
        name = account.person.name[0] + "*" if account.person else account.display_name
        return Reply(f"绑定成功，{name}。今后复诊、处方和配送的消息会在这里通知您。\n\n{MENU}")
    stripped = text.strip()
    if stripped in KEYS:
        return on_click(session, store, row, KEYS[stripped], now)
    if MY_PRESCRIPTIONS.search(stripped):
        return on_click(session, store, row, "MY_RX", now)
    try:
        parsed = readings.parse(text)
    except DomainError as exc:
        return Reply(exc.detail)
    if parsed is not None:
        return _reading(session, row, parsed, now)
    embedded = readings.parse_in_sentence(text)
    if embedded is not None:
        return _reading(session, row, embedded, now)
    if assessment.questions:
        # A vital sign named without a number we can read: ask, never pass it by.
        first = assessment.questions[0]
        return Reply(first + "如有胸痛、呼吸困难、意识改变等情况，请立即拨打 120。")
    if PRESCRIBING_WORDS.search(text):
        return Reply(NO_PRESCRIBING)
    if store.get(_state_key(row.openid)) == "READING":
        return Reply("没有看懂这条读数。请这样发送：“血压 135/85”或“血糖 6.8”。")
    return Reply(MENU)


def _reading(
    session: Session, row: WeChatFollower, parsed: readings.Parsed, now: dt.datetime
) -> Reply:
    account = _patient(row)
    if account is None or account.person is None:
        return Reply(NOT_LINKED)
    recorded = readings.record(session, account, account.person, parsed, "wechat", now)
    if recorded.assessment.in_person_required:
        return Reply(
            f"已记录{parsed.describe()}。{recorded.assessment.advice}已为您通知医院安排线下就诊。",
            referral_id=recorded.referral_id,
        )
    return Reply(f"已记录{parsed.describe()}，您的家庭医生会看到。请按时服药，定期测量。")


def on_click(
    session: Session, store: Store, row: WeChatFollower, key: str, now: dt.datetime
) -> Reply:
    store.delete(_state_key(row.openid))
    if key == "HUMAN":
        return Reply(transfer_to_human=True)
    account = _patient(row)
    if account is None or account.person is None:
        return Reply(NOT_LINKED)
    if key == "VISIT":
        found = [
            d
            for d in diagnoses.for_person(session, account.person.id)
            if d.status is DiagnosisStatus.confirmed
        ]
        if not found:
            return Reply(
                "互联网医院只提供已在线下确诊的慢性病复诊。请先在小程序上传线下确诊资料，"
                "或到医院就诊。"
            )
        names = "、".join(f"{d.disease_name}（{d.diagnosed_on}）" for d in found)
        return Reply(
            f"您可以复诊的病种：{names}。请在小程序“复诊开药”中发起复诊，医生接诊后为您开药。"
        )
    if key == "MY_RX":
        return Reply(_prescriptions_text(session, account, clock.day_of(now)))
    if key == "READING":
        store.put(_state_key(row.openid), "READING", STATE_TTL)
        return Reply("请发送读数，例如“血压 135/85”或“血糖 6.8”。")
    if key == "FAMILY_DOCTOR":
        return Reply(_family_doctor_text(session, account))
    return Reply(MENU)


def _family_doctor_text(session: Session, account: Account) -> str:
    active = contracts.active_for(session, account)
    if not active:
        return "您还没有签约家庭医生。可在小程序“我的家庭医生”选择团队并签约。"
    lines = []
    for contract in active:
        lines.append(
            f"签约团队：{contract.team.name}（{contract.team.centre}），至 {contract.ends_on}"
        )
        for plan in contracts.active_plans(session, contract.id):
            lines.append(f"{plan.disease.label}：下次随访 {plan.next_due_on}")
    lines.append("可随时回复“血压 135/85”或“血糖 6.8”上报读数。")
    return "\n".join(lines)


def _prescriptions_text(session: Session, account: Account, day: dt.date) -> str:
    lines = []
    for p in records.for_patient(session, account)[:5]:
        line = f"处方 #{p.id}：{p.state.label}"
        fulfilment = for_prescription(session, p.id)
        if fulfilment is not None:
            where = fulfilment.pharmacy.name
            line += f"，{fulfilment.method.label}（{where}），{fulfilment.state.label}"
        if p.code_usable(day):
            line += f"，取药码 {p.redemption_code}，有效期至 {p.valid_until}"
        if p.state is PrescriptionState.signed and long_term.awaiting_consent(p):
            line += "；用药超过 4 周，请在小程序“处方”页阅读并确认长期处方用药须知，药师才能审核"
        lines.append(line)
    return "\n".join(lines) if lines else "您还没有处方。"


def on_subscribe(
    session: Session, row: WeChatFollower, scene: str | None, now: dt.datetime
) -> Reply:
    greeting = "感谢关注！"
    if scene and scene.startswith("pharmacy:"):
        greeting = "感谢关注！您扫描的是合作药房的二维码，可在这里查询取药码和配送进度。"
    elif scene and scene.startswith("family_doctor:"):
        greeting = "感谢关注！您扫描的是家庭医生的二维码，签约后可在这里上报血压血糖。"
    linked = _patient(row)
    if linked is not None and linked.person is not None:
        greeting += f"欢迎回来，{linked.person.name[0]}*。"
    reply = Reply(f"{greeting}\n\n{MENU}")
    reply.link_in_background = linked is None
    return reply
