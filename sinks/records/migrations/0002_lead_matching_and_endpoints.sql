-- Lead matching, webhook endpoint health, and the indexes the API and CLI query by.

-- A lead id the processor derived (or a lead later absorbed) and the lead that
-- survives for it. Kept flat: a target is never itself an alias.
CREATE TABLE lead_aliases (
    alias_lead_id  text PRIMARY KEY,
    workspace_id   text NOT NULL,
    lead_id        text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX lead_aliases_target ON lead_aliases (lead_id);

-- Matching looks people up by these within a workspace; partial indexes skip the
-- accounts and the many rows without the key.
CREATE INDEX leads_person_email ON leads (workspace_id, email_normalized)
    WHERE kind = 'person' AND email_normalized IS NOT NULL;
CREATE INDEX leads_person_linkedin ON leads (workspace_id, linkedin_url)
    WHERE kind = 'person' AND linkedin_url IS NOT NULL;

-- One row per workspace endpoint URL: whether deliveries still go there and why not.
CREATE TABLE webhook_endpoints (
    workspace_id          text NOT NULL,
    url                   text NOT NULL,
    status                text NOT NULL DEFAULT 'active'
                              CHECK (status IN ('active', 'disabled')),
    failing_since         timestamptz,
    last_failure_at       timestamptz,
    last_error            text,
    consecutive_failures  integer NOT NULL DEFAULT 0,
    last_success_at       timestamptz,
    disabled_at           timestamptz,
    disabled_reason       text,
    updated_at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, url)
);

-- `unstuck deliveries list --capture ID` and `--status failed`.
CREATE INDEX webhook_deliveries_capture ON webhook_deliveries (capture_id);
CREATE INDEX webhook_deliveries_workspace_failed
    ON webhook_deliveries (workspace_id, attempted_at DESC) WHERE NOT delivered;
