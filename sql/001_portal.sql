-- 001_portal.sql: the intranet contract (schema "portal").
--
-- An intranet with a store of its own maps onto these tables with views, or
-- syncs through the bridge.  The gateway reads members and groups from here
-- and writes threads, posts and attachments.

CREATE SCHEMA portal;

CREATE TABLE portal.member (
	id          bigserial PRIMARY KEY,
	name        text NOT NULL,
	created_at  timestamptz NOT NULL DEFAULT now()
);

-- A member may write from several addresses; each address names one member.
CREATE TABLE portal.member_address (
	id          bigserial PRIMARY KEY,
	member_id   bigint NOT NULL REFERENCES portal.member ON DELETE CASCADE,
	address     text NOT NULL CHECK (address LIKE '%_@_%'),
	is_primary  boolean NOT NULL DEFAULT false,
	created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX member_address_lower_key
	ON portal.member_address (lower(address));
CREATE INDEX member_address_member_idx ON portal.member_address (member_id);

CREATE TABLE portal."group" (
	id          bigserial PRIMARY KEY,
	slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9_-]*$'),
	name        text NOT NULL,
	created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE portal.membership (
	group_id    bigint NOT NULL REFERENCES portal."group" ON DELETE CASCADE,
	member_id   bigint NOT NULL REFERENCES portal.member ON DELETE CASCADE,
	role        text NOT NULL DEFAULT 'member'
	            CHECK (role IN ('member', 'moderator', 'admin')),
	delivery    text NOT NULL DEFAULT 'each'
	            CHECK (delivery IN ('each', 'daily', 'weekly', 'none')),
	locale      text NOT NULL DEFAULT 'de' CHECK (locale IN ('de', 'en')),
	-- a copy of one's own posts by mail too
	own_posts   boolean NOT NULL DEFAULT false,
	created_at  timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (group_id, member_id)
);
CREATE INDEX membership_member_idx ON portal.membership (member_id);

-- subject_key is the normalised subject (reply prefixes and list tags
-- removed, case and white space folded) used to match replies that lost
-- their In-Reply-To.
CREATE TABLE portal.thread (
	id            bigserial PRIMARY KEY,
	group_id      bigint NOT NULL REFERENCES portal."group" ON DELETE CASCADE,
	subject       text NOT NULL,
	subject_key   text NOT NULL,
	created_at    timestamptz NOT NULL DEFAULT now(),
	last_post_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX thread_subject_idx
	ON portal.thread (group_id, subject_key, last_post_at);

-- text is what the member wrote, as shown; cut_text is what was trimmed
-- (quoted history, signature), kept so that nothing is lost.  html is HTML
-- rebuilt from an allow-list, safe to show; NULL when there is none.
CREATE TABLE portal.post (
	id              bigserial PRIMARY KEY,
	thread_id       bigint NOT NULL REFERENCES portal.thread ON DELETE CASCADE,
	parent_id       bigint REFERENCES portal.post ON DELETE SET NULL,
	author_id       bigint REFERENCES portal.member ON DELETE SET NULL,
	author_name     text NOT NULL DEFAULT '',
	author_address  text,
	source          text NOT NULL CHECK (source IN ('mail', 'portal', 'import')),
	subject         text NOT NULL DEFAULT '',
	text            text NOT NULL DEFAULT '',
	cut_text        text NOT NULL DEFAULT '',
	html            text,
	written_at      timestamptz NOT NULL DEFAULT now(),
	created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX post_thread_idx ON portal.post (thread_id, written_at, id);

-- The bytes of attachments, once per group and content: the same file
-- sent to a group again is stored once.
CREATE TABLE portal.attachment_content (
	group_id  bigint NOT NULL REFERENCES portal."group" ON DELETE CASCADE,
	sha256    text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
	content   bytea NOT NULL,
	PRIMARY KEY (group_id, sha256)
);

-- state: stored (bytes in attachment_content under group and sha256),
-- too-large (over attachment_size_limit), too-many (beyond
-- attachment_count_limit), blocked (a type that may run code).  The raw
-- message keeps every attachment whatever the state.  content_id names
-- the part for "attachment:CID" images in post.html.
CREATE TABLE portal.attachment (
	id            bigserial PRIMARY KEY,
	post_id       bigint NOT NULL REFERENCES portal.post ON DELETE CASCADE,
	filename      text NOT NULL,
	content_type  text NOT NULL,
	size          bigint NOT NULL CHECK (size >= 0),
	sha256        text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
	content_id    text,
	state         text NOT NULL
	              CHECK (state IN ('stored', 'too-large', 'too-many',
	                               'blocked'))
);
CREATE INDEX attachment_post_idx ON portal.attachment (post_id);
