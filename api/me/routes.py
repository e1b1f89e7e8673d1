"""`/v1/me`: the signed-in subject."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from sqlalchemy import select

from api.context import current_token, db_session
from api.errors import problem
from api.extensions import Blueprint
from credit.models import Subject, SubjectKind

blp = Blueprint(
    "me", __name__, url_prefix="/v1/me", description="The signed-in subject's own data."
)


class MeSchema(ma.Schema):
    """The signed-in subject."""

    subject_id = ma.fields.String(required=True, metadata={"example": "sub_3f9a0c2e7b1d4a6f8e20"})
    kind = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf([k.value for k in SubjectKind]),
        metadata={"example": "enterprise"},
    )
    kind_label = ma.fields.String(required=True, metadata={"example": "企业"})
    name = ma.fields.String(required=True, metadata={"example": "淄博市周村区鑫瑞丝绸有限公司"})
    uscc = ma.fields.String(allow_none=True, metadata={"example": "91370306MA3C4N2P50"})


@blp.route("")
class Me(MethodView):
    """The signed-in subject."""

    @blp.requires("subject")
    @blp.response(200, MeSchema)
    def get(self) -> Any:
        """Read who is signed in.

        The subject of a token from the subject sign-in flow (`portal` or `xinyong-cli`): its
        platform id, kind, name, and code for a legal person. Identity numbers are never shown.
        """
        subject_id = current_token()["sub"]
        subject = (
            db_session()
            .scalars(select(Subject).where(Subject.subject_id == subject_id))
            .one_or_none()
        )
        if subject is None:
            return problem(
                403, "This token was not issued to a signed-in subject.", slug="not-a-subject"
            )
        return {
            "subject_id": subject.subject_id,
            "kind": subject.kind,
            "kind_label": subject.kind_label,
            "name": subject.name,
            "uscc": subject.uscc,
        }
