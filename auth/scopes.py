"""The platform's OAuth scopes, and which kinds of client may hold which (DESIGN.md §4)."""

from __future__ import annotations

from credit.disclosure import CATEGORIES

CATEGORY_SCOPES: tuple[str, ...] = tuple(f"credit.{c}" for c in CATEGORIES)

SCOPE_DESCRIPTIONS: dict[str, str] = {
    "credit.basic": "Full registration and identity details (基本信息), under consent",
    "credit.administrative": "All licences and penalties (行政许可与处罚), under consent",
    "credit.lists": "Red and black lists, abnormal operations (名单信息), under consent",
    "credit.tax": "Tax credit level and violations (纳税信用), under consent",
    "credit.judicial": "Court enforcement, dishonest debtors (司法信息), under consent",
    "credit.social_insurance": "Social-insurance payments and arrears (社保信息), under consent",
    "consents.request": "Ask subjects for consent (申请授权)",
    "records.write": "Push, correct and withdraw records as a department (报送信用记录)",
    "objections.resolve": "Answer objections to the department's records (处理异议)",
    "subject": "A signed-in subject acting on their own data (本人)",
    "admin": "Operate the platform (运营管理)",
}
ALL_SCOPES: tuple[str, ...] = tuple(SCOPE_DESCRIPTIONS)

_PARTNER = frozenset({*CATEGORY_SCOPES, "consents.request"})
SCOPES_BY_KIND: dict[str, frozenset[str]] = {
    "bank": _PARTNER,
    "microcredit": _PARTNER,
    "guarantee": _PARTNER,
    "rating_agency": _PARTNER,
    "credit_service_agency": _PARTNER,
    "government": frozenset(CATEGORY_SCOPES),
    "judicial": frozenset(CATEGORY_SCOPES),
    "department": frozenset({"records.write", "objections.resolve"}),
    "admin": frozenset({"admin"}),
    "first_party": frozenset({"subject"}),
}
CATEGORY_KINDS = frozenset({"government", "judicial"})
