-- ferry scale-out: the users every ferryd node reads through auth_pgsql
-- (plugins/auth_pgsql; [auth] plugin = "auth_pgsql" in each node's config).
--   psql -d ferry -f deploy/schema.sql
-- Add a user with a crypt(3) hash (yescrypt from mkpasswd, in Debian's whois package;
-- bcrypt from `htpasswd -nbBC 10 "" PASSWORD | cut -d: -f2` and sha512crypt from
-- `openssl passwd -6` work too):
--   psql -d ferry -v name=alice -v hash="$(mkpasswd -m yescrypt)" \
--        -c "INSERT INTO ferry_users (name, hash) VALUES (:'name', :'hash')"
-- or, in psql: INSERT INTO ferry_users (name, hash, home, read_only)
--              VALUES ('bob', '$y$j9T$...', '/reports', true);
-- Plain-text passwords are never accepted: a row whose hash is not a crypt(3) hash can
-- never log in.

CREATE TABLE IF NOT EXISTS ferry_users (
    name      text    PRIMARY KEY,
    hash      text    NOT NULL,                 -- $y$ (yescrypt), $2b$/$2y$ (bcrypt), $6$ (sha512crypt)
    home      text    NOT NULL DEFAULT '/',     -- the virtual directory a login starts in
    read_only boolean NOT NULL DEFAULT false    -- true: no upload, delete, rename, MKD/RMD
);

-- ferryd only reads this table: give its database role nothing more.
--   CREATE ROLE ferryd LOGIN;  GRANT SELECT ON ferry_users TO ferryd;

-- [cluster] (each node's config: node = "a", database = "..."): bans and per-address
-- session counts shared by the nodes. ferryd writes these two tables, so its role needs
--   GRANT SELECT, INSERT, UPDATE, DELETE ON ferry_bans, ferry_sessions TO ferryd;

-- A ban made on any node (failed logins, or the operator's), enforced by all within ~1 s.
CREATE TABLE IF NOT EXISTS ferry_bans (
    address text        PRIMARY KEY,       -- an IPv4 address, or an IPv6 /64 ("2001:db8::/64")
    until   timestamptz NOT NULL,
    node    text        NOT NULL,          -- the node that made it
    reason  text        NOT NULL DEFAULT '' -- "10 failed logins within 600 s", "by operator alice: ..."
);

-- Each node's live sessions per client address, rewritten every half second; rows older
-- than 5 s are a stopped node's and no longer count.
CREATE TABLE IF NOT EXISTS ferry_sessions (
    node       text        NOT NULL,
    address    text        NOT NULL,
    sessions   integer     NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (node, address)
);
