"""Imports every domain's models so Base.metadata knows all tables (for alembic)."""

from __future__ import annotations

from services.accounts import models as accounts_models
from services.audit import checkpoint_models as audit_checkpoint_models
from services.audit import models as audit_models
from services.auth import models as auth_models
from services.auth import oidc_models as auth_oidc_models
from services.cases import models as cases_models
from services.claims import models as claims_models
from services.db.base import Base
from services.documents import models as documents_models
from services.jobs import models as jobs_models
from services.notes import models as notes_models
from services.notifications import models as notifications_models
from services.payments import models as payments_models
from services.policies import models as policies_models
from services.presence import models as presence_models
from services.search import models as search_models

ALL_MODELS = (
    accounts_models,
    audit_models,
    audit_checkpoint_models,
    auth_models,
    auth_oidc_models,
    cases_models,
    claims_models,
    documents_models,
    jobs_models,
    notifications_models,
    payments_models,
    policies_models,
    notes_models,
    presence_models,
    search_models,
)

metadata = Base.metadata
