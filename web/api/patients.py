"""Patient identity API: WeChat sign-in, real name, 人脸核身 against the authoritative source,
dependents."""

from __future__ import annotations

from typing import Literal

from flask import Blueprint, Response, jsonify, url_for
from wechatpy.exceptions import WeChatClientException

from core import clock, providers
from core.crypto import mask_id_number, mask_name, mask_phone
from identity import face, rules
from identity.models import Account, Dependent, DependentState, IdentityCheckState, Person, Role
from identity.schemas import (
    AccountOut,
    AllergiesIn,
    AllergiesOut,
    BindingCodeOut,
    DependentOut,
    IdentityCheckOut,
    IdentityCheckStartOut,
    MeOut,
    PersonOut,
    RealNameIn,
    SubscriptionsIn,
    TokenOut,
    VerificationOut,
    WeChatSignIn,
)
from identity.services import allergies as allergies_service
from identity.services import dependents, followers, patients, verification
from identity.services import wechat as wechat_accounts
from identity.verification import provider_for
from web.api.identity import token_response
from web.auth import api_account, api_roles_required
from web.errors import ApiProblem
from web.openapi import body, operation
from web.session import commit_now, db_session
from web.settings import settings
from wechat.interfaces import WeChat

bp = Blueprint("api_patients", __name__)

# WeChat's answers to a code that is invalid, already used or expired.
BAD_CODE_ERRCODES = {40029, 40163, 40226}


@bp.post("/auth/wechat")
@operation(
    "Sign in from the mini-program with the code from wx.login()",
    tag="auth",
    body=WeChatSignIn,
    response=TokenOut,
    problems=("invalid_wechat_code", "wechat_unavailable", "wechat_not_configured"),
    public=True,
)
def wechat_sign_in() -> Response:
    cfg = settings()
    if not cfg.wechat_app_id or not cfg.wechat_app_secret:
        raise ApiProblem(503, "wechat_not_configured", "微信登录未配置")
    data: WeChatSignIn = body()
    client = providers.find(WeChat, cfg).mini_program()
    try:
        answer = client.wxa.code_to_session(data.code)
    except WeChatClientException as exc:
        if exc.errcode in BAD_CODE_ERRCODES:
            raise ApiProblem(
                401, "invalid_wechat_code", "微信登录凭证无效或已过期，请重试"
            ) from exc
        raise ApiProblem(502, "wechat_unavailable", "微信服务暂不可用，请稍后再试") from exc
    except OSError as exc:  # requests' connection errors and timeouts
        raise ApiProblem(502, "wechat_unavailable", "微信服务暂不可用，请稍后再试") from exc
    account = wechat_accounts.sign_in(
        db_session(),
        cfg.wechat_app_id,
        answer["openid"],
        answer.get("unionid"),
        answer.get("session_key"),
    )
    return token_response(account)


def person_out(person: Person) -> PersonOut:
    return PersonOut(
        id=person.id,
        name=mask_name(person.name),
        id_number=mask_id_number(person.id_number),
        phone=mask_phone(person.phone) if person.phone else None,
        sex=person.sex,
        age=rules.age_on(person.birth_date, clock.today()),
        allergies=person.allergy_list,
    )


def dependent_out(dependent: Dependent) -> DependentOut:
    shown = dependent.state is DependentState.active  # nothing of the person before consent
    return DependentOut(
        id=dependent.id,
        name=mask_name(dependent.person.name),
        person=person_out(dependent.person) if shown else None,
        relation=dependent.relation,
        relation_label=dependent.relation.label,
        is_guardian=dependent.is_guardian,
        state=dependent.state,
        state_label=dependent.state.label,
    )


def verification_out(account: Account) -> VerificationOut:
    state = patients.verification_state(account)
    return VerificationOut(real_name=state.real_name, face=state.face, verified=state.verified)


@bp.get("/me")
@operation(
    "The signed-in patient: verification state and dependents (masked)",
    tag="patients",
    response=MeOut,
)
@api_roles_required(Role.patient)
def me() -> Response:
    account = api_account()
    out = MeOut(
        account=AccountOut.model_validate(account),
        verification=verification_out(account),
        person=person_out(account.person) if account.person else None,
        dependents=[dependent_out(d) for d in dependents.listed(db_session(), account)],
    )
    return jsonify(out.model_dump(mode="json"))


@bp.post("/me/real-name")
@operation(
    "Real-name registration with the resident ID number and a mobile number",
    tag="patients",
    body=RealNameIn,
    response=PersonOut,
    problems=(
        "invalid_id_number",
        "invalid_phone",
        "invalid_name",
        "id_already_registered",
        "real_name_locked",
        "name_mismatch",
    ),
)
@api_roles_required(Role.patient)
def real_name() -> Response:
    account = api_account()
    data: RealNameIn = body()
    person = patients.register_real_name(
        db_session(), account, data.name, data.id_number, data.phone, clock.today()
    )
    return jsonify(person_out(person).model_dump(mode="json"))


