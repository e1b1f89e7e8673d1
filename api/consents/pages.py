"""The consent page (`authorize_url`): the subject signs in, reads the request, and decides.

Chinese first, with English; CSRF-protected forms; no framing (`page()` sets the headers).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Response, request

from api.context import db_session
from api.extensions import Blueprint
from api.oauth.pages import csrf_valid, page
from api.oauth.routes import sign_in_from_form, signed_in_account
from auth import service as auth_service
from auth.models import CLIENT_KIND_LABELS, Client, ClientKind
from consent import service
from consent.errors import ConsentConflict, ConsentNotFound
from consent.models import PURPOSE_LABELS, STATUS_LABELS, Consent, ConsentStatus, Purpose
from credit import clock
from credit.models import Subject
from credit.report import ordered

blp = Blueprint(
    "consent_pages",
    __name__,
    description="The consent page where a subject approves or rejects a partner's request.",
)

# What each category means, in the words a citizen or a company clerk reads (DESIGN.md §4).
CATEGORY_TEXT: dict[str, tuple[str, str]] = {
    "basic": (
        "基本信息：登记注册的全部信息，包括经营范围、联系电话等非公开信息",
        "Basic: full registration or identity details, including non-public ones",
    ),
    "administrative": (
        "行政许可和行政处罚：全部记录，包括已过公示期的记录",
        "All licences and penalties, including those past their publication period",
    ),
    "lists": (
        "名单信息：守信激励、失信惩戒名单和经营异常名录的详细信息",
        "Red and black lists and the abnormal-operations list, in full",
    ),
    "tax": ("纳税信用：纳税信用等级和税收违法记录", "Tax credit level and tax violations"),
    "judicial": (
        "司法信息：法院强制执行和失信被执行人信息",
        "Court enforcement and dishonest judgment debtors",
    ),
    "social_insurance": (
        "社会保险：社会保险缴费和欠费情况",
        "Social-insurance payments and arrears",
    ),
}


def _beijing(moment: datetime | None) -> str:
    if moment is None:
        return ""
    local = moment.astimezone(clock.CHINA_TZ)
    return f"{local:%Y年%m月%d日 %H:%M}（北京时间 Beijing time）"


def _details(consent: Consent, client: Client | None) -> dict[str, Any]:
    kind = ClientKind(client.kind) if client else None
    status = consent.status_at(clock.now())
    return {
        "consent_id": consent.consent_id,
        "client_name": client.name if client else consent.client_id,
        "client_kind": kind.value if kind else "",
        "client_kind_label": CLIENT_KIND_LABELS[kind] if kind else "",
        "categories": [(c, *CATEGORY_TEXT[c]) for c in ordered(consent.categories)],
        "purpose": consent.purpose,
        "purpose_label": PURPOSE_LABELS[Purpose(consent.purpose)],
        "purpose_note": consent.purpose_note,
        "starts": _beijing(clock.now()),
        "expires": _beijing(consent.expires_at),
        "consent_status": status.value,
        "status_label": STATUS_LABELS[status],
        "awaiting": status is ConsentStatus.AWAITING_AUTHORISATION,
    }


def _not_found() -> Response:
    return page(
        "oauth_error.html",
        404,
        error="没有找到您的这项授权申请，请确认登录的是被查询的主体账户。"
        "No such consent request of yours: check that you signed in as the subject it names.",
    )


@blp.route(
    "/consents/<string:consent_id>",
    methods=["GET", "POST"],
    parameters=[
        {
            "in": "path",
            "name": "consent_id",
            "description": "The consent's id.",
            "schema": {"type": "string", "maxLength": 40},
        }
    ],
)
@blp.doc(
    summary="The consent page.",
    description="The page a partner's `authorize_url` points to: an HTML sign-in form "
    "(`username`, `password`, `csrf_token`) and then the request in plain Chinese with English "
    "(the partner's name and kind, each category, the purpose, the period, what revoking "
    "means) with a form of `csrf_token` and a button `decision` = `approve` or `deny`.",
    security=[],
    responses={
        "200": {
            "description": "The sign-in page, the consent request, or the outcome.",
            "content": {"text/html": {"schema": {"type": "string"}}},
        },
        "400": {
            "description": "The form expired (CSRF token missing or wrong).",
            "content": {"text/html": {"schema": {"type": "string"}}},
        },
        "404": {
            "description": "No such consent request of the signed-in subject.",
            "content": {"text/html": {"schema": {"type": "string"}}},
        },
        "409": {
            "description": "The request can no longer be decided.",
            "content": {"text/html": {"schema": {"type": "string"}}},
        },
        "429": {
            "description": "Too many failed sign-ins from this address.",
            "content": {"text/html": {"schema": {"type": "string"}}},
        },
    },
)
def consent_page(consent_id: str) -> Response:
    session_ = db_session()
    if len(consent_id) > 40:
        return _not_found()
    if request.method == "POST" and not csrf_valid():
        return page(
            "oauth_error.html", 400, error="表单已过期，请重试。The form expired; please try again."
        )
    account = signed_in_account()
    if request.method == "POST" and "username" in request.form:
        account, retry = sign_in_from_form("信用平台 Xinyong")
        if retry is not None:
            return retry
        if account is None:
            return page(
                "signin.html",
                client_name="信用平台 Xinyong",
                action=request.path,
                username=request.form.get("username", "")[:64],
                error="用户名或密码错误。Wrong username or password.",
            )
    if account is None:
        return page(
            "signin.html",
            client_name="信用平台 Xinyong",
            action=request.path,
            username="",
            error=None,
        )
    subject = session_.get(Subject, account.subject_pk)
    assert subject is not None  # noqa: S101  (a foreign key)
    try:
        consent = service.get_for_subject(
            db_session=session_, consent_id=consent_id, subject=subject
        )
    except ConsentNotFound:
        return _not_found()
    client = auth_service.get_client(db_session=session_, client_id=consent.client_id)
    decision = request.form.get("decision") if request.method == "POST" else None
    if decision in ("approve", "deny"):
        try:
            if decision == "approve":
                if client is None:
                    raise ConsentConflict("the partner is no longer registered")
                service.approve(
                    db_session=session_, consent=consent, partner=auth_service.partner_of(client)
                )
            else:
                service.reject(db_session=session_, consent=consent)
        except ConsentConflict:
            session_.rollback()
            return page(
                "consent.html",
                409,
                subject_name=subject.name,
                action=request.path,
                notice="这项申请已无法处理（已决定、已过期，或申请机构已被暂停）。"
                "This request can no longer be decided (already decided, expired, or the "
                "partner is suspended).",
                **_details(consent, client),
            )
        session_.commit()
    return page(
        "consent.html",
        subject_name=subject.name,
        action=request.path,
        notice=None,
        **_details(consent, client),
    )
