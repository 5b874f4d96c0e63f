-- The exact message of every webhook, kept so `unstuck deliveries redeliver` can
-- re-enqueue it after the topic's retention or the dead-letter topic are gone.

CREATE TABLE webhook_messages (
    webhook_id    text PRIMARY KEY,
    workspace_id  text NOT NULL,
    capture_id    text NOT NULL,
    message_key   bytea,
    message       bytea NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX webhook_messages_workspace_created
    ON webhook_messages (workspace_id, created_at);
