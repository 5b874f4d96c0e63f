-- Leads, captures, companies and the webhook delivery log.

CREATE TABLE leads (
    lead_id           text PRIMARY KEY,
    workspace_id      text NOT NULL,
    kind              text NOT NULL CHECK (kind IN ('person', 'account')),
    email             text,
    email_normalized  text,
    linkedin_url      text,
    company_domain    text,
    first_name        text,
    last_name         text,
    title             text,
    first_seen_at     timestamptz NOT NULL,
    last_activity_at  timestamptz NOT NULL,
    -- The capture that last_activity_at comes from, so ties resolve the same
    -- way whatever order the records arrive in.
    last_capture_id   text NOT NULL,
    icp_code          text,
    icp_score         integer,
    persona_code      text,
    persona_score     integer,
    -- occurred_at of the capture the qualification columns come from: a later
    -- event of a type without autoqualify must not erase them.
    qualified_at      timestamptz,
    updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX leads_workspace_email ON leads (workspace_id, email_normalized);
CREATE INDEX leads_workspace_linkedin ON leads (workspace_id, linkedin_url);

CREATE TABLE signal_captures (
    capture_id           text PRIMARY KEY,
    workspace_id         text NOT NULL,
    lead_id              text NOT NULL,
    dedupe_key           text NOT NULL,
    signal_type          text NOT NULL,
    source               text NOT NULL,
    event_name           text,
    occurred_at          timestamptz NOT NULL,
    received_at          timestamptz NOT NULL,
    processed_at         timestamptz NOT NULL,
    identity             jsonb NOT NULL,
    identity_normalized  jsonb NOT NULL,
    context              jsonb,
    bucket               text,
    company              jsonb,
    qualification        jsonb,
    icp_code             text,
    icp_score            integer,
    persona_code         text,
    persona_score        integer,
    rules_version        text,
    idempotency_key      text,
    stored_at            timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT signal_captures_workspace_dedupe UNIQUE (workspace_id, dedupe_key)
);

CREATE INDEX signal_captures_workspace_received
    ON signal_captures (workspace_id, received_at DESC);
CREATE INDEX signal_captures_lead ON signal_captures (lead_id, occurred_at DESC);

CREATE TABLE companies (
    domain             text PRIMARY KEY,
    name               text NOT NULL,
    industry           text,
    employees          bigint,
    country            text,
    region             text,
    technologies       jsonb NOT NULL DEFAULT '[]',
    funding_total_usd  bigint,
    directory_source   text NOT NULL,
    updated_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE webhook_deliveries (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook_id    text NOT NULL,
    attempt       integer NOT NULL,
    workspace_id  text NOT NULL,
    capture_id    text NOT NULL,
    url           text NOT NULL,
    status_code   integer,
    error         text,
    latency_ms    integer,
    attempted_at  timestamptz NOT NULL,
    delivered     boolean NOT NULL
);

CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, attempt);
CREATE INDEX webhook_deliveries_workspace
    ON webhook_deliveries (workspace_id, attempted_at DESC);
