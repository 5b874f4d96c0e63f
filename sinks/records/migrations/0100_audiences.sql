-- Audiences (issue 8): definitions as last published, current membership per
-- (audience, lead), and every membership change as it was announced.

CREATE TABLE audiences (
    audience_id     text PRIMARY KEY,
    workspace_id    text NOT NULL,
    name            text NOT NULL,
    condition       text NOT NULL,
    version         integer NOT NULL,
    notify_webhook  boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    -- A deleted audience keeps its row (and its event history) for audit.
    deleted_at      timestamptz
);

CREATE INDEX audiences_workspace ON audiences (workspace_id, name);

CREATE TABLE audience_members (
    audience_id       text NOT NULL,
    lead_id           text NOT NULL,
    workspace_id      text NOT NULL,
    member            boolean NOT NULL,
    audience_version  integer NOT NULL,
    reason            text NOT NULL,
    entered_at        timestamptz,
    left_at           timestamptz,
    changed_at        timestamptz NOT NULL,
    last_event_id     text NOT NULL,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (audience_id, lead_id)
);

-- The members listing pages by lead id among current members only.
CREATE INDEX audience_members_current
    ON audience_members (audience_id, lead_id) WHERE member;

CREATE TABLE audience_membership_events (
    event_id          text PRIMARY KEY,
    workspace_id      text NOT NULL,
    audience_id       text NOT NULL,
    audience_version  integer NOT NULL,
    lead_id           text NOT NULL,
    change            text NOT NULL CHECK (change IN ('entered', 'left')),
    reason            text NOT NULL,
    cause             text NOT NULL,
    changed_at        timestamptz NOT NULL,
    stored_at         timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX audience_membership_events_audience
    ON audience_membership_events (audience_id, changed_at);