@bp.post("/me/identity-verification")
@operation(
    "Start 人脸核身: the patient's live face against the public-security photo of the ID number "
    "on record",
    tag="patients",
    response=IdentityCheckStartOut,
    status=201,
    problems=("real_name_required", "too_many_attempts", "identity_provider_unavailable"),
    description="Returns the provider's liveness page. The patient never uploads a reference "
    "photo. When the page sends the patient back, finish with .../{token}/result. At most "
    "FACE_ATTEMPTS_PER_DAY checks a day (China time).",
)
@api_roles_required(Role.patient)
def start_identity_check() -> tuple[Response, int]:
    account, cfg = api_account(), settings()
    back = url_for("h5_identity.verified", _external=True)
    row, url = verification.start(
        db_session(), account, provider_for(cfg), back, cfg.face_attempts_per_day, clock.now()
    )
    out = IdentityCheckStartOut(token=row.token, url=url, expires_at=row.expires_at)
    return jsonify(out.model_dump(mode="json")), 201


@bp.post("/me/identity-verification/<token>/result")
@operation(
    "Finish 人脸核身: the server asks the provider for the outcome (never the client)",
    tag="patients",
    response=IdentityCheckOut,
    problems=(
        "not_found",
        "verification_pending",
        "verification_used",
        "verification_expired",
        "identity_check_failed",
        "identity_provider_unavailable",
    ),
    description="Only a check opened by this account for the person on record, once. A check "
    "the provider answered for another name or number fails with identity_mismatch.",
)
@api_roles_required(Role.patient)
def finish_identity_check(token: str) -> Response:
    account = api_account()
    row = verification.finish(db_session(), account, provider_for(settings()), token, clock.now())
    commit_now()  # the outcome is kept, passed or not
    if row.state is not IdentityCheckState.passed:
        raise verification.CheckFailed(f"核验结果：{row.result_code}", result=row.result_code)
    out = IdentityCheckOut(
        passed=True, code=row.result_code, verification=verification_out(account)
    )
    return jsonify(out.model_dump(mode="json"))


def raise_if_refused(attempt: patients.FaceAttempt, **extra: object) -> None:
    """A face attempt that was refused for its image, or did not match, as a problem."""
    if attempt.error is not None:
        error = attempt.error
        raise ApiProblem(422, error.code, error.title, error.detail, **extra)
    if not attempt.row.matched:
        raise ApiProblem(
            422,
            "face_mismatch",
            "人脸比对未通过",
            "照片与登记的人像不是同一人，请本人正对镜头重拍",
            **extra,
        )


def face_matcher(kind: Literal["selfie", "card"] = "selfie") -> face.FaceMatcher:
    """The configured face provider's matcher: a selfie against the enrolled face, or (card)
    the kiosk's camera against the photo on the collector's ID card chip."""
    return providers.find(face.FaceEngine, settings()).matcher(kind)


@bp.put("/me/allergies")
@operation(
    "Declare the drug allergies of oneself or a dependent ([] for none known)",
    tag="patients",
    body=AllergiesIn,
    response=AllergiesOut,
    problems=(
        "identity_unverified",
        "forbidden",
        "invalid_allergies",
        "validation_error",
        "allergy_removal_forbidden",
    ),
    description="Prescribing refuses a drug whose ingredient the patient is allergic to "
    "(allergy_conflict), and the pharmacist's pre-review flags it. A relative who may seek care "
    "for an adult can add allergies but not remove them (403 allergy_removal_forbidden): only "
    "the person, their guardian or a doctor can. Every change is kept and shown to the next "
    "doctor and pharmacist.",
)
@api_roles_required(Role.patient)
def allergies() -> Response:
    data: AllergiesIn = body()
    now = clock.now()
    person = allergies_service.record(
        db_session(), api_account(), data.person_id, data.allergies, now
    )
    out = AllergiesOut(person_id=person.id, allergies=person.allergy_list or [], recorded_at=now)
    return jsonify(out.model_dump(mode="json"))


@bp.post("/me/wechat-binding-code")
@operation(
    "A one-time code that links the Official Account to this account (valid 10 minutes)",
    tag="patients",
    response=BindingCodeOut,
    status=201,
)
@api_roles_required(Role.patient)
def wechat_binding_code() -> tuple[Response, int]:
    now = clock.now()
    code = followers.issue_binding_code(db_session(), api_account(), now)
    out = BindingCodeOut(code=code, expires_at=now + followers.CODE_TTL)
    return jsonify(out.model_dump(mode="json")), 201


@bp.post("/me/wechat-subscriptions")
@operation(
    "Report the subscribe-message templates the patient accepted in the mini-program",
    tag="patients",
    body=SubscriptionsIn,
    status=204,
    description="Each acceptance allows one notification as a mini-program subscribe message "
    "(used when the patient does not follow the Official Account).",
)
@api_roles_required(Role.patient)
def wechat_subscriptions() -> Response:
    data: SubscriptionsIn = body()
    followers.accept_subscriptions(db_session(), api_account(), data.accepted)
    return Response(status=204)
