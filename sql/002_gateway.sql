-- 002_gateway.sql: the gateway's own state (schema "gateway").
--
-- gateway.schema_version is created by "listbridge db migrate" itself,
-- before the first migration runs.

CREATE TABLE gateway.list (
	id                     bigserial PRIMARY KEY,
	address                text NOT NULL CHECK (address LIKE '%_@_%'),
	group_id               bigint NOT NULL
	                       REFERENCES portal."group" ON DELETE CASCADE,
	phase                  text NOT NULL DEFAULT 'gateway'
	                       CHECK (phase IN ('mirror', 'gateway',
	                                        'digest-first', 'portal-only')),
	subject_tag            text,
	unknown_sender_policy  text NOT NULL DEFAULT 'hold'
	                       CHECK (unknown_sender_policy
	                              IN ('hold', 'reject', 'accept')),
	allow_unauthenticated  boolean NOT NULL DEFAULT true,
	created_at             timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX list_address_lower_key ON gateway.list (lower(address));

-- One row per message accepted for a group: posted, held or otherwise
-- decided.  raw is the message exactly as the MTA handed it over.
CREATE TABLE gateway.message (
	id              bigserial PRIMARY KEY,
	group_id        bigint NOT NULL REFERENCES portal."group" ON DELETE CASCADE,
	message_id      text NOT NULL,
	post_id         bigint REFERENCES portal.post ON DELETE SET NULL,
	raw             bytea NOT NULL,
	size            integer NOT NULL,
	envelope_from   text NOT NULL DEFAULT '',
	envelope_to     text NOT NULL DEFAULT '',
	in_reply_to     text,
	verdict         text NOT NULL
	                CHECK (verdict IN ('posted', 'held')),
	received_at     timestamptz NOT NULL DEFAULT now(),
	UNIQUE (group_id, message_id)
);
CREATE INDEX message_post_idx ON gateway.message (post_id);
-- Replies that came before their parent: found when the parent arrives.
CREATE INDEX message_in_reply_to_idx
	ON gateway.message (group_id, in_reply_to);

-- Every Message-ID a group has seen, as a message or only inside
-- In-Reply-To/References, and the thread it belongs to.  post_id is NULL
-- for ids seen only as references: when that message arrives later, it
-- joins the thread its replies started.
CREATE TABLE gateway.message_ref (
	group_id    bigint NOT NULL REFERENCES portal."group" ON DELETE CASCADE,
	message_id  text NOT NULL,
	thread_id   bigint NOT NULL REFERENCES portal.thread ON DELETE CASCADE,
	post_id     bigint REFERENCES portal.post ON DELETE CASCADE,
	PRIMARY KEY (group_id, message_id)
);

CREATE TABLE gateway.held_message (
	id          bigserial PRIMARY KEY,
	message     bigint NOT NULL UNIQUE
	            REFERENCES gateway.message ON DELETE CASCADE,
	group_id    bigint NOT NULL REFERENCES portal."group" ON DELETE CASCADE,
	reason      text NOT NULL,
	state       text NOT NULL DEFAULT 'held'
	            CHECK (state IN ('held', 'approved', 'rejected')),
	created_at  timestamptz NOT NULL DEFAULT now(),
	decided_at  timestamptz,
	decided_by  text
);
CREATE INDEX held_message_open_idx
	ON gateway.held_message (group_id) WHERE state = 'held';

CREATE TABLE gateway.audit_event (
	id      bigserial PRIMARY KEY,
	at      timestamptz NOT NULL DEFAULT now(),
	actor   text NOT NULL,
	action  text NOT NULL,
	object  text NOT NULL,
	detail  text NOT NULL DEFAULT ''
);
