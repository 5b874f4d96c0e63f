"""The built-in signal types every workspace starts with, and custom type keys."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class SignalType:
    """A kind of intent signal and whether its results are qualified by default."""

    key: str
    description: str
    autoqualify: bool = True


BUILTIN_SIGNAL_TYPES: Final = {
    t.key: t
    for t in (
        SignalType("website_visit", "A known visitor viewed a page of the website."),
        SignalType("pricing_page_visit", "A visitor viewed the pricing page."),
        SignalType("form_submit", "A website or in-product form was submitted."),
        SignalType("demo_request", "Someone asked for a demo or a sales call."),
        SignalType("contact_sales", "Someone wrote to sales or opened a sales chat."),
        SignalType("content_download", "A gated asset (ebook, report) was downloaded."),
        SignalType(
            "webinar_registration", "Someone registered for a webinar or event."
        ),
        SignalType("webinar_attended", "Someone attended a webinar or event."),
        SignalType("meeting_booked", "A meeting was booked through a scheduler."),
        SignalType("email_engagement", "A marketing email was opened or clicked."),
        SignalType("signup", "A new account or user signed up."),
        SignalType("trial_started", "A free trial started."),
        SignalType("trial_expiring", "A free trial is about to end."),
        SignalType("product_usage_milestone", "An account reached a usage milestone."),
        SignalType("teammate_invited", "A user invited a teammate to the product."),
        SignalType("feature_adopted", "An account started using a key feature."),
        SignalType("sso_enabled", "An account enabled single sign-on."),
        SignalType("integration_connected", "An account connected an integration."),
        SignalType("usage_limit_reached", "An account hit a plan limit."),
        SignalType("plan_upgraded", "An account moved to a higher plan."),
        SignalType("job_change", "A known contact started a new job."),
        SignalType("new_hire", "A company hired into a role that buys the product."),
        SignalType("hiring_intent", "A company posted jobs that suggest a need."),
        SignalType("funding_round", "A company announced a funding round."),
        SignalType(
            "review_site_intent", "A company researched the category on review sites."
        ),
        SignalType("competitor_research", "A company researched a competitor."),
        SignalType("technology_change", "A company adopted or dropped a technology."),
        SignalType(
            "social_engagement", "Someone engaged with the brand on social media."
        ),
        SignalType(
            "community_activity", "Someone was active in the community or forum."
        ),
        SignalType("support_ticket", "A customer opened a support ticket."),
        SignalType("ai_agent_signal", "An AI agent found a buyer signal."),
        SignalType("custom_event", "Any other event the workspace sends."),
    )
}

_NON_KEY = re.compile(r"[^a-z0-9]+")


def custom_type_key(display_name: str) -> str:
    """The key of a custom type: its display name lowercased with underscores."""
    folded = unicodedata.normalize("NFKD", display_name)
    ascii_name = folded.encode("ascii", "ignore").decode("ascii").lower()
    key = _NON_KEY.sub("_", ascii_name).strip("_")
    if not key:
        raise ValueError("a signal type name needs at least one letter or digit")
    return key
