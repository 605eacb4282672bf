-- 003_outbox.sql: mail waiting to go out, and the fan-out that fills it.
--
-- One row per message and recipient.  "listbridge send" workers claim due
-- rows with FOR UPDATE SKIP LOCKED and a lease; a row whose lease ran out
-- (its worker died) is due again.  The fan-out runs in the transaction
-- that inserts the post, whoever inserts it (mail or portal).

CREATE TABLE gateway.outbox (
	id               bigserial PRIMARY KEY,
	kind             text NOT NULL
	                 CHECK (kind IN ('post', 'notice', 'digest')),
	group_id         bigint NOT NULL
	                 REFERENCES portal."group" ON DELETE CASCADE,
	post_id          bigint REFERENCES portal.post ON DELETE CASCADE,
	member_id        bigint REFERENCES portal.member ON DELETE CASCADE,
	recipient        text NOT NULL CHECK (recipient LIKE '%_@_%'),
	-- a notice (an answer to a sender) is rendered when queued
	message          bytea,
	state            text NOT NULL DEFAULT 'queued'
	                 CHECK (state IN ('queued', 'sent', 'bounced',
	                                  'expired')),
	attempts         integer NOT NULL DEFAULT 0,
	next_attempt_at  timestamptz NOT NULL DEFAULT now(),
	lease_until      timestamptz,
	leased_by        text,
	last_reply       text,
	created_at       timestamptz NOT NULL DEFAULT now(),
	done_at          timestamptz
);
-- A post reaches each member once, whatever retries the fan-out sees.
CREATE UNIQUE INDEX outbox_post_member_key
	ON gateway.outbox (post_id, member_id) WHERE kind = 'post';
CREATE INDEX outbox_due_idx
	ON gateway.outbox (next_attempt_at) WHERE state = 'queued';

-- Fan-out: every member of the post's group who wants each post by mail,
-- but its author (unless they asked for their own posts), at their
-- primary address.  Imports do not fan out.
CREATE FUNCTION gateway.post_fan_out() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.source = 'import' THEN
		RETURN NEW;
	END IF;
	INSERT INTO gateway.outbox (kind, group_id, post_id, member_id,
	                            recipient)
	SELECT 'post', t.group_id, NEW.id, ms.member_id, a.address
	FROM portal.thread t
	JOIN portal.membership ms ON ms.group_id = t.group_id
	JOIN portal.member_address a
	  ON a.member_id = ms.member_id AND a.is_primary
	WHERE t.id = NEW.thread_id
	  AND ms.delivery = 'each'
	  AND (ms.member_id IS DISTINCT FROM NEW.author_id OR ms.own_posts)
	ON CONFLICT DO NOTHING;
	IF FOUND THEN
		PERFORM pg_notify('listbridge_outbox', NEW.id::text);
	END IF;
	RETURN NEW;
END;
$$;

CREATE TRIGGER post_fan_out AFTER INSERT ON portal.post
	FOR EACH ROW EXECUTE FUNCTION gateway.post_fan_out();
