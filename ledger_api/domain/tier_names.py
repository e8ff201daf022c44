"""Tier display names per locale (DOMAIN.md "Tiers": names are localized per market, Diamond is
sold as "Royal" in Indonesia; the display name is metadata, the rule is the same), as the
membership badge holds them (`MembershipBadge.setTierDisplayName`, indexed into
`idx_tier_names`): a locale with no name for a tier shows the tier's English name, as the
badge's `tierDisplayName` does.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger_api.db.tier_models import IdxTierName
from ledger_api.domain import TIER_NAMES

#: the locale of the badge's built-in names, registered at its deployment
BASE_LOCALE = "en"
#: what the badge accepts as a locale: 1 to 35 characters of `[A-Za-z0-9-_]` (BCP 47 tags fit)
LOCALE_PATTERN = r"^[A-Za-z0-9_-]{1,35}$"


def tier_display_name(session: Session, tier: int, locale: str) -> str:
    """`tier`'s name in `locale` (its English name when the badge has none there)."""
    row = session.get(IdxTierName, (locale, tier))
    return row.name if row is not None else TIER_NAMES[tier]


def tier_display_names(session: Session, tier: int) -> dict[str, str]:
    """`tier`'s name in every locale the badge registered ("en" and each given a name), by
    locale: what a webhook carries, so that a brand names the tier in its member's market."""
    rows = session.execute(select(IdxTierName.locale, IdxTierName.tier, IdxTierName.name)).all()
    named = {row.locale: row.name for row in rows if row.tier == tier}
    locales = {BASE_LOCALE} | {row.locale for row in rows}
    return {locale: named.get(locale, TIER_NAMES[tier]) for locale in sorted(locales)}
