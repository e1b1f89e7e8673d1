"""Registration authority and organisation type codes of the unified social credit code.

Characters 1 and 2 of a GB 32100-2015 code name the registration authority (登记管理部门) and
the type of organisation (机构类别) it registered. The table below is data, kept as published.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal[
    "enterprise",
    "public_institution",
    "social_organization",
    "government_agency",
    "individual_business",
]


@dataclass(frozen=True)
class RegistrationType:
    """One row of the GB 32100-2015 authority / organisation type table."""

    authority_code: str
    authority_label: str
    type_code: str
    type_label: str
    kind: Kind

    @property
    def code(self) -> str:
        """The two leading characters of a unified social credit code of this type."""
        return self.authority_code + self.type_code


# GB 32100-2015: registration authority codes (position 1) and organisation type codes (position 2).
# `kind` is this platform's classification; a "其他" row takes the usual kind of its authority.
REGISTRATION_TYPES: tuple[RegistrationType, ...] = (
    RegistrationType("1", "机构编制", "1", "机关", "government_agency"),
    RegistrationType("1", "机构编制", "2", "事业单位", "public_institution"),
    RegistrationType(
        "1", "机构编制", "3", "中央编办直接管理机构编制的群众团体", "social_organization"
    ),
    RegistrationType("1", "机构编制", "9", "其他", "public_institution"),
    RegistrationType("2", "外交", "1", "外国常驻新闻机构", "social_organization"),
    RegistrationType("2", "外交", "9", "其他", "social_organization"),
    # Law firms are partnerships that trade; notaries, arbitration and the rest are public bodies.
    RegistrationType("3", "司法行政", "1", "律师执业机构", "enterprise"),
    RegistrationType("3", "司法行政", "2", "公证处", "public_institution"),
    RegistrationType("3", "司法行政", "3", "基层法律服务所", "public_institution"),
    RegistrationType("3", "司法行政", "4", "司法鉴定机构", "public_institution"),
    RegistrationType("3", "司法行政", "5", "仲裁委员会", "public_institution"),
    RegistrationType("3", "司法行政", "9", "其他", "public_institution"),
    RegistrationType("4", "文化", "1", "外国在华文化中心", "social_organization"),
    RegistrationType("4", "文化", "9", "其他", "social_organization"),
    RegistrationType("5", "民政", "1", "社会团体", "social_organization"),
    RegistrationType("5", "民政", "2", "民办非企业单位", "social_organization"),
    RegistrationType("5", "民政", "3", "基金会", "social_organization"),
    RegistrationType("5", "民政", "9", "其他", "social_organization"),
    # These offices represent foreign or Hong Kong, Macao and Taiwan government tourism bodies.
    RegistrationType("6", "旅游", "1", "外国旅游部门常驻代表机构", "government_agency"),
    RegistrationType(
        "6",
        "旅游",
        "2",
        "港澳台地区旅游部门常驻内地（大陆）代表机构",
        "government_agency",
    ),
    RegistrationType("6", "旅游", "9", "其他", "government_agency"),
    RegistrationType("7", "宗教", "1", "宗教活动场所", "social_organization"),
    RegistrationType("7", "宗教", "2", "宗教院校", "social_organization"),
    RegistrationType("7", "宗教", "9", "其他", "social_organization"),
    RegistrationType("8", "工会", "1", "基层工会", "social_organization"),
    RegistrationType("8", "工会", "9", "其他", "social_organization"),
    RegistrationType("9", "工商", "1", "企业", "enterprise"),
    RegistrationType("9", "工商", "2", "个体工商户", "individual_business"),
    RegistrationType("9", "工商", "3", "农民专业合作社", "enterprise"),
    RegistrationType("A", "中央军委改革和编制办公室", "1", "军队事业单位", "public_institution"),
    RegistrationType("A", "中央军委改革和编制办公室", "9", "其他", "public_institution"),
    # Rural collective economic organisations own and run assets, so they are credit-rated as firms.
    RegistrationType("N", "农业", "1", "组级集体经济组织", "enterprise"),
    RegistrationType("N", "农业", "2", "村级集体经济组织", "enterprise"),
    RegistrationType("N", "农业", "3", "乡镇级集体经济组织", "enterprise"),
    RegistrationType("N", "农业", "9", "其他", "enterprise"),
    RegistrationType("Y", "其他", "1", "其他", "social_organization"),
)

_BY_CODE: dict[str, RegistrationType] = {row.code: row for row in REGISTRATION_TYPES}


def lookup(code2: str) -> RegistrationType | None:
    """The table row for the two leading characters of a code, or None if the table has none."""
    return _BY_CODE.get(code2)
